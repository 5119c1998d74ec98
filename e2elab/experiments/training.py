"""Train one pipeline, save it, score it on held-out items: `e2elab train` and the demo's final models.

The held-out items are the data set's own test split when it has one, else a hold-out drawn the
task's way (whole speakers for speech, stratified by class for images) with the run's seed; see
:func:`e2elab.data.splits.train_test_indices`. A data set's own val split, when the test split is
scored, goes to the pipelines that take ``validation_data`` in `fit` (early stopping, tuning), so
that they hold no training items out for it. The summary returned is what ``RUN/train.json``
holds.
"""

from __future__ import annotations

import inspect
import platform
import time
from pathlib import Path

import numpy as np

from ..version import __version__
from ..tasks import get_task
from .runs import drop_unreadable, group_kwargs, write_json

TRAIN_RECORD = "train.json"
MODEL_FOLDER = "model"


def train_save_score(model, dataset, run_dir, *, data_name: str, seed: int = 0, test_size: float = 0.25,
                     on_error: str = "raise", sign_key: bytes | None = None) -> dict:
    """Fit `model` (built by :func:`e2elab.experiments.runs.build_pipeline`) on the training part of
    `dataset`, save it to ``run_dir/model``, score it on the held-out part, write and return the
    summary (``run_dir/train.json``).

    on_error="skip" leaves unreadable held-out items out of the score (and counts them); the
    pipeline itself skips unreadable training items. sign_key signs the saved model (HMAC).
    """
    from ..data.splits import describe_holdout, train_test_indices
    from ..io import _jsonable, save

    run_dir = Path(run_dir)
    task = get_task(model.task)
    train_idx, test_idx = train_test_indices(dataset, test_size=test_size, seed=seed)
    train, test = dataset.subset(train_idx), dataset.subset(test_idx)
    held_out = describe_holdout(dataset, test_size=test_size)
    fit_kwargs = {**group_kwargs(model.fit, train.groups), **_fit_extras(model, dataset, train_idx, test_idx)}
    if "validation_data" in fit_kwargs:
        held_out = (f"the data set's own test split (its val split, {len(fit_kwargs['validation_data'][0])} items, "
                    "validates the training)")
    print(f"training {task.name}/{model.kind} on {len(train)} items of {data_name} ({len(test)} held out: {held_out})")

    start = time.perf_counter()
    model.fit(train.X, train.y, **fit_kwargs)
    train_seconds = time.perf_counter() - start
    skipped = list(getattr(model, "skipped_", []))
    if skipped:
        print(f"skipped {len(skipped)} unusable training item(s), e.g. {skipped[0][0]}: {skipped[0][1]}")
    model_dir = save(model, run_dir / MODEL_FOLDER, sign_key=sign_key)  # atomic: a failed save leaves the old model

    if on_error == "skip":
        test, _ = drop_unreadable(test, "held-out")
    start = time.perf_counter()
    score = model.score(test.X, test.y, **group_kwargs(model.score, test.groups)) if len(test) else float("nan")
    predict_seconds = time.perf_counter() - start
    summary = {
        "task": task.name,
        "data": data_name,
        "pipeline": model.kind,
        "params": model.get_params(deep=False),
        "seed": seed,
        "test_size": test_size,
        "n_train": len(train),
        "n_test": len(test),
        "held_out": held_out,
        "languages": fit_kwargs.get("languages"),
        "n_skipped": len(skipped),
        "metric": task.metric,
        "value": task.error_from_score(score),
        "train_seconds": round(train_seconds, 2),
        "predict_seconds_per_item": round(predict_seconds / max(len(test), 1), 5),
        "model": str(model_dir),
        "versions": {"e2elab": __version__, "python": platform.python_version()},
    }
    summary = _jsonable(summary, "summary")
    write_json(run_dir / TRAIN_RECORD, summary)
    return summary


def _fit_extras(model, dataset, train_idx, test_idx) -> dict:
    """What `model.fit` takes beyond the training items, where `dataset` has it: the data set's
    own val split as ``validation_data`` (only when it is neither trained on nor scored) and its
    ``languages``."""
    accepted = inspect.signature(model.fit).parameters
    extras = {}
    if "validation_data" in accepted and "val" in dataset.splits:
        val_idx = np.flatnonzero(dataset.split == "val")
        if not np.isin(val_idx, np.concatenate([train_idx, test_idx])).any():
            extras["validation_data"] = (list(dataset.X[val_idx]), list(dataset.y[val_idx]))
    if "languages" in accepted and getattr(dataset, "languages", None) is not None:
        extras["languages"] = list(dataset.languages)
    return extras
