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

import csv
import json
import re
from collections import Counter
from pathlib import Path

from ..errors import DataError, ManifestError
from .audio import AUDIO_EXTENSIONS
from .builtin import BUILTINS, load_builtin
from .dataset import Dataset
from .image import IMAGE_EXTENSIONS
from .text import normalize_transcript

SPLIT_NAMES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val", "dev": "val",
               "test": "test", "testing": "test"}
PATH_KEYS = ("path", "audio_filepath", "filepath", "file")
TEXT_KEYS = ("text", "transcript", "sentence")
GROUP_KEYS = ("speaker", "group", "speaker_id", "client_id")
ON_ERROR = ("raise", "skip")


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


class _Rows:
    """Entries (path, target, group, split) gathered from a source, with its bad ones."""

    def __init__(self, on_error: str):
        self.on_error = on_error
        self.items: list[tuple[str, str, str | None, str | None]] = []
        self.skipped: list[tuple[str, str]] = []

    def bad(self, where, reason: str, item=None):
        if self.on_error == "raise":
            raise ManifestError(where, reason)
        self.skipped.append((str(item if item is not None else where), f"{where}: {reason}"))

    def add(self, where, path: Path, target: str, task: str, group=None, split=None) -> None:
        """Check one entry and keep it, or report it as bad."""
        kind = file_kind(path)
        if kind is None:
            return self.bad(where, f"{path.name}: not an audio or image file (unknown extension {path.suffix!r})", path)
        if kind != task:
            return self.bad(where, f"{path.name}: {'an audio' if kind == 'speech' else 'an image'} file in a {task} data set", path)
        if not path.is_file():
            return self.bad(where, f"file not found: {path}", path)
        if task == "speech":
            try:
                target = normalize_transcript(target, source=str(where))
            except DataError as err:
                return self.bad(where, err.reason, path)
            if not target:
                return self.bad(where, "empty transcript", path)
        elif not str(target).strip():
            return self.bad(where, "empty label", path)
        split = str(split).strip().lower() if split is not None else None
        if split is not None and split not in SPLIT_NAMES:
            return self.bad(where, f"unknown split {split!r} (expected one of {', '.join(SPLIT_NAMES)})", path)
        self.items.append((str(path), str(target).strip(), group or None, SPLIT_NAMES.get(split) if split else None))

    def dataset(self, task: str, source) -> Dataset:
        if not self.items:
            raise ManifestError(source, f"no usable items ({len(self.skipped)} bad)" if self.skipped else "no items")
        paths, targets, groups, splits = zip(*self.items)
        if task == "speech":
            # A clip without a speaker is its own group: nothing better can be held out.
            groups = [g if g is not None else f"utt:{p}" for p, g in zip(paths, groups)]
        else:
            groups = [g or "" for g in groups]
        has_split = any(s is not None for s in splits)
        if has_split and not all(s is not None for s in splits):
            raise ManifestError(source, "some entries name a split and others do not")
        return Dataset(X=list(paths), y=list(targets), task=task, groups=list(groups),
                       split=list(splits) if has_split else None, source=str(source), skipped=self.skipped)


def file_kind(path: Path) -> str | None:
    """"speech" for an audio extension, "image" for an image extension, else None."""
    suffix = path.suffix.lower()
    return "speech" if suffix in AUDIO_EXTENSIONS else "image" if suffix in IMAGE_EXTENSIONS else None


def _infer_task(paths, task, source, default=None) -> str:
    if task is not None:
        return task
    kinds = [file_kind(Path(p)) for p in paths]
    n_audio, n_image = kinds.count("speech"), kinds.count("image")
    if n_audio == n_image:
        if default is not None:
            return default
        raise ManifestError(source, "cannot tell speech from image data (no audio or image files found); pass task=")
    return "speech" if n_audio > n_image else "image"


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
    rows = _Rows(on_error)
    found = []  # (split, class folder, group, file)
    for split, root in layers:
        for loose in sorted(p for p in root.iterdir() if p.is_file() and not _hidden(p)):
            rows.skipped.append((str(loose), "not inside a class folder"))
        for class_dir in _subdirs(root):
            for path in sorted(class_dir.rglob("*")):
                relative = path.relative_to(class_dir)
                if not path.is_file() or any(part.startswith(".") for part in relative.parts):
                    continue
                group = relative.parts[0] if len(relative.parts) > 1 else None
                found.append((split, class_dir, group, path))
    if not found:
        raise ManifestError(folder, "no files found: expected CLASS/FILE or train|val|test/CLASS/FILE")
    task = _infer_task([p for *_, p in found], task, folder)
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
            rows.skipped.append((str(path), f"{what} in a {task} folder"))
            continue
        if pattern is not None:
            match = pattern.search(path.stem)
            if match is None:
                rows.bad(path, f"file name does not match group_pattern {group_pattern!r}", path)
                continue
            group = match.groupdict().get("group") or (match.group(1) if match.groups() else match.group(0))
        rows.add(path, path, class_dir.name, task, group, split)
    ds = rows.dataset(task, folder)
    ds.name = folder.name
    return ds


def _resolve(value: str, base: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _pick(keys, candidates) -> str | None:
    return next((k for k in candidates if k in keys), None)


def load_table_manifest(manifest: str | Path, task: str | None = None, on_error: str = "raise") -> Dataset:
    """A ``.tsv`` or ``.csv`` file with a header naming ``path`` and ``text`` or ``label``."""
    manifest = Path(manifest)
    delimiter = "\t" if manifest.suffix.lower() == ".tsv" else ","
    try:
        with open(manifest, newline="", encoding="utf-8-sig") as handle:
            # TSV transcripts carry bare quotes (as Common Voice's do): no quoting there.
            quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
            lines = list(enumerate(csv.reader(handle, delimiter=delimiter, quoting=quoting), 1))
    except (UnicodeDecodeError, csv.Error) as err:
        raise ManifestError(manifest, f"cannot read as {'TSV' if delimiter == chr(9) else 'CSV'} text: {err}") from None
    lines = [(n, row) for n, row in lines if any(cell.strip() for cell in row)]
    if not lines:
        raise ManifestError(manifest, "empty manifest")
    header_line, header = lines[0]
    header = [cell.strip().lower() for cell in header]
    path_key = _pick(header, PATH_KEYS)
    text_key, label_key = _pick(header, TEXT_KEYS), _pick(header, ("label", "class"))
    if path_key is None or (text_key is None and label_key is None):
        raise ManifestError(f"{manifest}:{header_line}", f"header needs a 'path' column and a 'text' or 'label' column; it has: {', '.join(header)}")
    group_key, split_key = _pick(header, GROUP_KEYS), _pick(header, ("split",))
    records = []
    for number, row in lines[1:]:
        if len(row) != len(header):
            records.append((number, None, f"expected {len(header)} columns, found {len(row)}"))
        else:
            records.append((number, dict(zip(header, (cell.strip() for cell in row))), None))
    default = "speech" if label_key is None else "image" if text_key is None else None
    task = _infer_task([r[path_key] for _, r, _ in records if r], task, manifest, default=default)
    target_key = (text_key or label_key) if task == "speech" else (label_key or text_key)
    rows = _Rows(on_error)
    for number, record, problem in records:
        where = f"{manifest}:{number}"
        if problem is not None:
            rows.bad(where, problem)
        elif not record[path_key]:
            rows.bad(where, f"empty {path_key!r}")
        else:
            rows.add(where, _resolve(record[path_key], manifest.parent), record[target_key], task,
                     record.get(group_key) if group_key else None, record.get(split_key) or None if split_key else None)
    ds = rows.dataset(task, manifest)
    ds.name = manifest.stem
    return ds


def load_jsonl_manifest(manifest: str | Path, task: str | None = None, on_error: str = "raise") -> Dataset:
    """A NeMo-style JSON-lines manifest: ``{"audio_filepath": ..., "text": ...}`` per line."""
    manifest = Path(manifest)
    records = []
    try:
        text = manifest.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ManifestError(manifest, f"not UTF-8 text: {err}") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            records.append((number, None, f"not valid JSON: {err.msg}"))
            continue
        if not isinstance(record, dict):
            records.append((number, None, "expected a JSON object"))
            continue
        path_key = _pick(record, PATH_KEYS)
        target_key = _pick(record, ("text", "label"))
        if path_key is None or target_key is None or not isinstance(record[path_key], str) or record[target_key] is None:
            records.append((number, None, "needs 'audio_filepath' (or 'path') and 'text' (or 'label')"))
            continue
        group_key = _pick(record, GROUP_KEYS)
        records.append((number, (record[path_key], str(record[target_key]),
                                 None if group_key is None else str(record[group_key]), record.get("split")), None))
    if not records:
        raise ManifestError(manifest, "empty manifest")
    task = _infer_task([r[0] for _, r, _ in records if r], task, manifest, default="speech")
    rows = _Rows(on_error)
    for number, record, problem in records:
        where = f"{manifest}:{number}"
        if problem is not None:
            rows.bad(where, problem)
        else:
            path, target, group, split = record
            rows.add(where, _resolve(path, manifest.parent), target, task, group, split)
    ds = rows.dataset(task, manifest)
    ds.name = manifest.stem
    return ds


def _read_kaldi_table(path: Path, rows: _Rows) -> dict[str, tuple[int, str]]:
    """``utt value`` lines as {utt: (line number, value)}; duplicates are bad lines."""
    table: dict[str, tuple[int, str]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        key, _, value = line.strip().partition(" ")
        if key in table:
            rows.bad(f"{path}:{number}", f"utterance {key!r} listed twice (first on line {table[key][0]})")
            continue
        table[key] = (number, value.strip())
    return table


def load_kaldi_dir(folder: str | Path, on_error: str = "raise") -> Dataset:
    """A Kaldi data directory: ``wav.scp`` (utt -> file), ``text`` (utt -> words), ``utt2spk``."""
    folder = Path(folder)
    for required in ("wav.scp", "text"):
        if not (folder / required).is_file():
            raise ManifestError(folder, f"a Kaldi data directory needs {required}")
    if (folder / "segments").exists():
        raise ManifestError(folder / "segments", "Kaldi segments (several utterances cut from one recording) are not supported")
    rows = _Rows(on_error)
    wavs = _read_kaldi_table(folder / "wav.scp", rows)
    texts = _read_kaldi_table(folder / "text", rows)
    speakers = _read_kaldi_table(folder / "utt2spk", rows) if (folder / "utt2spk").is_file() else {}
    bases = [folder, folder.parent, folder.parent.parent]
    for utt in sorted(set(texts) - set(wavs)):
        rows.bad(f"{folder / 'text'}:{texts[utt][0]}", f"utterance {utt!r} has no audio in wav.scp")
    for utt in sorted(wavs):
        number, value = wavs[utt]
        where = f"{folder / 'wav.scp'}:{number}"
        if value.endswith("|") or value.startswith(("ark:", "scp:")) or not value:
            rows.bad(where, f"{utt}: only plain file paths are supported, not {value!r} (piped commands and archives)")
        elif utt not in texts:
            rows.bad(where, f"utterance {utt!r} has no transcript in text")
        else:
            path = next((b / value for b in bases if (b / value).exists()), _resolve(value, folder))
            speaker = speakers.get(utt, (0, None))[1]
            rows.add(where, path, texts[utt][1], "speech", speaker or None)
    ds = rows.dataset("speech", folder)
    ds.name = folder.name
    return ds
