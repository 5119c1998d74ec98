"""Data sets from a name or a path: built-ins, folders of class sub-folders, manifests, Kaldi dirs.

Every source becomes a :class:`~e2elab.data.dataset.Dataset` whose items are file paths, read
lazily by the pipelines. Loading checks what it can without decoding (the file exists, its
extension fits the task, its transcript uses the alphabet); a bad entry raises
:class:`~e2elab.errors.ManifestError` naming the file and line, or, with ``on_error="skip"``, is
left out and listed in ``Dataset.skipped``.

Layouts understood:

* a folder ``ROOT/[train|val|test/]CLASS/[GROUP/]FILE``: the class folder's name is the label
  (images) or the transcript (speech, normalised); a sub-folder below the class folder is the
  group (a speaker). Without one, a speech clip is its own group (nothing can be held out
  better), unless ``group_pattern`` (a regular expression over the file name, its first group
  or the group named ``group``) says where the speaker is written.
* ``.tsv`` / ``.csv`` manifests with a header: ``path`` and ``text`` (speech) or ``label``
  (images), optionally ``speaker`` or ``group`` and ``split`` (Common Voice's ``sentence`` and
  ``client_id`` are understood too).
* NeMo-style ``.jsonl``: one object per line with ``audio_filepath`` and ``text``
  (optionally ``speaker``, ``split``).
* Kaldi data directories: ``wav.scp``, ``text`` and (optionally) ``utt2spk``.

Relative paths resolve against the manifest's folder (a Kaldi directory also tries the two
folders above it, where Kaldi recipes keep their paths relative to).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ..errors import DataError, ManifestError
from .builtin import BUILTINS, load_builtin
from .dataset import Dataset
from .entries import ON_ERROR, SPLIT_NAMES, Entries, file_kind, infer_task
from .kaldi import load_kaldi_dir
from .manifests import load_jsonl_manifest, load_table_manifest


def load_dataset(source, split: str | None = None, on_error: str = "raise", task: str | None = None, **options) -> Dataset:
    """A built-in data set by name, or a folder, manifest or Kaldi data directory by path.

    split: take only the data set's own "train", "val" or "test" part.
    on_error: "raise" stops at the first bad entry; "skip" leaves it out and lists it in
    ``Dataset.skipped``. task: "speech" or "image" where it cannot be told from the files.
    options: ``download`` and generator options (``seed``, ``size``) for built-ins;
    ``group_pattern`` for folders.
    """
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, not {on_error!r}")
    if isinstance(source, Dataset):
        ds = source
    elif isinstance(source, str) and source in BUILTINS:
        ds = load_builtin(source, **options)
    else:
        ds = _load_path(Path(source).expanduser(), task, on_error, **options)
    if task is not None and ds.task != task:
        raise DataError(ds.name or ds.source, f"holds {ds.task} data, not {task}")
    if split is not None:
        name = SPLIT_NAMES.get(split, split)
        if name not in ds.splits:
            have = ", ".join(ds.splits) or "none"
            raise DataError(ds.name or ds.source, f"has no {split!r} split (it has: {have})")
        ds = ds.take_split(name)
    return ds


def _load_path(path: Path, task, on_error, **options) -> Dataset:
    if not path.exists():
        hint = f"; built-ins: {', '.join(BUILTINS)}" if len(path.parts) == 1 and not path.suffix else ""
        raise DataError(path, f"no such file or folder{hint}")
    if path.is_dir():
        if (path / "wav.scp").exists():
            return load_kaldi_dir(path, on_error=on_error, **options)
        return load_folder(path, task=task, on_error=on_error, **options)
    suffix = path.suffix.lower()
    if suffix in (".tsv", ".csv"):
        return load_table_manifest(path, task=task, on_error=on_error, **options)
    if suffix in (".jsonl", ".json"):
        return load_jsonl_manifest(path, task=task, on_error=on_error, **options)
    raise DataError(path, "not a data set: expected a folder of class sub-folders, a .tsv/.csv/.jsonl manifest "
                    "or a Kaldi data directory")


def _hidden(path: Path) -> bool:
    return path.name.startswith(".")


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not _hidden(p))


def load_folder(folder: str | Path, task: str | None = None, on_error: str = "raise", group_pattern: str | None = None) -> Dataset:
    """A folder of class sub-folders, with an optional ``train/ val/ test/`` level above them."""
    folder = Path(folder)
    top = _subdirs(folder)
    named = [d for d in top if d.name.lower() in SPLIT_NAMES]
    if named and len(named) != len(top):
        others = ", ".join(d.name for d in top if d not in named)
        raise ManifestError(folder, f"mixes split folders ({', '.join(d.name for d in named)}) with class folders ({others})")
    layers = [(SPLIT_NAMES[d.name.lower()], d) for d in named] if named else [(None, folder)]
    entries = Entries(on_error)
    found = []  # (split, class folder, group, file)
    for split, root in layers:
        for loose in sorted(p for p in root.iterdir() if p.is_file() and not _hidden(p)):
            entries.skipped.append((str(loose), "not inside a class folder"))
        for class_dir in _subdirs(root):
            for path in sorted(class_dir.rglob("*")):
                relative = path.relative_to(class_dir)
                if not path.is_file() or any(part.startswith(".") for part in relative.parts):
                    continue
                group = relative.parts[0] if len(relative.parts) > 1 else None
                found.append((split, class_dir, group, path))
    if not found:
        raise ManifestError(folder, "no files found: expected CLASS/FILE or train|val|test/CLASS/FILE")
    task = infer_task([p for *_, p in found], task, folder)
    kinds = Counter(file_kind(p) for *_, p in found)
    if not kinds[task]:
        other = ", ".join(f"{n} {k or 'other'}" for k, n in kinds.items())
        raise ManifestError(folder, f"no {'audio' if task == 'speech' else 'image'} files for a {task} data set (found: {other})")
    pattern = re.compile(group_pattern) if group_pattern else None
    for split, class_dir, group, path in found:
        kind = file_kind(path)
        if kind != task:
            # Stray files (notes, thumbnails, the other modality) are listed, never fatal.
            what = "not an audio or image file" if kind is None else f"{'an audio' if kind == 'speech' else 'an image'} file"
            entries.skipped.append((str(path), f"{what} in a {task} folder"))
            continue
        if pattern is not None:
            match = pattern.search(path.stem)
            if match is None:
                entries.bad(path, f"file name does not match group_pattern {group_pattern!r}", path)
                continue
            group = match.groupdict().get("group") or (match.group(1) if match.groups() else match.group(0))
        entries.add(path, path, class_dir.name, task, group, split)
    return entries.dataset(task, folder, folder.name)
