"""Readers of face (object) box annotations: a box table, Pascal VOC XML, a COCO json.

Each returns `Annotations`: every image path, and per image its boxes (n, 4) as x, y, w, h in
pixels with their labels. Images without any box are kept: they are the background a detector
must learn to leave empty. Every image's boxes pass `validate_boxes` (clipped to the image,
invalid and duplicate boxes dropped), and one warning per reader call sums up what changed.

An annotation naming an image that does not exist raises DataError naming the annotation file
and line (or entry); with on_error="skip" it is left out and counted in `skipped`.
"""

from __future__ import annotations

import csv
import json
import warnings
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.image import IMAGE_EXTENSIONS
from ..errors import DataError, ManifestError
from .boxes import validate_boxes

TABLE_NAMES = ("boxes.tsv", "boxes.csv")
TABLE_COLUMNS = ("path", "x", "y", "w", "h")


@dataclass
class Annotations:
    """Images and their annotated boxes, index-aligned."""

    paths: list[Path]
    boxes: list[np.ndarray]  # per image (n, 4) float x, y, w, h; n may be 0
    labels: list[np.ndarray]  # per image (n,) str
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file:line or entry, reason)
    clipped: int = 0
    invalid: int = 0
    duplicates: int = 0

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def n_boxes(self) -> int:
        return int(sum(len(b) for b in self.boxes))

    def subset(self, indices) -> Annotations:
        """The images at `indices` (a split by image), with their boxes."""
        indices = [int(i) for i in indices]
        return Annotations([self.paths[i] for i in indices], [self.boxes[i] for i in indices],
                           [self.labels[i] for i in indices])


class _Collector:
    """Gathers boxes per image in reading order, then validates them against each image's size."""

    def __init__(self, source: Path, on_error: str):
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
        self.source, self.on_error = source, on_error
        self.images: dict[Path, list] = {}
        self.sizes: dict[Path, tuple[float, float]] = {}
        self.skipped: list[tuple[str, str]] = []

    def problem(self, where: str, reason: str):
        if self.on_error == "raise":
            raise DataError(where, reason)
        self.skipped.append((where, reason))

    def add_image(self, path: Path, size: tuple[float, float] | None = None):
        self.images.setdefault(path, [])
        if size and size[0] > 0 and size[1] > 0:
            self.sizes[path] = size

    def add_box(self, path: Path, box, label: str, where: str) -> None:
        if not path.is_file():
            self.problem(where, f"names image {path}, which does not exist")
            return
        self.add_image(path)
        self.images[path].append((box, label))

    def finish(self) -> Annotations:
        from PIL import Image

        paths, boxes, labels = [], [], []
        counts = {"clipped": 0, "invalid": 0, "duplicates": 0}
        examples = []
        for path, entries in self.images.items():
            size = self.sizes.get(path)
            if size is None and entries:
                try:
                    with Image.open(path) as image:  # reads the header only
                        size = image.size
                except OSError as err:
                    self.problem(str(path), f"cannot read the image's size: {err}")
                    continue
            raw = np.array([box for box, _ in entries], dtype=np.float64).reshape(-1, 4)
            check = validate_boxes(raw, *(size or (None, None)), source=path,
                                   labels=[label for _, label in entries], warn=False)
            for key in counts:
                counts[key] += getattr(check, key)
            examples.extend(f"{path.name}: {p}" for p in check.problems[:2])
            paths.append(path)
            boxes.append(check.boxes)
            labels.append(check.labels)
        if examples:
            warnings.warn(f"{self.source}: {counts['clipped']} box(es) clipped to their image, {counts['invalid']} "
                          f"invalid and {counts['duplicates']} duplicate box(es) dropped; e.g. "
                          + "; ".join(examples[:3]), stacklevel=3)
        if self.skipped:
            warnings.warn(f"{self.source}: skipped {len(self.skipped)} annotation(s); first: "
                          f"{self.skipped[0][0]}: {self.skipped[0][1]}", stacklevel=3)
        return Annotations(paths, boxes, labels, skipped=self.skipped, **counts)


def _images_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def read_box_table(table: str | Path, on_error: str = "raise") -> Annotations:
    """A `.tsv`/`.csv` with columns path, x, y, w, h and an optional label, one row per box.

    Paths are relative to the table's folder; every image under that folder is an item, those
    without a row being background. A row naming a missing image, or with a value that is not a
    number, is an error naming the table and line (skipped and counted with on_error="skip").
    """
    table = Path(table)
    if not table.is_file():
        raise ManifestError(table, "no such annotation table")
    root = table.parent
    collector = _Collector(table, on_error)
    for image in _images_under(root):
        collector.add_image(image)
    delimiter = "\t" if table.suffix.lower() == ".tsv" else ","
    with open(table, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        missing = [c for c in TABLE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ManifestError(f"{table}:1", f"missing column(s) {', '.join(missing)}; the header must name "
                                              f"{', '.join(TABLE_COLUMNS)} (and optionally label)")
        for row in reader:
            where = f"{table}:{reader.line_num}"
            try:
                box = [float(row[c]) for c in ("x", "y", "w", "h")]
            except (TypeError, ValueError):
                collector.problem(where, f"x, y, w, h must be numbers, not {[row[c] for c in ('x', 'y', 'w', 'h')]}")
                continue
            collector.add_box(root / row["path"].strip(), box, (row.get("label") or "face").strip(), where)
    return collector.finish()


def read_box_folder(folder: str | Path, on_error: str = "raise") -> Annotations:
    """A folder of images with a `boxes.tsv` or `boxes.csv` (see `read_box_table`)."""
    folder = Path(folder)
    for name in TABLE_NAMES:
        if (folder / name).is_file():
            return read_box_table(folder / name, on_error)
    raise ManifestError(folder, f"holds no annotation table ({' or '.join(TABLE_NAMES)})")


def _voc_image(xml_path: Path, filename: str, images_dir: Path | None) -> Path:
    """Where a VOC file's image is: `images_dir`, else JPEGImages/ or images/ beside Annotations/, else beside it."""
    folders = [images_dir] if images_dir else [xml_path.parent.parent / "JPEGImages", xml_path.parent.parent / "images",
                                               xml_path.parent / "images", xml_path.parent]
    for folder in folders:
        if (folder / filename).is_file():
            return folder / filename
    return folders[0] / filename


def read_voc(folder: str | Path, images_dir: str | Path | None = None, on_error: str = "raise") -> Annotations:
    """Pascal VOC XML files (one per image) in `folder` (or its `Annotations/`).

    Each <object> gives a label (<name>) and a <bndbox> of xmin, ymin, xmax, ymax, read as the
    box x=xmin, y=ymin, w=xmax-xmin, h=ymax-ymin. Images are looked up in `images_dir`, else in
    JPEGImages/ or images/ beside the annotation folder, else beside each XML file.
    """
    folder = Path(folder)
    if (folder / "Annotations").is_dir():
        folder = folder / "Annotations"
    files = sorted(folder.glob("*.xml"))
    if not files:
        raise ManifestError(folder, "holds no Pascal VOC .xml annotation file")
    collector = _Collector(folder, on_error)
    for xml_path in files:
        try:
            root = ElementTree.parse(xml_path).getroot()
        except ElementTree.ParseError as err:
            collector.problem(f"{xml_path}:{err.position[0]}", f"not well-formed XML: {err}")
            continue
        filename = (root.findtext("filename") or "").strip()
        if not filename:
            collector.problem(str(xml_path), "has no <filename>")
            continue
        image = _voc_image(xml_path, filename, Path(images_dir) if images_dir else None)
        if not image.is_file():
            collector.problem(str(xml_path), f"names image {image}, which does not exist")
            continue
        try:
            size = (float(root.findtext("size/width") or 0), float(root.findtext("size/height") or 0))
        except ValueError:
            size = None  # read from the image instead
        collector.add_image(image, size)
        for number, obj in enumerate(root.iter("object")):
            where = f"{xml_path} (object {number})"
            try:
                x0, y0, x1, y1 = (float(obj.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax"))
            except (TypeError, ValueError):
                collector.problem(where, "<bndbox> needs numeric xmin, ymin, xmax and ymax")
                continue
            collector.add_box(image, [x0, y0, x1 - x0, y1 - y0], (obj.findtext("name") or "face").strip(), where)
    return collector.finish()


def read_coco(path: str | Path, images_dir: str | Path | None = None, on_error: str = "raise") -> Annotations:
    """A COCO json: "images" (id, file_name, optional width and height), "annotations" (image_id,
    bbox as x, y, w, h, category_id), "categories" (id, name; the label of each box).

    Images are looked up in `images_dir`, else beside the json, else in images/ beside it.
    Crowd annotations (iscrowd=1) are read as ordinary boxes.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(path, "no such COCO annotation file") from None
    except json.JSONDecodeError as err:
        raise ManifestError(f"{path}:{err.lineno}", f"not valid JSON: {err.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise ManifestError(path, "a COCO file is a JSON object with an \"images\" list")
    folders = [Path(images_dir)] if images_dir else [path.parent, path.parent / "images"]
    names = {c.get("id"): str(c.get("name", c.get("id"))) for c in data.get("categories", [])}
    collector = _Collector(path, on_error)
    by_id = {}
    for number, entry in enumerate(data["images"]):
        where = f"{path} (images[{number}])"
        name = str(entry.get("file_name", ""))
        image = next((f / name for f in folders if name and (f / name).is_file()), folders[0] / name)
        if not name or not image.is_file():
            collector.problem(where, f"names image {image}, which does not exist")
            continue
        by_id[entry.get("id")] = image
        collector.add_image(image, (float(entry.get("width") or 0), float(entry.get("height") or 0)))
    known = {entry.get("id") for entry in data["images"]}
    for number, annotation in enumerate(data.get("annotations", [])):
        where = f"{path} (annotations[{number}])"
        image_id = annotation.get("image_id")
        if image_id not in known:
            collector.problem(where, f"refers to image id {image_id!r}, which the \"images\" list lacks")
            continue
        if image_id not in by_id:
            continue  # its image was missing, already reported
        bbox = annotation.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            collector.problem(where, f"bbox must be [x, y, w, h], not {bbox!r}")
            continue
        label = names.get(annotation.get("category_id"), str(annotation.get("category_id", "face")))
        collector.add_box(by_id[image_id], bbox, label, where)
    return collector.finish()


def read_annotations(path: str | Path, on_error: str = "raise") -> Annotations:
    """Any supported layout: a box table, a folder holding one, a COCO .json, a folder of VOC XML."""
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() in (".tsv", ".csv"):
            return read_box_table(path, on_error)
        if path.suffix.lower() == ".json":
            return read_coco(path, on_error=on_error)
        raise ManifestError(path, "unknown annotation file: expected a .tsv/.csv box table or a COCO .json")
    if not path.is_dir():
        raise ManifestError(path, "no such annotation file or folder")
    if any((path / name).is_file() for name in TABLE_NAMES):
        return read_box_folder(path, on_error)
    if (path / "Annotations").is_dir() or any(path.glob("*.xml")):
        return read_voc(path, on_error=on_error)
    raise ManifestError(path, f"holds no box table ({' or '.join(TABLE_NAMES)}), COCO json or Pascal VOC XML")


def load_facemask(on_error: str = "raise") -> Annotations:
    """The built-in `facemask` photos and face boxes, from $E2ELAB_DATA_DIR/facemask (or the cache)."""
    from ..data.paths import search_dirs

    for folder in search_dirs():
        if (folder / "facemask" / "boxes.tsv").is_file():
            return read_box_folder(folder / "facemask", on_error)
    raise DataError("facemask", "data set not found: put its folder (images/ and boxes.tsv) at "
                                "$E2ELAB_DATA_DIR/facemask")
