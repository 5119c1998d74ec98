"""A residual CNN for image classification whose width, depth and input size are parameters.

The layout follows the fast-training residual networks of the CIFAR-10 speed runs (ResNet-9
style): every stage is a 3x3 convolution that widens the channels, a 2x2 max-pool that halves
the resolution, and residual blocks of two 3x3 convolutions; global pooling and one linear layer
give the class scores. Batch norm follows every convolution. Max-pooling instead of strided
convolutions and a scaled-down classifier output train quickly and stably with a one-cycle
schedule, which is what a CPU budget needs.

Shapes: input (B, C, H, W) normalised pixels -> stage i output (B, width * 2**i, H / 2**(i+1),
W / 2**(i+1)) (with stem_pool: halved once more) -> pooled (B, F) -> scores (B, n_classes).
"""

from __future__ import annotations

import torch
from torch import nn


def conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    """3x3 convolution (no bias: batch norm follows), batch norm, ReLU."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class Residual(nn.Module):
    """x + f(x) with f two conv-BN-ReLU layers; the identity path keeps gradients flowing."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(conv_bn(channels, channels), conv_bn(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResidualStage(nn.Module):
    """Widen (conv-BN-ReLU), halve the resolution (max-pool 2), then `blocks` residual blocks."""

    def __init__(self, c_in: int, c_out: int, blocks: int):
        super().__init__()
        self.widen = conv_bn(c_in, c_out)
        self.pool = nn.MaxPool2d(2)
        self.blocks = nn.Sequential(*[Residual(c_out) for _ in range(blocks)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, H, W) -> (B, C_out, H/2, W/2)
        return self.blocks(self.pool(self.widen(x)))


class ResidualCNN(nn.Module):
    """Stem, `depth` stages (channels width, 2*width, ... capped at max_width), pooling, linear.

    in_channels: 1 for grayscale, 3 for colour. blocks: residual blocks per stage (an int, or one
    per stage). stem_pool: halve the resolution right after the stem (a 2x2 max-pool): the stem
    still sees every pixel, and the stages cost what they cost on an image half the size (a CPU
    training step at 64 px runs 3.3x faster in float32, 2.3x under bfloat16:
    benchmarks/bench_train_loop_image.py --stem-pool [--bf16]). The output logits are multiplied
    by `logit_scale` (0.125 in the speed runs), which keeps early training from saturating the
    softmax.
    """

    def __init__(self, in_channels: int, n_classes: int, width: int = 32, depth: int = 3,
                 blocks: int | list[int] = 1, max_width: int = 512, dropout: float = 0.0,
                 logit_scale: float = 0.125, stem_pool: bool = False):
        super().__init__()
        if depth < 1 or width < 1 or n_classes < 2:
            raise ValueError(f"need depth >= 1, width >= 1 and n_classes >= 2 (got {depth}, {width}, {n_classes})")
        per_stage = [blocks] * depth if isinstance(blocks, int) else list(blocks)
        if len(per_stage) != depth:
            raise ValueError(f"blocks has {len(per_stage)} entries for {depth} stages")
        self.stem = conv_bn(in_channels, width)
        if stem_pool:
            self.stem.append(nn.MaxPool2d(2))
        channels = [min(width * 2**i, max_width) for i in range(depth)]
        stages, c_in = [], width
        for c_out, n in zip(channels, per_stage):
            stages.append(ResidualStage(c_in, c_out, n))
            c_in = c_out
        self.stages = nn.ModuleList(stages)
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Linear(c_in, n_classes)
        self.logit_scale = logit_scale
        self.n_features = c_in
        self.min_input = 2**(depth + int(stem_pool))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, F) of normalised pixels (B, C, H, W)."""
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return torch.flatten(self.pool(x), 1)

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """Class scores (B, n_classes) of pooled features (B, F)."""
        return self.head(self.dropout(features)) * self.logit_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x))

    def feature_maps(self, x: torch.Tensor, layers: list[str] | None = None) -> dict[str, torch.Tensor]:
        """Feature maps (B, C, H, W) after the stem and each stage, keyed "stem", "stage1", ...

        `layers` picks a subset of those names; None returns all of them.
        """
        wanted = wanted_layers(self.layer_names(), layers)
        maps = {}
        x = self.stem(x)
        if "stem" in wanted:
            maps["stem"] = x
        for i, stage in enumerate(self.stages, start=1):
            x = stage(x)
            if f"stage{i}" in wanted:
                maps[f"stage{i}"] = x
        return maps

    def layer_names(self) -> list[str]:
        return ["stem"] + [f"stage{i}" for i in range(1, len(self.stages) + 1)]


def wanted_layers(names: list[str], layers: list[str] | None) -> set[str]:
    """The layers of `names` asked for by `layers` (None: all); ValueError naming any unknown one."""
    wanted = set(names if layers is None else layers)
    unknown = wanted - set(names)
    if unknown:
        raise ValueError(f"unknown layer(s) {sorted(unknown)}; the layers are {names}")
    return wanted
