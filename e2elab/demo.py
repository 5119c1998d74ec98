"""`e2elab demo`: the main job. Both tasks, both pipelines: compare, a learning curve, explanations,
then one report.

It runs on built-in offline data (`speech-digits`, generated with espeak-ng, and scikit-learn's
`digits`) so that a fresh machine with no network gets the whole story; `--speech fsdd --image
usps` (or any folder) uses real data instead. Budgets keep it to minutes on a laptop CPU: the
data are capped, the networks are trained for a few epochs, and `--quick` cuts everything
further. The point is the shape of the comparison, not record figures (see README for those).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__


@dataclass(frozen=True)
class Budget:
    """How much of everything a demo run does."""

    speech_options: dict  # options of a generated speech data set (its size)
    speech_groups: int  # at most this many speakers
    speech_items: int  # ... and this many clips
    image_items: int  # at most this many images
    seeds: tuple[int, ...]
    speech_folds: int
    image_sizes: tuple[float, ...]  # learning-curve sizes (fractions of the training pool)
    speech_sizes: tuple[float, ...]  # ... in speakers
    explain_items: int
    params: dict = field(default_factory=dict)  # {task: {kind: {param: value}}}


QUICK = Budget(
    speech_options={"size": "small"}, speech_groups=8, speech_items=200, image_items=600, seeds=(0,), speech_folds=2,
    image_sizes=(0.1, 0.3, 1.0), speech_sizes=(1, 3), explain_items=2,
    params={
        # A hundred clips give a CTC network few updates: small batches and a higher rate make up for it.
        "speech": {"end-to-end": {"epochs": 10, "width": 64, "depth": 1, "augment": False, "batch_size": 8, "lr": 6e-3},
                   "traditional": {"n_mixtures": 2, "flat_passes": 2, "passes_per_split": 1}},
        "image": {"end-to-end": {"epochs": 12, "width": 16},
                  "traditional": {"codebook_size": 64}},
    },
)
FULL = Budget(
    speech_options={"size": "default"}, speech_groups=12, speech_items=360, image_items=1797, seeds=(0,), speech_folds=3,
    image_sizes=(0.05, 0.1, 0.2, 0.4, 1.0), speech_sizes=(2, 4, 8), explain_items=3,
    params={
        "speech": {"end-to-end": {"epochs": 12, "width": 64, "depth": 1, "augment": False, "batch_size": 8, "lr": 6e-3},
                   "traditional": {"n_mixtures": 4}},
        "image": {"end-to-end": {"epochs": 15},
                  "traditional": {}},
    },
)


def check_budget(quick: bool = False) -> None:
    """Build every pipeline of the budget once, so that a bad parameter fails before any data is read."""
    from .commands._common import build_pipeline

    for task, kinds in (QUICK if quick else FULL).params.items():
        for kind, params in kinds.items():
            build_pipeline(task, kind, dict(params), seed=0)


def run_demo(out="runs/demo", quick: bool = False, speech: str = "speech-digits", image: str = "digits", seed: int = 0,
             jobs: int = 1) -> Path:
    """Run the demo into `out` and return the path of its report."""
    from .report.html import build_report

    check_budget(quick)
    budget = QUICK if quick else FULL
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    command = "e2elab demo" + (" --quick" if quick else "") + f" --speech {speech} --image {image} --out {out}"
    findings = {}
    for task, data in (("speech", speech), ("image", image)):
        findings[task] = run_task(task, data, out / task, budget, seed, jobs)
    seconds = time.perf_counter() - start
    _write_json(out / "run.json", {"commands": [command, f"e2elab report {out}"], "seconds": round(seconds, 1),
                                   "versions": _versions(), "findings": findings})
    report = build_report(out)
    _print_summary(findings, report, seconds)
    return report


def run_task(task: str, data: str, folder: Path, budget: Budget, seed: int, jobs: int) -> dict:
    """Compare, curve, final models and explanations for one task; returns what it found."""
    from .experiments import compare, curve
    from .experiments.compare import format_table

    dataset = _capped_dataset(task, data, budget, seed)
    params = budget.params.get(task, {})
    _step(f"{task}: {len(dataset)} items of {data} ({len(np.unique(dataset.groups))} groups)")

    _step(f"{task}: comparing both pipelines on the same splits")
    results = compare(task, dataset, folder / "compare", seeds=budget.seeds, folds=budget.speech_folds, params=params, jobs=jobs)
    print(format_table(results), flush=True)

    _step(f"{task}: learning curves")
    sizes = budget.speech_sizes if task == "speech" else budget.image_sizes
    n_groups = len(np.unique(dataset.groups))
    if task == "speech":
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
        "explanations": explained,
    }


def train_final_models(task, dataset, folder: Path, params: dict, seed: int):
    """Each pipeline trained once on the training part, saved for the report's stage diagrams and explanations."""
    from .commands._common import build_pipeline, group_kwargs
    from .data.splits import train_test_indices
    from .io import save

    train_idx, test_idx = train_test_indices(dataset, seed=seed)
    train, test = dataset.subset(train_idx), dataset.subset(test_idx)
    models = {}
    for kind in ("end-to-end", "traditional"):
        run_dir = folder / "models" / kind
        model = build_pipeline(task, kind, dict(params.get(kind, {})), seed, run_dir=run_dir)
        started = time.perf_counter()
        model.fit(train.X, train.y, **group_kwargs(model.fit, train.groups))
        seconds = time.perf_counter() - started
        score = model.score(test.X, test.y, **group_kwargs(model.score, test.groups))
        save(model, run_dir / "model")
        _write_json(run_dir / "train.json", {"task": task, "pipeline": kind, "data": dataset.name, "n_train": len(train),
                                             "n_test": len(test), "metric": "wer" if task == "speech" else "error",
                                             "value": 1.0 - score, "train_seconds": round(seconds, 2)})
        models[kind] = model
    return models, list(test.X)


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


def _capped_dataset(task: str, data: str, budget: Budget, seed: int):
    """The data set, cut to the budget: whole speakers for speech, stratified items for images."""
    from .data.splits import subsample_indices
    from .data.sources import load_dataset

    options = budget.speech_options if (task == "speech" and data == "speech-digits") else {}
    dataset = load_dataset(data, **options)
    if dataset.task != task:
        raise ValueError(f"{data} holds {dataset.task} data; the demo needs {task} data here")
    if task == "speech":
        groups = np.unique(dataset.groups)
        if len(groups) > budget.speech_groups:
            dataset = dataset.subset(subsample_indices(dataset.y, dataset.groups, budget.speech_groups, seed=seed, by="group"))
        if len(dataset) > budget.speech_items:
            rng = np.random.default_rng(seed)
            dataset = dataset.subset(np.sort(rng.choice(len(dataset), budget.speech_items, replace=False)))
    elif len(dataset) > budget.image_items:
        dataset = dataset.subset(subsample_indices(dataset.y, dataset.groups, budget.image_items, seed=seed, by="class"))
    dataset.split = None  # the demo makes its own splits, the same for both pipelines
    return dataset


def _write_examples(task: str, items: list, folder: Path) -> None:
    """The test items the report draws stage by stage; in-memory images are written as PNGs."""
    from PIL import Image

    names = []
    for i, item in enumerate(items):
        if isinstance(item, (str, Path)):
            names.append(str(Path(item).resolve()))
        else:
            path = folder / "examples" / f"example{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.asarray(item, dtype=np.uint8)).save(path)
            names.append(str(path.relative_to(folder)))
    _write_json(folder / "examples.json", {"task": task, "items": names})


def _print_summary(findings: dict, report: Path, seconds: float) -> None:
    print(f"\ne2elab demo finished in {seconds / 60:.1f} min", flush=True)
    for task, found in findings.items():
        scores = ", ".join(f"{kind} {value:.1%}" for kind, value in found["pipelines"].items())
        cross = found.get("crossover")
        cross_text = f"end-to-end overtakes traditional at about {cross:.0f} training items" if cross else "no crossover in the sizes tried"
        print(f"  {task} on {found['data']} ({found['metric']}): {scores}; {cross_text}")
    print(f"report: {report}")


def _step(message: str) -> None:
    print(f"==> {message}", flush=True)


def _versions() -> dict:
    import sklearn
    import torch

    return {"e2elab": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "scikit-learn": sklearn.__version__, "numpy": np.__version__}


def _write_json(path: Path, payload: dict) -> None:
    from .commands._common import write_json

    write_json(path, json.loads(json.dumps(payload, default=str)))
