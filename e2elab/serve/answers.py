"""What one model says about one input: its answer, why (an explanation image and its trust
scores), and its stages with their outputs for that input. Each runs on a worker thread.
"""

from __future__ import annotations

import base64
import math
import time
from pathlib import Path

from ..errors import DataError, ParameterError
from ..io import _jsonable
from .errors import ApiError, unreadable
from .models import ServedModel
from .uploads import one_item

TOP_K = 5  # classes listed per answer: enough to see the runner-up, few enough to read
# Per-record keys of `explain` that are curves or per-layer lists: long, and not what a page draws.
CURVE_KEYS = ("deletion_curve", "insertion_curve", "randomisation_cascade")
# The name the explainers give the input: their PNG is written under it, so it is the server's, not the client's.
EXPLAINED_NAME = "input"


def predict_answer(served: ServedModel, item) -> dict:
    """The model's answer for `item` with its details: top-k classes, a transcript with per-word
    confidence and timing, boxes, or a translation (each pipeline's ``predict_details``)."""
    start = time.perf_counter()
    try:
        details = dict(served.model.predict_details(one_item(item))[0])
    except DataError as err:
        raise unreadable(err) from None
    if "top" in details:
        details["top"] = details["top"][:TOP_K]
    return {"model": served.name, "task": served.model.task, "kind": served.model.kind, **json_safe(details),
            "seconds": round(time.perf_counter() - start, 4)}


def explain_answer(served: ServedModel, item, method: str | None, folder: Path) -> dict:
    """The explanation of the model's answer for `item` by `method` (None: the pipeline's default
    methods): per method, the drawn map as a base64 PNG and the scores that say how far to trust it."""
    from ..explain.api import explain

    refuse_exported(served, "explanations")
    start = time.perf_counter()
    try:
        records = explain(served.model, [item], methods=[method] if method else None, out_dir=folder,
                          names=[EXPLAINED_NAME], progress=False)
    except DataError as err:
        raise unreadable(err) from None
    except ParameterError as err:  # a method or option this pipeline does not take
        raise ApiError(400, "bad_method", f"cannot explain {served.name} with method {method!r}: {err}") from None
    except ValueError as err:
        # Some explainers refuse an unknown method with a ValueError naming it; any other ValueError
        # is a failure of the server's, not of the request, and stays a 500.
        if method is None or repr(method) not in str(err):
            raise
        raise ApiError(400, "bad_method", f"cannot explain {served.name} with method {method!r}: {err}") from None
    explanations = []
    for record in records:
        scores = {key: value for key, value in record["scores"].items() if key not in CURVE_KEYS}
        png = Path(record["png"]).read_bytes() if record.get("png") else None
        explanations.append(json_safe({
            "method": record["method"], "prediction": record.get("prediction"), "probability": record.get("probability"),
            "target": record.get("target"), "trustworthy": scores.get("trustworthy"), "reason": scores.get("reason"),
            "scores": scores, "image": base64.b64encode(png).decode("ascii") if png else None}))
    return {"model": served.name, "task": served.model.task, "kind": served.model.kind, "explanations": explanations,
            "seconds": round(time.perf_counter() - start, 4)}


def stages_answer(served: ServedModel, item) -> dict:
    """The pipeline drawn as the report draws it, with each stage's output for `item` (HTML)."""
    from ..report.diagram import pipeline_diagram

    refuse_exported(served, "its stages")
    return {"model": served.name, "task": served.model.task, "kind": served.model.kind,
            "stages": [{"name": s.name, "kind": s.kind, "output": s.output} for s in served.model.stages],
            "html": pipeline_diagram(served.model, item)}


def refuse_exported(served: ServedModel, what: str) -> None:
    """An exported ONNX graph answers, but holds neither the network's layers nor its stages."""
    if served.exported:
        raise ApiError(400, "exported_model", f"{served.name} is an exported ONNX file ({served.folder.name}), which "
                                              f"cannot show {what}; serve the model folder it was exported from")


def json_safe(value):
    """`value` as plain JSON: NumPy values made Python ones, NaN and infinities made null."""
    return _finite(_jsonable(value, "an answer"))


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(v) for key, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


