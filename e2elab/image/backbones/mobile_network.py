"""What the two pretrained mobile networks (MobileNetV2, EfficientNet-Lite0) share around their blocks.

Both are a strided stem, inverted-residual blocks grouped in stages, a 1x1 convolution to
`LAST_CHANNELS`, global average pooling, dropout and a new linear head for the task's classes.
:class:`MobileNetwork` holds that frame, the interface of the image classifier's networks
(`features`, `classify`, `feature_maps`, `layer_names`); each network builds its own stem, blocks
and last layer, and names them alike ("stem", "blocks.N", "last", "head").
"""

from __future__ import annotations

import torch
from torch import nn

from ..model import wanted_layers

LAST_CHANNELS = 1280


class MobileNetwork(nn.Module):
    """stem -> blocks (stages ending at `stage_ends`) -> last -> pool -> dropout -> head."""

    min_input = 32  # five stride-2 layers

    def __init__(self, stem: nn.Module, blocks: list[nn.Module], stage_ends: list[int], last: nn.Module,
                 n_classes: int, dropout: float):
        super().__init__()
        self.stem, self.blocks, self.stage_ends, self.last = stem, nn.ModuleList(blocks), stage_ends, last
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
        "stem", "stage1" ... "stageN", "last"; `layers` picks a subset (None: all)."""
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
        return ["stem"] + [f"stage{i}" for i in range(1, len(self.stage_ends) + 1)] + ["last"]


def check_classes(n_classes: int) -> None:
    if n_classes < 2:
        raise ValueError(f"need n_classes >= 2 (got {n_classes})")
