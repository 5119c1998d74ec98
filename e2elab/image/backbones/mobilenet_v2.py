"""ImageNet MobileNetV2 (Sandler et al. 2018) as the image classifier's backbone, in plain PyTorch.

Layout (width 1.0): a 3x3 stride-2 stem (32 channels), 17 inverted-residual blocks in 7 stages,
a 1x1 convolution to 1280 channels, global average pooling, then a new linear head for the
task's classes. The modules carry names of their own (``stem``, ``blocks.N.expand`` /
``depthwise`` / ``project``, ``last``, ``head``); :func:`torchvision_names` maps them onto
torchvision's ``features.N...`` names, so that torchvision's ImageNet state dict loads without
torchvision, every name and shape checked (:func:`load_imagenet_weights`). The ImageNet
classifier is dropped: its 1000 classes are not the task's.

Shapes: input (B, 3, H, W) normalised with the ImageNet statistics -> stage i at stride
2, 4, 8, 16, 16, 32, 32 -> last (B, 1280, H/32, W/32) -> pooled (B, 1280) -> scores (B, K).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...errors import DataError, ModelIntegrityError, UnsafeModelError
from ..model import wanted_layers

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# (expansion, channels, blocks, stride of the first block) of each stage, width 1.0.
STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
STEM_CHANNELS, LAST_CHANNELS = 32, 1280
# The ImageNet classifier in torchvision's file: not loaded (the head is rebuilt for the task's classes).
IMAGENET_HEAD = ("classifier.1.weight", "classifier.1.bias")


class ConvNorm(nn.Module):
    """Convolution (no bias: batch norm follows), batch norm, and ReLU6 unless `activate` is False."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 1, stride: int = 1, groups: int = 1,
                 activate: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False)
        self.norm = nn.BatchNorm2d(c_out)
        self.act = nn.ReLU6(inplace=True) if activate else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))


class InvertedResidual(nn.Module):
    """1x1 expansion (absent at expansion 1), 3x3 depthwise, linear 1x1 projection; + x when shapes match."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int):
        super().__init__()
        hidden = c_in * expansion
        self.expand = ConvNorm(c_in, hidden) if expansion != 1 else None
        self.depthwise = ConvNorm(hidden, hidden, kernel=3, stride=stride, groups=hidden)
        # Linear projection: a ReLU on the narrow output would destroy information (the paper's point).
        self.project = ConvNorm(hidden, c_out, activate=False)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.depthwise(self.expand(x) if self.expand is not None else x))
        return x + out if self.residual else out


class MobileNetV2(nn.Module):
    """MobileNetV2 features with a new classification head; the same interface as ResidualCNN."""

    min_input = 32  # five stride-2 layers

    def __init__(self, n_classes: int, dropout: float = 0.0):
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"need n_classes >= 2 (got {n_classes})")
        self.stem = ConvNorm(3, STEM_CHANNELS, kernel=3, stride=2)
        blocks, c_in, self.stage_ends = [], STEM_CHANNELS, []
        for expansion, c_out, repeats, stride in STAGES:
            for i in range(repeats):
                blocks.append(InvertedResidual(c_in, c_out, stride if i == 0 else 1, expansion))
                c_in = c_out
            self.stage_ends.append(len(blocks) - 1)
        self.blocks = nn.ModuleList(blocks)
        self.last = ConvNorm(c_in, LAST_CHANNELS)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Linear(LAST_CHANNELS, n_classes)
        self.n_features = LAST_CHANNELS
        nn.init.normal_(self.head.weight, 0.0, 0.01)  # torchvision's initialisation of its classifier
        nn.init.zeros_(self.head.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, 1280) of normalised pixels (B, 3, H, W)."""
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return torch.flatten(self.pool(self.last(x)), 1)

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """Class scores (B, n_classes) of pooled features (B, 1280)."""
        return self.head(self.dropout(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x))

    def feature_maps(self, x: torch.Tensor, layers: list[str] | None = None) -> dict[str, torch.Tensor]:
        """Feature maps (B, C, H, W) after the stem, each stage and the last 1x1 layer, keyed
        "stem", "stage1" ... "stage7", "last"; `layers` picks a subset (None: all)."""
        wanted = wanted_layers(self.layer_names(), layers)
        maps = {}
        x = self.stem(x)
        if "stem" in wanted:
            maps["stem"] = x
        stage = 1
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i == self.stage_ends[stage - 1]:
                if f"stage{stage}" in wanted:
                    maps[f"stage{stage}"] = x
                stage += 1
        if "last" in wanted:
            maps["last"] = self.last(x)
        return maps

    def layer_names(self) -> list[str]:
        return ["stem"] + [f"stage{i}" for i in range(1, len(STAGES) + 1)] + ["last"]


def torchvision_names(network: MobileNetV2) -> dict[str, str]:
    """Each backbone entry of `network.state_dict()` -> its name in torchvision's MobileNetV2."""
    def conv_norm(ours: str, theirs: str) -> dict[str, str]:
        module = network.get_submodule(ours)
        return {f"{ours}.{part}.{key}": f"{theirs}.{index}.{key}"
                for part, index in (("conv", 0), ("norm", 1))
                for key in getattr(module, part).state_dict()}

    names = conv_norm("stem", "features.0")
    for i, block in enumerate(network.blocks):
        theirs = f"features.{i + 1}.conv"
        # torchvision numbers the block's layers in order: [expand,] depthwise, projection conv, its norm.
        first = 0 if block.expand is None else 1
        if block.expand is not None:
            names.update(conv_norm(f"blocks.{i}.expand", f"{theirs}.0"))
        names.update(conv_norm(f"blocks.{i}.depthwise", f"{theirs}.{first}"))
        names[f"blocks.{i}.project.conv.weight"] = f"{theirs}.{first + 1}.weight"
        for key in block.project.norm.state_dict():
            names[f"blocks.{i}.project.norm.{key}"] = f"{theirs}.{first + 2}.{key}"
    names.update(conv_norm("last", f"features.{len(network.blocks) + 1}"))
    return names


def load_imagenet_weights(network: MobileNetV2, path: str | Path) -> None:
    """Initialise every backbone tensor of `network` from torchvision's MobileNetV2 state dict at
    `path` (a ``.pth`` or ``.safetensors`` file); the head keeps its fresh initialisation.

    A file of another architecture (a missing, extra or differently shaped tensor) is a DataError
    naming the file and the first differences; nothing is loaded then.
    """
    path = Path(path)
    state = read_state_dict(path)
    names = torchvision_names(network)
    own = network.state_dict()
    missing = [theirs for theirs in names.values() if theirs not in state]
    extra = sorted(set(state) - set(names.values()) - set(IMAGENET_HEAD))
    shapes = [f"{theirs} {tuple(state[theirs].shape)} (expected {tuple(own[ours].shape)})"
              for ours, theirs in names.items() if theirs in state and state[theirs].shape != own[ours].shape]
    problems = [f"{len(found)} {what}, e.g. {', '.join(found[:3])}"
                for what, found in (("tensors missing", missing), ("unexpected tensors", extra),
                                    ("tensors of another shape", shapes)) if found]
    if problems:
        raise DataError(path, "not torchvision's MobileNetV2 (width 1.0) weights: " + "; ".join(problems))
    network.load_state_dict({ours: state[theirs] for ours, theirs in names.items()}, strict=False)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a ``.safetensors`` file, or of a ``torch.save`` state dict read with
    ``weights_only=True`` (a file that needs more than tensors to load is refused, never run)."""
    if not path.is_file():
        raise DataError(path, "weights file not found")
    if path.suffix.lower() == ".safetensors":
        from ...model_files.safetensors_check import load_safetensors

        try:
            arrays = load_safetensors(path.read_bytes(), path)
        except ModelIntegrityError as err:  # a truncated or malformed file
            raise DataError(path, f"cannot read the weights: {str(err).removeprefix(f'{path}: ')}") from None
        return {k: torch.from_numpy(np.array(v)) for k, v in arrays.items()}
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeModelError(f"{path}: refused: loading it would run code beyond reading tensors "
                               f"({str(err).splitlines()[0]})") from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise DataError(path, f"cannot read the weights (truncated or not a torch state dict): "
                              f"{str(err).splitlines()[0] if str(err) else type(err).__name__}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataError(path, "not a state dict (a mapping of names to tensors)")
    return state
