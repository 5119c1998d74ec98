"""Detection data sets as :class:`~e2elab.data.dataset.Dataset`: photos (paths) with their face boxes.

The task registry's readers for the detection task: a folder of photos with a ``boxes.tsv`` /
``boxes.csv`` (or of Pascal VOC XML files), a box table itself, or a COCO ``.json``. Each target
is the photo's boxes, an (n, 4) float array of x, y, w, h in pixels (n may be 0: a background
photo). The annotation readers (:mod:`.annotations`) clip boxes reaching outside their photo and
drop zero-size and duplicate ones, with one warning counting each kind; an annotation naming a
missing photo raises ManifestError/DataError naming the file and line, or with on_error="skip"
is left out and listed in ``Dataset.skipped``.
"""

from __future__ import annotations

from pathlib import Path

from ..data.dataset import Dataset
from ..data.manifests import header_columns
from .annotations import Annotations, read_box_folder, read_box_table, read_coco, read_voc

TASK = "detection"


def as_dataset(annotations: Annotations, source: str | Path) -> Dataset:
    """The photos of `annotations` as items, their box arrays as targets."""
    return Dataset(X=[str(path) for path in annotations.paths], y=list(annotations.boxes), task=TASK,
                   source=str(source), skipped=list(annotations.skipped))


def load_box_folder(folder: str | Path, on_error: str = "raise") -> Dataset:
    """A folder with a boxes.tsv / boxes.csv, else a folder of Pascal VOC XML (or its Annotations/)."""
    folder = Path(folder)
    has_voc = (folder / "Annotations").is_dir() or any(folder.glob("*.xml"))
    if has_voc and not any((folder / name).is_file() for name in ("boxes.tsv", "boxes.csv")):
        return as_dataset(read_voc(folder, on_error=on_error), folder)
    return as_dataset(read_box_folder(folder, on_error), folder)


def load_box_table(table: str | Path, on_error: str = "raise") -> Dataset:
    """A .tsv / .csv box table: path, x, y, w, h (and an optional label), one row per box."""
    return as_dataset(read_box_table(table, on_error), table)


def load_coco(path: str | Path, on_error: str = "raise") -> Dataset:
    """A COCO .json (images, annotations, categories); photos beside it or in images/ beside it."""
    return as_dataset(read_coco(path, on_error=on_error), path)


BOX_COLUMNS = {"x", "y", "w", "h"}


def is_box_source(path: Path) -> bool:
    """Whether `path` is unmistakably a detection data set: a folder with a boxes.tsv / boxes.csv,
    or a table whose header names the x, y, w, h columns of boxes."""
    if path.is_dir():
        return any((path / name).is_file() for name in ("boxes.tsv", "boxes.csv"))
    return BOX_COLUMNS <= header_columns(path)
