"""The end-to-end image classifier: pixels -> residual CNN -> class, trained by e2elab.nn.

The input size, depth and augmentation adapt to the data (see the parameters), and so does colour:
3 channels when any training image has differing channels, else 1. Training crops are cut from
copies kept at up to twice the input size and area-averaged down, so a zoomed-in crop shows the
photo's own detail instead of upsampled pixels.

Training uses the shared loop (AdamW or SGD with Nesterov momentum, one-cycle schedule, label
smoothing, gradient clipping) on a stratified validation split taken from the training data,
which also fits the temperature that calibrates `predict_proba`. The last epoch's weights are kept
(the one-cycle schedule ends at a tiny learning rate, and a validation loss without label
smoothing prefers the less confident early epochs); with a `patience` (``validation=Validation(0.1,
patience=5)``), training stops early and keeps the best epoch instead.
Training images are decoded once into memory, or streamed from disk while the network trains
(:mod:`e2elab.image.image_stream`).
"""

from __future__ import annotations

import functools
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin

from ..base import ModelState, PipelineMixin, Stage
from ..data.image import MAX_PIXELS, as_image
from ..errors import DataError
from ..nn import OPTIMIZERS
from ..nn.fine_tuning import FineTuning
from ..nn.pseudo_labels import SEMI_SUPERVISED, labelled_mask
from ..nn.validation import Validation
from ..params import DEVICE, Choice, Int, Real, flat_params, params_from_saved
from ..registry import register_pipeline
from .calibration import calibration_report, fit_temperature
from .backbones import BACKBONES, Backbone, build_network, input_size_for, load_pretrained, median_short_side
from .fixmatch import training_step, unlabeled_fingerprint
from .image_stream import ImageFeed
from .presets import PRESETS
from .semi_supervised import fit_with_unlabeled
from .transforms import PRESETS as AUGMENTATION_PRESETS
from .transforms import RESIZE_MODES, Augment, ImageAugmentation, decode_squares, mix_batch, normalise, to_chw, tta_views

SOURCE_SCALE = 2.0  # training crops are cut from copies kept up to this many times the input size
LABEL_SMOOTHING = 0.1
# Parameters that do not change what the network learns: a checkpoint folder written under other
# values of these is still the same run (test-time views and calibration come after training).
NOT_TRAINING = {"device", "checkpoint_dir", "progress", "tta", "num_workers", "cache_dir"}


@register_pipeline("image", "end-to-end")
class EndToEndImageClassifier(PipelineMixin, ClassifierMixin, BaseEstimator):
    """Residual CNN image classifier with calibrated probabilities (see the module docstring).

    Parameters
    ----------
    preset : {"default", "cpu"}, default="default"
        "cpu": pool after the first convolution and train with SGD, about three times faster on
        CPUs without bfloat16 instructions (:mod:`e2elab.image.presets`).
    backbone : {"resnet", "mobilenet_v2", "efficientnet_lite0"} or Backbone, default="resnet"
        The CNN from scratch, or an ImageNet network fine-tuned; a
        :class:`~e2elab.image.backbones.Backbone` also sets the CNN's width and depth, the dropout
        before the classifier, and the ImageNet weights file.
    semi_supervised : {"self_training", "fixmatch"} or None, default=None
        What unlabeled training images (label -1 or None) are for (:mod:`e2elab.image.semi_supervised`).
    input_size : int or None, default=None
        Side of the square the network sees; None: the training images' median short side,
        clipped to [16, 64] px and rounded to a multiple of 8 (USPS stays at 16 px).
    resize : {"pad", "crop"}, default="pad"
        "pad" keeps the whole image (borders filled with its edge); "crop" fills the square.
    epochs, min_updates, batch_size : int or None, int or None, int, default=None, None, 64
        Passes over the training images (None: 20), raised to make at least `min_updates` optimiser
        updates (None: 600 when `epochs` is None, else no floor; :mod:`e2elab.nn.schedule`); images per batch.
    optimizer, lr : {"adamw", "sgd"} or None, float or None, default=None
        "sgd": Nesterov momentum with L2 decay (None: the preset's optimizer); `lr` is the peak of
        the one-cycle schedule (None: the optimizer's own, e2elab.nn.DEFAULT_LR).
    weight_decay : float, default=5e-4
        Weight decay (AdamW) or L2 penalty (SGD).
    validation : float or Validation, default=0.1
        Stratified share of the training images held out for calibration, or a
        :class:`~e2elab.nn.validation.Validation` that also stops training early.
    augment : {"auto", "photo", "glyph", "none"} or ImageAugmentation, default="auto"
        Changes of the training images: a preset of :class:`~e2elab.image.transforms.ImageAugmentation`
        or one of your own; "auto": "photo" for colour images, "glyph" (no flips) for grayscale.
    tta : bool, default=False
        Average the logits of a few test-time views (shifts, and mirror images where flips are allowed).
    device : str, default="auto"
        "auto" (CUDA when present, else CPU), "cpu", "cuda", "cuda:N" or "mps".
    amp : bool, default=True
        Mixed precision in training, on CUDA and on CPUs with bfloat16 instructions (twice as fast).
    checkpoint_dir, progress : str or None, bool or None, default=None, None
        Folder for per-epoch checkpoints (a rerun of the same run resumes from it); progress bars
        (None: in a terminal or a notebook).
    init_from : str, path, FineTuning or None, default=None
        A saved end-to-end image model to fine-tune (same preset, backbone and width), or a
        :class:`~e2elab.nn.fine_tuning.FineTuning` that also freezes or slows all but its output layer.
    on_error : {"raise", "skip"}, default="raise"
        An unreadable image or a single-image class raises a DataError, or is skipped and counted.
    max_pixels : int, default=e2elab.data.image.MAX_PIXELS
        Largest image accepted (file or array), in pixels.
    num_workers, cache_dir : int, str or None, default=0, None
        Loader processes and a folder of decoded images; either streams images from disk (:mod:`e2elab.image.image_stream`).
    seed : int, default=0
        Seeds the initialisation, batch order, augmentation and validation split.
    """

    _parameter_constraints = {
        "preset": [Choice(*PRESETS)], "backbone": [Choice(*BACKBONES), Backbone],
        "semi_supervised": [Choice(*SEMI_SUPERVISED), None],
        "input_size": [Int(8), None], "resize": [Choice(*RESIZE_MODES)], "epochs": [Int(1), None], "batch_size": [Int(1)],
        "optimizer": [Choice(*OPTIMIZERS), None], "lr": [Real(0, closed="neither"), None], "weight_decay": [Real(0)],
        "validation": [Real(0, 1, closed="left"), Validation],
        "augment": [Choice("auto", *AUGMENTATION_PRESETS), ImageAugmentation], "tta": ["boolean"], "device": [DEVICE],
        "amp": ["boolean"], "checkpoint_dir": [str, os.PathLike, None], "progress": ["boolean", None],
        "on_error": [Choice("raise", "skip")], "max_pixels": [Int(1)], "seed": [Int(0)], "min_updates": [Int(0), None],
        "init_from": [str, os.PathLike, FineTuning, None], "num_workers": [Int(0)], "cache_dir": [str, os.PathLike, None],
    }

    def __init__(self, preset="default", backbone="resnet", semi_supervised=None, input_size=None, resize="pad", epochs=None, batch_size=64, optimizer=None, lr=None,
                 weight_decay=5e-4, validation=0.1, augment="auto", tta=False, device="auto",
                 amp=True, checkpoint_dir=None, progress=None, on_error="raise", max_pixels=MAX_PIXELS, seed=0,
                 min_updates=None, init_from=None, num_workers=0, cache_dir=None):
        self.preset = preset
        self.backbone = backbone
        self.semi_supervised = semi_supervised
        self.input_size = input_size
        self.resize = resize
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.validation = validation
        self.augment = augment
        self.tta = tta
        self.device = device
        self.amp = amp
        self.checkpoint_dir = checkpoint_dir
        self.progress = progress
        self.on_error = on_error
        self.max_pixels = max_pixels
        self.seed = seed
        self.min_updates = min_updates
        self.init_from = init_from
        self.num_workers = num_workers
        self.cache_dir = cache_dir

    # ---- training ------------------------------------------------------------------------------

    def fit(self, X, y):
        from ..data.splits import stratified_holdout
        from ..nn import TrainConfig, seed_everything, train
        from ..nn.init_from import fine_tuning_config, fine_tuning_source, start_from
        from ..nn.schedule import MIN_IMAGES_PER_CLASS, warn_if_small

        self._validate_params()
        init_model = fine_tuning_source(self, ("preset", "backbone", "width"))
        X, y = list(X), np.asarray(y, dtype=object)
        if len(X) != len(y):
            raise DataError(None, f"{len(X)} images but {len(y)} labels")
        labelled, y = labelled_mask(y), y.astype(str)
        backbone, validation = Backbone.of(self.backbone), Validation.of(self.validation)
        recipe = backbone.recipe
        if not labelled.all():  # unlabeled images (label -1 or None): `semi_supervised` says what for
            return fit_with_unlabeled(self, X, y, labelled)
        median_side = median_short_side(X, self.on_error, self.max_pixels)
        self.input_size_ = init_model.input_size_ if init_model else input_size_for(backbone.name, self.input_size, median_side)
        # Training crops are cut from a larger copy when the images have the pixels for it.
        source_size = int(min(self.input_size_ * SOURCE_SCALE, max(self.input_size_, median_side)))
        feed = ImageFeed(self, X, source_size)  # decoded into memory, or streamed from disk while training
        y, skipped = feed.read(y)
        keep, skipped = self._drop_small_classes(y, skipped, "image")
        feed.keep(keep)
        y = y[keep]
        self._record_skipped(skipped, "training image")
        if init_model is None and not recipe.pretrained and len(y):
            warn_if_small(int(np.unique(y, return_counts=True)[1].min()), MIN_IMAGES_PER_CLASS, "images in the smallest class")
        self.channels_ = init_model.channels_ if init_model else recipe.channels or feed.channels()
        self.classes_ = np.array(sorted(set(y.tolist())))
        targets = torch.as_tensor(np.searchsorted(self.classes_, y), dtype=torch.long)
        self.mean_, self.std_ = (list(recipe.mean), list(recipe.std)) if recipe.mean else feed.statistics(self.channels_)
        self.policy_ = ImageAugmentation.of(self.augment, self.channels_)
        halvings = int(math.log2(self.input_size_)) - 1 - int(PRESETS[self.preset].stem_pool)
        self.depth_ = int(backbone.depth) if backbone.depth else max(1, min(4, halvings))
        if init_model is not None:  # the started network sees its inputs as in its first training
            self.mean_, self.std_, self.depth_ = init_model.mean_, init_model.std_, init_model.depth_

        fit_idx, val_idx = (np.arange(len(y)), np.zeros(0, dtype=int))
        if validation.fraction and len(y) >= 2 * len(self.classes_):
            fit_idx, val_idx = stratified_holdout(y, validation.fraction, self.seed)
        seed_everything(self.seed)
        self.network_ = self._build_network().to(memory_format=torch.channels_last)
        load_pretrained(self.network_, backbone)
        if init_model is not None:
            start_from(self.network_, init_model.network_, self.classes_, init_model.classes_,
                       FineTuning.of(self.init_from).source)
        augment = self.policy_.transform(out_size=self.input_size_)
        optimizer = self.optimizer or PRESETS[self.preset].optimizer
        epochs, min_updates = recipe.training_length(self.epochs, self.min_updates)
        config = TrainConfig(epochs=epochs, min_updates=min_updates, batch_size=self.batch_size, optimizer=optimizer,
                             lr=recipe.lr_for(optimizer) if self.lr is None else float(self.lr),
                             weight_decay=self.weight_decay, patience=validation.patience, monitor="val_loss",
                             keep="best" if validation.patience else "last",
                             device=self.device, amp=bool(self.amp), cpu_amp=True, num_workers=self.num_workers,
                             seed=self.seed, checkpoint_dir=self.checkpoint_dir, progress=self._show_progress(),
                             **fine_tuning_config(self))
        train_set, val_set = feed.datasets(targets, fit_idx, val_idx, self.channels_)
        step, epoch_metrics = training_step(self, self._training_step(augment), augment, source_size)
        result = train(self.network_, train_set, feed.step(step), config, val_data=val_set, epoch_metrics=epoch_metrics,
                       validate=feed.validate(self._validate), collate_fn=feed.collate,
                       resume_key=self._run_key(feed.fingerprint(), targets) if self.checkpoint_dir else None)
        self._record_skipped(skipped + feed.skipped)  # with the images that failed to decode mid-epoch (on_error="skip")
        self.history_, self.best_epoch_ = result.history, result.best_epoch
        self.network_.cpu().eval()
        self._fit_temperature(val_set, feed)
        return self

    def _training_step(self, augment: Augment):
        mean, std, mix, smoothing = self.mean_, self.std_, self.policy_.mix, LABEL_SMOOTHING

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
        views = tta_views(x, self.policy_.flip)
        return torch.stack([module(v.contiguous(memory_format=torch.channels_last)) for v in views]).mean(0)

    def _fit_temperature(self, val_set, feed: ImageFeed):
        self.temperature_, self.calibration_ = 1.0, None
        if val_set is None:
            return
        loader = torch.utils.data.DataLoader(val_set, batch_size=256, collate_fn=feed.collate)
        logits_of = feed.validate(functools.partial(self._logits_of, tta=bool(self.tta)))
        with torch.no_grad():
            logits, labels = logits_of(self.network_, loader, torch.device("cpu"))
        self.temperature_ = fit_temperature(logits, labels)
        self.calibration_ = calibration_report(logits, labels, self.temperature_)

    # ---- prediction ----------------------------------------------------------------------------

    def preprocess(self, X) -> torch.Tensor:
        """Raw items -> the normalised batch (B, C, S, S) the network takes."""
        self._check_fitted()
        return normalise(self._squares(X), self.mean_, self.std_)

    def _squares(self, X) -> torch.Tensor:
        squares, _, _ = decode_squares(list(X), self.input_size_, self.resize, "raise", self._show_progress(),
                                       "decoding images", self.max_pixels)
        if not squares:
            return torch.zeros((0, self.channels_, self.input_size_, self.input_size_), dtype=torch.uint8)
        return to_chw(squares, self.channels_)  # (B, C, S, S) uint8

    def decision_function(self, X) -> np.ndarray:
        """Calibrated class scores (logits / temperature), (N, K)."""
        self._check_fitted()
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
        self._check_fitted()
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
                Stage("feature_maps", "learned", f"{Backbone.of(self.backbone).name} feature maps of layers {layers}, (C_l, H_l, W_l) each"),
                Stage("pooled", "learned", f"globally pooled features, ({features},)"),
                Stage("scores", "learned", "class scores (logits / temperature), (K,)"),
                Stage("output", "output", "class label with calibrated probabilities")]

    def stage_outputs(self, item, layers: list[str] | None = None) -> dict:
        """Each stage's output for one image; `layers` picks the feature maps (None: all)."""
        self._check_fitted()
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
        self._check_fitted()
        arrays = {f"network/{k}": v.detach().cpu().numpy() for k, v in self.network_.state_dict().items()}
        meta = {"classes": self.classes_.tolist(), "input_size": self.input_size_, "depth": self.depth_,
                "channels": self.channels_, "mean": self.mean_, "std": self.std_, "policy": self.policy_.to_dict(),
                "temperature": self.temperature_, "calibration": self.calibration_, "history": self.history_,
                "best_epoch": self.best_epoch_, "skipped": [list(s) for s in self.skipped_]}
        return ModelState(meta=meta, arrays=arrays)

    @classmethod
    def _from_state(cls, params, state: ModelState):
        params = params_from_saved(cls, params)  # settings objects are stored as plain dicts of their fields
        augment = params["augment"]
        model = cls(**{**params, "augment": ImageAugmentation.from_dict(augment) if isinstance(augment, dict) else augment})
        meta = state.meta
        model.classes_ = np.array(meta["classes"])
        model.input_size_, model.depth_, model.channels_ = meta["input_size"], meta["depth"], meta["channels"]
        model.mean_, model.std_ = meta["mean"], meta["std"]
        model.policy_ = ImageAugmentation.from_dict(meta["policy"])
        model.temperature_, model.calibration_ = meta["temperature"], meta["calibration"]
        model.history_, model.best_epoch_ = meta["history"], meta["best_epoch"]
        model._record_skipped(meta["skipped"])
        model.network_ = model._build_network()
        weights = {k[len("network/"):]: torch.from_numpy(np.array(v)) for k, v in state.arrays.items()
                   if k.startswith("network/")}
        model.network_.load_state_dict(weights)
        model.network_.to(memory_format=torch.channels_last).eval()
        return model

    # ---- helpers -------------------------------------------------------------------------------

    def _run_key(self, data: np.ndarray, targets: torch.Tensor) -> str:
        """A digest of the training data and every parameter that shapes training, so that a
        checkpoint folder is resumed only by the run that wrote it."""
        from ..nn.fingerprint import run_fingerprint

        return run_fingerprint([data, targets.numpy()], {"classes": self.classes_.tolist(), **unlabeled_fingerprint(self)},
                               flat_params(self), NOT_TRAINING)

    def _build_network(self) -> torch.nn.Module:
        backbone = Backbone.of(self.backbone)
        return build_network(backbone.name, self.channels_, len(self.classes_), self.input_size_, width=backbone.width,
                             depth=self.depth_, dropout=backbone.dropout, preset=self.preset)

