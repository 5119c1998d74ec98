"""Boxes as float arrays (n, 4) of x, y, w, h in pixels (top-left corner and size).

Intersection over union, greedy non-maximum suppression, clipping to the image, and the checks
every annotation passes through before training or scoring (`validate_boxes`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError

DUPLICATE_IOU = 0.95  # two boxes of the same label overlapping this much are one face annotated twice


def as_boxes(boxes, source=None) -> np.ndarray:
    """`boxes` as a float64 array (n, 4); an empty sequence gives (0, 4)."""
    array = np.asarray(boxes, dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, 4))
    if array.ndim != 2 or array.shape[1] != 4:
        raise DataError(source, f"boxes must be an (n, 4) array of x, y, w, h, not shape {array.shape}")
    return array


def area(boxes) -> np.ndarray:
    boxes = as_boxes(boxes)
    return np.clip(boxes[:, 2], 0, None) * np.clip(boxes[:, 3], 0, None)


def iou(a, b) -> np.ndarray:
    """Intersection over union of every box of `a` (n, 4) with every box of `b` (m, 4): (n, m)."""
    a, b = as_boxes(a), as_boxes(b)
    left = np.maximum(a[:, None, 0], b[None, :, 0])  # (n, m)
    top = np.maximum(a[:, None, 1], b[None, :, 1])
    right = np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2])
    bottom = np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    union = area(a)[:, None] + area(b)[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def nms(boxes, scores, iou_threshold: float = 0.3) -> np.ndarray:
    """Greedy non-maximum suppression: indices of the kept boxes, best score first.

    A box is dropped when it overlaps an already kept, higher-scoring box by more than
    `iou_threshold`. Ties in score keep the earlier box. Memory stays linear in the number of
    boxes: each kept box is compared with the boxes still standing, not all pairs at once.
    """
    boxes, scores = as_boxes(boxes), np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(boxes) != len(scores):
        raise DataError(None, f"{len(boxes)} boxes but {len(scores)} scores")
    remaining = np.argsort(-scores, kind="stable")
    keep = []
    while len(remaining):
        best, remaining = remaining[0], remaining[1:]
        keep.append(best)
        remaining = remaining[iou(boxes[best:best + 1], boxes[remaining])[0] <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def clip_boxes(boxes, width: float, height: float) -> np.ndarray:
    """Boxes cut to the image [0, width] x [0, height]; a box wholly outside gets zero size."""
    boxes = as_boxes(boxes)
    x0 = np.clip(boxes[:, 0], 0, width)
    y0 = np.clip(boxes[:, 1], 0, height)
    x1 = np.clip(boxes[:, 0] + boxes[:, 2], 0, width)
    y1 = np.clip(boxes[:, 1] + boxes[:, 3], 0, height)
    return np.stack([x0, y0, np.maximum(x1 - x0, 0), np.maximum(y1 - y0, 0)], axis=1)


@dataclass
class BoxCheck:
    """The boxes of one image after `validate_boxes`, and what was changed to get them."""

    boxes: np.ndarray  # (n, 4)
    labels: np.ndarray  # (n,) str
    clipped: int = 0  # boxes reaching outside the image, cut to it
    invalid: int = 0  # boxes with NaN/inf, or zero or negative size (also after clipping), dropped
    duplicates: int = 0  # boxes repeating another of the same label (IoU > DUPLICATE_IOU), dropped
    problems: list[str] = field(default_factory=list)  # one line per change, for a warning

    @property
    def changed(self) -> bool:
        return bool(self.clipped or self.invalid or self.duplicates)


def validate_boxes(boxes, width: float | None, height: float | None, source=None, labels=None,
                   warn: bool = True) -> BoxCheck:
    """Check the annotated boxes of one image (`source` names it in warnings and errors).

    Boxes reaching outside the image are clipped; boxes with NaN or infinite values, or with zero
    or negative width or height (also once clipped: a box wholly outside the image) are dropped;
    a box repeating an earlier one of the same label (IoU > 0.95) is dropped. Each change is
    counted, and with `warn` one warning names the image and lists them. width/height None: the
    image size is unknown and nothing is clipped.
    """
    boxes = as_boxes(boxes, source)
    labels = np.full(len(boxes), "face", dtype=object) if labels is None else np.asarray(labels, dtype=object)
    if len(labels) != len(boxes):
        raise DataError(source, f"{len(boxes)} boxes but {len(labels)} labels")
    problems = []
    finite = np.isfinite(boxes).all(axis=1)
    for i in np.flatnonzero(~finite):
        problems.append(f"box {i} {boxes[i].tolist()} has a NaN or infinite value: dropped")
    clipped = 0
    if width is not None and height is not None:
        inside = clip_boxes(np.nan_to_num(boxes), width, height)
        still_positive = (inside[:, 2] > 0) & (inside[:, 3] > 0)
        moved = finite & still_positive & ~np.isclose(inside, boxes).all(axis=1)
        for i in np.flatnonzero(moved):
            problems.append(f"box {i} {boxes[i].tolist()} reaches outside the {width}x{height} image: clipped")
        clipped = int(moved.sum())
        boxes = np.where(finite[:, None], inside, boxes)
    positive = finite & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
    for i in np.flatnonzero(finite & ~positive):
        problems.append(f"box {i} {boxes[i].tolist()} has zero or negative size (or lies outside the image): dropped")
    keep = list(np.flatnonzero(positive))
    duplicates, unique = 0, []
    overlaps = iou(boxes, boxes) if len(boxes) else np.zeros((0, 0))
    for i in keep:
        if any(labels[j] == labels[i] and overlaps[i, j] > DUPLICATE_IOU for j in unique):
            problems.append(f"box {i} {boxes[i].tolist()} repeats an earlier {labels[i]!r} box: dropped")
            duplicates += 1
        else:
            unique.append(i)
    check = BoxCheck(boxes[unique].reshape(-1, 4), labels[unique].astype(str), clipped=clipped,
                     invalid=int((~positive).sum()), duplicates=duplicates, problems=problems)
    if warn and problems:
        warnings.warn(f"{source or 'boxes'}: " + "; ".join(problems), stacklevel=2)
    return check
