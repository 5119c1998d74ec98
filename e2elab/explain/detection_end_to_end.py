"""Explain the end-to-end face detector: which pixels each detection rests on (RISE saliency).

For the best detections of a photo (:data:`~.detection_records.MAX_BOXES`), random-mask saliency
(:mod:`e2elab.detection.saliency`) over the photo as the network sees it (scaled to its input
size, before padding) gives one map per detection from the same `N_MASKS` masked passes. Each map
is then scored like the image maps are:

* deletion / insertion over square patches (1/32 of the short side), removed patches painted the
  padding colour (what the network sees as zero, as RISE's masks do), against random orders: a
  faithful map makes the detection's centre probability fall faster than chance;
* the cascading model-randomisation check on a copy of the network (maps recomputed for the same
  peak cells after re-initialising its layers from the head down).

Cost per photo, bounded in advance: `N_MASKS` passes for the maps, `SANITY_STEPS` times that for
the sanity check, and about 170 passes per box for deletion / insertion, `MAX_BATCH` at a time.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.image import as_image
from ..detection.augment import FILL, fit_long_side
from ..detection.network import ALIGN
from ..detection.saliency import peak_scores, rise_saliency
from .detection_records import MAX_BOXES, check_request, detection_record, draw_record
from .progress import StepProgress
from .sanity import THRESHOLD, cascading_randomisation, torch_randomisers
from .scores import (
    deletion_insertion,
    masked_inputs,
    patch_units,
    pool_to_units,
    summarise,
)

METHODS = ("rise",)
N_MASKS = 256
MASK_CELLS = 16  # faces are small: a coarser grid would blur a face's map into its neighbours'
MASK_KEEP = 0.5
SANITY_STEPS = 3  # cascade points at which the maps are recomputed (always including the fully random network)
MAX_BATCH = 16  # a detector's input is a whole photo: fewer at once than a classifier's crops


def explain_detection_end_to_end(estimator, items, names, methods=None, out_dir=None, target=None,
                                 internal_batch_size: int = MAX_BATCH, sanity: bool = True, faithfulness: bool = True,
                                 seed: int = 0, threshold: float = THRESHOLD, progress: bool | None = None,
                                 **_) -> list[dict]:
    """Records (one per explained detection) of a fitted CNNDetector; see the module docstring."""
    methods = check_request(methods, METHODS, "end-to-end", target)
    estimator._check_fitted()
    images = [as_image(item, channels=3) for item in items]  # every photo checked before any work
    batch_size = min(int(internal_batch_size), MAX_BATCH)
    records = []
    steps = StepProgress(len(images), len(methods), sanity, faithfulness, progress)
    for image, name in zip(images, names):
        boxes, scores, cells = (found[:MAX_BOXES] for found in estimator._detect(image))
        if not len(boxes):
            continue
        resized, _ = fit_long_side(image, int(estimator.input_size))
        pixels = torch.from_numpy(np.ascontiguousarray(resized)).permute(2, 0, 1).float()  # (3, h, w)
        padded_shape = tuple(-(-side // ALIGN) * ALIGN for side in resized.shape[:2])
        fill = torch.tensor(FILL, dtype=torch.float32).view(3, 1, 1)

        def map_fn(network, cells=cells, pixels=pixels, padded_shape=padded_shape, fill=fill):
            return rise_saliency(peak_scores(network, cells, padded_shape), pixels, fill, N_MASKS, MASK_CELLS,
                                 MASK_KEEP, batch_size, seed)  # (K, h, w)

        with steps.step(name, "rise saliency"):
            maps = map_fn(estimator.network_)
        spearman, check = [None] * len(boxes), None
        if sanity:
            with steps.step(name, "rise sanity check"):
                check = cascading_randomisation(estimator.network_, map_fn, torch_randomisers, seed=seed,
                                                max_points=SANITY_STEPS, reference=maps, threshold=threshold)
            spearman = check["spearman"].tolist()
        faithful = [None] * len(boxes)
        if faithfulness:
            with steps.step(name, "rise deletion / insertion"):
                faithful = [deletion_insertion(_box_score(estimator.network_, cells, padded_shape, pixels, index,
                                                          batch_size), _units_relevance(maps[index]), seed=seed)
                            for index in range(len(boxes))]
        work = {"masks": N_MASKS, "detections_explained": len(boxes), "network_input": list(resized.shape[:2])}
        for index, (box, score) in enumerate(zip(boxes, scores)):
            relevance = _photo_grid(maps[index], image.shape[:2])
            record = detection_record(name, "rise", index, box, score, summarise(faithful[index], spearman[index], threshold),
                                      relevance, work, check)
            if out_dir is not None:
                record["png"] = str(draw_record(out_dir, record, image))
            records.append(record)
    steps.close()
    return records


def _units(shape: tuple[int, int]) -> tuple[np.ndarray, int]:
    """The deletion / insertion units of a (h, w) network input: squares of 1/32 of its short side."""
    return patch_units(shape, max(1, round(min(shape) / 32)))


def _units_relevance(saliency: np.ndarray) -> np.ndarray:
    units, n_units = _units(saliency.shape)
    return pool_to_units(saliency, units, n_units)


def _box_score(network, cells, padded_shape, pixels: torch.Tensor, index: int, batch_size: int):
    """score(keep (S, U)) -> (S,): detection `index`'s centre probability with only the kept patches shown."""
    x = pixels.numpy()
    units, _ = _units(x.shape[1:])
    replacement = np.broadcast_to(np.asarray(FILL, dtype=np.float32).reshape(3, 1, 1), x.shape)
    detection_scores = peak_scores(network, cells, padded_shape)

    def score(keep: np.ndarray) -> np.ndarray:
        out = []
        with torch.no_grad():
            for start in range(0, len(keep), batch_size):
                batch = masked_inputs(x, replacement, units, keep[start:start + batch_size])  # (b, 3, h, w)
                out.append(detection_scores(torch.from_numpy(np.ascontiguousarray(batch)))[:, index].numpy())
        return np.concatenate(out)

    return score


def _photo_grid(saliency: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A map over the network input (h, w) resized to the photo's own pixels (H, W)."""
    import cv2

    height, width = shape
    return cv2.resize(np.ascontiguousarray(saliency, dtype=np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
