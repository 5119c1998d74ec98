"""RISE saliency (Petsiuk et al. 2018) of detections: which pixels each detection's score depends on.

The image is shown to the detector under `n_masks` random masks (a coarse grid of cells, each kept
with probability `keep`, upsampled bilinearly and shifted by a random fraction of a cell so the
cell borders fall everywhere); a pixel's saliency is how much a detection's score over the masks
that kept it exceeds its mean score over all masks (RISE's mean score per pixel, less that mean),
divided by `keep`. Without the subtraction every map would carry the masks' own coverage pattern,
scaled by the mean score, which a model that ignores its input shares: the randomisation check
would then find the maps of a trained and a random network alike. Every detection of a photo is read from the same masked passes,
so explaining k boxes costs no more than one. The cost is bounded and known in advance:
`n_masks` forward passes, run `batch_size` at a time.

A detection's score is the centre probability at its peak cell of the heat map (:func:`peak_scores`),
the best of the 3x3 cells around it, so that a peak moving by one cell under a mask still counts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .augment import FILL


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
    """Saliency of `score` at `pixels` (3, H, W): (H, W) when `score` maps a batch (B, 3, H, W) to
    scores (B,), (K, H, W) when it gives K scores per image (B, K), one map per score.

    Masked-out pixels take the value `fill` (3, 1, 1): what the model sees as "nothing there".
    """
    generator = torch.Generator().manual_seed(int(seed))
    _, height, width = pixels.shape
    weighted, coverage, score_sum, single = 0.0, torch.zeros(height, width), 0.0, True
    with torch.no_grad():
        for start in range(0, n_masks, batch_size):
            masks = random_masks(min(batch_size, n_masks - start), height, width, cells, keep, generator)
            masked = pixels * masks + fill * (1 - masks)  # (b, 3, H, W)
            scores = score(masked).float()
            single = scores.ndim == 1
            scores = scores.view(len(masks), -1)  # (b, K)
            weighted = weighted + torch.einsum("bk,bhw->khw", scores, masks[:, 0])  # (K, H, W)
            coverage += masks[:, 0].sum(0)
            score_sum = score_sum + scores.sum(0)  # (K,)
    mean_score = score_sum / n_masks
    maps = ((weighted - mean_score.view(-1, 1, 1) * coverage) / (n_masks * keep)).numpy()
    return maps[0] if single else maps


def peak_scores(network: torch.nn.Module, cells: np.ndarray, padded_shape: tuple[int, int]) -> Callable[[torch.Tensor], torch.Tensor]:
    """score(batch) -> (B, K): the centre probability of each of K detections, found at `cells`
    (K, 2) (row, column of the stride-4 heat map), for a batch (B, 3, h, w) of the resized photo's
    pixels; the batch is padded with FILL to `padded_shape` (H, W), the size the network takes."""
    rows_cols = [(int(row), int(col)) for row, col in np.asarray(cells).reshape(-1, 2)]
    fill = torch.tensor(FILL, dtype=torch.float32).view(1, 3, 1, 1)

    def score(batch: torch.Tensor) -> torch.Tensor:
        padded = fill.expand(len(batch), 3, *padded_shape).clone()
        padded[:, :, :batch.shape[2], :batch.shape[3]] = batch
        heat = torch.sigmoid(network(padded)[0][:, 0].float())  # (B, H/4, W/4)
        return torch.stack([heat[:, max(0, row - 1):row + 2, max(0, col - 1):col + 2].amax((1, 2))
                            for row, col in rows_cols], dim=1)

    return score
