"""What the two face-detector explainers share: which detections they explain, and how each one is
recorded and drawn.

A detector answers with many boxes, so an explanation is of one box: every record is one
(photo, detection) pair, its "input" the photo's name and its "box" the detection explained. The
best `MAX_BOXES` detections of each photo are explained (bounded work: each costs hundreds of
model evaluations); a photo with no detection gives no record. "prediction" is "face",
"probability" the detection's score: the centre probability of the CNN, the SVM score of the
sliding window (a margin, not a probability, but the number its ranking and AP rest on).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..detection.drawing import draw_boxes
from ..errors import ParameterError
from .render import render_image_map
from .torch_images import _safe

MAX_BOXES = 3  # best detections explained per photo


def check_request(methods, known: tuple[str, ...], kind: str, target) -> list[str]:
    """The methods to run (the default: all of `known`); ParameterError for an unknown method or a
    target (a detector explains the boxes it found, not a class chosen by the caller)."""
    unknown = sorted(set(methods or []) - set(known))
    if unknown:
        raise ParameterError(f"unknown method(s) {', '.join(unknown)} for the detection {kind} pipeline; "
                             f"known: {', '.join(known)}")
    if target is not None:
        raise ParameterError("a detector explains each box it found; it takes no target")
    return list(methods or known)


def detection_record(name: str, method: str, index: int, box: np.ndarray, score: float, scores: dict,
                     relevance: np.ndarray, work: dict, check: dict | None = None) -> dict:
    """One explained detection, as ``explanations.json`` stores it (plus its map under "map").

    check: the randomisation check's result (see :func:`~.sanity.cascading_randomisation`), whose
    cascade is kept in the scores; None where it was not run."""
    if check is not None:
        scores = {**scores, "randomisation_cascade": cascade_steps(check, index)}
    return {"input": name, "method": method, "detection": index, "box": [round(float(v), 2) for v in box],
            "prediction": "face", "probability": round(float(score), 5), "target": "face",
            "target_probability": round(float(score), 5), "scores": scores, "map": relevance, "work": work}


def cascade_steps(check: dict, index: int) -> list[dict]:
    """Detection `index`'s rank correlation after each step of a cascading randomisation `check`."""
    return [{"layer": step["layer"], "layers_randomised": step["layers_randomised"],
             "spearman": round(float(step["spearman"][index]), 4)} for step in check["cascade"]]


def draw_record(out_dir: str | Path, record: dict, image: np.ndarray, view: tuple[int, int, int, int] | None = None) -> Path:
    """The record's figure: the photo with its box | the map over it, scores below.

    view: (x0, y0, x1, y1), the part of the photo shown (a small face in a large photo is
    otherwise a few pixels of the figure); None: the whole photo.
    """
    drawn = draw_boxes(image, [record["box"]], [record["probability"]])
    relevance = record["map"]
    if view is not None:
        x0, y0, x1, y1 = view
        drawn, relevance = drawn[y0:y1, x0:x1], relevance[y0:y1, x0:x1]
    title = f"{record['input']}: detection {record['detection'] + 1}, score {record['probability']:.3g}"
    path = Path(out_dir) / f"{_safe(record['input'])}.box{record['detection']}.{record['method']}.png"
    return render_image_map(path, drawn, relevance, title, record["method"], record["scores"])
