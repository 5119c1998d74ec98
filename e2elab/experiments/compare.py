"""`compare`: every pipeline of a task trained on the same splits with several seeds, side by side.

A task that holds groups out (speech) is split into folds of whole groups (group k-fold; with
as many folds as speakers this is leave-one-speaker-out). The others (images) use the data set's
own train/test split, or a stratified hold-out when it has none. Every pipeline sees exactly the
same training and test items for a given (split, seed), so runs are matched and the pipelines
are compared with paired tests.

Beside the task's error, every measure its ``scores`` function returns (accuracy for images, AP@0.5
and COCO's AP for detection, BLEU and chrF for translation) is summarised per pipeline under its
own name, and listed in the results' ``measures``.

Writes ``RUN/results.json`` (schema in :mod:`e2elab.experiments.schemas`), one
``RUN/confusion_<kind>.json`` per pipeline (summed over runs; none for a task that counts no
confusions, such as detection or translation) and ``RUN/cells/`` (one file per
finished training, which lets an interrupted run resume).
"""

from __future__ import annotations

import hashlib
import itertools
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..tasks import get_task
from .cells import takes_groups, task_measures, train_and_test
from .grid import Cell, record_configuration, run_grid
from .schemas import results_schema, validate
from .stats import mean_ci, paired_test


def load_data(task: str, data, on_error: str = "raise"):
    """(dataset, name): `data` is a Dataset, a built-in name or a path."""
    from ..data.dataset import Dataset
    from .runs import load_task_data

    if isinstance(data, Dataset):
        if data.task != task:
            raise ValueError(f"data set {data.name or data.source!r} holds {data.task} data, not {task}")
        return data, data.name or data.source or "dataset"
    return load_task_data(str(data), task, on_error), str(data)


def resolve_pipelines(task: str, pipelines) -> list[str]:
    """The kinds asked for, or every registered pipeline of `task` (in the task's order: end-to-end first)."""
    from ..registry import get_pipeline_class, pipeline_kinds

    if pipelines:
        kinds = list(pipelines)
        for kind in kinds:
            get_pipeline_class(task, kind)  # a clear error naming what exists
        return kinds
    kinds = pipeline_kinds(task)
    if not kinds:
        raise ValueError(f"no pipeline is registered for task {task!r}")
    return kinds


def split_digest(train_idx, test_idx) -> str:
    """A short fingerprint of a split, so that a resumed run notices when the data changed."""
    digest = hashlib.sha1(np.asarray(train_idx, dtype=np.int64).tobytes())
    digest.update(b"|")
    digest.update(np.asarray(test_idx, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


def compare_splits(dataset, folds: int = 6, test_size: float = 0.25, split_seed: int = 0) -> tuple[dict, dict]:
    """({name: (train_idx, test_idx)}, {"kind", "folds"}) for `dataset`'s task (see the module docstring)."""
    from ..data.splits import group_kfold, has_real_groups, leave_one_group_out, train_test_indices

    task = get_task(dataset.task)
    if task.holdout == "groups":
        n_groups = len(np.unique(dataset.groups))
        if n_groups < 2:
            raise ValueError(f"a {task.name} comparison holds {task.group_name}s out, but the data names fewer than two "
                             f"{task.group_name}s")
        folds = min(folds, n_groups)
        if folds < 2:
            raise ValueError("--folds must be at least 2")
        parts = leave_one_group_out(dataset.groups) if folds == n_groups else group_kfold(dataset.groups, folds, split_seed)
        splits = {f"fold{i}": split for i, split in enumerate(parts)}
        held_out = {name: sorted(set(dataset.groups[test].tolist())) for name, (_, test) in splits.items()}
        return splits, {"kind": "group", "folds": folds, "test_groups": held_out}
    if {"train", "test"} <= set(dataset.splits):
        split = train_test_indices(dataset, kind="predefined")
        return {"dataset": split}, {"kind": "predefined", "folds": 1}
    split = train_test_indices(dataset, test_size=test_size, seed=split_seed)
    kind = "group" if has_real_groups(dataset.groups) else "random" if task.holdout == "items" else "stratified"
    return {"holdout": split}, {"kind": kind, "folds": 1, "test_size": test_size}


def compare(task: str, data, out=None, *, pipelines=None, seeds=(0, 1, 2), folds: int = 6, params: dict | None = None,
            test_size: float = 0.25, jobs: int = 1, backend: str = "loky", progress: bool = True,
            on_error: str = "raise") -> dict:
    """Train every pipeline of `task` on the same splits with each seed and summarise (results.json).

    params: {kind: {parameter: value}} overrides per pipeline. out: the run folder (results,
    confusions and resumable cells); None keeps cells in a temporary folder and writes nothing.
    """
    import tempfile

    dataset, data_name = load_data(task, data, on_error)
    kinds = resolve_pipelines(task, pipelines)
    params = params or {}
    unknown = set(params) - set(kinds)
    if unknown:
        raise ValueError(f"parameters given for {', '.join(sorted(unknown))}, which is not compared (pipelines: {', '.join(kinds)})")
    seeds = [int(s) for s in seeds]
    splits, split_info = compare_splits(dataset, folds, test_size)

    cells = []
    for kind, (name, (train_idx, test_idx)), seed in itertools.product(kinds, splits.items(), seeds):
        spec = {"experiment": "compare", "task": task, "data": data_name, "kind": kind, "params": params.get(kind, {}),
                "seed": seed, "split": name, "split_digest": split_digest(train_idx, test_idx),
                "measure_size": name == next(iter(splits)) and seed == seeds[0]}
        if takes_groups(task, kind):
            spec["groups"] = True
        cells.append(Cell(f"{kind}__{name}__seed{seed}", spec))

    with tempfile.TemporaryDirectory(prefix="e2elab-compare-") as scratch:
        run_dir = Path(out) if out is not None else Path(scratch)
        record_configuration(run_dir, {"experiment": "compare", "task": task, "data": data_name, "pipelines": kinds,
                                       "params": {kind: params.get(kind, {}) for kind in kinds}, "seeds": seeds,
                                       "split": split_info})
        results = run_grid(cells, train_and_test, run_dir, (dataset, splits), jobs=jobs, backend=backend,
                           progress=progress, desc=f"compare {task}")
    summary = summarise(task, data_name, split_info, kinds, cells, results)
    summary["seeds"] = seeds
    validate(summary, results_schema())
    if out is not None:
        write_outputs(Path(out), summary, kinds, cells, results, task)
    return summary


def summarise(task, data_name, split_info, kinds, cells, results) -> dict:
    """results.json's content from the finished cells."""
    runs = defaultdict(list)
    for cell in cells:
        runs[cell.spec["kind"]].append((cell, results[cell.key]))
    pipelines = {}
    for kind in kinds:
        done = runs[kind]
        measured = next((r for c, r in done if c.spec["measure_size"]), {})
        entry = {
            "metric": mean_ci([r["metric"] for _, r in done], bounds=(0.0, None)),
            "train_seconds": float(np.mean([r["train_seconds"] for _, r in done])),
            "predict_seconds_per_item": float(np.mean([r["predict_seconds_per_item"] for _, r in done])),
            "n_parameters": measured.get("n_parameters"),
            "model_bytes": measured.get("model_bytes"),
            "n_train": float(np.mean([r["n_train"] for _, r in done])),
            "n_test": float(np.mean([r["n_test"] for _, r in done])),
            "run_ids": [c.key.split("__", 1)[1] for c, _ in done],
        }
        numbers, texts = task_measures([r for _, r in done])
        # the task's measures are scores (accuracy, AP, BLEU...): an interval never goes below 0
        entry |= {name: mean_ci(values, bounds=(0.0, None)) for name, values in numbers.items()}
        entry |= texts
        pipelines[kind] = entry
    tests = []
    for a, b in itertools.combinations(kinds, 2):
        tests.append(paired_test(pipelines[a]["metric"]["runs"], pipelines[b]["metric"]["runs"], (a, b)))
    measures = list(task_measures([results[c.key] for c in cells])[0])
    return {"task": task, "data": data_name, "split": split_info, "metric": get_task(task).metric, "lower_is_better": True,
            "measures": measures, "pipelines": pipelines, "paired_tests": tests}


def summed_confusion(outcomes: list[dict]) -> dict:
    """Confusion counts of several runs added up: class matrices (with their labels) into one
    matrix, or nested word counts (transcripts) into one table of counts."""
    if all("matrix" in r["confusion"] for r in outcomes):
        labels: list[str] = []
        for r in outcomes:
            labels += [label for label in r["confusion"]["labels"] if label not in labels]
        total = np.zeros((len(labels), len(labels)), dtype=int)
        for r in outcomes:
            pos = [labels.index(label) for label in r["confusion"]["labels"]]
            total[np.ix_(pos, pos)] += np.asarray(r["confusion"]["matrix"], dtype=int)
        return {"labels": labels, "matrix": total.tolist(), "rows": "true class", "columns": "predicted class"}
    words: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in outcomes:
        for ref, hyps in r["confusion"].items():
            for hyp, count in hyps.items():
                words[ref][hyp] += count
    return {"counts": {ref: dict(sorted(h.items())) for ref, h in sorted(words.items())},
            "meaning": "counts[reference word][hypothesis word]; <del> a deletion, counts['<ins>'] insertions"}


def write_outputs(run_dir: Path, summary: dict, kinds, cells, results, task) -> None:
    from .runs import write_json

    write_json(run_dir / "results.json", summary)
    for kind in kinds:
        outcomes = [results[c.key] for c in cells if c.spec["kind"] == kind]
        if not any(r["confusion"] for r in outcomes):
            continue
        write_json(run_dir / f"confusion_{kind}.json", {"task": task, "pipeline": kind, "runs": len(outcomes),
                                                         **summed_confusion(outcomes)})


def format_table(summary: dict) -> str:
    """The comparison as a plain-text table, with the paired tests below it."""
    metric = summary["metric"].upper() if summary["metric"] == "wer" else summary["metric"]
    measures = [name for name in summary.get("measures", []) if all(name in e for e in summary["pipelines"].values())]
    header = ["pipeline", f"{metric} mean", "95% CI", "runs", *measures]
    header += ["train s", "predict ms/item", "parameters", "model bytes"]
    rows = [header]
    for kind, entry in summary["pipelines"].items():
        m = entry["metric"]
        row = [kind, f"{m['mean']:.4f}", _interval(m["ci95"]), str(len(m["runs"]))]
        row += [f"{entry[name]['mean']:.4f}" for name in measures]
        row += [f"{entry['train_seconds']:.1f}", f"{1000 * entry['predict_seconds_per_item']:.3f}",
                _int(entry["n_parameters"]), _int(entry["model_bytes"])]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    split = summary["split"]
    lines.insert(0, f"{summary['task']} on {summary['data']}: split {split['kind']}, {split['folds']} fold(s), "
                    f"seeds {summary.get('seeds')}")
    # how a measure was computed (sacreBLEU's signatures), once: every pipeline is measured the same way
    texts = {name: value for entry in summary["pipelines"].values() for name, value in entry.items() if isinstance(value, str)}
    lines += [f"{name}: {value}" for name, value in texts.items()]
    for test in summary.get("paired_tests", []):
        lines.append(f"paired over {test['n_pairs']} matched runs, {test['a']} - {test['b']}: "
                     f"mean difference {_num(test['mean_difference'])} (95% CI {_interval(test['ci95'])}), "
                     f"paired t p = {_num(test['p_t'])}, Wilcoxon p = {_num(test['p_wilcoxon'])}")
    return "\n".join(lines)


def _interval(ci) -> str:
    return "n/a" if ci is None else f"[{ci[0]:.4f}, {ci[1]:.4f}]"


def _int(value) -> str:
    return "n/a" if value is None else f"{value:,}"


def _num(value) -> str:
    return "n/a" if value is None else f"{value:.4g}"
