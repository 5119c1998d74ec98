"""The image pyramid and the sliding window: where each window lies, and what a face crop looks like.

A window is `window` pixels square at its pyramid level, the face filling its central
`face_fraction` (the rest is context: the outline of head and hair helps HOG). A face of side s
pixels in the photo fills the window at scale face_px / s, so the finest level, at scale
face_px / min_face, finds faces of `min_face` pixels, and each coarser level, `step` times
smaller, finds faces `step` times larger, down to the level where the window covers the image.

Training crops of faces are cut from the photo resized to exactly the face's scale, with one cell
of margin, and described by the same HOG code as a pyramid level, so that a face seen at training
and at detection time gives the same descriptor up to the scale and position quantisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .hog import hog_blocks, normalised_blocks, cell_histograms


@dataclass(frozen=True)
class WindowGeometry:
    """The sizes that tie the window, the HOG cells and the face together."""

    window: int = 32  # window side, pixels at the level's scale (a multiple of cell_size)
    cell_size: int = 4
    n_bins: int = 9
    face_fraction: float = 0.75  # face side over window side

    @property
    def cells(self) -> int:
        return self.window // self.cell_size

    @property
    def blocks(self) -> int:
        """Blocks per window side: the weights are (blocks, blocks, 4 * n_bins)."""
        return self.cells - 1

    @property
    def face_px(self) -> float:
        return self.window * self.face_fraction

    @property
    def n_features(self) -> int:
        return self.blocks * self.blocks * 4 * self.n_bins


@dataclass
class Level:
    """One pyramid level: its scale per axis (level pixels per photo pixel) and its HOG block grid."""

    scale_x: float
    scale_y: float
    blocks: np.ndarray  # (rows, cols, 4 * n_bins)


def to_gray(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) -> float32 (H, W) in [0, 1]."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return image.astype(np.float32) / 255.0


def resize(gray: np.ndarray, scale: float) -> np.ndarray:
    """`gray` scaled by `scale`: area averaging when shrinking (no aliasing), bilinear when enlarging."""
    height, width = gray.shape
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def pyramid_scales(height: int, width: int, geometry: WindowGeometry, min_face: float, step: float,
                   max_face: float | None = None) -> list[float]:
    """Scales of the levels, finest first: from face_px / min_face until the window no longer fits
    (or the faces found would exceed `max_face`)."""
    scale = geometry.face_px / float(min_face)
    smallest = geometry.window / float(min(height, width))
    if max_face:
        smallest = max(smallest, geometry.face_px / float(max_face))
    scales = []
    while scale >= smallest * 0.999:
        scales.append(scale)
        scale /= step
    return scales


def pyramid(gray: np.ndarray, scales, geometry: WindowGeometry):
    """Yield each level of `gray` (float32 (H, W)) at `scales` with its HOG block grid."""
    height, width = gray.shape
    for scale in scales:
        level = resize(gray, scale)
        yield Level(level.shape[1] / width, level.shape[0] / height,
                    hog_blocks(level, geometry.cell_size, geometry.n_bins))


def window_boxes(rows, cols, level: Level, geometry: WindowGeometry, aspect: float = 1.0) -> np.ndarray:
    """The face boxes (n, 4) in photo pixels that windows at block (rows, cols) of `level` stand for.

    The face is the window's central square, stretched to height/width ratio `aspect` at the same
    area (faces are taller than wide; the window is square).
    """
    rows, cols = np.asarray(rows, dtype=np.float64), np.asarray(cols, dtype=np.float64)
    centre_x = (cols * geometry.cell_size + geometry.window / 2) / level.scale_x
    centre_y = (rows * geometry.cell_size + geometry.window / 2) / level.scale_y
    side = geometry.face_px / np.sqrt(level.scale_x * level.scale_y)
    width, height = side / np.sqrt(aspect), side * np.sqrt(aspect)
    return np.stack([centre_x - width / 2, centre_y - height / 2, np.full_like(centre_x, width),
                     np.full_like(centre_x, height)], axis=1).reshape(-1, 4)


def face_descriptors(gray: np.ndarray, boxes: np.ndarray, geometry: WindowGeometry, flip: bool = True) -> np.ndarray:
    """HOG descriptors (n, F) of the faces `boxes` in `gray`, each at the scale where it fills the
    window's face area, plus the mirror image of each when `flip` (then (2n, F))."""
    features = []
    pad = geometry.cell_size
    crop_side = geometry.window + 2 * pad
    for x, y, w, h in np.asarray(boxes, dtype=np.float64):
        scale = geometry.face_px / np.sqrt(w * h)
        level = resize(gray, scale)
        left = int(round((x + w / 2) * level.shape[1] / gray.shape[1] - crop_side / 2))
        top = int(round((y + h / 2) * level.shape[0] / gray.shape[0] - crop_side / 2))
        # Faces at the border: reflect the photo outward rather than show the window a hard edge.
        padded = cv2.copyMakeBorder(level, crop_side, crop_side, crop_side, crop_side, cv2.BORDER_REFLECT_101)
        crop = padded[top + crop_side:top + 2 * crop_side, left + crop_side:left + 2 * crop_side]
        for view in (crop, crop[:, ::-1]) if flip else (crop,):
            cells = cell_histograms(view, geometry.cell_size, geometry.n_bins)[1:-1, 1:-1]  # drop the margin
            features.append(normalised_blocks(cells).reshape(-1))
    return np.asarray(features, dtype=np.float32).reshape(-1, geometry.n_features)
