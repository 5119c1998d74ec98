"""One cell of an experiment grid: train one pipeline on one training set, measure it on one test set.

Both `compare` and `curve` run this function for every (pipeline, split or size, seed). It
returns plain JSON: the task's error metric, confusion counts and further measures as its
``scores`` function measures them (:mod:`e2elab.tasks`: WER for speech, error rate and accuracy for
images, 1 - AP@0.5 with AP@0.5 and COCO's AP for detection, 1 - BLEU/100 with BLEU, chrF and
sacreBLEU's signatures for translation), training time, prediction time per item and, where the
cell is asked to (the first split and seed of each pipeline in `compare`), the model's parameter
count, its saved size and its predictions for the first few test items (the report's examples).
:func:`task_measures` tells the
task's measures from what the cell records of its own run.

Parameter count, in this order: the pipeline's own `n_parameters_` if it has one; otherwise the
numbers it learned: starting from its fitted attributes (names ending in `_`), every torch module
counts the elements of its parameters (`sum(p.numel())`), every numeric NumPy array or tensor its
size, and lists, dicts, scikit-learn estimators and other objects (an HMM set, a language model)
are walked recursively through their attributes; an array reached twice counts once. Model size
is the bytes of the folder `e2elab.save` writes (None if the pipeline cannot be saved).
"""

from __future__ import annotations

import tempfile
import time
import types
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..tasks import get_task, resolve

# Test items whose predictions the representative cell of each pipeline keeps (see train_and_test).
EXAMPLES_PER_CELL = 6

# What a cell records of its own run; every other key of its result comes from the task's `scores`.
RUN_KEYS = frozenset({"n_train", "n_test", "train_seconds", "predict_seconds_per_item", "n_parameters", "model_bytes"})


def train_and_test(spec: dict, dataset, splits: dict) -> dict:
    """Fit pipeline `spec["kind"]` with `spec["params"]` and seed `spec["seed"]` on the training items
    of split `spec["split"]` and evaluate it on that split's test items."""
    import inspect

    from ..registry import get_pipeline_class
    from .runs import build_pipeline, group_kwargs

    train_idx, test_idx = splits[spec["split"]]
    train, test = dataset.subset(train_idx), dataset.subset(test_idx)
    params = dict(spec.get("params") or {})
    accepted = inspect.signature(get_pipeline_class(spec["task"], spec["kind"]).__init__).parameters
    if "progress" in accepted and "progress" not in params:  # the grid has its own progress bar
        params["progress"] = False
    model = build_pipeline(spec["task"], spec["kind"], params, int(spec["seed"]))

    fit_groups = group_kwargs(model.fit, train.groups) if spec.get("groups") else {}
    predict_groups = group_kwargs(model.predict, test.groups) if spec.get("groups") else {}
    start = time.perf_counter()
    model.fit(train.X, train.y, **fit_groups)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    predictions = list(model.predict(test.X, **predict_groups))
    predict_seconds = time.perf_counter() - start

    result = {
        "n_train": int(len(train)),
        "n_test": int(len(test)),
        "train_seconds": train_seconds,
        "predict_seconds_per_item": predict_seconds / max(len(test), 1),
    }
    result.update(resolve(get_task(spec["task"]).scores)(list(test.y), predictions, dataset.classes))
    if spec.get("measure_size"):
        result["n_parameters"] = count_parameters(model)
        result["model_bytes"] = model_bytes(model)
        result["examples"] = prediction_examples(test.X, test.y, predictions)
    return result


def prediction_examples(items, targets, predictions, n: int = EXAMPLES_PER_CELL) -> list[dict]:
    """The first `n` test items with their targets and the pipeline's predictions, as plain JSON
    ({"item", "truth", "prediction"}): what the report shows as example outputs.

    An item naming a file is recorded by its absolute path, so the report finds it from anywhere;
    other text (a sentence) as it is; an item held in memory (an array) as None, since it cannot be
    shown again without storing it.
    """
    from ..io import _jsonable

    examples = []
    for item, truth, predicted in zip(list(items)[:n], list(targets)[:n], list(predictions)[:n]):
        if isinstance(item, (str, Path)):
            shown = str(Path(item).resolve()) if Path(item).is_file() else str(item)
        else:
            shown = None
        examples.append({"item": shown, "truth": _jsonable(truth, "a target"),
                         "prediction": _jsonable(predicted, "a prediction")})
    return examples


def task_measures(runs: list[dict]) -> tuple[dict[str, list[float]], dict[str, str]]:
    """The measures a task reports beside its error, gathered over the results of several cells.

    Returns ({name: every run's value} for the numbers all runs hold (accuracy, AP@0.5, BLEU...),
    {name: text} for the texts that are the same in every run (sacreBLEU's signatures, which say
    how BLEU was computed)). The error ("metric") and the confusion counts are summarised apart.
    """
    if not runs:
        return {}, {}
    numbers, texts = {}, {}
    for name, first in runs[0].items():
        if name in RUN_KEYS or name in ("metric", "confusion"):
            continue
        values = [run.get(name) for run in runs]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            numbers[name] = [float(v) for v in values]
        elif isinstance(first, str) and all(v == first for v in values):
            texts[name] = first
    return numbers, texts


def takes_groups(task: str, kind: str) -> bool:
    """Whether the pipeline's `fit` takes the items' groups (speakers, for speaker-level normalisation).

    Cells of such pipelines carry `"groups": True` in their spec and pass the groups to `fit` and
    `predict`; the key is part of the spec so that a resumed run never mixes the two.
    """
    import inspect

    from ..registry import get_pipeline_class

    return "groups" in inspect.signature(get_pipeline_class(task, kind).fit).parameters


def class_scores(truth: list[str], predicted, labels: list[str]) -> dict:
    """Error rate, accuracy and the confusion matrix (rows: true class, columns: predicted);
    `labels` (the data set's classes) fix the matrix's first rows and columns."""
    predicted = [str(p) for p in predicted]
    index = {label: i for i, label in enumerate(labels)}
    for label in predicted:
        if label not in index:  # a label outside the data set's classes still gets counted
            index[label] = len(index)
    matrix = np.zeros((len(index), len(index)), dtype=int)
    for t, p in zip(truth, predicted):
        matrix[index[t], index[p]] += 1
    accuracy = float(np.trace(matrix) / max(len(truth), 1))
    return {"metric": 1.0 - accuracy, "accuracy": accuracy,
            "confusion": {"labels": list(index), "matrix": matrix.tolist()}}


def transcript_scores(references: list[str], hypotheses, labels=None) -> dict:
    """Corpus WER and per-word counts from jiwer's alignment: confusion[ref][hyp] (hyp is the word
    itself when correct, "<del>" for a deletion) and confusion["<ins>"][hyp] for insertions.

    `labels` is taken for the signature every task's scores share and not used: words are counted
    as they occur."""
    import jiwer

    from ..base import word_error_rate

    hypotheses = ["" if h is None else str(h) for h in hypotheses]
    wer = word_error_rate(references, hypotheses)
    references = [r if r.strip() else "<empty>" for r in references]
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    aligned = jiwer.process_words(references, hypotheses)
    for ref_words, hyp_words, chunks in zip(aligned.references, aligned.hypotheses, aligned.alignments):
        for chunk in chunks:
            refs = ref_words[chunk.ref_start_idx:chunk.ref_end_idx]
            hyps = hyp_words[chunk.hyp_start_idx:chunk.hyp_end_idx]
            if chunk.type in ("equal", "substitute"):
                for r, h in zip(refs, hyps):
                    counts[r][h] += 1
            elif chunk.type == "delete":
                for r in refs:
                    counts[r]["<del>"] += 1
            elif chunk.type == "insert":
                for h in hyps:
                    counts["<ins>"][h] += 1
    return {"metric": wer, "confusion": {r: dict(h) for r, h in counts.items()}}


def count_parameters(model) -> int:
    """How many numbers the fitted `model` learned (see the module docstring for the rule)."""
    own = getattr(model, "n_parameters_", None)
    if own is not None:
        return int(own)
    seen: set[int] = set()
    return int(_count(model, seen, depth=0))


def _count(value, seen: set[int], depth: int) -> int:
    if depth > 6 or id(value) in seen:
        return 0
    seen.add(id(value))
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        torch = None
    if torch is not None and isinstance(value, torch.nn.Module):
        return sum(p.numel() for p in value.parameters())
    if torch is not None and isinstance(value, torch.Tensor):
        return int(value.numel())
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fiuc":
            return int(value.size)
        if value.dtype == object:
            return sum(_count(v, seen, depth + 1) for v in value.ravel())
        return 0
    if isinstance(value, (list, tuple)):
        return sum(_count(v, seen, depth + 1) for v in value)
    if isinstance(value, dict):
        return sum(_count(v, seen, depth + 1) for v in value.values())
    if hasattr(value, "__dict__") and not isinstance(value, _NOT_STATE):
        # the pipeline itself counts only its fitted attributes (name_); the estimators and other
        # objects it holds (an HMM set, a language model) count every array they keep
        items = vars(value).items()
        if depth == 0:
            items = [(k, v) for k, v in items if k.endswith("_") and not k.startswith("_")]
        return sum(_count(v, seen, depth + 1) for _, v in items)
    return 0


_NOT_STATE = (type, types.ModuleType, types.FunctionType, types.MethodType, types.BuiltinFunctionType)


def model_bytes(model) -> int | None:
    """The size in bytes of the folder `e2elab.save` writes for `model`; None if it cannot be saved."""
    from ..io import save

    with tempfile.TemporaryDirectory(prefix="e2elab-size-") as tmp:
        try:
            folder = save(model, Path(tmp) / "model")
        except NotImplementedError:
            return None
        return int(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()))
