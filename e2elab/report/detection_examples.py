"""The report's detection examples: test photos with each pipeline's boxes beside the annotated faces.

Per pipeline, the first test photos of its compare run (the examples its first split and seed
kept) with the predicted boxes in orange-red, each with its score, and the annotated faces in
green, under a table of average precision at IoU 0.5 and COCO's AP@[.5:.95] over all runs.

A detector keeps weak boxes (average precision needs the whole ranking), which would bury a
photo, so boxes are drawn from a score chosen per pipeline: the one that maximises F1 at IoU 0.5
over the photos shown (the scores of the two pipelines are not on one scale: a probability, an
SVM margin).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import numpy as np

from ..data.image import as_image
from ..detection.boxes import as_boxes, iou
from ..detection.drawing import draw_boxes
from ..errors import DataError
from .figures import pixels_uri

PHOTOS_SHOWN = 3
MATCH_IOU = 0.5


def detection_examples(cells: list[dict]) -> str:
    """The HTML of one compare run's detection examples (see the module docstring)."""
    parts = [_ap_table(cells)]
    for cell in cells:
        examples = [e for e in (cell.get("result") or {}).get("examples", []) if e.get("item")][:PHOTOS_SHOWN]
        if not examples:
            continue
        threshold = display_threshold([as_boxes(e["prediction"]["boxes"]) for e in examples],
                                      [np.asarray(e["prediction"]["scores"], dtype=np.float64) for e in examples],
                                      [_truth(e["truth"]) for e in examples])
        figures = [_figure(example, threshold) for example in examples]
        kind = (cell.get("spec") or {}).get("kind", "")
        shown = "every box" if threshold is None else f"boxes scoring at least {threshold:.3g}"
        parts.append(f'<h4>{escape(kind)}</h4><p class="muted">{shown} (orange-red, with scores); annotated faces in '
                     f'green</p><div class="gallery">{"".join(figures)}</div>')
    return "".join(parts)


def display_threshold(boxes: list[np.ndarray], scores: list[np.ndarray], truths: list[np.ndarray]) -> float | None:
    """The score above which the predicted boxes of these photos give the best F1 at IoU 0.5
    (each true face matched once, best-scoring boxes first); None where no box hits a face."""
    hits, ranked = [], []
    for photo_boxes, photo_scores, truth in zip(boxes, scores, truths):
        order = np.argsort(-photo_scores, kind="stable")
        overlaps = iou(photo_boxes[order], truth)  # (n, m)
        free = np.ones(len(truth), dtype=bool)
        for row, index in enumerate(order):
            candidates = np.flatnonzero(free & (overlaps[row] >= MATCH_IOU)) if len(truth) else []
            hit = len(candidates) > 0
            if hit:
                free[candidates[np.argmax(overlaps[row, candidates])]] = False
            hits.append(hit)
            ranked.append(photo_scores[index])
    n_true = sum(len(t) for t in truths)
    if not any(hits):
        return None
    order = np.argsort(-np.asarray(ranked), kind="stable")
    found = np.cumsum(np.asarray(hits)[order])  # true positives among the k best boxes
    f1 = 2 * found / (np.arange(1, len(order) + 1) + n_true)
    return float(np.asarray(ranked)[order][int(np.argmax(f1))])


def _truth(truth) -> np.ndarray:
    return as_boxes(truth["boxes"] if isinstance(truth, dict) else truth)


def _figure(example: dict, threshold: float | None) -> str:
    name = Path(example["item"]).name
    try:
        photo = as_image(example["item"], channels=3)
    except DataError as err:  # the data moved since the run: say so instead of failing the report
        return f'<p class="warn">{escape(name)}: cannot draw ({escape(err.reason)})</p>'
    prediction = example["prediction"]
    drawn = draw_boxes(photo, as_boxes(prediction["boxes"]), prediction["scores"], true_boxes=_truth(example["truth"]),
                       min_score=threshold)
    return f'<figure><img alt="boxes on {escape(name)}" src="{pixels_uri(drawn)}"><figcaption>{escape(name)}</figcaption></figure>'


def _ap_table(cells: list[dict]) -> str:
    """Mean AP@0.5 and COCO AP per pipeline over the experiment's runs."""
    runs: dict[str, list[dict]] = {}
    for cell in cells:
        result = cell.get("result") or {}
        if "ap50" in result:
            runs.setdefault((cell.get("spec") or {}).get("kind", ""), []).append(result)
    rows = "".join(f"<tr><td>{escape(kind)}</td><td>{np.mean([r['ap50'] for r in found]):.3f}</td>"
                   f"<td>{np.mean([r['coco_ap'] for r in found]):.3f}</td><td>{len(found)}</td></tr>"
                   for kind, found in runs.items())
    if not rows:
        return ""
    return ("<table><tr><th>pipeline</th><th>AP@0.5</th><th>COCO AP@[.5:.95]</th><th>runs</th></tr>" + rows + "</table>")
