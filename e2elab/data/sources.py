"""Data sets from a name or a path: built-ins, folders of class sub-folders, manifests, Kaldi dirs.

Every source becomes a :class:`~e2elab.data.dataset.Dataset` whose items are file paths, read
lazily by the pipelines. Loading checks what it can without decoding (the file exists, its
extension fits the task, its transcript uses the alphabet); a bad entry raises
:class:`~e2elab.errors.ManifestError` naming the file and line, or, with ``on_error="skip"``, is
left out and listed in ``Dataset.skipped``.

Layouts understood:

* a folder ``ROOT/[train|val|test/]CLASS/[GROUP/]FILE`` (:mod:`e2elab.data.folders`).
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

from pathlib import Path

from ..errors import DataError, ParameterError
from ..tasks import get_task, task_claiming
from .builtins import BUILTINS, load_builtin
from .dataset import Dataset
from .entries import ON_ERROR, SPLIT_NAMES
from .folders import load_folder
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
        raise ParameterError(f"on_error must be one of {ON_ERROR}, not {on_error!r}")
    if isinstance(source, Dataset):
        ds = source
    elif isinstance(source, str) and source in BUILTINS:
        ds = load_builtin(source, **options)
    else:
        path = Path(source).expanduser()
        claimed = task_claiming(path) if task is None and path.exists() else None
        if claimed is not None or (task is not None and path.exists() and not options):
            # The task's own reader: what a detection folder's boxes.tsv or a parallel corpus means.
            ds = (claimed or get_task(task)).read_source(path, on_error=on_error)
        else:
            ds = _load_path(path, task, on_error, **options)
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
