"""What both face detectors share beyond the pipeline contract: how they are scored and what
``e2elab predict --json`` reports.

`score` is average precision at IoU 0.5 (higher is better, as scikit-learn expects), so the
detection task's error is 1 - AP@0.5; `predict_details` lists each photo's boxes with their scores.
"""

from __future__ import annotations

import numpy as np

from ..base import PipelineMixin
from .boxes import as_boxes
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
