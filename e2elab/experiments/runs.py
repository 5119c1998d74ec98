"""What every training run needs, whoever starts it (a command, the demo, an experiment grid):
a pipeline built with the user's parameters, the task's data, its readable items, result files.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_json
from ..errors import DataError, ParameterError, RunFolderError
from ..params import fold_flat_params
from ..tasks import get_task


def accepted_params(cls, params: dict) -> dict:
    """Check `params` against the constructor of `cls`, naming any it does not take."""
    names = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(set(params) - names)
    if unknown:
        raise ParameterError(f"{cls.__name__} has no parameter {', '.join(unknown)}; it takes: {', '.join(sorted(names))}")
    return params


def build_pipeline(task: str, kind: str, params: dict, seed: int, run_dir: Path | None = None, on_error: str = "raise"):
    """The registered pipeline with the user's parameters (checked), the seed, and where it may keep checkpoints.

    Every parameter is validated here, so that a bad value fails before any data is read.
    """
    from ..registry import get_pipeline_class

    try:
        cls = get_pipeline_class(task, kind)
    except ValueError as err:  # an unknown pipeline; the registry's message lists the known ones
        raise ParameterError(str(err)) from None
    names = set(inspect.signature(cls.__init__).parameters)
    params = dict(accepted_params(cls, fold_flat_params(cls, params)))
    if "seed" in names:
        params.setdefault("seed", seed)
    if run_dir is not None and "checkpoint_dir" in names:
        params.setdefault("checkpoint_dir", str(Path(run_dir) / "checkpoints"))
    if "on_error" in names:
        params.setdefault("on_error", on_error)
    model = cls(**params)
    model._validate_params()
    return model


def group_kwargs(method, groups) -> dict:
    """{"groups": groups} when `method` takes them (speaker-level normalisation), else nothing."""
    if groups is None or "groups" not in inspect.signature(method).parameters:
        return {}
    return {"groups": groups}


def load_task_data(source: str, task: str | None, on_error: str = "raise"):
    """The data set `source` (a built-in name, a folder or a manifest), checked to belong to `task`.

    A path is read by the task's own reader for its layout (:meth:`e2elab.tasks.Task.read_source`);
    a built-in name, or any source when `task` is None, by :func:`e2elab.data.sources.load_dataset`.
    Items skipped while loading (``on_error="skip"``) are announced with one example.
    """
    from ..data.builtins import BUILTINS
    from ..data.sources import load_dataset

    if task is None or source in BUILTINS or not Path(source).expanduser().exists():
        dataset = load_dataset(source, on_error=on_error)  # names the missing path, with the built-ins
    else:
        dataset = get_task(task).read_source(Path(source).expanduser(), on_error=on_error)
    if task and dataset.task != task:
        raise DataError(source, f"is a {dataset.task} data set, not {task}")
    if dataset.skipped:
        print(f"skipped {len(dataset.skipped)} unreadable item(s), e.g. {dataset.skipped[0][0]}: {dataset.skipped[0][1]}")
    return dataset


def readable_items(X, task: str) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """(indices of the items of `X` that can be read, [(item, reason)] for the others).

    Reading every item once more costs a pass over the data; it is done only where the user asked
    to skip unreadable items, which the pipelines' predict and score do not do themselves.
    """
    declared = get_task(task)
    kept, skipped = [], []
    for i, item in enumerate(X):
        try:
            declared.read(item)
        except DataError as err:
            skipped.append((str(item) if isinstance(item, (str, Path)) else f"item {i}", err.reason))
        else:
            kept.append(i)
    return np.asarray(kept, dtype=int), skipped


def drop_unreadable(dataset, purpose: str):
    """`dataset` without the items that cannot be read, and those items, announced on stderr.

    For held-out data under ``on_error="skip"``: the pipelines skip unreadable items in fit, but
    predict and score read every item they are given.
    """
    kept, skipped = readable_items(dataset.X, dataset.task)
    if skipped:
        print(f"skipped {len(skipped)} unreadable {purpose} item(s), e.g. {skipped[0][0]}: {skipped[0][1]}", file=sys.stderr)
    return dataset.subset(kept), skipped


def write_json(path: Path, payload: dict) -> None:
    """Write `payload` as indented JSON, atomically; a failed write names the file."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, payload)
    except OSError as err:
        raise RunFolderError(f"{path}: cannot write it ({err.strerror or err})") from None
