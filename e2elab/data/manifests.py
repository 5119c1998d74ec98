"""Manifest files: ``.tsv`` / ``.csv`` tables with a header, and NeMo-style ``.jsonl``.

Relative paths resolve against the manifest's folder. In a table of classes, an empty label cell
marks an unlabeled item (``UNLABELED``, scikit-learn's -1: semi-supervised training uses it).
Every bad row is named by file and line (see :mod:`e2elab.data.entries` for what is checked and
how ``on_error`` acts).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..errors import ManifestError
from ..tasks import get_task
from .dataset import Dataset
from .entries import Entries, infer_task, resolve
from .textfile import read_manifest_text

PATH_KEYS = ("path", "audio_filepath", "filepath", "file")
TEXT_KEYS = ("text", "transcript", "sentence")
LABEL_KEYS = ("label", "class")
GROUP_KEYS = ("speaker", "group", "speaker_id", "client_id")
# The label of an unlabeled item (scikit-learn's -1): an empty label cell, or a folder's `unlabeled/`.
UNLABELED = "-1"


def pick(keys, candidates) -> str | None:
    """The first of `candidates` that `keys` holds."""
    return next((k for k in candidates if k in keys), None)


def header_columns(path: Path) -> set[str]:
    """The lower-case column names in the first line of a .tsv / .csv table; empty for any other
    file or one that cannot be read (a quick look that tells tasks' tables apart, not a parse)."""
    if path.suffix.lower() not in (".tsv", ".csv"):
        return set()
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            header = handle.readline()
    except OSError:
        return set()
    return {c.strip().lower() for c in header.replace(",", "\t").split("\t")}


def _table_lines(manifest: Path, delimiter: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank row."""
    # TSV transcripts carry bare quotes (as Common Voice's do): no quoting there.
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(read_manifest_text(manifest), newline=""), delimiter=delimiter, quoting=quoting)
    lines = []
    try:
        for row in reader:
            lines.append((reader.line_num, row))
    except csv.Error as err:
        raise ManifestError(f"{manifest}:{reader.line_num}", f"cannot read as {'TSV' if delimiter == chr(9) else 'CSV'}: {err}") from None
    return [(n, row) for n, row in lines if any(cell.strip() for cell in row)]


def load_table_manifest(manifest: str | Path, task: str | None = None, on_error: str = "raise") -> Dataset:
    """A ``.tsv`` or ``.csv`` file with a header naming ``path`` and ``text`` or ``label``."""
    manifest = Path(manifest)
    lines = _table_lines(manifest, "\t" if manifest.suffix.lower() == ".tsv" else ",")
    if not lines:
        raise ManifestError(manifest, "empty manifest")
    header_line, header = lines[0]
    header = [cell.strip().lower() for cell in header]
    path_key = pick(header, PATH_KEYS)
    text_key, label_key = pick(header, TEXT_KEYS), pick(header, LABEL_KEYS)
    if path_key is None or (text_key is None and label_key is None):
        raise ManifestError(f"{manifest}:{header_line}",
                            f"header needs a 'path' column and a 'text' or 'label' column; it has: {', '.join(header)}")
    group_key, split_key = pick(header, GROUP_KEYS), pick(header, ("split",))
    records = []
    for number, row in lines[1:]:
        if len(row) != len(header):
            records.append((number, None, f"expected {len(header)} columns, found {len(row)}"))
        else:
            records.append((number, dict(zip(header, (cell.strip() for cell in row))), None))
    default = "speech" if label_key is None else "image" if text_key is None else None
    task = infer_task([r[path_key] for _, r, _ in records if r], task, manifest, default=default)
    target_key = (text_key or label_key) if task == "speech" else (label_key or text_key)
    entries = Entries(on_error)
    for number, record, problem in records:
        where = f"{manifest}:{number}"
        if problem is not None:
            entries.bad(where, problem)
        elif not record[path_key]:
            entries.bad(where, f"empty {path_key!r}")
        else:
            target = record[target_key] or (UNLABELED if get_task(task).target_kind == "class" else "")
            entries.add(where, resolve(record[path_key], manifest.parent), target, task,
                        record.get(group_key) if group_key else None, (record.get(split_key) or None) if split_key else None)
    return entries.dataset(task, manifest, manifest.stem)


def _json_record(line: str) -> tuple[tuple | None, str | None]:
    """((path, target, group, split), None) from one JSON line, or (None, what is wrong)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        return None, f"not valid JSON: {err.msg} at column {err.colno}"
    except (ValueError, RecursionError) as err:  # a 5000-digit number, arrays nested thousands deep
        return None, f"not valid JSON: {type(err).__name__}"
    if not isinstance(record, dict):
        return None, "expected a JSON object"
    path_key, target_key = pick(record, PATH_KEYS), pick(record, ("text", "label"))
    if path_key is None or target_key is None or not isinstance(record[path_key], str) or record[target_key] is None:
        return None, "needs 'audio_filepath' (or 'path') and 'text' (or 'label')"
    if not isinstance(record[target_key], (str, int, float)):
        return None, f"{target_key!r} must be a string, not {type(record[target_key]).__name__}"
    group_key = pick(record, GROUP_KEYS)
    split = record.get("split")
    return (record[path_key], str(record[target_key]), None if group_key is None else str(record[group_key]),
            None if split is None else str(split)), None


def load_jsonl_manifest(manifest: str | Path, task: str | None = None, on_error: str = "raise") -> Dataset:
    """A NeMo-style JSON-lines manifest: ``{"audio_filepath": ..., "text": ...}`` per line."""
    manifest = Path(manifest)
    records = []
    # split("\n"), not splitlines(): line numbers must match an editor's, which ignores form feeds.
    for number, line in enumerate(read_manifest_text(manifest).split("\n"), 1):
        if line.strip():
            records.append((number, *_json_record(line)))
    if not records:
        raise ManifestError(manifest, "empty manifest")
    task = infer_task([r[0] for _, r, _ in records if r], task, manifest, default="speech")
    entries = Entries(on_error)
    for number, record, problem in records:
        where = f"{manifest}:{number}"
        if problem is not None:
            entries.bad(where, problem)
        else:
            path, target, group, split = record
            entries.add(where, resolve(path, manifest.parent), target, task, group, split)
    return entries.dataset(task, manifest, manifest.stem)
