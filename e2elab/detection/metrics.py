"""Average precision of detections, computed by pycocotools (the COCO reference implementation).

Predictions and ground truth are handed to pycocotools as in-memory COCO dictionaries, one
category ("face"), so no files are written. COCO's defaults would drop nothing here but are set
explicitly: one area range covering every size (most faces in the data are small, and COCO's
"small" range is a separate summary, not a filter of "all"), and up to `max_detections` per image.
AP follows COCO: precision interpolated at 101 recall points, averaged over IoU thresholds.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np

from ..errors import DataError
from .boxes import as_boxes

COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
MAX_DETECTIONS = 100


def _target_boxes(target, index: int) -> np.ndarray:
    boxes = target["boxes"] if isinstance(target, dict) else target
    return as_boxes(boxes, f"target {index}")


def _coco_dicts(predictions, targets) -> tuple[dict, list[dict]]:
    """Ground truth as a COCO dataset dict and predictions as a COCO result list (image ids from 1)."""
    if len(predictions) != len(targets):
        raise DataError(None, f"{len(predictions)} predictions but {len(targets)} targets: one of each per image")
    images, annotations, results = [], [], []
    for index, (prediction, target) in enumerate(zip(predictions, targets)):
        image_id = index + 1
        images.append({"id": image_id})
        for box in _target_boxes(target, index):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                                "bbox": box.tolist(), "area": float(box[2] * box[3]), "iscrowd": 0})
        boxes = as_boxes(prediction["boxes"], f"prediction {index}")
        scores = np.asarray(prediction["scores"], dtype=np.float64).reshape(-1)
        if len(scores) != len(boxes):
            raise DataError(f"prediction {index}", f"{len(boxes)} boxes but {len(scores)} scores")
        results.extend({"image_id": image_id, "category_id": 1, "bbox": box.tolist(), "score": float(score)}
                       for box, score in zip(boxes, scores))
    dataset = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "face"}]}
    return dataset, results


def average_precision(predictions, targets, iou_thresholds=COCO_IOU_THRESHOLDS,
                      max_detections: int = MAX_DETECTIONS) -> dict[str, float]:
    """COCO average precision of `predictions` against `targets`, one entry of each per image.

    predictions: per image a dict {"boxes": (n, 4) x, y, w, h, "scores": (n,)}.
    targets: per image the ground-truth boxes (m, 4), or a dict with "boxes"; m may be 0.
    Returns {"ap": mean AP over `iou_thresholds`, "ap@0.50": ..., one key per threshold}.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    thresholds = np.round(np.asarray(iou_thresholds, dtype=np.float64).reshape(-1), 4)
    dataset, results = _coco_dicts(predictions, targets)
    if not dataset["annotations"]:
        raise DataError(None, f"the {len(targets)} target images hold no box: average precision is undefined")
    keys = {"ap": 0.0} | {f"ap@{t:.2f}": 0.0 for t in thresholds}
    if not results:
        return keys
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        truth = COCO()
        truth.dataset = dataset
        truth.createIndex()
        detections = truth.loadRes(results)
        evaluation = COCOeval(truth, detections, iouType="bbox")
        evaluation.params.iouThrs = thresholds
        evaluation.params.areaRng = [[0.0, 1e10]]
        evaluation.params.areaRngLbl = ["all"]
        evaluation.params.maxDets = [int(max_detections)]
        evaluation.evaluate()
        evaluation.accumulate()
    precision = evaluation.eval["precision"][:, :, 0, 0, 0]  # (thresholds, 101 recall points); -1: no ground truth
    per_threshold = [float(row[row > -1].mean()) if (row > -1).any() else 0.0 for row in precision]
    keys = {"ap": float(np.mean(per_threshold))}
    keys |= {f"ap@{t:.2f}": value for t, value in zip(thresholds, per_threshold)}
    return keys


def ap50(predictions, targets, max_detections: int = MAX_DETECTIONS) -> float:
    """Average precision at IoU 0.5 (Pascal VOC's criterion, COCO's 101-point interpolation)."""
    return average_precision(predictions, targets, iou_thresholds=[0.5], max_detections=max_detections)["ap"]


def coco_ap(predictions, targets, max_detections: int = MAX_DETECTIONS) -> float:
    """COCO's headline AP: mean over IoU 0.50, 0.55, ..., 0.95."""
    return average_precision(predictions, targets, max_detections=max_detections)["ap"]


def box_scores(truth, predicted, labels=None) -> dict:
    """One experiment cell's scores: the error (1 - AP@0.5), AP@0.5 and COCO's AP@[.5:.95].

    `labels` is taken for the signature every task's scores share and not used. Detection has no
    confusion matrix: "confusion" is empty, so the report draws none.
    """
    measured = average_precision(predicted, truth)
    return {"metric": 1.0 - measured["ap@0.50"], "ap50": measured["ap@0.50"], "coco_ap": measured["ap"],
            "confusion": {}}
