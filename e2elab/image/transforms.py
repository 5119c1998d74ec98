"""Image preparation and augmentation for the end-to-end classifier.

Preparation (the same at training and prediction time): an aspect-preserving resize to a square
of `size` pixels, either letterboxed ("pad": the whole image is kept, borders filled with the
edge colour) or centre-cropped ("crop": the short side fills the square), then per-channel
normalisation with the mean and standard deviation of the training pixels.

Augmentation (training only) works on whole batches of tensors, so it costs little next to the
network: one random affine warp per image (zoom/crop, translation, small rotation, optional
horizontal flip) through a sampling grid, colour jitter, and mixup or cutmix of image pairs.
What it does is one immutable value, an `ImageAugmentation`, with named presets.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from ..data.image import MAX_PIXELS
from ..errors import ParameterError
from ..params import Choice, Real, validate_constraints

RESIZE_MODES = ("pad", "crop")
@dataclass(frozen=True)
class ImageAugmentation:
    """What the end-to-end classifier changes in its training images; the defaults change nothing.

    An immutable value, passed as ``EndToEndImageClassifier(augment=...)``. Start from a preset
    and change a field: ``dataclasses.replace(ImageAugmentation.preset("photo"), rotate=15.0)``.

    Parameters
    ----------
    scale : (float, float), default=(1.0, 1.0)
        Range of the zoom, as the fraction of the side a crop keeps (< 1 crops in, > 1 zooms out).
    translate : float, default=0.0
        Largest shift, as a fraction of the side.
    rotate : float, default=0.0
        Largest rotation, in degrees.
    flip : bool, default=False
        Mirror half the images left to right (and add the mirror image to the test-time views).
    jitter : float, default=0.0
        Strength of the random brightness, contrast and (colour) saturation changes.
    mix : {"mixup", "cutmix"} or None, default=None
        Blend (mixup) or paste a patch of (cutmix) another image of the batch, labels weighted alike.
    padding_mode : {"zeros", "reflection", "border"}, default="zeros"
        What fills the corners a warp uncovers.
    """

    scale: tuple[float, float] = (1.0, 1.0)
    translate: float = 0.0
    rotate: float = 0.0
    flip: bool = False
    jitter: float = 0.0
    mix: str | None = None
    padding_mode: str = "zeros"

    _constraints: ClassVar[dict] = {
        "translate": [Real(0, 1)], "rotate": [Real(0, 180)], "flip": ["boolean"], "jitter": [Real(0, 1)],
        "mix": [Choice("mixup", "cutmix"), None], "padding_mode": [Choice("zeros", "reflection", "border")]}

    def __post_init__(self):
        validate_constraints(self._constraints, {k: v for k, v in self.to_dict().items() if k != "scale"},
                             type(self).__name__)
        scale = self.scale
        if not (isinstance(scale, tuple) and len(scale) == 2 and all(isinstance(v, (int, float)) for v in scale)
                and 0 < scale[0] <= scale[1]):
            raise ParameterError(f"The 'scale' parameter of {type(self).__name__} must be a pair (low, high) with "
                                 f"0 < low <= high. Got {scale!r} instead.")

    @classmethod
    def preset(cls, name: str) -> ImageAugmentation:
        """The preset called `name`: "photo" for colour photographs, "glyph" for digits and other
        symbols (no flips: a mirrored 2 or 3 is not a digit), "none"."""
        if name not in PRESETS:
            raise ParameterError(f"no image augmentation preset {name!r}; the presets are {', '.join(PRESETS)}")
        return PRESETS[name]

    @classmethod
    def of(cls, augment: str | ImageAugmentation, channels: int) -> ImageAugmentation:
        """The policy a pipeline's `augment` parameter stands for ("auto": "photo" for colour
        images, "glyph" for grayscale)."""
        if isinstance(augment, cls):
            return augment
        return cls.preset(augment if augment != "auto" else ("photo" if channels == 3 else "glyph"))

    def to_dict(self) -> dict:
        """The fields as plain JSON values (how e2elab.json stores the policy)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, fields: dict) -> ImageAugmentation:
        return cls(**{**fields, "scale": tuple(fields["scale"])})

    def transform(self, out_size: int | None) -> Augment:
        """The batch transform that applies this policy's warps and colour changes (not the mixing)."""
        return Augment(scale=self.scale, translate=self.translate, rotate=self.rotate, flip=self.flip,
                       jitter=self.jitter, padding_mode=self.padding_mode, out_size=out_size)


PRESETS = MappingProxyType({
    "photo": ImageAugmentation(scale=(0.6, 1.0), translate=0.1, flip=True, jitter=0.25, mix="cutmix",
                               padding_mode="reflection"),
    "glyph": ImageAugmentation(scale=(0.9, 1.1), translate=0.1, rotate=10.0, jitter=0.1),
    "none": ImageAugmentation(),
})


def fit_square(image: np.ndarray, size: int, mode: str = "pad") -> np.ndarray:
    """Resize a uint8 (H, W) or (H, W, C) image to (size, size[, C]) keeping its aspect ratio.

    "pad" scales the long side to `size` and pads the short side with edge pixels; "crop" scales
    the short side to `size` and cuts the centre. Downscaling uses area averaging (no aliasing),
    upscaling bilinear interpolation.
    """
    import cv2

    if mode not in RESIZE_MODES:
        raise ValueError(f"resize mode must be one of {RESIZE_MODES}, not {mode!r}")
    height, width = image.shape[:2]
    scale = size / (max(height, width) if mode == "pad" else min(height, width))
    new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
    if (new_h, new_w) != (height, width):
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        image = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    if mode == "pad":
        top, left = (size - new_h) // 2, (size - new_w) // 2
        pads = ((top, size - new_h - top), (left, size - new_w - left)) + (((0, 0),) if image.ndim == 3 else ())
        return np.pad(image, pads, mode="edge")
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return np.ascontiguousarray(image[top:top + size, left:left + size])


def to_chw(images: list[np.ndarray], channels: int) -> torch.Tensor:
    """Square uint8 images (H, W) or (H, W, 3) as one uint8 tensor (N, channels, H, W)."""
    out = []
    for image in images:
        if image.ndim == 2:
            image = image[:, :, None]
        if image.shape[2] != channels:
            image = np.repeat(image, channels, axis=2) if image.shape[2] == 1 else image.mean(axis=2, keepdims=True).round().astype(np.uint8)
        out.append(image)
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()  # (N, C, H, W)


def channel_stats(images: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of uint8 images (N, C, H, W), in [0, 1] units."""
    x = images.float().div_(255.0).transpose(0, 1).reshape(images.shape[1], -1)  # (C, N*H*W)
    std = x.std(dim=1).clamp_min(1e-3)
    return x.mean(dim=1).tolist(), std.tolist()


def normalise(images: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 (B, C, H, W) -> float (B, C, H, W) with zero mean and unit variance per channel."""
    mean = torch.as_tensor(mean, dtype=torch.float32, device=images.device).view(1, -1, 1, 1)
    std = torch.as_tensor(std, dtype=torch.float32, device=images.device).view(1, -1, 1, 1)
    return (images.float() / 255.0 - mean) / std


@dataclass
class Augment:
    """Random geometric and colour changes of a normalised batch (B, C, H, W).

    scale: range of the zoom (the fraction of the side kept; < 1 crops in, > 1 zooms out);
    translate: largest shift as a fraction of the side; rotate: largest rotation in degrees;
    flip: horizontal flips with probability 1/2; jitter: strength of brightness, contrast and
    (for colour) saturation changes. out_size: side of the output (None: the input's). A batch
    kept larger than the network's input is cropped at its own resolution and then area-averaged
    down, so a zoomed-in crop shows real detail rather than upsampled pixels.
    """

    scale: tuple[float, float] = (0.75, 1.0)
    translate: float = 0.125
    rotate: float = 0.0
    flip: bool = True
    jitter: float = 0.2
    padding_mode: str = "reflection"
    out_size: int | None = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = self.warp(x)
        if self.jitter > 0:
            x = self.colour(x)
        return x

    def warp(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        low, high = self.scale
        zoom = torch.empty(b).uniform_(low, high)  # fraction of the side the output shows
        angle = torch.empty(b).uniform_(-1, 1) * math.radians(self.rotate)
        shift = torch.empty(b, 2).uniform_(-1, 1) * self.translate * 2  # grid units span 2
        mirror = torch.where(torch.rand(b) < 0.5, -1.0, 1.0) if self.flip else torch.ones(b)
        cos, sin = torch.cos(angle) * zoom, torch.sin(angle) * zoom
        theta = torch.stack([torch.stack([cos * mirror, -sin, shift[:, 0]], 1),
                             torch.stack([sin * mirror, cos, shift[:, 1]], 1)], 1)  # (B, 2, 3)
        out = self.out_size or x.shape[-1]
        factor = max(1, round(x.shape[-1] / out))  # sample this many points per output pixel and side
        grid = F.affine_grid(theta.to(x), [b, x.shape[1], out * factor, out * factor], align_corners=False)
        warped = F.grid_sample(x, grid, mode="bilinear", padding_mode=self.padding_mode, align_corners=False)
        return F.avg_pool2d(warped, factor) if factor > 1 else warped  # (B, C, out, out)

    def colour(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        shape = (b, 1, 1, 1)
        brightness = torch.empty(shape).uniform_(-self.jitter, self.jitter).to(x)
        contrast = (1 + torch.empty(shape).uniform_(-self.jitter, self.jitter)).to(x)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * contrast + mean + brightness
        if x.shape[1] == 3:
            saturation = (1 + torch.empty(shape).uniform_(-self.jitter, self.jitter)).to(x)
            gray = x.mean(dim=1, keepdim=True)
            x = (x - gray) * saturation + gray
        return x


def mix_batch(x: torch.Tensor, y: torch.Tensor, kind: str | None, alpha: float = 1.0, prob: float = 0.5):
    """Mixup or cutmix a batch with a shuffled copy of itself.

    Returns (mixed x, y, y of the partner, lam): the loss is lam * loss(y) + (1 - lam) * loss(y2).
    With probability 1 - prob (or kind None) the batch is returned unchanged with lam = 1.
    """
    if kind is None or alpha <= 0 or torch.rand(()) >= prob:
        return x, y, y, 1.0
    lam = float(np.random.default_rng(int(torch.randint(0, 2**31 - 1, ()))).beta(alpha, alpha))
    order = torch.randperm(x.shape[0], device=x.device)
    if kind == "mixup":
        return lam * x + (1 - lam) * x[order], y, y[order], lam
    if kind != "cutmix":
        raise ValueError(f"mix must be 'mixup', 'cutmix' or None, not {kind!r}")
    h, w = x.shape[2:]
    cut_h, cut_w = round(h * math.sqrt(1 - lam)), round(w * math.sqrt(1 - lam))
    cy, cx = int(torch.randint(0, h, ())), int(torch.randint(0, w, ()))
    top, bottom = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, h)
    left, right = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, w)
    x = x.clone()
    x[:, :, top:bottom, left:right] = x[order, :, top:bottom, left:right]
    lam = 1 - (bottom - top) * (right - left) / (h * w)  # the area actually pasted
    return x, y, y[order], lam


def tta_views(x: torch.Tensor, flip: bool) -> list[torch.Tensor]:
    """Test-time views of a normalised batch: itself, its mirror image (when flips are allowed),
    and two small opposite shifts (1/16 of the side)."""
    views = [x]
    if flip:
        views.append(torch.flip(x, dims=[3]))
    shift = max(1, x.shape[-1] // 16)
    padded = F.pad(x, (shift, shift, shift, shift), mode="replicate")
    h, w = x.shape[2:]
    views.append(padded[:, :, :h, :w])
    views.append(padded[:, :, 2 * shift:2 * shift + h, 2 * shift:2 * shift + w])
    return views


def is_colour(image: np.ndarray) -> bool:
    """True for an (H, W, 3) image whose channels differ (an RGB file of a gray picture is gray)."""
    return image.ndim == 3 and not (np.array_equal(image[..., 0], image[..., 1])
                                    and np.array_equal(image[..., 0], image[..., 2]))


def decode_squares(X, size: int, mode: str, on_error: str = "raise", progress: bool | None = None,
                   description: str = "decoding images", max_pixels: int = MAX_PIXELS):
    """Read every item of X (paths or arrays, none over `max_pixels`) and fit it into a `size` square.

    Returns (squares, kept, skipped): the uint8 arrays (size, size[, 3]) of the readable items,
    their positions in X, and (item, reason) for each item left out (only with on_error="skip";
    otherwise the first bad item raises ImageError naming it). Done once per fit, so that epochs
    cost no decoding: memory is N x C x size x size bytes (4,317 colour images at 64 px: 53 MB).
    """
    from tqdm.auto import tqdm

    from ..base import progress_wanted
    from ..data.image import as_image
    from ..errors import DataError

    show = progress_wanted(progress)
    squares, kept, skipped = [], [], []
    for i, item in enumerate(tqdm(X, desc=description, disable=not show or len(X) < 500, leave=False)):
        try:
            # A large JPEG is decoded at a reduced scale that keeps both sides at least twice
            # `size` (so memory stays small), and the last step down is still area averaging.
            draft = (2 * size, 2 * size)
            squares.append(fit_square(as_image(item, max_pixels=max_pixels, target_size=draft), size, mode))
            kept.append(i)
        except DataError as err:
            name = str(item) if isinstance(item, (str, bytes)) or hasattr(item, "__fspath__") else f"item {i}"
            if on_error != "skip":
                raise err if err.source else type(err)(name, err.reason) from None
            skipped.append((name, err.reason))
    return squares, kept, skipped
