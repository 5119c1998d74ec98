"""Boxes to centre heat maps and back: the targets, the loss and the decoding of the detector.

Encoding (the training targets on the stride-`s` output grid, one image at a time):

* heat: an elliptical Gaussian per box, 1.0 at the cell holding the box centre, with standard
  deviations `alpha` * w / 6 and `alpha` * h / 6 (TTFNet's choice, alpha = 0.54: the Gaussian
  covers about the middle half of the box); overlapping Gaussians keep their maximum.
* box: per cell, the offset (dx, dy) from the cell's top-left corner to the box centre and the
  log of the box width and height, all in cells. The regression is trained not only at the centre
  cell but at every cell where the box's Gaussian is at least REGRESSION_FLOOR, weighted by the
  Gaussian (TTFNet's "training-time friendly" trick: many more regression samples per box, so the
  sizes are learned in far fewer epochs, which a CPU budget needs). A cell claimed by two boxes
  regresses the one whose Gaussian is higher there.

Decoding: local maxima of the heat map (a cell equal to the max of its 3x3 neighbourhood), the
`k` highest, each read as one box from the box channels at that cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

GAUSSIAN_ALPHA = 0.54
REGRESSION_FLOOR = 0.3
MIN_SIGMA = 0.1  # cells: a box far smaller than a cell still gets a well-defined peak


@dataclass
class Targets:
    """Training targets of a batch on a (h, w) grid."""

    heat: torch.Tensor  # (B, 1, h, w) in [0, 1], exactly 1 at box centres
    box: torch.Tensor  # (B, 4, h, w): dx, dy, log w, log h in cells
    weight: torch.Tensor  # (B, 1, h, w): regression weight of each cell (0 where no box)

    def to(self, device) -> "Targets":
        return Targets(self.heat.to(device), self.box.to(device), self.weight.to(device))


def encode(boxes: np.ndarray, grid: tuple[int, int], stride: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Heat (h, w), box (4, h, w) and weight (h, w) targets of one image's boxes (n, 4) x, y, w, h
    in input pixels. Boxes whose centre lies outside the grid are left out."""
    h, w = grid
    heat = np.zeros((h, w), np.float32)
    box = np.zeros((4, h, w), np.float32)
    weight = np.zeros((h, w), np.float32)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    for x0, y0, bw, bh in boxes[np.argsort(-boxes[:, 2] * boxes[:, 3], kind="stable")]:
        cx, cy = (x0 + bw / 2) / stride, (y0 + bh / 2) / stride  # centre, in cells
        ix, iy = int(np.floor(cx)), int(np.floor(cy))
        if not (0 <= ix < w and 0 <= iy < h) or bw <= 0 or bh <= 0:
            continue
        sx = max(GAUSSIAN_ALPHA * bw / stride / 6, MIN_SIGMA)
        sy = max(GAUSSIAN_ALPHA * bh / stride / 6, MIN_SIGMA)
        rx, ry = int(np.ceil(3 * sx)), int(np.ceil(3 * sy))
        xs, ys = np.arange(max(0, ix - rx), min(w, ix + rx + 1)), np.arange(max(0, iy - ry), min(h, iy + ry + 1))
        gauss = np.exp(-((xs[None, :] - ix) ** 2 / (2 * sx**2) + (ys[:, None] - iy) ** 2 / (2 * sy**2)))
        window = np.ix_(ys, xs)
        claimed = (gauss >= heat[window]) & (gauss >= REGRESSION_FLOOR)
        heat[window] = np.maximum(heat[window], gauss)
        r, c = np.nonzero(claimed)
        rows, cols = ys[r], xs[c]
        box[:, rows, cols] = np.stack([cx - cols, cy - rows, np.full(len(r), np.log(bw / stride)),
                                       np.full(len(r), np.log(bh / stride))])
        weight[rows, cols] = gauss[r, c]
    return heat, box, weight


def encode_batch(boxes: list[np.ndarray], grid: tuple[int, int], stride: int) -> Targets:
    heat, box, weight = zip(*(encode(b, grid, stride) for b in boxes))
    return Targets(torch.from_numpy(np.stack(heat))[:, None], torch.from_numpy(np.stack(box)),
                   torch.from_numpy(np.stack(weight))[:, None])


def focal_loss(logits: torch.Tensor, heat: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss (alpha 2, beta 4), summed and divided by the number
    of centres: cells near a centre are punished less for firing, by (1 - target)^4."""
    centres = heat.eq(1).float()
    p = torch.sigmoid(logits)
    positive = F.logsigmoid(logits) * (1 - p) ** 2 * centres
    negative = F.logsigmoid(-logits) * p**2 * (1 - heat) ** 4 * (1 - centres)
    return -(positive.sum() + negative.sum()) / centres.sum().clamp(min=1)


def detection_loss(heat_logits: torch.Tensor, box: torch.Tensor, targets: Targets, box_weight: float = 1.0) -> torch.Tensor:
    """Focal loss on the heat map plus the Gaussian-weighted L1 loss of the box channels."""
    regression = (F.l1_loss(box, targets.box, reduction="none").sum(1, keepdim=True) * targets.weight).sum()
    return focal_loss(heat_logits, targets.heat) + box_weight * regression / targets.weight.sum().clamp(min=1e-6)


@dataclass
class Peaks:
    """The `k` strongest local maxima of one image's heat map, strongest first."""

    boxes: np.ndarray  # (k, 4) x, y, w, h in input pixels
    scores: np.ndarray  # (k,) heat at the peak, in [0, 1]
    cells: np.ndarray  # (k, 2) row, column of the peak on the grid


def decode(heat: torch.Tensor, box: torch.Tensor, stride: int, k: int) -> list[Peaks]:
    """Peaks of heat probabilities (B, 1, h, w) read as boxes from box (B, 4, h, w)."""
    heat, box = heat.float(), box.float()
    peaks = heat * heat.eq(F.max_pool2d(heat, 3, stride=1, padding=1))  # non-maxima set to 0
    b, _, h, w = heat.shape
    scores, index = peaks.flatten(1).topk(min(k, h * w), dim=1)  # (B, k)
    out = []
    largest = float(np.log(2 * max(h, w)))  # an untrained network's sizes must not overflow exp
    for i in range(b):
        found = scores[i] > 0  # fewer than k local maxima: the rest of the top-k are zeros
        rows, cols = index[i][found] // w, index[i][found] % w
        dx, dy, log_w, log_h = box[i][:, rows, cols]  # (k,) each
        bw, bh = torch.exp(log_w.clamp(max=largest)) * stride, torch.exp(log_h.clamp(max=largest)) * stride
        cx, cy = (cols + dx) * stride, (rows + dy) * stride
        boxes = torch.stack([cx - bw / 2, cy - bh / 2, bw, bh], 1)
        out.append(Peaks(boxes.double().numpy(), scores[i][found].double().numpy(),
                         torch.stack([rows, cols], 1).numpy()))
    return out
