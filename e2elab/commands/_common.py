"""Command-line pieces the commands share: the task and data arguments, `--param` pairs, key files."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ParameterError


def add_task_argument(parser) -> None:
    """The positional TASK, one of the registered tasks."""
    from ..tasks import task_names

    parser.add_argument("task", choices=task_names())


def parse_params(pairs: list[str] | None) -> dict:
    """`key=value` strings as a dict; values are read as JSON where they parse (numbers, true, lists)."""
    params = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ParameterError(f"--param expects key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        if not key.strip():
            raise ParameterError(f"--param {pair!r} names no parameter before '='")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value
    return params


def add_data_arguments(parser, required=True):
    parser.add_argument("--data", required=required, metavar="D",
                        help="a built-in data set (see `e2elab data list`), a folder, a manifest or a Kaldi data directory")
    parser.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                        help="what to do with unreadable items: stop with an error (default) or skip and count them")


def add_language_arguments(parser) -> None:
    """--source and --target: the language pair read from a parallel corpus of several languages."""
    parser.add_argument("--source", metavar="LANG",
                        help="translation: the source language of a corpus of <split>.<LANG>[.gz] files, e.g. de "
                             "(default: the pair the folder's name ends in; multi30k: de)")
    parser.add_argument("--target", metavar="LANG",
                        help="translation: the target language, e.g. en (default: as for --source; multi30k: en)")


def load_command_data(args, task: str | None, languages: tuple[str, str] | None = None):
    """The data set of --data for `task`, read for the language pair of --source / --target.

    languages: the pair to read where neither option is given (an evaluated model's own pair);
    None: the corpus's default pair. A language pair is refused for data of other tasks.
    """
    from ..experiments.runs import load_task_data
    from ..translation.datasets import TASK as TRANSLATION, read_language_pair

    source, target = args.source, args.target
    if source is None and target is None and languages is not None:
        source, target = languages
    if source is None and target is None:
        return load_task_data(args.data, task, args.on_error)
    if task != TRANSLATION:
        raise ParameterError(f"--source and --target choose the languages of translation data; {task} data has none")
    dataset = read_language_pair(args.data, source, target, args.on_error)
    if dataset.skipped:
        print(f"skipped {len(dataset.skipped)} unreadable item(s), e.g. {dataset.skipped[0][0]}: {dataset.skipped[0][1]}")
    return dataset


def command_data(args):
    """What compare and curve read: --data as given, or, with --source / --target, the data set read
    for that language pair and named with it, so that a rerun with another pair reuses no cells."""
    if args.source is None and args.target is None:
        return args.data
    dataset = load_command_data(args, args.task)
    source, target = dataset.languages or (args.source, args.target)
    dataset.name = f"{args.data} ({source}-{target})"
    return dataset


def add_verify_key_argument(parser) -> None:
    parser.add_argument("--verify-key-file", metavar="FILE",
                        help="refuse the model unless it was signed with the key in FILE (default: $E2ELAB_VERIFY_KEY, if set)")


def verify_key(args) -> bytes | None:
    """The key of --verify-key-file, or None (e2elab.load then honours $E2ELAB_VERIFY_KEY)."""
    return read_key_file(args.verify_key_file) if args.verify_key_file else None


def read_key_file(path: str) -> bytes:
    """The bytes of a signing key file (a trailing newline, as editors and `echo` add, is dropped)."""
    try:
        key = Path(path).read_bytes().rstrip(b"\r\n")
    except OSError as err:
        raise ParameterError(f"{path}: cannot read the key file ({err.strerror or err})") from None
    if not key:
        raise ParameterError(f"{path}: the key file is empty")
    return key
