"""Pieces the commands share: parameters, data, key files and result files."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

from ..atomic import atomic_write_json
from ..errors import E2elabError, ParameterError, RunFolderError

METRIC_NAMES = {"speech": "wer", "image": "error"}


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


def accepted_params(cls, params: dict) -> dict:
    """Check `params` against the constructor of `cls`, naming any it does not take."""
    names = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(set(params) - names)
    if unknown:
        raise ParameterError(f"{cls.__name__} has no parameter {', '.join(unknown)}; it takes: {', '.join(sorted(names))}")
    return params


def add_data_arguments(parser, required=True):
    parser.add_argument("--data", required=required, metavar="D",
                        help="a built-in data set (see `e2elab data list`), a folder, a manifest or a Kaldi data directory")
    parser.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                        help="what to do with unreadable items: stop with an error (default) or skip and count them")


def add_verify_key_argument(parser) -> None:
    parser.add_argument("--verify-key-file", metavar="FILE",
                        help="refuse the model unless it was signed with the key in FILE (default: $E2ELAB_VERIFY_KEY, if set)")


def verify_key(args) -> bytes | None:
    """The key of --verify-key-file, or None (e2elab.load then honours $E2ELAB_VERIFY_KEY)."""
    return read_key_file(args.verify_key_file) if args.verify_key_file else None


def error_metric(task: str, score: float) -> float:
    """The pipeline's score (1 - WER, or accuracy) as the error the reports use."""
    return 1.0 - score


def write_json(path: Path, payload: dict) -> None:
    """Write `payload` as indented JSON, atomically; a failed write names the file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, payload)
    except OSError as err:
        raise RunFolderError(f"{path}: cannot write it ({err.strerror or err})") from None


def read_key_file(path: str) -> bytes:
    """The bytes of a signing key file (a trailing newline, as editors and `echo` add, is dropped)."""
    try:
        key = Path(path).read_bytes().rstrip(b"\r\n")
    except OSError as err:
        raise ParameterError(f"{path}: cannot read the key file ({err.strerror or err})") from None
    if not key:
        raise ParameterError(f"{path}: the key file is empty")
    return key


def build_pipeline(task: str, kind: str, params: dict, seed: int, run_dir: Path | None = None, on_error: str = "raise"):
    """The registered pipeline with the user's parameters (checked), the seed, and where it may keep checkpoints."""
    from ..registry import get_pipeline_class

    cls = get_pipeline_class(task, kind)
    names = set(inspect.signature(cls.__init__).parameters)
    params = dict(accepted_params(cls, params))
    if "seed" in names:
        params.setdefault("seed", seed)
    if run_dir is not None and "checkpoint_dir" in names:
        params.setdefault("checkpoint_dir", str(run_dir / "checkpoints"))
    if "on_error" in names:
        params.setdefault("on_error", on_error)
    model = cls(**params)
    model._validate_params()  # a bad value fails here, before any data is read
    return model


def load_task_data(source: str, task: str | None, on_error: str):
    """Load `source` and check that it belongs to `task`."""
    from ..data.sources import load_dataset

    dataset = load_dataset(source, on_error=on_error)
    if task and dataset.task != task:
        raise E2elabError(f"{source} is a {dataset.task} data set, not {task}")
    if dataset.skipped:
        print(f"skipped {len(dataset.skipped)} unreadable item(s), e.g. {dataset.skipped[0][0]}: {dataset.skipped[0][1]}")
    return dataset


def group_kwargs(method, groups) -> dict:
    """{"groups": groups} when `method` takes them (speaker-level normalisation), else nothing."""
    if groups is None or "groups" not in inspect.signature(method).parameters:
        return {}
    return {"groups": groups}
