"""Interest points: where the traditional image pipeline looks before it describes anything.

Four ways to choose them:

* ``"dense"``: a regular grid at several patch sizes. It needs no detector, covers the whole
  image and is what bag-of-words classification works best with on object categories.
* ``"sift"``: difference-of-Gaussians blobs (OpenCV SIFT).
* ``"orb"``: oriented FAST corners ranked by the Harris score (OpenCV ORB).
* ``"fast"``: FAST corners (OpenCV), given a fixed patch size.

A detector finds nothing on tiny or blank images (a 16x16 digit has no blob large enough for
SIFT). Two rules make every image usable: images whose shorter side is under ``min_side`` are
upsampled first, and an image where the detector finds fewer than ``min_points`` points falls
back to the dense grid. Both are reported with the points, so the pipeline can count them.

Points are plain arrays, ``(N, 4)`` float32 rows of ``x, y, size, angle``, in the pixel
coordinates of the prepared (resized) image, ``size`` being the side of the square patch that
the descriptors describe, so they can be cached and sent between processes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DETECTORS = ("dense", "sift", "orb", "fast")


@dataclass
class Keypoints:
    """The interest points of one prepared image and how they were found."""

    points: np.ndarray  # (N, 4) float32: x, y, size, angle (degrees; 0 for dense points)
    detector: str  # the detector that produced them ("dense" after a fallback)
    fallback: bool  # True when the requested detector found too few points

    def __len__(self) -> int:
        return len(self.points)


def to_gray(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W) luminance of an (H, W) or (H, W, 3) RGB uint8 image."""
    import cv2

    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def prepare_image(image: np.ndarray, min_side: int = 64, max_side: int = 512) -> tuple[np.ndarray, float]:
    """Resize `image` so that its shorter side is at least `min_side` and its longer side at most
    `max_side`; returns the image and the scale applied (1.0 when unchanged).

    Small images are upsampled (bicubic) because detectors and 16-pixel descriptor patches need
    room; very large photographs are shrunk (area averaging) because a bag of words gains nothing
    from megapixels and extraction time grows with the pixel count.
    """
    import cv2

    height, width = image.shape[:2]
    scale = 1.0
    if min(height, width) < min_side:
        scale = min_side / min(height, width)
    if max(height, width) * scale > max_side:
        scale = max_side / max(height, width)
    if scale == 1.0:
        return image, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    return cv2.resize(image, size, interpolation=interpolation), scale


def dense_grid(shape: tuple[int, int], step: int = 8, sizes: tuple[int, ...] = (16, 32)) -> np.ndarray:
    """Points on a regular grid, one layer per patch size: (N, 4) float32 x, y, size, angle=0.

    Each layer keeps its patches inside the image (centres at least size/2 from the border) and
    is centred; an image too small for a size still gets one point at its centre for that size.
    """
    height, width = shape[:2]
    layers = []
    for size in sizes:
        half = size / 2.0
        xs = _centred_range(width, half, step)
        ys = _centred_range(height, half, step)
        grid_x, grid_y = np.meshgrid(xs, ys)
        layer = np.zeros((grid_x.size, 4), dtype=np.float32)
        layer[:, 0] = grid_x.ravel()
        layer[:, 1] = grid_y.ravel()
        layer[:, 2] = size
        layers.append(layer)
    return np.concatenate(layers) if layers else np.zeros((0, 4), dtype=np.float32)


def _centred_range(length: int, half: float, step: int) -> np.ndarray:
    usable = length - 2 * half
    if usable < 0:
        return np.array([(length - 1) / 2.0])
    count = int(usable // step) + 1
    start = half + (usable - (count - 1) * step) / 2.0
    return start + step * np.arange(count, dtype=np.float64)


def detect(gray: np.ndarray, detector: str = "dense", *, step: int = 8, sizes: tuple[int, ...] = (16, 32),
           max_points: int = 500, min_points: int = 5, fast_size: int = 16) -> Keypoints:
    """Interest points of a prepared uint8 (H, W) image.

    `max_points` caps the detectors (strongest responses first); the dense grid is not capped.
    Fewer than `min_points` detections fall back to the dense grid.
    """
    if detector not in DETECTORS:
        raise ValueError(f"detector must be one of {DETECTORS}, not {detector!r}")
    if detector == "dense":
        return Keypoints(dense_grid(gray.shape, step, sizes), "dense", False)
    found = _detect_opencv(gray, detector, max_points, fast_size)
    if len(found) < min_points:
        return Keypoints(dense_grid(gray.shape, step, sizes), "dense", True)
    return Keypoints(found, detector, False)


def _detect_opencv(gray: np.ndarray, detector: str, max_points: int, fast_size: int) -> np.ndarray:
    import cv2

    if detector == "sift":
        finder = cv2.SIFT_create(nfeatures=max_points)
    elif detector == "orb":
        # ORB ignores points within its 31-pixel patch of the border; keep the edge threshold small
        # so that small images still yield points, and let the descriptor stage pad the image.
        finder = cv2.ORB_create(nfeatures=max_points, edgeThreshold=8, patchSize=31)
    else:
        finder = cv2.FastFeatureDetector_create(threshold=10, nonmaxSuppression=True)
    found = finder.detect(gray, None)
    found = sorted(found, key=lambda k: -k.response)[:max_points]
    points = np.zeros((len(found), 4), dtype=np.float32)
    for i, keypoint in enumerate(found):
        # The side of the patch to describe: SIFT's descriptor spans 6 x its size; ORB's size is
        # its patch; FAST has no scale. Patches under 8 pixels describe noise.
        side = {"sift": 6.0 * keypoint.size, "orb": keypoint.size}.get(detector, fast_size)
        points[i] = (keypoint.pt[0], keypoint.pt[1], max(side, 8.0), max(keypoint.angle, 0.0))
    return points


def to_cv_keypoints(points: np.ndarray) -> list:
    """(N, 4) rows as OpenCV KeyPoint objects."""
    import cv2

    return [cv2.KeyPoint(float(x), float(y), float(size), float(angle)) for x, y, size, angle in points]


def draw_keypoints(image: np.ndarray, features: dict) -> np.ndarray:
    """An RGB uint8 picture of the prepared image with each point's patch drawn as a circle.

    Dense-grid and fallback points are drawn in blue, detected points in green."""
    import cv2

    scale = float(features.get("scale", 1.0))
    canvas = image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
    if scale != 1.0:
        height, width = canvas.shape[:2]
        canvas = cv2.resize(canvas, (max(1, round(width * scale)), max(1, round(height * scale))),
                            interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
    canvas = np.ascontiguousarray(canvas.copy())
    colour = (60, 120, 255) if features.get("detector") == "dense" else (40, 200, 80)
    for x, y, size, _ in features["points"]:
        cv2.circle(canvas, (int(round(x)), int(round(y))), max(1, int(round(size / 2))), colour, 1, cv2.LINE_AA)
    return canvas
