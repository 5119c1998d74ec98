"""Pipelines registered by task and kind, the way timm registers models by name.

Each pipeline module decorates its estimator class with ``@register_pipeline(task, kind)``;
``make_pipeline("speech", "end-to-end", seed=0)`` then builds it without the caller importing it.
The task must be registered first (:mod:`e2elab.tasks`); its ``pipelines`` name the modules to
import when one of its pipelines is asked for.
"""

from __future__ import annotations

import importlib

from .tasks import get_task, tasks

_REGISTRY: dict[tuple[str, str], type] = {}


def register_pipeline(task: str, kind: str):
    """Class decorator: make `cls` the pipeline `kind` of `task` (a registered task)."""
    get_task(task)  # ParameterError naming the registered tasks

    def decorate(cls):
        cls.task = task
        cls.kind = kind
        _REGISTRY[(task, kind)] = cls
        return cls

    return decorate


def _import_declared(task_names) -> None:
    """Import the modules the tasks declare for their pipelines (imported lazily: `import e2elab` stays fast)."""
    for name in task_names:
        for kind, module in get_task(name).pipelines.items():
            if (name, kind) in _REGISTRY:
                continue
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as err:
                if err.name != module:  # a real missing dependency, not a pipeline not yet written
                    raise


def get_pipeline_class(task: str, kind: str) -> type:
    """The estimator class registered as `kind` of `task`."""
    if (task, kind) not in _REGISTRY:
        _import_declared([task])
    try:
        return _REGISTRY[(task, kind)]
    except KeyError:
        known = ", ".join(f"{t}/{k}" for t, k in sorted(_REGISTRY)) or "none"
        raise ValueError(f"no pipeline {kind!r} for task {task!r}; available: {known}") from None


def available_pipelines() -> list[tuple[str, str]]:
    """All (task, kind) pairs that are registered and importable."""
    _import_declared([task.name for task in tasks()])
    return sorted(_REGISTRY)


def pipeline_kinds(task: str) -> list[str]:
    """The pipelines registered for `task`: its declared ones in their order (end-to-end first), then any other."""
    declared = list(get_task(task).pipelines)
    _import_declared([task])
    registered = [kind for t, kind in sorted(_REGISTRY) if t == task]
    return [kind for kind in declared if kind in registered] + [kind for kind in registered if kind not in declared]


def make_pipeline(task: str, kind: str = "end-to-end", **params):
    """Build the pipeline `kind` of `task` with the given constructor parameters."""
    return get_pipeline_class(task, kind)(**params)
