"""`curve`: learning curves of the pipelines, the laws they follow, and where they cross.

Each pipeline is trained several times (one per seed) on training sets of growing size and
tested on one fixed test set: the data set's own test split, or a held-out part (whole groups
for a task that holds groups out, such as speakers for speech; stratified by class otherwise).
Sizes are counted in the task's curve unit (:attr:`e2elab.tasks.Task.curve_unit`): items
(subsets stratified by class) for images, groups (every item of the chosen groups) for speech,
so that a speech curve says how many *speakers* of data a pipeline needs. A given (size, seed)
gives the same training items to every pipeline.

The pipelines are entries (:mod:`.entries`): a kind, or a kind with parameters of its own such as
``end-to-end:init_from=MODEL_DIR``, each its own curve, so that remedies for small data stand on one
plot beside the plain pipelines. To each entry's runs the law error(n) = a + b * n**-c is fitted
(:mod:`.laws`), judged by its goodness of fit and an extrapolation check, and read for the
crossover with the traditional pipeline, the size needed for a target error and the data a remedy
saves (:mod:`.curve_summary`). Every point also holds the mean of each measure the task reports
beside its error (accuracy, AP@0.5 and COCO's AP, BLEU and chrF), named in the curve's
``measures``. Writes ``RUN/curve.json``, ``RUN/curve.png`` and ``RUN/cells/``.
"""

from __future__ import annotations

import itertools
import math
import tempfile
from pathlib import Path

import numpy as np

from ..tasks import get_task
from . import curve_summary
from .cells import takes_groups, task_measures, train_and_test
from .compare import load_data, split_digest
from .entries import resolve_entries
from .grid import Cell, record_configuration, run_grid
from .schemas import curve_schema, validate

# Default sizes: this many, log-spaced from the smallest sensible size to the whole training pool,
# enough for a three-parameter law to be judged on the points it does not need.
DEFAULT_SIZE_COUNT = 7
# The smallest sensible training set: this many items of each class, and never fewer than SMALLEST_ITEMS.
ITEMS_PER_CLASS = 5
SMALLEST_ITEMS = 50


def parse_sizes(text: str) -> list[int | float]:
    """"50,100,0.5,1.0" -> [50, 100, 0.5, 1.0]: integers are absolute sizes, numbers with a
    decimal point at most 1 are fractions of the training pool."""
    sizes: list[int | float] = []
    for token in (t.strip() for t in text.split(",")):
        if not token:
            continue
        try:
            value = float(token)
        except ValueError:
            raise ValueError(f"--sizes: {token!r} is not a number") from None
        if "." in token or "e" in token.lower():
            if not 0 < value <= 1 and not value.is_integer():
                raise ValueError(f"--sizes: {token!r} is neither a fraction in (0, 1] nor a whole number")
            sizes.append(value if value <= 1 else int(value))
        else:
            sizes.append(int(value))
    if not sizes:
        raise ValueError("--sizes is empty")
    return sizes


def resolve_sizes(sizes, pool_size: int, unit: str, n_classes: int = 0) -> list[int]:
    """Absolute sizes, sorted and distinct; fractions (floats <= 1) are taken of `pool_size`.

    None takes DEFAULT_SIZE_COUNT sizes log-spaced from the smallest sensible one (one group; or
    ITEMS_PER_CLASS items of each of `n_classes` classes, at least SMALLEST_ITEMS) to the whole pool.
    """
    if sizes is None:
        smallest = 1 if unit == "groups" else max(ITEMS_PER_CLASS * n_classes, SMALLEST_ITEMS)
        smallest = min(smallest, pool_size)
        return sorted({int(round(n)) for n in np.geomspace(smallest, pool_size, DEFAULT_SIZE_COUNT)})
    resolved = set()
    for size in sizes:
        if isinstance(size, float) and 0 < size <= 1:
            n = max(1, int(round(size * pool_size)))
        else:
            n = int(size)
        if not 1 <= n <= pool_size:
            raise ValueError(f"size {size} is outside 1..{pool_size} {unit} available for training")
        resolved.add(n)
    return sorted(resolved)


def fixed_test_split(dataset, test_size: float = 0.25, test_groups: int = 1) -> tuple[np.ndarray, np.ndarray, str]:
    """(pool_idx, test_idx, how): the training pool and the one test set every size is measured on."""
    from ..data.splits import group_holdout, train_test_indices

    if {"train", "test"} <= set(dataset.splits):
        pool, test = train_test_indices(dataset, kind="predefined")
        return pool, test, "predefined"
    task = get_task(dataset.task)
    if task.holdout == "groups":
        pool, test = group_holdout(dataset.groups, test_size=float(test_groups), seed=0)
        return pool, test, f"{test_groups} {task.group_name}(s) held out"
    pool, test = train_test_indices(dataset, test_size=test_size, seed=0)
    return pool, test, "held out"


def curve(task: str, data, out=None, *, pipelines=None, sizes=None, seeds=(0, 1, 2), params: dict | None = None,
          test_size: float = 0.25, test_groups: int = 1, target: float | None = None, n_boot: int = 500,
          min_updates: int | None = None, jobs: int = 1, backend: str = "loky", progress: bool = True,
          on_error: str = "raise") -> dict:
    """Learning curves of the pipelines of `task` (curve.json's content; see the module docstring).

    pipelines: entries such as "traditional", "end-to-end:init_from=MODEL_DIR" or ("end-to-end",
    {"backbone": "mobilenet_v2"}); None takes every pipeline of the task. params: {kind: {name:
    value}} for every entry of a kind. sizes: absolute sizes and/or fractions of the training pool
    (items for images, speakers for speech); None takes DEFAULT_SIZE_COUNT log-spaced sizes.
    target: an error for which to report the size each entry needs (with remedies and no target,
    the plain pipeline's error with the most data). min_updates: for pipelines trained by epochs,
    a floor on the gradient updates at every size (:func:`with_min_updates`).
    """
    from ..data.splits import subsample_indices

    dataset, data_name = load_data(task, data, on_error)
    params = params or {}
    entries = resolve_entries(task, pipelines, params)
    seeds = [int(s) for s in seeds]
    pool, test_idx, test_how = fixed_test_split(dataset, test_size, test_groups)
    unit = get_task(task).curve_unit
    by = "group" if unit == "groups" else "item" if get_task(task).holdout == "items" else "class"
    pool_size = len(np.unique(dataset.groups[pool])) if unit == "groups" else len(pool)
    n_classes = len(np.unique(dataset.y[pool])) if by == "class" else 0
    ns = resolve_sizes(sizes, pool_size, unit, n_classes)

    splits = {}
    for n, seed in itertools.product(ns, seeds):
        chosen = subsample_indices(dataset.y[pool], dataset.groups[pool], n, seed=seed, by=by)
        splits[f"n{n}_seed{seed}"] = (pool[chosen], test_idx)
    cells, label_of = [], {}
    for entry, n, seed in itertools.product(entries, ns, seeds):
        name = f"n{n}_seed{seed}"
        cell_params = with_min_updates(task, entry.kind, entry.params(params), len(splits[name][0]), min_updates)
        spec = {"experiment": "curve", "task": task, "data": data_name, "kind": entry.kind, "params": cell_params,
                "seed": seed, "split": name, "split_digest": split_digest(*splits[name]), "n": n, "unit": unit,
                **source_models(cell_params)}
        if takes_groups(task, entry.kind):
            spec["groups"] = True
        cells.append(Cell(f"{entry.key}__n{n}__seed{seed}", spec))
        label_of[cells[-1].key] = entry.label

    with tempfile.TemporaryDirectory(prefix="e2elab-curve-") as scratch:
        run_dir = Path(out) if out is not None else Path(scratch)
        record_configuration(run_dir, {"experiment": "curve", "task": task, "data": data_name,
                                       "pipelines": [entry.label for entry in entries],
                                       "params": {entry.label: entry.params(params) for entry in entries}, "seeds": seeds,
                                       "sizes": ns, "unit": unit, "test": test_how, "min_updates": min_updates})
        results = run_grid(cells, train_and_test, run_dir, (dataset, splits), jobs=jobs, backend=backend,
                           progress=progress, desc=f"curve {task}")

    test_info = {"how": test_how, "n_items": int(len(test_idx))}
    if unit == "groups":
        test_info["groups"] = sorted(set(dataset.groups[test_idx].tolist()))
    summary = {"task": task, "data": data_name, "metric": get_task(task).metric, "lower_is_better": True, "unit": unit,
               "measures": list(task_measures(list(results.values()))[0]), "test": test_info, "seeds": seeds, "sizes": ns,
               "min_updates": min_updates, "pipelines": {}}
    boots = {}
    for entry in entries:
        done = [(c.spec["n"], results[c.key]) for c in cells if label_of[c.key] == entry.label]
        summary["pipelines"][entry.label], boots[entry.label] = curve_summary.summarise_entry(entry, done, ns, n_boot, len(test_idx))
    summary.update(curve_summary.crossings(summary["pipelines"], boots, entries, ns))
    summary["target"] = curve_summary.target_sizes(summary["pipelines"], boots, entries, target, unit)
    summary["remedies"] = curve_summary.remedies(summary["pipelines"], boots, entries, summary["target"])
    summary["warnings"] = curve_summary.warnings_of(summary)
    validate(summary, curve_schema())
    if out is not None:
        from .plots import plot_curve
        from .runs import write_json

        write_json(Path(out) / "curve.json", summary)
        plot_curve(summary, Path(out) / "curve.png")
    return summary


def source_models(params: dict) -> dict:
    """{"source_models": {parameter: digest}} for the saved models `params` start from (init_from),
    so that a resumed run retrains its cells when such a model was retrained; else nothing."""
    from ..nn.fingerprint import MODEL_PARAMS, model_digest

    named = {name: Path(params[name]).expanduser() for name in MODEL_PARAMS if params.get(name) is not None}
    for name, folder in named.items():
        if not folder.is_dir():  # before the first training, not in its middle
            raise ValueError(f"{name}={folder}: no such model folder (a folder written by e2elab.save or `e2elab train --out`)")
    return {"source_models": {name: model_digest(folder) for name, folder in named.items()}} if named else {}


def with_min_updates(task: str, kind: str, params: dict, n_items: int, min_updates: int | None) -> dict:
    """`params` giving at least `min_updates` updates on `n_items` items.

    With a fixed number of epochs a small training set gets few gradient steps, so the curve would
    measure under-training as much as a lack of data; this keeps a floor on the optimisation. A
    pipeline with its own `min_updates` gets it (unless `params` set one) and applies its own rule
    (:mod:`e2elab.nn.schedule`, on the batches it really trains on); one with `epochs` and
    `batch_size` only has its epochs raised here; others are left as they are.
    """
    import inspect

    from ..registry import get_pipeline_class

    if not min_updates:
        return dict(params)
    accepted = inspect.signature(get_pipeline_class(task, kind).__init__).parameters
    if "min_updates" in accepted:
        return {"min_updates": int(min_updates), **params}
    if "epochs" not in accepted or "batch_size" not in accepted:
        return dict(params)
    epochs = int(params.get("epochs", accepted["epochs"].default))
    batch = int(params.get("batch_size", accepted["batch_size"].default))
    needed = math.ceil(min_updates / math.ceil(n_items / batch))
    return {**params, "epochs": max(epochs, needed)}
