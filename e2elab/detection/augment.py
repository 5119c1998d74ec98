"""Image preparation and box-preserving augmentation for the detector.

Preparation (training and prediction alike): `fit_long_side` scales a photo so that its long side
is the model's input size; `pad_to_multiple` pads it at the right and bottom (so box coordinates
do not move) to sides the network accepts.

Augmentation (training only), one random draw per image, every geometric step applied to the
pixels and the boxes alike:

* scale jitter: a log-uniform zoom in `scale`;
* random crop: a `size` x `size` window at a uniform position (a zoomed-out image smaller than the
  window is placed at a uniform position inside it, the rest filled with the ImageNet mean, which
  the network sees as zero); boxes are clipped to the window, and a box keeping less than
  `min_visible` of its area is dropped;
* horizontal flip (faces are left-right symmetric);
* photometric jitter: brightness, contrast and saturation factors uniform in [1 - j, 1 + j].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .boxes import area, clip_boxes
from .network import ALIGN, IMAGENET_MEAN

FILL = tuple(round(255 * m) for m in IMAGENET_MEAN)  # padding colour: zero after normalisation


def fit_long_side(image: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """A uint8 (H, W, 3) image scaled so its long side is `size` (area averaging when shrinking),
    and the scale factor applied."""
    import cv2

    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    if (new_w, new_h) == (width, height):
        return image, 1.0
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, (new_w, new_h), interpolation=interpolation), scale


def pad_to_multiple(image: np.ndarray, multiple: int = ALIGN) -> np.ndarray:
    """Pad (H, W, 3) at the bottom and right with FILL up to sides divisible by `multiple`."""
    height, width = image.shape[:2]
    out = np.empty((-(-height // multiple) * multiple, -(-width // multiple) * multiple, 3), np.uint8)
    out[:] = FILL
    out[:height, :width] = image
    return out


@dataclass
class BoxAugment:
    """A random zoom, crop, flip and colour change of one image and its boxes (see module doc)."""

    size: int  # side of the square output crop, a multiple of ALIGN
    scale: tuple[float, float] = (0.6, 1.5)
    flip: bool = True
    jitter: float = 0.3
    min_visible: float = 0.4

    def __call__(self, image: np.ndarray, boxes: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """uint8 (H, W, 3) and boxes (n, 4) -> uint8 (size, size, 3) and the boxes kept (m, 4)."""
        image, boxes = self.zoom(image, boxes, rng)
        image, boxes = self.crop(image, boxes, rng)
        if self.flip and rng.random() < 0.5:
            image, boxes = flip_horizontal(image, boxes)
        if self.jitter:
            image = photometric_jitter(image, self.jitter, rng)
        return image, boxes

    def zoom(self, image, boxes, rng):
        import cv2

        low, high = self.scale
        factor = float(np.exp(rng.uniform(np.log(low), np.log(high))))
        height, width = image.shape[:2]
        new_w, new_h = max(1, round(width * factor)), max(1, round(height * factor))
        interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
        return resized, boxes * np.array([new_w / width, new_h / height] * 2)

    def crop(self, image, boxes, rng):
        height, width = image.shape[:2]
        # The window's top-left corner in image pixels; negative where the image is smaller.
        left = int(rng.integers(min(0, width - self.size), max(0, width - self.size) + 1))
        top = int(rng.integers(min(0, height - self.size), max(0, height - self.size) + 1))
        out = np.empty((self.size, self.size, 3), np.uint8)
        out[:] = FILL
        src_x, src_y = max(0, left), max(0, top)
        dst_x, dst_y = src_x - left, src_y - top
        w, h = min(width - src_x, self.size - dst_x), min(height - src_y, self.size - dst_y)
        out[dst_y:dst_y + h, dst_x:dst_x + w] = image[src_y:src_y + h, src_x:src_x + w]
        moved = boxes - np.array([left, top, 0, 0])
        return out, keep_visible(moved, self.size, self.size, self.min_visible)


def keep_visible(boxes: np.ndarray, width: int, height: int, min_visible: float) -> np.ndarray:
    """Boxes clipped to a width x height image; those keeping under `min_visible` of their area
    (or less than a pixel of width or height) dropped."""
    clipped = clip_boxes(boxes, width, height)
    visible = area(clipped) >= min_visible * np.maximum(area(boxes), 1e-9)
    large_enough = (clipped[:, 2] >= 1) & (clipped[:, 3] >= 1)
    return clipped[visible & large_enough]


def flip_horizontal(image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror left-right: pixel column c goes to W - 1 - c, a box [x, x + w) to [W - x - w, W - x)."""
    width = image.shape[1]
    flipped = boxes.copy()
    flipped[:, 0] = width - boxes[:, 0] - boxes[:, 2]
    return np.ascontiguousarray(image[:, ::-1]), flipped


def photometric_jitter(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Random brightness, contrast and saturation, each a factor uniform in [1 - s, 1 + s]."""
    brightness, contrast, saturation = rng.uniform(1 - strength, 1 + strength, size=3)
    x = image.astype(np.float32) * brightness
    x = (x - x.mean()) * contrast + x.mean()
    gray = x @ np.array([0.299, 0.587, 0.114], np.float32)  # (H, W) luma
    x = (x - gray[..., None]) * saturation + gray[..., None]
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)
