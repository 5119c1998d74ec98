"""RISE saliency (Petsiuk et al. 2018) of one detection: which pixels its score depends on.

The image is shown to the detector under `n_masks` random masks (a coarse grid of cells, each kept
with probability `keep`, upsampled bilinearly and shifted by a random fraction of a cell so the
cell borders fall everywhere); a pixel's saliency is the detection's mean score over the masks
that kept it, divided by `keep`. The cost is bounded and known in advance: `n_masks` forward
passes, run `batch_size` at a time.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F


def random_masks(n: int, height: int, width: int, cells: int, keep: float, generator: torch.Generator) -> torch.Tensor:
    """`n` smooth random masks (n, 1, height, width) in [0, 1]."""
    cell_h, cell_w = -(-height // cells), -(-width // cells)
    grid = (torch.rand(n, 1, cells, cells, generator=generator) < keep).float()
    big = F.interpolate(grid, size=((cells + 1) * cell_h, (cells + 1) * cell_w), mode="bilinear", align_corners=False)
    dy = torch.randint(0, cell_h, (n,), generator=generator)
    dx = torch.randint(0, cell_w, (n,), generator=generator)
    return torch.stack([big[i, :, dy[i]:dy[i] + height, dx[i]:dx[i] + width] for i in range(n)])


def rise_saliency(score: Callable[[torch.Tensor], torch.Tensor], pixels: torch.Tensor, fill: torch.Tensor,
                  n_masks: int = 256, cells: int = 8, keep: float = 0.5, batch_size: int = 16,
                  seed: int = 0) -> np.ndarray:
    """Saliency (H, W) of `score` (a batch (B, 3, H, W) -> scores (B,)) at `pixels` (3, H, W).

    Masked-out pixels take the value `fill` (3, 1, 1): what the model sees as "nothing there".
    """
    generator = torch.Generator().manual_seed(int(seed))
    _, height, width = pixels.shape
    total = torch.zeros(height, width)
    with torch.no_grad():
        for start in range(0, n_masks, batch_size):
            masks = random_masks(min(batch_size, n_masks - start), height, width, cells, keep, generator)
            masked = pixels * masks + fill * (1 - masks)  # (b, 3, H, W)
            total += (score(masked).float().view(-1, 1, 1, 1) * masks).sum(0)[0]
    return (total / (n_masks * keep)).numpy()
