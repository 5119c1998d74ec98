"""FixMatch (Sohn et al. 2020): unlabeled images in every training step of the end-to-end classifier.

Each optimiser step takes the labelled batch of B images, trained as without unlabeled images
(the pipeline's own augmentation, mixing and label smoothing: its "weak" view), and
`UNLABELED_PER_LABELLED` x B unlabeled images drawn at random. The network's prediction on a weak
view of each unlabeled image (the pipeline's augmentation; no gradient) is its pseudo-label when
its top probability reaches `THRESHOLD`; the loss adds `UNLABELED_WEIGHT` x the cross-entropy of
the prediction on a strong view (:func:`strong_augment`: RandAugment-like changes, then Cutout)
against that hard label, counted for the confident images and averaged over all of them. A model
that learns to give an image the same class however much it is changed learns what the class
looks like from images nobody labelled.

Batch norm: the labelled batch and both views of the unlabeled images go through the network as
one batch, as in the paper, so batch statistics and running averages describe all of them (a
labelled-only batch would normalise the unlabeled views with other images' statistics).

``fixmatch_`` records the unlabeled images used and, per epoch, the share of the unlabeled
images drawn whose weak-view prediction reached the threshold (also in each row of ``history_``,
so a resumed run keeps the earlier epochs' shares): a share that stays near 0 means the
consistency loss never acted. The unlabeled images are decoded into memory (at the
size training crops are cut from), also when the labelled ones are streamed from disk.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..nn.trainer import Step
from .transforms import Augment, decode_squares, normalise, to_chw

# The paper's 0.95 assumes one-hot targets. The labelled loss here smooths labels by 0.1, whose
# optimum gives the true class only 1 - 0.1 + 0.1 / K (0.92 for five classes), so 0.95 would
# turn down correct predictions for a reason unrelated to their correctness; 0.85 keeps about the
# paper's margin below that ceiling.
THRESHOLD = 0.85
# mu: (1 + 2 mu) B images go through the network each step, so the paper's 7 costs 15 labelled
# batches a step and 2 costs 5, affordable on a CPU. The paper's ablation finds a larger mu
# better: raise it where the compute is there.
UNLABELED_PER_LABELLED = 2
UNLABELED_WEIGHT = 1.0  # lambda_u, as in the paper

OPS_PER_IMAGE = 2  # RandAugment's N: changes drawn per image, each at a random strength (as FixMatch's RA)
CUTOUT_SIDE = 0.5  # largest side of the Cutout square, as a fraction of the image side
GRAY = 0.5  # what fills uncovered corners and the Cutout square (the paper's gray 128)
_HANDOVER = "_fixmatch_unlabeled"  # where fit_fixmatch leaves the unlabeled images for the fit it calls


# ---- strong augmentation ---------------------------------------------------------------------

def _blend(x: torch.Tensor, towards: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """PIL's ImageEnhance: factor 0 gives `towards`, 1 the image, above 1 the image pushed further away."""
    return towards + factor * (x - towards)


def _gray(x: torch.Tensor) -> torch.Tensor:
    return x.mean(dim=1, keepdim=True).expand_as(x)


def _autocontrast(x, strength):
    low, high = x.amin(dim=(2, 3), keepdim=True), x.amax(dim=(2, 3), keepdim=True)
    return torch.where(high - low > 1e-3, (x - low) / (high - low).clamp_min(1e-3), x)


def _sharpness(x, strength):
    kernel = torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]], device=x.device) / 13  # PIL's SMOOTH
    smooth = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel.expand(x.shape[1], 1, 3, 3), groups=x.shape[1])
    return _blend(x, smooth, 1 + 0.9 * strength)


def _posterize(x, strength):
    step = 2.0 ** torch.round(4 * strength.abs())  # keep 8 down to 4 bits
    return torch.floor(x * 255 / step) * step / 255


# Colour changes of images in [0, 1]; strength (B, 1, 1, 1) in [-1, 1], its sign where the change has two directions.
COLOUR_OPS = {
    "identity": lambda x, strength: x,
    "autocontrast": _autocontrast,
    "brightness": lambda x, strength: _blend(x, torch.zeros_like(x), 1 + 0.9 * strength),
    "color": lambda x, strength: _blend(x, _gray(x), 1 + 0.9 * strength),
    "contrast": lambda x, strength: _blend(x, _gray(x).mean(dim=(2, 3), keepdim=True), 1 + 0.9 * strength),
    "sharpness": _sharpness,
    "posterize": _posterize,
    "solarize": lambda x, strength: torch.where(x > 1 - strength.abs(), 1 - x, x),
}
# Geometric changes, folded into one affine warp per image: their largest extent, as in RandAugment.
GEOMETRIC_OPS = {"rotate": math.radians(30), "shear_x": 0.3, "shear_y": 0.3, "translate_x": 0.3, "translate_y": 0.3}
OPS = tuple(COLOUR_OPS) + tuple(GEOMETRIC_OPS)


def strong_augment(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """FixMatch's strong view of a batch of images in [0, 1] (B, C, H, W): `OPS_PER_IMAGE` of
    `OPS` per image at random strengths, then a Cutout square. Returns a batch of the same shape,
    dtype and range. The random numbers come from `generator` (None: torch's global one, which
    the training loop seeds every epoch), so the same seed gives the same views."""
    b, device = images.shape[0], images.device

    def draw(*shape: int) -> torch.Tensor:  # on the CPU, so the numbers do not depend on the device
        return torch.rand(*shape, generator=generator).to(device)

    chosen = torch.zeros(b, len(OPS), dtype=torch.bool)
    chosen.scatter_(1, torch.rand(b, len(OPS), generator=generator).argsort(dim=1)[:, :OPS_PER_IMAGE], True)
    chosen = chosen.to(device)
    strength = (draw(b, len(OPS)) * 2 - 1) * chosen  # 0 for the changes an image does not get
    x = _warp(images, dict(zip(OPS, strength.T)))
    for k, (name, op) in enumerate(COLOUR_OPS.items()):
        apply = chosen[:, k]
        if name != "identity" and apply.any():
            x = torch.where(apply.view(-1, 1, 1, 1), op(x, strength[:, k].view(-1, 1, 1, 1)), x)
    return _cutout(x.clamp(0, 1), draw(b, 3))


def _warp(x: torch.Tensor, strength: dict[str, torch.Tensor]) -> torch.Tensor:
    """Rotate, shear and translate each image as far as its strengths say (0: not at all);
    uncovered corners are gray."""
    extent = {name: strength[name] * largest for name, largest in GEOMETRIC_OPS.items()}
    cos, sin = torch.cos(extent["rotate"]), torch.sin(extent["rotate"])
    one = torch.ones_like(cos)
    rotation = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)  # (B, 2, 2)
    shear = torch.stack([torch.stack([one, extent["shear_x"]], 1), torch.stack([extent["shear_y"], one], 1)], 1)
    shift = torch.stack([extent["translate_x"], extent["translate_y"]], 1) * 2  # grid units span 2
    theta = torch.cat([rotation @ shear, shift[:, :, None]], dim=2)  # (B, 2, 3)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    # Zero padding of the image less gray fills the corners with gray.
    return F.grid_sample(x - GRAY, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + GRAY


def _cutout(x: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
    """Gray out one square per image: side up to CUTOUT_SIDE of the image's, anywhere (uniform: (B, 3) in [0, 1))."""
    h, w = x.shape[2:]
    half = uniform[:, 0] * CUTOUT_SIDE * min(h, w) / 2
    centre_y, centre_x = uniform[:, 1] * h, uniform[:, 2] * w
    rows = (torch.arange(h, device=x.device)[None] + 0.5 - centre_y[:, None]).abs() < half[:, None]  # (B, H)
    cols = (torch.arange(w, device=x.device)[None] + 0.5 - centre_x[:, None]).abs() < half[:, None]  # (B, W)
    return torch.where((rows[:, :, None] & cols[:, None, :])[:, None], torch.full_like(x, GRAY), x)


# ---- the training step -----------------------------------------------------------------------

def consistency_loss(weak_logits: torch.Tensor, strong_logits: torch.Tensor, threshold: float = THRESHOLD):
    """(loss, confident): the cross-entropy of the strong views' logits (K', C) against the weak
    views' predicted classes, counted where the weak prediction's probability reaches `threshold`
    and averaged over all K' images (so few confident images weigh little); `confident` is that mask."""
    confidence, pseudo_labels = torch.softmax(weak_logits.detach().float(), dim=1).max(dim=1)
    confident = confidence >= threshold
    loss = F.cross_entropy(strong_logits.float(), pseudo_labels, reduction="none")
    return (loss * confident).mean(), confident


class _Together:
    """Stands in for the network in the supervised step: forwards its batch together with extra
    images in one batch, returns the batch's logits and keeps the extra images' logits."""

    def __init__(self, module, extra: torch.Tensor):
        self.module, self.extra, self.extra_logits = module, extra, None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        joint = torch.cat([x, self.extra.to(x.dtype)]).contiguous(memory_format=torch.channels_last)
        logits = self.module(joint)
        self.extra_logits = logits[len(x):]
        return logits[:len(x)]


@dataclass
class FixMatchStep:
    """The training loop's step with FixMatch's consistency loss (see the module docstring).

    supervised(module, batch, device): the pipeline's step on a labelled batch, which must call
    `module` once on the batch's images. unlabeled: uint8 images (N, C, S, S) that `augment`
    (the pipeline's weak augmentation) crops to the network's input. `epoch_metrics` gives the
    epoch's share of confident unlabeled images.
    """

    supervised: Step
    unlabeled: torch.Tensor
    augment: Augment
    mean: list[float]
    std: list[float]
    threshold: float = THRESHOLD
    per_labelled: int = UNLABELED_PER_LABELLED
    weight: float = UNLABELED_WEIGHT
    # The epoch's tally; a tensor on the device, so that counting does not wait for the GPU every step.
    _confident: torch.Tensor | float = field(default=0.0, init=False, repr=False)
    _drawn: int = field(default=0, init=False, repr=False)

    def __call__(self, module, batch, device: torch.device) -> torch.Tensor:
        weak, strong = self.views(self.per_labelled * len(batch[0]), device)
        together = _Together(module, torch.cat([weak, strong]))
        loss = self.supervised(together, batch, device)
        weak_logits, strong_logits = together.extra_logits.float().chunk(2)
        consistency, confident = consistency_loss(weak_logits, strong_logits, self.threshold)
        self._confident = self._confident + confident.sum()
        self._drawn += len(confident)
        return loss + self.weight * consistency

    def views(self, count: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Weak and strong views (count, C, S, S), normalised, of `count` unlabeled images drawn
        with replacement (the paper's sampler too: `count` may exceed the set)."""
        picked = self.unlabeled[torch.randint(len(self.unlabeled), (count,))].to(device, non_blocking=True)
        weak = self.augment(normalise(picked, self.mean, self.std))
        # The strong view starts, as in the paper, with a crop and flip of its own drawn like the
        # weak view's, then changes pixel values in [0, 1], where its operations are defined.
        strong = strong_augment(self.augment.warp(picked.float() / 255))
        return weak, normalise(strong * 255, self.mean, self.std)

    def epoch_metrics(self) -> dict:
        """The epoch's share of confident unlabeled images, closing its tally (the training loop's epoch_metrics)."""
        share = float(self._confident) / max(self._drawn, 1)
        self._confident, self._drawn = 0.0, 0
        return {"confident_share": share}


@dataclass
class _Unlabeled:
    items: list
    skipped: list = field(default_factory=list)
    digest: str | None = None  # of the decoded images, for the checkpoint's resume key


def unlabeled_fingerprint(estimator) -> dict:
    """What the resume key of `estimator`'s fit adds for FixMatch's unlabeled images: a checkpoint
    written with other unlabeled images (or none) is not resumed by this run."""
    handover = getattr(estimator, _HANDOVER, None)
    return {} if handover is None else {"fixmatch_unlabeled": handover.digest}


def fit_fixmatch(estimator, X_labelled: list, y_labelled, X_unlabeled: list):
    """Fit the end-to-end `estimator` on the labelled images with FixMatch over the unlabeled
    ones; its fit takes them through :func:`training_step`. Returns the fitted estimator."""
    handover = _Unlabeled(X_unlabeled)
    setattr(estimator, _HANDOVER, handover)
    try:
        estimator.fit(X_labelled, y_labelled)
    finally:
        delattr(estimator, _HANDOVER)
    if hasattr(estimator, "fixmatch_"):
        estimator.fixmatch_["confident_share"] = [row["confident_share"] for row in estimator.history_
                                                  if "confident_share" in row]
    if handover.skipped:  # fit kept its own skips only; the unlabeled ones were reported when decoded
        estimator._record_skipped(estimator.skipped_ + handover.skipped)
    return estimator


def training_step(estimator, supervised, augment: Augment, source_size: int):
    """(step, epoch_metrics) for the training loop in `estimator`'s fit: `supervised` and None,
    or a FixMatchStep over the unlabeled images that :func:`fit_fixmatch` handed over, decoded
    at `source_size` (and ``fixmatch_`` set)."""
    handover = getattr(estimator, _HANDOVER, None)
    if handover is None:
        return supervised, None
    squares, _, handover.skipped = decode_squares(handover.items, source_size, estimator.resize, estimator.on_error,
                                                  estimator._show_progress(), "decoding unlabeled images",
                                                  estimator.max_pixels)
    estimator._record_skipped(handover.skipped, "unlabeled training image")
    estimator.fixmatch_ = {"unlabeled": len(squares), "confident_share": []}
    handover.digest = hashlib.sha256(b"".join(np.ascontiguousarray(square).tobytes() for square in squares)).hexdigest()
    if not squares:
        return supervised, None
    step = FixMatchStep(supervised, to_chw(squares, estimator.channels_), augment, estimator.mean_, estimator.std_)
    return step, step.epoch_metrics
