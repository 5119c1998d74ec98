"""Explain the sliding-window face detector: each HOG cell's share of a detection's SVM score.

The window score is linear in the HOG blocks (score = bias + sum of block . weight), so the map is
exact, not estimated: each block's term is split evenly over its 2x2 cells (``hog_cells``, as
:meth:`SlidingWindowDetector.explain_boxes` does), and the cells of the window add up to the score
minus the bias. Red cells speak for a face, blue ones against.

Scores, for the best detections of a photo (:data:`~.detection_records.MAX_BOXES`):

* deletion / insertion over the window's cells: a cell is removed by painting its pixels, at the
  pyramid level where the window was found, from a blurred copy of that level; the window's HOG is
  recomputed from its pixels (with one cell of real surroundings, so that its gradients and
  blocks are those of the whole level) and scored by the SVM;
* the randomisation check: the SVM's weights re-drawn from a normal distribution of their own
  spread (the only learned layer; HOG is hand-crafted), the map recomputed for the same window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.image import as_image
from ..detection.hog import (
    block_contributions_to_cells,
    cell_histograms,
    normalised_blocks,
)
from ..detection.windows import WindowGeometry, resize, to_gray
from .detection_records import MAX_BOXES, check_request, detection_record, draw_record
from .progress import StepProgress
from .sanity import THRESHOLD, cascading_randomisation
from .scores import deletion_insertion, masked_inputs, summarise

METHODS = ("hog_cells",)


@dataclass
class Window:
    """One detection's window at its pyramid level, with up to one cell of its surroundings.

    pixels: the level's grayscale pixels (h, w) around the window; top, left: where the window
    starts in `pixels` (0 or one cell); scale_x, scale_y: level pixels per photo pixel;
    origin_x, origin_y: the window's top-left corner in the level.
    """

    pixels: np.ndarray
    top: int
    left: int
    scale_x: float
    scale_y: float
    origin_x: int
    origin_y: int
    geometry: WindowGeometry

    def blocks(self, pixels: np.ndarray | None = None) -> np.ndarray:
        """The window's normalised HOG blocks (k, k, D), from `pixels` (default: its own)."""
        size, cells = self.geometry.cell_size, self.geometry.cells
        histograms = cell_histograms(self.pixels if pixels is None else pixels, size, self.geometry.n_bins)
        row, col = self.top // size, self.left // size
        return normalised_blocks(histograms[row:row + cells, col:col + cells])

    def units(self) -> tuple[np.ndarray, int]:
        """A unit id per pixel: the window's cells row by row (0 .. cells**2 - 1), and one more id for
        the surroundings, which are never removed. Returns (ids (h, w), number of cells)."""
        size, cells = self.geometry.cell_size, self.geometry.cells
        rows = (np.arange(self.pixels.shape[0]) - self.top) // size
        cols = (np.arange(self.pixels.shape[1]) - self.left) // size
        inside = ((rows >= 0) & (rows < cells))[:, None] & ((cols >= 0) & (cols < cells))[None, :]
        ids = np.where(inside, rows[:, None] * cells + cols[None, :], cells * cells)
        return ids, cells * cells

    def photo_region(self) -> tuple[float, float, float, float]:
        """The window in photo pixels: (x, y, w, h)."""
        side = self.geometry.window
        return (self.origin_x / self.scale_x, self.origin_y / self.scale_y, side / self.scale_x, side / self.scale_y)


def detection_windows(estimator, image: np.ndarray) -> tuple[dict, list[Window]]:
    """The detector's result for `image` and the windows of its best MAX_BOXES detections."""
    gray = to_gray(image)
    result = estimator._detect(image)
    scales = estimator._scales(gray)
    geometry = estimator._geometry
    size, side = geometry.cell_size, geometry.window
    windows = []
    for level, row, col in result["origins"][:MAX_BOXES]:
        pixels = resize(gray, scales[level])
        top, left = int(row) * size, int(col) * size
        y0, x0 = max(0, top - size), max(0, left - size)
        crop = pixels[y0:top + side + size, x0:left + side + size]
        windows.append(Window(crop, top - y0, left - x0, pixels.shape[1] / gray.shape[1], pixels.shape[0] / gray.shape[0],
                              left, top, geometry))
    return result, windows


def cell_maps(weights: np.ndarray, window_blocks: list[np.ndarray]) -> np.ndarray:
    """Each window's cell contributions (K, cells, cells) under SVM `weights` (k, k, D)."""
    return np.stack([block_contributions_to_cells((blocks * weights).sum(axis=2)) for blocks in window_blocks])


def svm_randomiser(estimator):
    """The one learned layer of a copy of the detector, with its re-initialiser."""

    def randomise(rng: np.random.Generator):
        weights = estimator.weights_
        estimator.weights_ = rng.normal(0.0, float(np.std(weights)) or 1.0, weights.shape).astype(weights.dtype)

    return [("svm", randomise)]


def explain_detection_traditional(estimator, items, names, methods=None, out_dir=None, target=None,
                                  sanity: bool = True, faithfulness: bool = True, seed: int = 0,
                                  threshold: float = THRESHOLD, progress: bool | None = None, **_) -> list[dict]:
    """Records (one per explained detection) of a fitted SlidingWindowDetector; see the module docstring."""
    methods = check_request(methods, METHODS, "traditional", target)
    estimator._check_fitted()
    images = [as_image(item) for item in items]  # every photo checked before any work
    records = []
    steps = StepProgress(len(images), len(methods), sanity, faithfulness, progress)
    for image, name in zip(images, names):
        result, windows = detection_windows(estimator, image)
        if not windows:
            continue
        blocks = [window.blocks() for window in windows]
        with steps.step(name, "hog cells"):
            maps = cell_maps(estimator.weights_, blocks)  # (K, cells, cells)
        spearman, check = [None] * len(windows), None
        if sanity:
            with steps.step(name, "hog cells sanity check"):
                check = cascading_randomisation(estimator, lambda model, blocks=blocks: cell_maps(model.weights_, blocks), svm_randomiser,
                                                seed=seed, reference=maps, threshold=threshold)
            spearman = check["spearman"].tolist()
        faithful = [None] * len(windows)
        if faithfulness:
            with steps.step(name, "hog cells deletion / insertion"):
                faithful = [deletion_insertion(_window_score(estimator, window), cells.ravel(), seed=seed)
                            for window, cells in zip(windows, maps)]
        detections = result["detections"]
        for index, window in enumerate(windows):
            work = {"cells": int(maps[index].size), "pyramid_scale": round(float(np.sqrt(window.scale_x * window.scale_y)), 4)}
            record = detection_record(name, "hog_cells", index, detections["boxes"][index], detections["scores"][index],
                                      summarise(faithful[index], spearman[index], threshold),
                                      _photo_grid(maps[index], window, image.shape[:2]), work, check)
            if out_dir is not None:
                record["png"] = str(draw_record(out_dir, record, image, _view(window, image.shape[:2])))
            records.append(record)
    steps.close()
    return records


def _window_score(estimator, window: Window):
    """score(keep (S, U)) -> (S,): the window's SVM score with only the kept cells' pixels left."""
    from scipy.ndimage import gaussian_filter

    units, _ = window.units()
    replacement = gaussian_filter(window.pixels, sigma=window.geometry.cell_size).astype(window.pixels.dtype)

    def score(keep: np.ndarray) -> np.ndarray:
        keep = np.column_stack([keep, np.ones(len(keep), dtype=bool)])  # the surroundings always stay
        variants = masked_inputs(window.pixels, replacement, units, keep)  # (S, h, w)
        return np.array([float((window.blocks(v) * estimator.weights_).sum()) + estimator.bias_ for v in variants])

    return score


def _photo_grid(cells: np.ndarray, window: Window, shape: tuple[int, int]) -> np.ndarray:
    """The cell map painted over the window's part of a photo-sized map (H, W); zero elsewhere."""
    import cv2

    height, width = shape
    x, y, w, h = window.photo_region()
    x0, y0 = round(x), round(y)
    x1, y1 = min(width, round(x + w)), min(height, round(y + h))
    out = np.zeros((height, width), dtype=np.float64)
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = cv2.resize(cells, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
    return out


def _view(window: Window, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The part of the photo drawn: the window with half a window of context on every side."""
    height, width = shape
    x, y, w, h = window.photo_region()
    return (max(0, int(x - w / 2)), max(0, int(y - h / 2)), min(width, int(np.ceil(x + 1.5 * w))),
            min(height, int(np.ceil(y + 1.5 * h))))
