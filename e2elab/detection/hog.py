"""Histograms of oriented gradients (Dalal & Triggs, 2005), computed once per image, vectorised.

A sliding-window detector scores tens of thousands of windows per pyramid level. Computing HOG
per window would repeat the same gradients many times over, so the gradients, the cell
histograms and the block normalisation are computed once for the whole level, and a window's
descriptor is a slice of the block grid (`window_features`). Its linear score over every window
at once is a correlation of the block grid with the weights (`score_map`).

Cells are `cell_size` pixels square; each pixel votes its gradient magnitude into the two
nearest of `n_bins` unsigned orientation bins (0-180 degrees). Blocks of 2x2 cells, one cell
apart, are L2-Hys normalised (L2, clipped at 0.2, L2 again), as in the original detector.
Written in NumPy because OpenCV 5 dropped `cv2.HOGDescriptor`.
"""

from __future__ import annotations

import numpy as np

L2HYS_CLIP = 0.2
EPSILON = 1e-3  # keeps flat regions (no gradient) at a zero descriptor instead of amplified noise


def cell_histograms(gray: np.ndarray, cell_size: int = 4, n_bins: int = 9) -> np.ndarray:
    """Orientation histograms of the cells of a grayscale image (H, W) in [0, 1]: (H // c, W // c, n_bins).

    Pixels past the last whole cell are left out.
    """
    gray = np.asarray(gray, dtype=np.float32)
    rows, cols = gray.shape[0] // cell_size, gray.shape[1] // cell_size
    if rows == 0 or cols == 0:
        return np.zeros((rows, cols, n_bins), np.float32)
    gx = np.zeros_like(gray)
    gy = np.zeros_like(gray)
    gx[:, 1:-1] = gray[:, 2:] - gray[:, :-2]  # centred [-1, 0, 1] differences, as Dalal & Triggs found best
    gy[1:-1, :] = gray[2:, :] - gray[:-2, :]
    height, width = rows * cell_size, cols * cell_size
    gx, gy = gx[:height, :width], gy[:height, :width]
    magnitude = np.hypot(gx, gy)
    # Unsigned orientation in [0, n_bins), bin centres at half-integers: vote into the two nearest bins.
    position = (np.arctan2(gy, gx) % np.pi) * (n_bins / np.pi) - 0.5
    lower = np.floor(position)
    upper_weight = position - lower
    lower = lower.astype(np.int64) % n_bins
    upper = (lower + 1) % n_bins
    cell_index = (np.arange(height)[:, None] // cell_size) * cols + (np.arange(width)[None, :] // cell_size)
    base = cell_index * n_bins
    size = rows * cols * n_bins
    hist = np.bincount((base + lower).ravel(), (magnitude * (1 - upper_weight)).ravel(), minlength=size)
    hist += np.bincount((base + upper).ravel(), (magnitude * upper_weight).ravel(), minlength=size)
    return hist.reshape(rows, cols, n_bins).astype(np.float32)


def normalised_blocks(cells: np.ndarray) -> np.ndarray:
    """2x2-cell blocks at a one-cell stride, L2-Hys normalised: (rows - 1, cols - 1, 4 * n_bins)."""
    rows, cols, n_bins = cells.shape
    if rows < 2 or cols < 2:
        return np.zeros((max(rows - 1, 0), max(cols - 1, 0), 4 * n_bins), np.float32)
    blocks = np.concatenate([cells[:-1, :-1], cells[:-1, 1:], cells[1:, :-1], cells[1:, 1:]], axis=2)
    blocks = blocks / np.sqrt((blocks ** 2).sum(axis=2, keepdims=True) + EPSILON ** 2)
    blocks = np.minimum(blocks, L2HYS_CLIP)
    return (blocks / np.sqrt((blocks ** 2).sum(axis=2, keepdims=True) + EPSILON ** 2)).astype(np.float32)


def hog_blocks(gray: np.ndarray, cell_size: int = 4, n_bins: int = 9) -> np.ndarray:
    """The normalised block grid of a whole image (see the module docstring)."""
    return normalised_blocks(cell_histograms(gray, cell_size, n_bins))


def window_features(blocks: np.ndarray, rows, cols, window_blocks: int) -> np.ndarray:
    """Descriptors of the square windows whose top-left block is at (rows[i], cols[i]): (n, F).

    F = window_blocks**2 * block length, laid out as (block row, block column, block values), the
    layout of the weights `score_map` takes.
    """
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    offsets = np.arange(window_blocks)
    patch = blocks[rows[:, None, None] + offsets[None, :, None], cols[:, None, None] + offsets[None, None, :]]
    return patch.reshape(len(rows), window_blocks * window_blocks * blocks.shape[2])


def score_map(blocks: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    """Linear score of every window position: (rows - k + 1, cols - k + 1) for weights (k, k, D).

    The sum over the window's blocks of block . weight, done as k*k matrix-vector products over
    shifted views of the grid instead of materialising every window's descriptor.
    """
    k = weights.shape[0]
    out_rows, out_cols = blocks.shape[0] - k + 1, blocks.shape[1] - k + 1
    if out_rows <= 0 or out_cols <= 0:
        return np.zeros((max(out_rows, 0), max(out_cols, 0)), np.float32)
    scores = np.full((out_rows, out_cols), bias, dtype=np.float32)
    for i in range(k):
        for j in range(k):
            scores += blocks[i:i + out_rows, j:j + out_cols] @ weights[i, j]
    return scores


def block_contributions_to_cells(contributions: np.ndarray) -> np.ndarray:
    """Per-block contributions (k, k) spread evenly over the 2x2 cells each block covers: (k + 1, k + 1).

    The cell map sums to the same total, so it still adds up to the score minus the bias.
    """
    k = contributions.shape[0]
    cells = np.zeros((k + 1, k + 1), dtype=np.float64)
    for di in (0, 1):
        for dj in (0, 1):
            cells[di:di + k, dj:dj + k] += contributions / 4.0
    return cells
