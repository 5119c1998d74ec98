"""The end-to-end image classifier: pixels -> residual CNN -> class, trained by e2elab.nn.

What adapts to the data (each can be set explicitly):

* input_size=None: the median short side of the training images, clipped to [16, 64] pixels and
  rounded to a multiple of 8 (USPS digits stay at 16 px, 128 px photos become 64 px);
* source_scale=2: training images are kept at up to twice the input size (never above their own
  median size), and each random crop is cut from that copy and area-averaged down, so a
  zoomed-in crop shows the photo's own detail instead of upsampled pixels;
* depth=None: one stage per halving down to 2 px, at most 4 (16 px: 3 stages, 32 px and up: 4);
* channels="auto": colour (3) when any training image has differing channels, else grayscale (1);
* augment="auto": the "photo" policy for colour data (random-resized crops of 36-100 % of the
  area, horizontal flips, colour jitter, cutmix), the "glyph" policy for grayscale data (small
  zoom, shift and rotation, no flips: a mirrored 2 or 3 is not a digit; no cutmix).

Training uses the shared loop (AdamW or SGD with Nesterov momentum, one-cycle schedule, label
smoothing, gradient clipping) on a stratified validation split taken from the training data,
which also fits the temperature that calibrates `predict_proba`. The last epoch's weights are kept
(the one-cycle schedule ends at a tiny learning rate, and a validation loss without label
smoothing prefers the less confident early epochs); with `patience` set, training stops early and
keeps the best epoch instead.
All training images are decoded once into uint8 tensors: the source copies (N, C, S_src, S_src)
that crops are cut from, and (N, C, S, S) at the input size for statistics and validation.
"""

from __future__ import annotations

import logging
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin

from ..base import ModelState, PipelineMixin, Stage
from ..data.image import MAX_PIXELS, as_image
from ..errors import DataError, ParameterError
from ..nn import OPTIMIZERS
from ..params import DEVICE, Choice, Int, IntOptions, Real
from ..registry import register_pipeline
from .calibration import calibration_report, fit_temperature
from .classes import drop_single_image_classes
from .model import ResidualCNN
from .transforms import (POLICIES, RESIZE_MODES, Augment, augmentation_policy, channel_stats, decode_squares,
                         fit_square, is_colour, mix_batch, normalise, tta_views, to_chw)

log = logging.getLogger(__name__)

# Parameters that do not change what the network learns: a checkpoint folder written under other
# values of these is still the same run (test-time views and calibration come after training).
NOT_TRAINING = {"device", "num_workers", "checkpoint_dir", "progress", "tta", "calibrate"}


@register_pipeline("image", "end-to-end")
class EndToEndImageClassifier(PipelineMixin, ClassifierMixin, BaseEstimator):
    """Residual CNN image classifier with calibrated probabilities (see the module docstring).

    Network: width (channels of the first stage, doubled per stage), depth (stages; None adapts),
    blocks (residual blocks per stage), dropout, stem_pool (halve the resolution after the first
    convolution: a CPU training step at 64 px then costs a third as much in float32, less than half
    under bfloat16). Input: input_size (None adapts),
    source_scale (training crops are cut from copies kept this many times larger, where the
    images are that large, so that a zoomed-in crop keeps its detail), resize ("pad" keeps the
    whole image, "crop" fills the square), channels ("auto", 1 or 3). Training: epochs, batch_size, optimizer
    ("adamw", or "sgd": Nesterov momentum with L2 decay, the classic residual-CNN recipe), lr
    (peak of the one-cycle schedule; None: the optimizer's own, e2elab.nn.DEFAULT_LR), weight_decay,
    label_smoothing, validation_fraction (stratified, for model selection and calibration),
    patience (early stopping), augment ("auto", "photo", "glyph", "none"), flip and mix (None: the
    policy's choice; mix "mixup" | "cutmix" | "none"), tta (average the logits of a few test-time
    views), calibrate (temperature scaling). Run: device, amp (mixed precision in training:
    bfloat16 autocast on CPUs with native bfloat16 instructions, about twice as fast there, and on
    CUDA), num_workers, checkpoint_dir, progress, on_error ("raise", or "skip" unreadable images
    and single-image classes, counted in `n_skipped_`), max_pixels (largest image accepted, file or
    array, in pixels), seed.
    """

    _parameter_constraints = {
        "width": [Int(1)], "depth": [Int(1), None], "blocks": [Int(1)], "dropout": [Real(0, 1, closed="left")],
        "stem_pool": ["boolean"], "input_size": [Int(8), None], "source_scale": [Real(1)],
        "resize": [Choice(*RESIZE_MODES)], "channels": [Choice("auto"), IntOptions({1, 3})], "epochs": [Int(1)],
        "batch_size": [Int(1)], "optimizer": [Choice(*OPTIMIZERS)], "lr": [Real(0, closed="neither"), None],
        "weight_decay": [Real(0)], "label_smoothing": [Real(0, 1, closed="left")],
        "validation_fraction": [Real(0, 1, closed="left")], "patience": [Int(1), None],
        "augment": [Choice("auto", *POLICIES)], "flip": ["boolean", None], "mix": [Choice("none", "mixup", "cutmix"), None],
        "tta": ["boolean"], "calibrate": ["boolean"], "device": [DEVICE], "amp": ["boolean"], "num_workers": [Int(0)],
        "checkpoint_dir": [str, os.PathLike, None], "progress": ["boolean", None],
        "on_error": [Choice("raise", "skip")], "max_pixels": [Int(1)], "seed": [Int(0)],
    }

    def __init__(self, width=32, depth=None, blocks=1, dropout=0.0, stem_pool=False, input_size=None, source_scale=2.0,
                 resize="pad", channels="auto", epochs=20, batch_size=64, optimizer="adamw", lr=None, weight_decay=5e-4,
                 label_smoothing=0.1, validation_fraction=0.1, patience=None, augment="auto", flip=None, mix=None,
                 tta=False, calibrate=True, device="auto", amp=True, num_workers=0, checkpoint_dir=None,
                 progress=None, on_error="raise", max_pixels=MAX_PIXELS, seed=0):
        self.width = width
        self.depth = depth
        self.blocks = blocks
        self.dropout = dropout
        self.stem_pool = stem_pool
        self.input_size = input_size
        self.source_scale = source_scale
        self.resize = resize
        self.channels = channels
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.augment = augment
        self.flip = flip
        self.mix = mix
        self.tta = tta
        self.calibrate = calibrate
        self.device = device
        self.amp = amp
        self.num_workers = num_workers
        self.checkpoint_dir = checkpoint_dir
        self.progress = progress
        self.on_error = on_error
        self.max_pixels = max_pixels
        self.seed = seed

    # ---- training ------------------------------------------------------------------------------

    def fit(self, X, y):
        from ..data.splits import stratified_holdout
        from ..nn import TrainConfig, seed_everything, train

        self._validate_params()
        X, y = list(X), np.asarray(y).astype(str)
        if len(X) != len(y):
            raise DataError(None, f"{len(X)} images but {len(y)} labels")
        median_side = self._median_side(X)
        self.input_size_ = int(self.input_size) if self.input_size else int(min(64, max(16, 8 * round(median_side / 8))))
        # Training crops are cut from a larger copy when the images have the pixels for it.
        source_size = int(min(self.input_size_ * max(1.0, float(self.source_scale)), max(self.input_size_, median_side)))
        squares, kept, skipped = decode_squares(X, source_size, self.resize, self.on_error, self.progress,
                                                "decoding training images", self.max_pixels)
        y = y[kept]
        keep, skipped = drop_single_image_classes(y, skipped, self.on_error)
        squares, y = [squares[i] for i in keep], y[keep]
        self.skipped_, self.n_skipped_ = skipped, len(skipped)
        if skipped:
            log.warning("skipped %d training item(s): %s", len(skipped), "; ".join(f"{a}: {b}" for a, b in skipped[:5]))
        self.channels_ = self._resolve_channels(squares)
        sources = to_chw(squares, self.channels_)  # (N, C, S_source, S_source) uint8
        images = sources if source_size == self.input_size_ else to_chw(
            [fit_square(sq, self.input_size_, self.resize) for sq in squares], self.channels_)  # (N, C, S, S) uint8
        self.classes_ = np.array(sorted(set(y.tolist())))
        targets = torch.as_tensor(np.searchsorted(self.classes_, y), dtype=torch.long)
        self.mean_, self.std_ = channel_stats(images)
        self.policy_ = augmentation_policy(self.augment, self.channels_, self.flip, self.mix)
        halvings = int(math.log2(self.input_size_)) - 1 - int(bool(self.stem_pool))
        self.depth_ = int(self.depth) if self.depth else max(1, min(4, halvings))

        fit_idx, val_idx = (np.arange(len(y)), np.zeros(0, dtype=int))
        if self.validation_fraction and len(y) >= 2 * len(self.classes_):
            fit_idx, val_idx = stratified_holdout(y, self.validation_fraction, self.seed)
        seed_everything(self.seed)
        self.network_ = self._build_network().to(memory_format=torch.channels_last)
        if self.input_size_ < self.network_.min_input:
            pooled = " with stem_pool" if self.stem_pool else ""
            raise ParameterError(f"input_size {self.input_size_} is too small for depth {self.depth_}{pooled} "
                                 f"(needs at least {self.network_.min_input} px)")
        augment = Augment(**{k: v for k, v in self.policy_.items() if k not in ("mix", "name")}, out_size=self.input_size_)
        config = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, optimizer=self.optimizer,
                             lr=None if self.lr is None else float(self.lr),
                             weight_decay=self.weight_decay, patience=self.patience, monitor="val_loss",
                             keep="best" if self.patience else "last",
                             device=self.device, amp=bool(self.amp), cpu_amp=True, num_workers=self.num_workers,
                             seed=self.seed, checkpoint_dir=self.checkpoint_dir, progress=self.progress)
        train_set = _TensorImages(sources[fit_idx], targets[fit_idx])
        val_set = _TensorImages(images[val_idx], targets[val_idx]) if len(val_idx) else None
        result = train(self.network_, train_set, self._training_step(augment), config, val_data=val_set,
                       validate=self._validate, collate_fn=_identity,
                       resume_key=self._run_key(sources, targets) if self.checkpoint_dir else None)
        self.history_, self.best_epoch_ = result.history, result.best_epoch
        self.network_.cpu().eval()
        self._fit_temperature(val_set)
        return self

    def _training_step(self, augment: Augment):
        mean, std, mix, smoothing = self.mean_, self.std_, self.policy_["mix"], self.label_smoothing

        def step(module, batch, device):
            x, y = batch[0].to(device, non_blocking=True), batch[1].to(device, non_blocking=True)
            x = augment(normalise(x, mean, std)).contiguous(memory_format=torch.channels_last)  # (B, C, S, S)
            x, y_a, y_b, lam = mix_batch(x, y, mix)
            logits = module(x).float()  # (B, K); the loss in float32 under autocast
            loss = F.cross_entropy(logits, y_a, label_smoothing=smoothing)
            if lam < 1.0:
                loss = lam * loss + (1 - lam) * F.cross_entropy(logits, y_b, label_smoothing=smoothing)
            return loss

        return step

    def _validate(self, module, loader, device) -> dict[str, float]:
        # One view per image: test-time views would cost a full validation pass each, every epoch.
        logits, labels = self._logits_of(module, loader, device, tta=False)
        return {"val_loss": float(F.cross_entropy(logits, labels)),
                "val_error": float((logits.argmax(1) != labels).float().mean())}

    def _logits_of(self, module, loader, device, tta: bool):
        out, labels = [], []
        for x, y in loader:
            x = normalise(x.to(device), self.mean_, self.std_).contiguous(memory_format=torch.channels_last)
            out.append(self._view_logits(module, x, tta).float().cpu())
            labels.append(y)
        return torch.cat(out), torch.cat(labels)

    def _view_logits(self, module, x: torch.Tensor, tta: bool) -> torch.Tensor:
        """Logits (B, K) of a normalised batch, averaged over test-time views when `tta` is set."""
        if not tta:
            return module(x)
        views = tta_views(x, self.policy_["flip"])
        return torch.stack([module(v.contiguous(memory_format=torch.channels_last)) for v in views]).mean(0)

    def _fit_temperature(self, val_set):
        self.temperature_, self.calibration_ = 1.0, None
        if val_set is None:
            return
        loader = torch.utils.data.DataLoader(val_set, batch_size=256, collate_fn=_identity)
        with torch.no_grad():
            logits, labels = self._logits_of(self.network_, loader, torch.device("cpu"), tta=bool(self.tta))
        if self.calibrate:
            self.temperature_ = fit_temperature(logits, labels)
        self.calibration_ = calibration_report(logits, labels, self.temperature_)

    # ---- prediction ----------------------------------------------------------------------------

    def preprocess(self, X) -> torch.Tensor:
        """Raw items -> the normalised batch (B, C, S, S) the network takes."""
        return normalise(self._squares(X), self.mean_, self.std_)

    def _squares(self, X) -> torch.Tensor:
        squares, _, _ = decode_squares(list(X), self.input_size_, self.resize, "raise", self.progress,
                                       "decoding images", self.max_pixels)
        if not squares:
            return torch.zeros((0, self.channels_, self.input_size_, self.input_size_), dtype=torch.uint8)
        return to_chw(squares, self.channels_)  # (B, C, S, S) uint8

    def decision_function(self, X) -> np.ndarray:
        """Calibrated class scores (logits / temperature), (N, K)."""
        squares = self._squares(X)
        self.network_.eval()
        out = []
        with torch.no_grad():
            for start in range(0, len(squares), 256):
                x = normalise(squares[start:start + 256], self.mean_, self.std_).contiguous(memory_format=torch.channels_last)
                out.append(self._view_logits(self.network_, x, self.tta).float())
        return (torch.cat(out) / self.temperature_).numpy() if out else np.zeros((0, len(self.classes_)), np.float32)

    def predict_proba(self, X) -> np.ndarray:
        scores = self.decision_function(X)
        return torch.softmax(torch.from_numpy(scores).double(), dim=1).numpy()

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.decision_function(X).argmax(axis=1)]

    def predict_details(self, X, top_k: int | None = 5) -> list[dict]:
        """Per image: the predicted label and the `top_k` classes with calibrated probabilities."""
        out = []
        for row in self.predict_proba(X):
            order = np.argsort(-row)[:top_k]
            out.append({"label": str(self.classes_[order[0]]),
                        "top": [{"label": str(self.classes_[j]), "probability": float(row[j])} for j in order]})
        return out

    def calibration_error(self, X, y, bins: int = 15) -> dict:
        """Calibration report (NLL and ECE before/after temperature scaling, accuracy) on (X, y)."""
        y = np.asarray(y).astype(str)
        unknown = sorted(set(y.tolist()) - set(self.classes_.tolist()))
        if unknown:
            raise DataError(None, f"labels not seen in training: {unknown[:5]}")
        logits = torch.from_numpy(self.decision_function(X) * self.temperature_)
        labels = torch.as_tensor(np.searchsorted(self.classes_, y))
        return calibration_report(logits, labels, self.temperature_, bins)

    # ---- stages, for reports -------------------------------------------------------------------

    @property
    def stages(self) -> list[Stage]:
        size = getattr(self, "input_size_", self.input_size) or "S"
        layers = ", ".join(self.network_.layer_names()) if hasattr(self, "network_") else "stem, stage1, ..."
        features = self.network_.n_features if hasattr(self, "network_") else "F"
        return [Stage("pixels", "input", "pixels, (H, W) or (H, W, 3)"),
                Stage("resized", "fixed", f"{self.resize} to a square, normalised with training statistics, (C, {size}, {size})"),
                Stage("feature_maps", "learned", f"residual CNN feature maps of layers {layers}, (C_l, H_l, W_l) each"),
                Stage("pooled", "learned", f"globally max-pooled features, ({features},)"),
                Stage("scores", "learned", "class scores (logits / temperature), (K,)"),
                Stage("output", "output", "class label with calibrated probabilities")]

    def stage_outputs(self, item, layers: list[str] | None = None) -> dict:
        """Each stage's output for one image; `layers` picks the feature maps (None: all)."""
        image = as_image(item, max_pixels=self.max_pixels)
        square = self._squares([image])  # (1, C, S, S)
        x = normalise(square, self.mean_, self.std_)
        self.network_.eval()
        with torch.no_grad():
            maps = self.network_.feature_maps(x, layers)
            pooled = self.network_.features(x)
            scores = self.network_.classify(pooled)[0] / self.temperature_
        probabilities = torch.softmax(scores.double(), 0).numpy()
        return {"pixels": image,
                "resized": square[0].permute(1, 2, 0).squeeze(-1).numpy(),
                "feature_maps": {name: m[0].numpy() for name, m in maps.items()},
                "pooled": pooled[0].numpy(),
                "scores": scores.numpy(),
                "output": {"label": str(self.classes_[int(probabilities.argmax())]),
                           "probabilities": {str(c): float(p) for c, p in zip(self.classes_, probabilities)}}}

    # ---- saving --------------------------------------------------------------------------------

    def _get_state(self) -> ModelState:
        arrays = {f"network/{k}": v.detach().cpu().numpy() for k, v in self.network_.state_dict().items()}
        meta = {"classes": self.classes_.tolist(), "input_size": self.input_size_, "depth": self.depth_,
                "channels": self.channels_, "mean": self.mean_, "std": self.std_, "policy": self.policy_,
                "temperature": self.temperature_, "calibration": self.calibration_, "history": self.history_,
                "best_epoch": self.best_epoch_, "skipped": [list(s) for s in self.skipped_]}
        return ModelState(meta=meta, arrays=arrays)

    @classmethod
    def _from_state(cls, params, state: ModelState):
        model = cls(**{"optimizer": "adamw", "stem_pool": False, **params})  # defaults of models saved before these existed
        meta = state.meta
        model.classes_ = np.array(meta["classes"])
        model.input_size_, model.depth_, model.channels_ = meta["input_size"], meta["depth"], meta["channels"]
        model.mean_, model.std_, model.policy_ = meta["mean"], meta["std"], dict(meta["policy"])
        model.policy_["scale"] = tuple(model.policy_["scale"])
        model.temperature_, model.calibration_ = meta["temperature"], meta["calibration"]
        model.history_, model.best_epoch_ = meta["history"], meta["best_epoch"]
        model.skipped_ = [tuple(s) for s in meta["skipped"]]
        model.n_skipped_ = len(model.skipped_)
        model.network_ = model._build_network()
        weights = {k[len("network/"):]: torch.from_numpy(np.array(v)) for k, v in state.arrays.items()
                   if k.startswith("network/")}
        model.network_.load_state_dict(weights)
        model.network_.to(memory_format=torch.channels_last).eval()
        return model

    # ---- helpers -------------------------------------------------------------------------------

    def _run_key(self, images: torch.Tensor, targets: torch.Tensor) -> str:
        """A digest of the training data and every parameter that shapes training, so that a
        checkpoint folder is resumed only by the run that wrote it."""
        from ..nn.fingerprint import run_fingerprint

        return run_fingerprint([images.numpy(), targets.numpy()], {"classes": self.classes_.tolist()},
                               self.get_params(deep=False), NOT_TRAINING)

    def _build_network(self) -> ResidualCNN:
        return ResidualCNN(self.channels_, len(self.classes_), width=self.width, depth=self.depth_,
                           blocks=self.blocks, dropout=self.dropout, stem_pool=bool(self.stem_pool))

    def _median_side(self, X) -> float:
        """The median short side of (up to 50 of) the training images."""
        sides, step = [], max(1, len(X) // 50)
        for i in range(0, min(len(X), 50 * step), step):
            try:
                sides.append(min(as_image(X[i], max_pixels=self.max_pixels).shape[:2]))
            except DataError as err:
                if self.on_error != "skip":
                    raise err if err.source else type(err)(f"item {i}", err.reason) from None
        return float(np.median(sides)) if sides else 32.0

    def _resolve_channels(self, squares) -> int:
        if self.channels != "auto":
            return int(self.channels)
        return 3 if any(is_colour(s) for s in squares) else 1


class _TensorImages(torch.utils.data.Dataset):
    """uint8 images (N, C, S, S) and labels (N,) served a whole batch at a time (no per-item collate)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index):
        return self.images[index], self.labels[index]

    def __getitems__(self, indices):
        index = torch.as_tensor(indices, dtype=torch.long)
        return self.images[index], self.labels[index]


def _identity(batch):
    return batch
