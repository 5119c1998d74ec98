"""Entries of a data set source (folder, manifest, Kaldi directory), checked before any decoding.

Each reader hands every entry to :class:`Entries`, which checks what can be checked without
reading the file (its extension fits the task, it exists, it is listed once, its transcript uses
the alphabet) and either keeps it or reports it as bad: with ``on_error="raise"`` the first bad
entry stops loading with a ManifestError naming the file and line; with ``on_error="skip"`` it
is left out and listed in ``Dataset.skipped``.

A blank transcript (empty, or only white space) marks an unlabeled clip, kept with the transcript
"" for semi-supervised training, but only where training data may be: in a ``val`` or ``test``
split it is a bad entry, since a held-out clip is scored against its transcript. A transcript
that is not blank but has no words once normalised ("?!") is a bad entry everywhere: something
was written, and it was not what the clip says.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..errors import DataError, ManifestError
from ..tasks import get_task, task_for_file, task_names, tasks
from .dataset import Dataset
from .text import normalize_transcript

SPLIT_NAMES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val", "dev": "val",
               "test": "test", "testing": "test"}
HELD_OUT_SPLITS = ("val", "test")  # scored against their targets: every item needs one
ON_ERROR = ("raise", "skip")
# A fifth of the time a word takes in very fast speech (about 0.15 s at 400 words a minute): a
# clip shorter than that per word of its transcript is cut or mislabelled, not a hard example.
MIN_SECONDS_PER_WORD = 0.03


def file_kind(path: Path) -> str | None:
    """The task whose items have `path`'s extension ("speech" for audio, "image" for images), else None."""
    task = task_for_file(path)
    return None if task is None else task.name


def infer_task(paths, task, source, default=None) -> str:
    """The task given, else the one most of `paths` belong to by extension, else `default`."""
    if task is not None:
        return task
    counts = Counter(file_kind(Path(p)) for p in paths)
    counts.pop(None, None)
    ranked = counts.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        if default is not None:
            return default
        raise ManifestError(source, f"cannot tell which task the files are for ({', '.join(task_names())}); pass task=")
    return ranked[0][0]


def item_kind_phrase(task: str | None) -> str:
    """"an audio file" for a speech file, "an image file" for an image; for None (a file of no
    task), "not an audio or image file", naming every registered item kind."""
    if task is not None:
        return f"{with_article(get_task(task).item_kind)} file"
    kinds = list(dict.fromkeys(t.item_kind for t in tasks()))
    return f"not {with_article(kinds[0])}{''.join(' or ' + k for k in kinds[1:])} file"


def with_article(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def resolve(value: str, base: Path) -> Path:
    """A manifest's path: absolute as written, relative to `base` otherwise.

    Absolute paths and ``..`` are normal in manifests and allowed; a path that leads nowhere is
    reported when the entry is checked.
    """
    path = Path(value)
    try:
        path = path.expanduser()
    except RuntimeError:  # "~user" for a user this machine does not have: keep it as written
        pass
    return path if path.is_absolute() else base / path


def is_file(path: Path) -> bool:
    """Path.is_file that says False, instead of raising, for names the OS refuses (too long, ...)."""
    try:
        return path.is_file()
    except OSError:
        return False


def _too_short_for(path: Path, transcript: str) -> str | None:
    """Why the clip at `path` cannot hold `transcript`, from its header alone; None when it can
    (or when the header cannot be read: decoding will report that file by name)."""
    from ..errors import AudioError
    from .audio import audio_duration

    try:
        seconds = audio_duration(path)
    except AudioError:
        return None
    words = len(transcript.split())
    if 0 < seconds < MIN_SECONDS_PER_WORD * words:  # an empty clip is reported when decoded
        return (f"{path.name}: {seconds:.2f} s is too short for a {words}-word transcript "
                f"(at least {MIN_SECONDS_PER_WORD * words:.1f} s); is the clip cut or the transcript another clip's?")
    return None


class Entries:
    """Entries (path, target, group, split) gathered from a source, with its bad ones."""

    def __init__(self, on_error: str):
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {ON_ERROR}, not {on_error!r}")
        self.on_error = on_error
        self.items: list[tuple[str, str, str | None, str | None]] = []
        self.skipped: list[tuple[str, str]] = []
        self._first_seen: dict[str, str] = {}

    def bad(self, where, reason: str, item=None) -> None:
        """Stop with a ManifestError, or (on_error="skip") list the entry as skipped."""
        if self.on_error == "raise":
            raise ManifestError(where, reason)
        self.skipped.append((str(item if item is not None else where), f"{where}: {reason}"))

    def add(self, where, path: Path, target: str, task: str, group=None, split=None) -> None:
        """Check one entry and keep it, or report it as bad."""
        declared = get_task(task)
        if not declared.reads_file(path):
            kind = file_kind(path)
            if kind is None:
                return self.bad(where, f"{path.name}: {item_kind_phrase(None)} (unknown extension {path.suffix!r})", path)
            return self.bad(where, f"{path.name}: {item_kind_phrase(kind)} in a {task} data set", path)
        if not is_file(path):
            return self.bad(where, f"file not found: {path}", path)
        split = str(split).strip().lower() if split is not None else None
        if split is not None and split not in SPLIT_NAMES:
            return self.bad(where, f"unknown split {split!r} (expected one of {', '.join(SPLIT_NAMES)})", path)
        if declared.target_kind == "transcript" and not str(target).strip():  # an unlabeled clip
            if SPLIT_NAMES.get(split) in HELD_OUT_SPLITS:
                return self.bad(where, f"{path.name}: no transcript in the {SPLIT_NAMES[split]} split; held-out clips are "
                                       "scored against their transcripts (unlabeled clips belong in training data)", path)
            target = ""
        elif declared.target_kind == "transcript":
            try:
                target = normalize_transcript(target, source=str(where))
            except DataError as err:
                return self.bad(where, err.reason, path)
            if not target:
                return self.bad(where, "transcript has no words once normalised", path)
            too_short = _too_short_for(path, target) if declared.item_kind == "audio" else None
            if too_short:
                return self.bad(where, too_short, path)
        elif not str(target).strip():
            return self.bad(where, "empty label", path)
        # The same file twice would be counted twice and could land on both sides of a split.
        first = self._first_seen.get(str(path))
        if first is not None:
            return self.bad(where, f"{path.name} is listed twice (first at {first})", path)
        self._first_seen[str(path)] = str(where)
        self.items.append((str(path), str(target).strip(), group or None, SPLIT_NAMES.get(split) if split else None))

    def dataset(self, task: str, source, name: str) -> Dataset:
        """The kept entries as a Dataset; a ManifestError when none is left."""
        if not self.items:
            raise ManifestError(source, f"no usable items ({len(self.skipped)} bad)" if self.skipped else "no items")
        paths, targets, groups, splits = zip(*self.items)
        if get_task(task).holdout == "groups":
            # An item without a group (a clip without a speaker) is its own: nothing better can be held out.
            groups = [g if g is not None else f"utt:{p}" for p, g in zip(paths, groups)]
        else:
            groups = [g or "" for g in groups]
        has_split = any(s is not None for s in splits)
        if has_split and not all(s is not None for s in splits):
            raise ManifestError(source, "some entries name a split and others do not")
        return Dataset(X=list(paths), y=list(targets), task=task, groups=list(groups), split=list(splits) if has_split else None,
                       name=name, source=str(source), skipped=self.skipped)
