"""Boxes drawn on a photo: what `e2elab predict --draw`, the report and the explanations show.

Drawn with Pillow on an RGB copy of the photo. Each box is an outline a few pixels wide (scaled
with the photo, so a 4000-px photo still shows them) with its score written at its top-left
corner; true boxes, where given, are drawn first and in another colour, so predictions stay on top.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from .boxes import as_boxes

PREDICTED_COLOUR = (255, 64, 32)  # orange-red: what the detector found
TRUE_COLOUR = (40, 200, 80)  # green: the annotation


def _line_width(shape: tuple[int, ...]) -> int:
    return max(1, round(max(shape[:2]) / 300))


def _corners(boxes, what: str) -> list[tuple[int, int, int, int]]:
    """Boxes (n, 4) as whole-pixel corners (left, top, right, bottom): the outline falls on the
    pixels the box's edges round to."""
    return [tuple(int(v) for v in np.round([x, y, x + w, y + h])) for x, y, w, h in as_boxes(boxes, what)]


def draw_boxes(image: np.ndarray, boxes, scores=None, true_boxes=None, min_score: float | None = None) -> np.ndarray:
    """An RGB uint8 copy (H, W, 3) of `image` with `boxes` (n, 4 as x, y, w, h) outlined.

    scores: (n,) written beside each box; min_score: boxes scoring below it are left out (the
    end-to-end detector keeps low-scoring boxes for average precision, which would bury a photo);
    true_boxes: (m, 4) outlined in TRUE_COLOUR under the predictions.
    """
    from PIL import Image, ImageDraw

    pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    canvas = Image.fromarray(np.ascontiguousarray(pixels[:, :, :3], dtype=np.uint8))
    pen = ImageDraw.Draw(canvas)
    width = _line_width(pixels.shape)
    for corners in _corners(true_boxes if true_boxes is not None else [], "true boxes"):
        pen.rectangle(corners, outline=TRUE_COLOUR, width=width)
    scores = None if scores is None else np.asarray(scores, dtype=np.float64).reshape(-1)
    for index, (x, y, right, bottom) in enumerate(_corners(boxes, "boxes")):
        if scores is not None and min_score is not None and scores[index] < min_score:
            continue
        pen.rectangle((x, y, right, bottom), outline=PREDICTED_COLOUR, width=width)
        if scores is not None:
            label = f"{scores[index]:.2f}"
            text_left, text_top, text_right, text_bottom = pen.textbbox((x, y), label)
            text_w, text_h = text_right - text_left, text_bottom - text_top
            lifted = max(0, y - text_h - 2)  # above the box, unless that leaves the photo
            pen.rectangle((x, lifted, x + text_w + 2, lifted + text_h + 2), fill=PREDICTED_COLOUR)
            pen.text((x + 1, lifted), label, fill=(255, 255, 255))
    return np.asarray(canvas)


def save_drawing(path: str | Path, drawing: np.ndarray) -> Path:
    """Write an RGB drawing (H, W, 3) as a PNG (or JPEG, by the suffix), atomically."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kind = "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"
    with atomic_path(path) as temporary:
        Image.fromarray(drawing).save(temporary, format=kind)
    return path
