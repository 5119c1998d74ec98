"""A reference beside the trained detectors: OpenCV's pretrained Viola-Jones frontal-face cascade.

Not a pipeline (nothing is trained): `haar_reference(images)` returns detections in the format of
`predict`, so the same average precision can be measured on it. Each detection's score is the
cascade's level weight (how far past the last stage's threshold it got), which ranks detections
for AP. OpenCV ships the cascade files only in some builds (opencv-python 4.x, under
`cv2.data.haarcascades`); builds that dropped them, or the cascade classifier itself (OpenCV 5),
raise E2elabError saying so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.image import as_image
from ..errors import E2elabError

FRONTAL_FACE = "haarcascade_frontalface_default.xml"


def _cascade():
    import cv2

    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    path = Path(folder) / FRONTAL_FACE if folder else None
    if not hasattr(cv2, "CascadeClassifier") or path is None or not path.is_file():
        raise E2elabError(f"the installed OpenCV {cv2.__version__} build dropped the Haar cascades "
                          f"({FRONTAL_FACE} or cv2.CascadeClassifier is missing); install an OpenCV 4 build that "
                          "ships them (opencv-python-headless<5) to measure the Haar reference")
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise E2elabError(f"{path}: OpenCV could not load the Haar cascade")
    return cascade


def haar_reference(images, min_face: int = 12, scale_factor: float = 1.1, min_neighbors: int = 3) -> list[dict]:
    """Per image, {"boxes": (n, 4) x, y, w, h, "scores": (n,)} from OpenCV's frontal-face cascade."""
    import cv2

    cascade = _cascade()
    out = []
    for item in images:
        image = as_image(item)
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
        boxes, _, weights = cascade.detectMultiScale3(gray, scaleFactor=scale_factor, minNeighbors=min_neighbors,
                                                      minSize=(min_face, min_face), outputRejectLevels=True)
        out.append({"boxes": np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
                    "scores": np.asarray(weights, dtype=np.float64).reshape(-1)})
    return out
