"""The detection network: a backbone, an FPN-lite neck down to stride 4, and a centre-point head.

CenterNet-style and anchor-free: every cell of a stride-4 grid says how likely an object centre
lies in it (one heat-map channel, a logit) and, if one does, where exactly and how large the box
is (four channels: the centre's offset from the cell's corner and the log of the box width and
height, all in cells). Stride 4 because faces are small: the median face of the facemask photos is
about 22 px wide, so at stride 8 or more neighbouring faces would share a cell.

Backbones, each giving feature maps at strides 4, 8, 16 and 32:

* "small": a residual CNN sized for a 2-core CPU, trained from scratch (2.1 M parameters at width
  32, most of them in the stride-32 stage, whose maps are small and so cheap);
* "mobilenet_v2": torchvision's MobileNetV2 layout, written out here with torchvision's parameter
  names so that its ImageNet weights load as they are (torchvision itself is not needed).

The network takes pixels in [0, 255] (B, 3, H, W) and normalises them itself with the ImageNet
statistics, so that every caller (training, prediction, saliency) feeds it the same thing.
H and W must be multiples of 32.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

BACKBONES = ("small", "mobilenet_v2")
STRIDE = 4  # of the output grid
ALIGN = 32  # input sides must be multiples of the coarsest feature stride
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HEAT_PRIOR = 0.1  # initial centre probability of every cell: CenterNet's bias of -2.19


def conv_bn(c_in: int, c_out: int, stride: int = 1, kernel: int = 3, groups: int = 1, relu: str | None = "relu") -> nn.Sequential:
    """Convolution (no bias: batch norm follows), batch norm, then ReLU / ReLU6 / nothing."""
    layers = [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    if relu:
        layers.append(nn.ReLU6(inplace=True) if relu == "relu6" else nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class Residual(nn.Module):
    """x + f(x) with f two 3x3 conv-BN layers, then ReLU."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(conv_bn(channels, channels), conv_bn(channels, channels, relu=None))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class SmallBackbone(nn.Module):
    """Two stride-2 convolutions to stride 4, then a residual block per stride 4, 8, 16, 32.

    Channels: width at stride 4, doubling per stage up to 8 x width at stride 32.
    """

    def __init__(self, width: int = 32):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, max(8, width // 2), stride=2), conv_bn(max(8, width // 2), width, stride=2))
        self.channels = [width * 2**i for i in range(4)]
        self.stages = nn.ModuleList([Residual(width)])
        for c_in, c_out in zip(self.channels, self.channels[1:]):
            self.stages.append(nn.Sequential(conv_bn(c_in, c_out, stride=2), Residual(c_out)))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)  # (B, width, H/4, W/4)
        maps = []
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        return maps  # strides 4, 8, 16, 32


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expansion, 3x3 depthwise, linear 1x1 projection (+ x when shapes match).

    The `conv` attribute keeps torchvision's layout, so that its parameter names match.
    """

    def __init__(self, c_in: int, c_out: int, stride: int, expand: int):
        super().__init__()
        hidden = c_in * expand
        layers = [] if expand == 1 else [conv_bn(c_in, hidden, kernel=1, relu="relu6")]
        layers += [conv_bn(hidden, hidden, stride=stride, groups=hidden, relu="relu6"),
                   nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.conv = nn.Sequential(*layers)
        self.use_residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_residual else self.conv(x)


# (expansion, channels, repeats, first stride) of MobileNetV2 (Sandler et al. 2018), width 1.0.
MOBILENET_V2_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                         (6, 160, 3, 2), (6, 320, 1, 1))
# Index (into `features`) of the last block at strides 4, 8, 16 and 32.
MOBILENET_V2_TAPS = (3, 6, 13, 17)


class MobileNetV2Backbone(nn.Module):
    """MobileNetV2's feature layers up to the 320-channel block (the 1280-channel 1x1 layer and the
    classifier are left out: the detector does not use them)."""

    def __init__(self):
        super().__init__()
        layers, c_in = [conv_bn(3, 32, stride=2, relu="relu6")], 32
        for expand, c_out, repeats, stride in MOBILENET_V2_SETTINGS:
            for i in range(repeats):
                layers.append(InvertedResidual(c_in, c_out, stride if i == 0 else 1, expand))
                c_in = c_out
        self.features = nn.Sequential(*layers)
        self.channels = [24, 32, 96, 320]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        maps, start = [], 0
        for tap in MOBILENET_V2_TAPS:
            x = self.features[start:tap + 1](x)
            maps.append(x)
            start = tap + 1
        return maps

    def load_imagenet(self, path) -> None:
        """Load torchvision's ImageNet weights (a state dict saved with torch.save)."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        own = self.state_dict()
        weights = {k: v for k, v in state.items() if k in own}
        missing = sorted(set(own) - set(weights))
        if missing:
            raise ValueError(f"{path}: not MobileNetV2 ImageNet weights ({len(missing)} parameters missing, "
                             f"e.g. {missing[:3]})")
        self.load_state_dict(weights)


class FPNLite(nn.Module):
    """Top-down merge of the four backbone maps into one stride-4 map of `channels` channels.

    1x1 lateral projections; each coarser map is upsampled (nearest) and added to the next finer
    one, then smoothed by a 3x3 conv, so the stride-4 output sees the context of stride 32.
    """

    def __init__(self, in_channels: list[int], channels: int):
        super().__init__()
        self.laterals = nn.ModuleList([conv_bn(c, channels, kernel=1) for c in in_channels])
        self.smooth = nn.ModuleList([conv_bn(channels, channels) for _ in in_channels[:-1]])

    def forward(self, maps: list[torch.Tensor]) -> torch.Tensor:
        x = self.laterals[-1](maps[-1])
        for level in range(len(maps) - 2, -1, -1):
            lateral = self.laterals[level](maps[level])
            x = self.smooth[level](lateral + F.interpolate(x, size=lateral.shape[-2:], mode="nearest"))
        return x  # (B, channels, H/4, W/4)


class CenterHead(nn.Module):
    """Two branches on the stride-4 map: centre heat (1 logit) and box (offset x, y, log w, log h)."""

    def __init__(self, channels: int):
        super().__init__()
        self.heat = nn.Sequential(conv_bn(channels, channels), nn.Conv2d(channels, 1, 1))
        self.box = nn.Sequential(conv_bn(channels, channels), nn.Conv2d(channels, 4, 1))
        nn.init.constant_(self.heat[-1].bias, -math.log((1 - HEAT_PRIOR) / HEAT_PRIOR))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.heat(x), self.box(x)  # (B, 1, h, w) logits, (B, 4, h, w)


class CenterNet(nn.Module):
    """Pixels [0, 255] (B, 3, H, W) -> heat logits (B, 1, H/4, W/4) and boxes (B, 4, H/4, W/4)."""

    def __init__(self, backbone: str = "small", width: int = 32, neck_channels: int = 48):
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, not {backbone!r}")
        self.backbone = SmallBackbone(width) if backbone == "small" else MobileNetV2Backbone()
        self.neck = FPNLite(self.backbone.channels, neck_channels)
        self.head = CenterHead(neck_channels)
        self.register_buffer("mean", 255 * torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", 255 * torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.neck(self.backbone(self.normalise(pixels))))

    def normalise(self, pixels: torch.Tensor) -> torch.Tensor:
        if pixels.shape[-1] % ALIGN or pixels.shape[-2] % ALIGN:
            raise ValueError(f"input sides must be multiples of {ALIGN}, not {tuple(pixels.shape[-2:])}")
        return (pixels.float() - self.mean) / self.std

    def feature_maps(self, pixels: torch.Tensor) -> dict[str, torch.Tensor]:
        """The backbone's maps at strides 4-32 and the neck's merged stride-4 map, by name."""
        maps = self.backbone(self.normalise(pixels))
        named = {f"stride{STRIDE * 2**i}": m for i, m in enumerate(maps)}
        named["neck"] = self.neck(maps)
        return named
