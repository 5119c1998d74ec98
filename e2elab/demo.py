"""`e2elab demo`: the main job. Both tasks, both pipelines: compare, a learning curve, explanations,
then one report.

It runs on built-in offline data (`speech-digits`, generated with espeak-ng, and scikit-learn's
`digits`) so that a fresh machine with no network gets the whole story; `--speech fsdd --image
usps` (or any folder) uses real data instead. Translation and detection have no offline built-in
data, so they run only when asked for: `--translation multi30k --detection facemask` (or a folder)
adds them to the run. Budgets keep it to minutes on a laptop CPU: the
data are capped, the networks are trained for a few epochs, and `--quick` cuts everything
further. The point is the shape of the comparison, not record figures (see README for those).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .errors import DataError, ParameterError
from .experiments.runs import write_json
from .tasks import get_task
from .version import __version__


@dataclass(frozen=True)
class TaskBudget:
    """How much of one task a demo run does."""

    max_items: int  # at most this many items (stratified by class where the task does not hold groups out)
    sizes: tuple[float, ...]  # learning-curve sizes, in the task's curve unit (fractions of the training pool, or groups)
    params: dict = field(default_factory=dict)  # {kind: {param: value}}
    max_groups: int | None = None  # tasks that hold groups out: at most this many groups (speakers), taken whole
    folds: int = 2  # ... and the folds of whole groups their comparison uses
    generated: dict = field(default_factory=dict)  # {built-in name: options} for data sets generated on demand (their size)


@dataclass(frozen=True)
class Budget:
    """How much of everything a demo run does."""

    tasks: dict  # {task name: TaskBudget}, in the order the demo runs them
    seeds: tuple[int, ...]
    explain_items: int
    # {task name: TaskBudget} of the tasks with no offline data: run, after `tasks`, only when their data is named
    opt_in: dict = field(default_factory=dict)

    def with_tasks_of(self, data: dict) -> Budget:
        """This budget running also the opt-in tasks that `data` names data for."""
        added = {task: self.opt_in[task] for task in self.opt_in if task in data and task not in self.tasks}
        return replace(self, tasks={**self.tasks, **added})


QUICK = Budget(
    tasks={
        # A hundred clips give a CTC network few updates: small batches and a higher rate make up for it.
        "speech": TaskBudget(max_items=200, max_groups=8, folds=2, sizes=(1, 3), generated={"speech-digits": {"size": "small"}},
                             params={"end-to-end": {"epochs": 10, "width": 64, "depth": 1, "augment": False, "batch_size": 8,
                                                    "lr": 6e-3},
                                     "traditional": {"n_mixtures": 2, "flat_passes": 2, "passes_per_split": 1}}),
        "image": TaskBudget(max_items=600, sizes=(0.1, 0.3, 1.0),
                            params={"end-to-end": {"epochs": 12, "width": 16}, "traditional": {"codebook_size": 64}}),
    },
    seeds=(0,), explain_items=2,
    opt_in={
        # A few hundred photos at a reduced input size, a few thousand sentence pairs through a small
        # Transformer: the shape of the comparison, in minutes; phrase-based tuning is left out.
        "translation": TaskBudget(max_items=3000, sizes=(0.3, 1.0),
                                  params={"end-to-end": {"epochs": 4, "vocab_size": 2000, "d_model": 128, "encoder_layers": 2,
                                                         "decoder_layers": 2, "d_ff": 256},
                                          "traditional": {"tune": False}}),
        "detection": TaskBudget(max_items=300, sizes=(0.3, 1.0),
                                params={"end-to-end": {"epochs": 8, "width": 16, "neck_channels": 24, "input_size": 320,
                                                       "train_size": 256, "batch_size": 8},
                                        "traditional": {"mining_rounds": 1}}),
    },
)
FULL = Budget(
    tasks={
        "speech": TaskBudget(max_items=360, max_groups=12, folds=3, sizes=(2, 4, 8),
                             generated={"speech-digits": {"size": "default"}},
                             params={"end-to-end": {"epochs": 12, "width": 64, "depth": 1, "augment": False, "batch_size": 8,
                                                    "lr": 6e-3},
                                     "traditional": {"n_mixtures": 4}}),
        "image": TaskBudget(max_items=1797, sizes=(0.05, 0.1, 0.2, 0.4, 1.0),
                            params={"end-to-end": {"epochs": 15}, "traditional": {}}),
    },
    seeds=(0,), explain_items=3,
    opt_in={
        "translation": TaskBudget(max_items=10000, sizes=(0.1, 0.3, 1.0),
                                  params={"end-to-end": {"epochs": 8, "vocab_size": 4000, "d_model": 128, "d_ff": 512},
                                          "traditional": {"tune_sentences": 100}}),
        "detection": TaskBudget(max_items=640, sizes=(0.25, 0.5, 1.0),
                                params={"end-to-end": {"epochs": 20, "input_size": 384}, "traditional": {}}),
    },
)
# The built-in offline data of each task: a fresh machine with no network gets the whole story.
OFFLINE_DATA = {"speech": "speech-digits", "image": "digits"}
# The real data sets the demo prefers where $E2ELAB_DATA_DIR holds them.
REAL_DATA = {"speech": "fsdd", "image": "usps"}
# The real data sets of the opt-in tasks (Budget.opt_in), which have no offline built-in data.
OPT_IN_DATA = {"translation": "multi30k", "detection": "facemask"}


def check_budget(budget: Budget) -> None:
    """Build every pipeline of the budget once, so that a bad parameter fails before any data is read."""
    from .experiments.runs import build_pipeline

    for task, task_budget in budget.tasks.items():
        for kind, params in task_budget.params.items():
            build_pipeline(task, kind, dict(params), seed=0)


def run_demo(out="runs/demo", quick: bool = False, data: dict | None = None, seed: int = 0, jobs: int = 1,
             budget: Budget | None = None) -> Path:
    """Run the demo into `out` and return the path of its report.

    data: {task: built-in name or path} for the tasks whose offline data (OFFLINE_DATA) is to be
    replaced, and for the opt-in tasks (OPT_IN_DATA) to be added to the run.
    budget: how much to do; None takes QUICK or FULL as `quick` says.
    """
    from .report.html import build_report

    budget = budget or (QUICK if quick else FULL)
    unknown = sorted(set(data or {}) - set(budget.tasks) - set(budget.opt_in))
    if unknown:
        raise ParameterError(f"the demo has no task {', '.join(map(repr, unknown))}; its tasks are "
                             f"{', '.join([*budget.tasks, *budget.opt_in])}")
    data = {**OFFLINE_DATA, **(data or {})}
    budget = budget.with_tasks_of(data)
    check_budget(budget)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    chosen = "".join(f" --{task} {data[task]}" for task in budget.tasks)
    command = "e2elab demo" + (" --quick" if quick else "") + chosen + f" --out {out}"
    findings = {}
    for task in budget.tasks:
        findings[task] = run_task(task, data[task], out / task, budget, seed, jobs)
    seconds = time.perf_counter() - start
    write_json(out / "run.json", _plain({"commands": [command, f"e2elab report {out}"], "seconds": round(seconds, 1),
                                          "versions": _versions(), "findings": findings}))
    report = build_report(out)
    _print_summary(findings, report, seconds)
    return report


def run_task(task: str, data: str, folder: Path, budget: Budget, seed: int, jobs: int) -> dict:
    """Compare, curve, final models and explanations for one task; returns what it found."""
    from .experiments import compare, curve
    from .experiments.compare import format_table

    declared, task_budget = get_task(task), budget.tasks[task]
    dataset = _capped_dataset(task, data, task_budget, seed)
    params = task_budget.params
    _step(f"{task}: {len(dataset)} items of {data} ({len(np.unique(dataset.groups))} groups)")

    _step(f"{task}: comparing both pipelines on the same splits")
    results = compare(task, dataset, folder / "compare", seeds=budget.seeds, folds=task_budget.folds, params=params, jobs=jobs)
    print(format_table(results), flush=True)

    _step(f"{task}: learning curves")
    sizes = task_budget.sizes
    if declared.curve_unit == "groups":
        n_groups = len(np.unique(dataset.groups))
        sizes = tuple(int(s) for s in sizes if s < n_groups)
    curves = curve(task, dataset, folder / "curve", sizes=list(sizes), seeds=budget.seeds, params=params, jobs=jobs, n_boot=200)

    _step(f"{task}: training the models to explain")
    models, test_items = train_final_models(task, dataset, folder, params, seed)

    _step(f"{task}: explaining {budget.explain_items} test items")
    examples = test_items[: budget.explain_items]
    _write_examples(task, examples, folder)
    explained = explain_models(models, examples, folder / "explain")

    return {
        "data": data,
        "items": len(dataset),
        "metric": results["metric"],
        "pipelines": {kind: entry["metric"]["mean"] for kind, entry in results["pipelines"].items()},
        "crossover": (curves.get("crossover") or {}).get("n"),
        "crossover_observed": (curves.get("crossover_observed") or {}).get("between"),
        "explanations": explained,
    }


def train_final_models(task, dataset, folder: Path, params: dict, seed: int):
    """Each pipeline trained once on the training part, saved for the report's stage diagrams and explanations."""
    from .data.splits import train_test_indices
    from .experiments.runs import build_pipeline
    from .experiments.training import train_save_score

    models = {}
    for kind in ("end-to-end", "traditional"):
        run_dir = folder / "models" / kind
        model = build_pipeline(task, kind, dict(params.get(kind, {})), seed, run_dir=run_dir)
        train_save_score(model, dataset, run_dir, data_name=dataset.name, seed=seed)
        models[kind] = model
    _, test_idx = train_test_indices(dataset, seed=seed)
    return models, list(dataset.X[test_idx])


def explain_models(models: dict, items: list, folder: Path) -> dict:
    """Explanations of every model for `items`; a failure is reported, not fatal."""
    from .explain.api import explain

    found = {}
    for kind, model in models.items():
        try:
            records = explain(model, items, out_dir=folder / kind)
            found[kind] = sum(bool(r.get("scores", {}).get("trustworthy")) for r in records), len(records)
        except Exception as err:  # one pipeline's explainer failing should not lose the whole demo
            print(f"  could not explain {model.task} {kind}: {type(err).__name__}: {err}", file=sys.stderr)
    return found


def _capped_dataset(task: str, data: str, budget: TaskBudget, seed: int):
    """The data set, cut to the budget: whole groups (speakers) where the task holds groups out,
    else items stratified by class."""
    from .data.sources import load_dataset
    from .data.splits import subsample_indices

    dataset = load_dataset(data, **budget.generated.get(data, {}))
    if dataset.task != task:
        raise DataError(data, f"holds {dataset.task} data; the demo needs {task} data here")
    holdout = get_task(task).holdout
    if holdout == "groups":
        groups = np.unique(dataset.groups)
        if budget.max_groups is not None and len(groups) > budget.max_groups:
            dataset = dataset.subset(subsample_indices(dataset.y, dataset.groups, budget.max_groups, seed=seed, by="group"))
        if len(dataset) > budget.max_items:
            rng = np.random.default_rng(seed)
            dataset = dataset.subset(np.sort(rng.choice(len(dataset), budget.max_items, replace=False)))
    elif len(dataset) > budget.max_items:
        # Targets that are not classes (boxes, translations) leave nothing to stratify on: random items.
        by = "item" if holdout == "items" else "class"
        dataset = dataset.subset(subsample_indices(dataset.y, dataset.groups, budget.max_items, seed=seed, by=by))
    dataset.split = None  # the demo makes its own splits, the same for both pipelines
    return dataset


def _write_examples(task: str, items: list, folder: Path) -> None:
    """The test items the report draws stage by stage; in-memory images are written as PNGs.

    The report reads the examples as files, so a task whose items are text (sentences) lists none:
    its diagrams draw the chain of stages, and its examples section shows the test sentences."""
    from PIL import Image

    names = []
    for i, item in enumerate(items if get_task(task).item_kind != "text" else []):
        if isinstance(item, (str, Path)):
            names.append(str(Path(item).resolve()))
        else:
            path = folder / "examples" / f"example{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.asarray(item, dtype=np.uint8)).save(path)
            names.append(str(path.relative_to(folder)))
    write_json(folder / "examples.json", {"task": task, "items": names})


def _print_summary(findings: dict, report: Path, seconds: float) -> None:
    print(f"\ne2elab demo finished in {seconds / 60:.1f} min", flush=True)
    for task, found in findings.items():
        scores = ", ".join(f"{kind} {value:.1%}" for kind, value in found["pipelines"].items())
        print(f"  {task} on {found['data']} ({found['metric']}): {scores}; {_crossover_text(found)}")
    print(f"report: {report}")


def _crossover_text(found: dict) -> str:
    """The crossover in words: the fitted laws' estimate, and where the measured points cross."""
    fitted, measured = found.get("crossover"), found.get("crossover_observed")
    parts = []
    if fitted:
        parts.append(f"end-to-end overtakes traditional at about {fitted:.0f} training items (fitted laws)")
    if measured:
        parts.append(f"the measured points cross between {measured[0]:.0f} and {measured[1]:.0f} training items")
    return "; ".join(parts) or "no crossover in the sizes tried"


def _step(message: str) -> None:
    print(f"==> {message}", flush=True)


def _versions() -> dict:
    import sklearn
    import torch

    return {"e2elab": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "scikit-learn": sklearn.__version__, "numpy": np.__version__}


def _plain(payload: dict) -> dict:
    """`payload` as plain JSON values (NumPy numbers and paths as their text)."""
    return json.loads(json.dumps(payload, default=str))
