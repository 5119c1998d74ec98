"""``explain(model, inputs)``: why each pipeline gave its answer, and how far to trust that.

Dispatches on the fitted pipeline's task and kind, through the explainers its task declares
(:attr:`e2elab.tasks.Task.explainers`); the built-in tasks declare:

==========  ==============  ========================================================  ===========================
task        pipeline        methods (first = default)                                  module
==========  ==============  ========================================================  ===========================
image       end-to-end      integrated_gradients, smoothgrad, occlusion, gradcam,      :mod:`.image_end_to_end`
                            saliency
image       traditional     word_occlusion, weight_x_count (keypoints); occlusion      :mod:`.image_traditional`
                            (whole-image descriptors)
speech      end-to-end      integrated_gradients, occlusion (time x frequency)         :mod:`.speech_end_to_end`
speech      traditional     likelihood_ratio (decoded word vs runner-up, per frame)    :mod:`.speech_traditional`
==========  ==============  ========================================================  ===========================

With ``out_dir``, one PNG per input and method is written there, and ``explanations.json``::

    {"task": "image", "pipeline": "end-to-end", "methods": [...],
     "summary": {method: {"n", "trustworthy", "deletion_auc", "deletion_auc_random",
                          "insertion_auc", "insertion_auc_random", "randomisation_spearman"}},  # means
     "explanations": [
       {"input": "0003.png", "method": "integrated_gradients",
        "prediction": "7", "probability": 0.98,          # the model's answer and its probability
        "target": "7", "target_probability": 0.98,       # the class explained (--target, or the answer)
        "png": "out/0003.integrated_gradients.png",
        "scores": {
          "deletion_auc": 0.12, "deletion_auc_random": 0.55,     # lower than random is faithful
          "insertion_auc": 0.81, "insertion_auc_random": 0.40,   # higher than random is faithful
          "deletion_curve": [[fraction removed, probability], ...], "insertion_curve": [...],
          "randomisation_spearman": 0.08,   # |map| vs |map of the fully weight-randomised model|
          "randomisation_cascade": [{"layer", "layers_randomised", "spearman"}, ...],
          "threshold": 0.5,
          "trustworthy": true,              # passes randomisation AND beats random order
          "reason": ""},                    # why not, in words
        "alignment": {...},                 # speech only: words / characters / phones with times
        "work": {...}}]}                    # what the cost grew with: clip seconds, occlusion windows, frames

Speech records' "probability" is the model's probability of the transcript (CTC) or the
geometric-mean word posterior (GMM-HMM). Scores are described in :mod:`.scores` (deletion /
insertion, Petsiuk et al. 2018) and :mod:`.sanity` (Adebayo et al. 2018).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_json
from ..errors import DataError, ParameterError
from ..params import Int, Real, validate_constraints

EXPLANATIONS_FILE = "explanations.json"
ARRAY_KEYS = ("map", "time_relevance", "keypoints")  # kept in the returned records, not in the JSON
OPTION_CONSTRAINTS = {
    "internal_batch_size": [Int(1)], "n_steps": [Int(1)], "sanity": ["boolean"], "faithfulness": ["boolean"],
    "seed": [Int(0)], "threshold": [Real(0, 1)], "layer": [str, None], "progress": ["boolean", None],
    "max_seconds": [Real(0, closed="neither"), None],
}


def explain(model, inputs, methods=None, out_dir=None, target=None, names=None, **options) -> list[dict]:
    """Explain `model`'s answer for every item of `inputs` by every method of `methods`.

    model: a fitted e2elab pipeline (or a model folder path); inputs: raw items (paths or arrays);
    methods: method names (None: the pipeline's default); target: a class label or transcript to
    explain instead of the answer; names: how to call the inputs (default: file names).
    options (see OPTION_CONSTRAINTS): internal_batch_size, n_steps, sanity (bool), faithfulness
    (bool), seed, threshold, layer (Grad-CAM's), progress (None: a bar on stderr once the work has
    taken a few seconds), max_seconds (speech: the longest clip explained; None: the model's own
    limit). Bad options raise ParameterError before the model is loaded or any input read.
    Returns one record per input and method (see the module docstring), with the maps as arrays.
    """
    check_options(options)
    if isinstance(model, (str, os.PathLike)):
        from ..io import load

        model = load(model)
    if options.get("max_seconds") is None:
        options.pop("max_seconds", None)  # each pipeline's own limit applies
    elif _item_kind(model) != "audio":
        raise ParameterError(f"max_seconds limits audio clips; a {getattr(model, 'task', None)} model applies "
                             "its own limit instead")
    inputs = list(inputs)
    if not inputs:
        raise DataError(None, "no inputs to explain")
    names = list(names) if names is not None else input_names(inputs)
    if isinstance(methods, str):
        methods = [methods]
    explainer = _explainer(model)
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    records = explainer(model, inputs, names, methods=methods, out_dir=out_dir, target=target, **options)
    if out_dir is not None:
        write_explanations(records, Path(out_dir) / EXPLANATIONS_FILE, model)
    return records


def check_options(options: dict) -> None:
    """Refuse an unknown option or a value of the wrong type or range (ParameterError)."""
    unknown = sorted(set(options) - set(OPTION_CONSTRAINTS))
    if unknown:
        raise ParameterError(f"explain got unknown option(s) {', '.join(map(repr, unknown))}; "
                             f"known: {', '.join(OPTION_CONSTRAINTS)}")
    validate_constraints(OPTION_CONSTRAINTS, options, "explain")


def _explainer(model):
    """The explain function the model's task declares for its kind of pipeline."""
    from ..tasks import get_task, task_names

    task, kind = getattr(model, "task", None), getattr(model, "kind", None)
    if task not in task_names():
        raise TypeError(f"cannot explain a {type(model).__name__}: not a fitted e2elab pipeline (task {task!r}, kind {kind!r})")
    return get_task(task).explainer(kind)


def _item_kind(model) -> str | None:
    from ..tasks import get_task, task_names

    task = getattr(model, "task", None)
    return get_task(task).item_kind if task in task_names() else None


def input_names(inputs) -> list[str]:
    """A distinct, readable name per input: the file name, or "input-<i>" for arrays."""
    names = [Path(item).name if isinstance(item, (str, os.PathLike)) else f"input-{i}" for i, item in enumerate(inputs)]
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name}-{count}")
    return out


def summarise_records(records: list[dict]) -> dict:
    """Per method: number of maps, how many are trustworthy, and the mean of each score."""
    summary: dict = {}
    for method in dict.fromkeys(r["method"] for r in records):
        rows = [r["scores"] for r in records if r["method"] == method]
        entry = {"n": len(rows), "trustworthy": int(sum(bool(s.get("trustworthy")) for s in rows))}
        for key in ("deletion_auc", "deletion_auc_random", "insertion_auc", "insertion_auc_random", "randomisation_spearman"):
            values = [s[key] for s in rows if s.get(key) is not None]
            entry[key] = round(float(np.mean(values)), 4) if values else None
        summary[method] = entry
    return summary


def write_explanations(records: list[dict], path: Path, model=None) -> Path:
    """Write `records` (without their arrays) as explanations.json, atomically."""
    plain = [{k: _jsonable(v) for k, v in r.items() if k not in ARRAY_KEYS} for r in records]
    document = {"task": getattr(model, "task", None), "pipeline": getattr(model, "kind", None),
                "methods": list(dict.fromkeys(r["method"] for r in records)),
                "summary": summarise_records(records), "explanations": plain}
    return atomic_write_json(path, document, indent=1)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
