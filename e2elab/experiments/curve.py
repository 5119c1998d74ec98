"""`curve`: learning curves of the pipelines, the laws they follow, and where they cross.

Each pipeline is trained several times (one per seed) on training sets of growing size and
tested on one fixed test set: the data set's own test split, or a held-out part (whole groups
for a task that holds groups out, such as speakers for speech; stratified by class otherwise).
Sizes are counted in the task's curve unit (:attr:`e2elab.tasks.Task.curve_unit`): items
(subsets stratified by class) for images, groups (every item of the chosen groups) for speech,
so that a speech curve says how many *speakers* of data a pipeline needs. A given (size, seed)
gives the same training items to every pipeline.

To each pipeline's runs the law error(n) = a + b * n**-c is fitted (:mod:`.laws`); the fit is
checked by refitting without the largest size and predicting it; the crossover of the
end-to-end and traditional laws and the size each needs for a target error come with
bootstrap intervals. Writes ``RUN/curve.json``, ``RUN/curve.png`` and ``RUN/cells/``.
"""

from __future__ import annotations

import itertools
import math
import tempfile
from pathlib import Path

import numpy as np

from . import laws
from ..tasks import get_task
from .cells import takes_groups, train_and_test
from .compare import load_data, resolve_pipelines, split_digest
from .grid import Cell, record_configuration, run_grid
from .schemas import curve_schema, validate
from .stats import mean_ci

DEFAULT_IMAGE_SIZES = (50, 100, 200, 500, 1000, 2000, 5000)


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


def resolve_sizes(sizes, pool_size: int, unit: str) -> list[int]:
    """Absolute sizes, sorted and distinct; fractions (floats <= 1) are taken of `pool_size`."""
    if sizes is None:
        if unit == "groups":
            return list(range(1, pool_size + 1))
        return sorted({min(s, pool_size) for s in DEFAULT_IMAGE_SIZES} | {pool_size})
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
    """Learning curves of every pipeline of `task` (curve.json's content; see the module docstring).

    sizes: absolute sizes and/or fractions of the training pool (items for images, speakers for
    speech); None takes a default ladder. target: an error for which to report the size needed.
    min_updates: for pipelines trained by epochs (they take `epochs` and `batch_size`), raise the
    epochs of small training sets so that every size gets at least this many gradient updates.
    """
    from ..data.splits import subsample_indices

    dataset, data_name = load_data(task, data, on_error)
    kinds = resolve_pipelines(task, pipelines)
    params = params or {}
    seeds = [int(s) for s in seeds]
    pool, test_idx, test_how = fixed_test_split(dataset, test_size, test_groups)
    unit = get_task(task).curve_unit
    by = "group" if unit == "groups" else "item" if get_task(task).holdout == "items" else "class"
    pool_size = len(np.unique(dataset.groups[pool])) if unit == "groups" else len(pool)
    ns = resolve_sizes(sizes, pool_size, unit)

    splits = {}
    for n, seed in itertools.product(ns, seeds):
        chosen = subsample_indices(dataset.y[pool], dataset.groups[pool], n, seed=seed, by=by)
        splits[f"n{n}_seed{seed}"] = (pool[chosen], test_idx)
    cells = []
    for kind, n, seed in itertools.product(kinds, ns, seeds):
        name = f"n{n}_seed{seed}"
        cell_params = with_min_updates(task, kind, params.get(kind, {}), len(splits[name][0]), min_updates)
        spec = {"experiment": "curve", "task": task, "data": data_name, "kind": kind, "params": cell_params,
                "seed": seed, "split": name, "split_digest": split_digest(*splits[name]), "n": n, "unit": unit}
        if takes_groups(task, kind):
            spec["groups"] = True
        cells.append(Cell(f"{kind}__n{n}__seed{seed}", spec))

    with tempfile.TemporaryDirectory(prefix="e2elab-curve-") as scratch:
        run_dir = Path(out) if out is not None else Path(scratch)
        record_configuration(run_dir, {"experiment": "curve", "task": task, "data": data_name, "pipelines": kinds,
                                       "params": {kind: params.get(kind, {}) for kind in kinds}, "seeds": seeds,
                                       "sizes": ns, "unit": unit, "test": test_how, "min_updates": min_updates})
        results = run_grid(cells, train_and_test, run_dir, (dataset, splits), jobs=jobs, backend=backend,
                           progress=progress, desc=f"curve {task}")

    test_info = {"how": test_how, "n_items": int(len(test_idx))}
    if unit == "groups":
        test_info["groups"] = sorted(set(dataset.groups[test_idx].tolist()))
    summary = {"task": task, "data": data_name, "metric": get_task(task).metric, "lower_is_better": True, "unit": unit,
               "test": test_info, "seeds": seeds, "sizes": ns, "min_updates": min_updates, "pipelines": {}}
    boots = {}
    for kind in kinds:
        done = [(c.spec["n"], results[c.key]) for c in cells if c.spec["kind"] == kind]
        summary["pipelines"][kind], boots[kind] = summarise_pipeline(done, ns, target, n_boot)
    summary.update(crossing(summary, boots))
    summary["target"] = target_sizes(summary, boots, target)
    validate(summary, curve_schema())
    if out is not None:
        from .plots import plot_curve
        from .runs import write_json

        write_json(Path(out) / "curve.json", summary)
        plot_curve(summary, Path(out) / "curve.png")
    return summary


def with_min_updates(task: str, kind: str, params: dict, n_items: int, min_updates: int | None) -> dict:
    """`params` with `epochs` raised to give at least `min_updates` updates on `n_items` items.

    With a fixed number of epochs a small training set gets few gradient steps, so the curve would
    measure under-training as much as a lack of data; this keeps a floor on the optimisation.
    Pipelines without `epochs` and `batch_size` parameters are left as they are.
    """
    import inspect

    from ..registry import get_pipeline_class

    if not min_updates:
        return dict(params)
    accepted = inspect.signature(get_pipeline_class(task, kind).__init__).parameters
    if "epochs" not in accepted or "batch_size" not in accepted:
        return dict(params)
    epochs = int(params.get("epochs", accepted["epochs"].default))
    batch = int(params.get("batch_size", accepted["batch_size"].default))
    needed = math.ceil(min_updates / math.ceil(n_items / batch))
    return {**params, "epochs": max(epochs, needed)}


def summarise_pipeline(done: list[tuple[int, dict]], ns: list[int], target, n_boot: int) -> tuple[dict, list]:
    """Points, fitted law (with bootstrap intervals) and extrapolation check of one pipeline."""
    points = []
    for n in ns:
        runs = [r for size, r in done if size == n]
        point = {"n": float(n), **mean_ci([r["metric"] for r in runs], bounds=(0.0, None)),
                 "n_items": float(np.mean([r["n_train"] for r in runs])),
                 "train_seconds": float(np.mean([r["train_seconds"] for r in runs]))}
        if "accuracy" in runs[0]:
            point["accuracy"] = float(np.mean([r["accuracy"] for r in runs]))
        points.append(point)
    all_n = np.array([size for size, _ in done], dtype=float)
    all_e = np.array([r["metric"] for _, r in done], dtype=float)
    entry = {"points": points, "law": None, "law_ci95": None, "extrapolation_check": None}
    boot: list = []
    if len(ns) >= 3:
        law = laws.fit_law(all_n, all_e)
        boot = laws.bootstrap_laws(all_n, all_e, n_boot=n_boot, seed=0)
        entry["law"] = law.to_dict()
        entry["law_ci95"] = {p: laws.percentile_ci([getattr(b, p) for b in boot]) for p in ("a", "b", "c")}
        entry["_law"] = law
        entry["extrapolation_check"] = laws.extrapolation_check(all_n, all_e)
    return entry, boot


def crossing(summary: dict, boots: dict) -> dict:
    """crossover / crossover_explanation / crossover_extrapolated / crossover_observed keys."""
    pipes = summary["pipelines"]
    if not {"end-to-end", "traditional"} <= set(pipes):
        return {"crossover": None, "crossover_explanation": "a crossover needs both the end-to-end and the traditional pipeline"}
    e2e, trad = pipes["end-to-end"], pipes["traditional"]
    observed = laws.observed_crossover([p["n"] for p in e2e["points"]], [p["mean"] for p in e2e["points"]],
                                       [p["mean"] for p in trad["points"]])
    if e2e["law"] is None or trad["law"] is None:
        return {"crossover": None, "crossover_observed": observed,
                "crossover_explanation": "too few sizes to fit the laws (at least 3 are needed)"}
    low, high = summary["sizes"][0], summary["sizes"][-1]
    report = laws.crossover_report(e2e.pop("_law"), trad.pop("_law"), low, high,
                                   list(zip(boots["end-to-end"], boots["traditional"])))
    return {"crossover": report["crossover"], "crossover_explanation": report["explanation"],
            "crossover_extrapolated": report["extrapolated"], "crossover_observed": observed}


def target_sizes(summary: dict, boots: dict, target) -> dict | None:
    """{"error", "n_needed": {kind: n or None}, "n_needed_ci95": {kind: [lo, hi] or None}} for `target`."""
    for entry in summary["pipelines"].values():
        entry.pop("_law", None)
    if target is None:
        return None
    needed, intervals = {}, {}
    for kind, entry in summary["pipelines"].items():
        law = entry["law"]
        if law is None:
            needed[kind], intervals[kind] = None, None
            continue
        fitted = laws.Law(law["a"], law["b"], law["c"])
        needed[kind] = fitted.n_for(target)
        intervals[kind] = laws.percentile_ci([b.n_for(target) for b in boots[kind]])
    return {"error": float(target), "n_needed": needed, "n_needed_ci95": intervals, "unit": summary["unit"]}


def format_table(summary: dict) -> str:
    """Points, laws, extrapolation checks and the crossover as plain text."""
    unit = summary["unit"]
    lines = [f"{summary['task']} on {summary['data']}: {summary['metric']} against training {unit}, "
             f"test set {summary['test']['how']} ({summary['test']['n_items']} items), seeds {summary['seeds']}"]
    kinds = list(summary["pipelines"])
    header = [f"n ({unit})"] + [f"{k} mean [95% CI]" for k in kinds]
    rows = [header]
    for i, n in enumerate(summary["sizes"]):
        row = [str(n)]
        for kind in kinds:
            p = summary["pipelines"][kind]["points"][i]
            ci = "" if p["ci95"] is None else f" [{p['ci95'][0]:.3f}, {p['ci95'][1]:.3f}]"
            row.append(f"{p['mean']:.4f}{ci}")
        rows.append(row)
    widths = [max(len(r[j]) for r in rows) for j in range(len(header))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    for kind in kinds:
        entry = summary["pipelines"][kind]
        law = entry["law"]
        if law is None:
            lines.append(f"{kind}: too few sizes for a law")
            continue
        lines.append(f"{kind}: error(n) = {law['a']:.4f} + {law['b']:.4g} * n^-{law['c']:.3f}")
        check = entry["extrapolation_check"]
        if check:
            lines.append(f"  refit without n={check['n']:g}: predicts {check['predicted']:.4f}, observed {check['observed']:.4f}")
    lines.append(f"crossover: {summary['crossover_explanation']}")
    cross = summary.get("crossover") or summary.get("crossover_extrapolated")
    if cross and cross.get("ci95"):
        lines.append(f"  95% CI [{cross['ci95'][0]:.4g}, {cross['ci95'][1]:.4g}] (found in {100 * cross['fraction_found']:.0f}% "
                     "of bootstrap resamples)")
    if summary.get("crossover_observed"):
        obs = summary["crossover_observed"]
        lines.append(f"  measured means cross between n={obs['between'][0]:g} and {obs['between'][1]:g} (about {obs['n']:.4g})")
    if summary.get("target"):
        t = summary["target"]
        for kind, n in t["n_needed"].items():
            text = "unreachable (below the fitted floor a)" if n is None else f"{n:.4g} {unit}"
            lines.append(f"target {t['error']}: {kind} needs {text}")
    return "\n".join(lines)
