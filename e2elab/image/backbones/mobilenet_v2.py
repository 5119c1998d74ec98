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

from pathlib import Path

import torch
from torch import nn

from .mobile_network import LAST_CHANNELS, MobileNetwork, check_classes
from .weights_file import load_mapped

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# (expansion, channels, blocks, stride of the first block) of each stage, width 1.0.
STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
STEM_CHANNELS = 32
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


class MobileNetV2(MobileNetwork):
    """MobileNetV2 features with a new classification head; the same interface as ResidualCNN."""

    def __init__(self, n_classes: int, dropout: float = 0.0):
        check_classes(n_classes)
        blocks, c_in, stage_ends = [], STEM_CHANNELS, []
        for expansion, c_out, repeats, stride in STAGES:
            for i in range(repeats):
                blocks.append(InvertedResidual(c_in, c_out, stride if i == 0 else 1, expansion))
                c_in = c_out
            stage_ends.append(len(blocks) - 1)
        super().__init__(ConvNorm(3, STEM_CHANNELS, kernel=3, stride=2), blocks, stage_ends,
                         ConvNorm(c_in, LAST_CHANNELS), n_classes, dropout)


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
    load_mapped(network, path, torchvision_names(network), ignored=IMAGENET_HEAD,
                architecture="torchvision's MobileNetV2 (width 1.0)")
