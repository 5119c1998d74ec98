"""What both face detectors share beyond the pipeline contract: how they are scored and what
``e2elab predict --json`` reports.

`score` is average precision at IoU 0.5 (higher is better, as scikit-learn expects), so the
detection task's error is 1 - AP@0.5; `predict_details` lists each photo's boxes with their scores.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from ..base import PipelineMixin
from ..data.image import as_image
from ..errors import DataError
from .boxes import as_boxes, validate_boxes
from .metrics import MAX_DETECTIONS, ap50


def target_boxes(target, source=None) -> np.ndarray:
    """One photo's annotated boxes (n, 4): the boxes themselves, or a dict holding them under "boxes"."""
    return as_boxes(target["boxes"] if isinstance(target, dict) else target, source)


class DetectorMixin(PipelineMixin):
    """Scoring and JSON details of a fitted detector whose `predict` gives per photo
    {"boxes": (n, 4) x, y, w, h, "scores": (n,)}."""

    def score(self, X, y) -> float:
        """Average precision at IoU 0.5 over every annotated face of `X`."""
        targets = [target_boxes(t, f"target {i}") for i, t in enumerate(y)]
        return ap50(self.predict(X), targets, max(MAX_DETECTIONS, int(self.max_detections)))

    def predict_details(self, X) -> list[dict]:
        """Per photo: its boxes, best first, each {"x", "y", "w", "h", "score"} in the photo's pixels."""
        self._check_fitted()
        return [{"n_boxes": len(found["boxes"]),
                 "boxes": [{"x": float(x), "y": float(y), "w": float(w), "h": float(h), "score": float(score)}
                           for (x, y, w, h), score in zip(found["boxes"], found["scores"])]}
                for found in self.predict(X)]

    def _read_training_set(self, X, y, prepare: Callable, channels: int | None = None):
        """Each readable training photo and its checked boxes, passed through
        ``prepare(image, boxes) -> (image, boxes)`` one photo at a time (so a folder of large
        photos is never held at full size); a bad photo or annotation is skipped or raised as
        `on_error` says."""
        from tqdm.auto import tqdm

        photos, faces, skipped = [], [], []
        pairs = list(zip(X, y))
        bar = tqdm(pairs, desc="reading training photos", disable=not self._show_progress() or len(pairs) < 20, leave=False)
        for index, (item, target) in enumerate(bar):
            name = str(item) if isinstance(item, (str, os.PathLike)) else f"item {index}"
            try:
                image = as_image(item, channels=channels)
                check = validate_boxes(target_boxes(target, name), image.shape[1], image.shape[0], source=name)
            except DataError as err:
                self._skip_or_raise(err, skipped, item=f"item {index}")
                continue
            image, boxes = prepare(image, check.boxes)
            photos.append(image)
            faces.append(boxes)
        self._record_skipped(skipped, "training photo")
        if not photos:
            raise DataError(None, "no usable training photo")
        return photos, faces

