"""Pipelines registered by task and kind, the way timm registers models by name.

Each pipeline module decorates its estimator class with ``@register_pipeline(task, kind)``;
``make_pipeline("speech", "end-to-end", seed=0)`` then builds it without the caller importing it.
"""

from __future__ import annotations

import importlib

TASKS = ("speech", "image")
KINDS = ("end-to-end", "traditional")

# Modules that register pipelines when imported; imported lazily so that `import e2elab` stays fast.
_PIPELINE_MODULES = {
    ("speech", "end-to-end"): "e2elab.speech.end_to_end",
    ("speech", "traditional"): "e2elab.speech.traditional",
    ("image", "end-to-end"): "e2elab.image.end_to_end",
    ("image", "traditional"): "e2elab.image.traditional",
}

_REGISTRY: dict[tuple[str, str], type] = {}


def register_pipeline(task: str, kind: str):
    """Class decorator: make `cls` the pipeline `kind` of `task`."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")

    def decorate(cls):
        cls.task = task
        cls.kind = kind
        _REGISTRY[(task, kind)] = cls
        return cls

    return decorate


def _import_known() -> None:
    for key, module in _PIPELINE_MODULES.items():
        if key not in _REGISTRY:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as err:
                if err.name != module:  # a real missing dependency, not a pipeline not yet written
                    raise


def get_pipeline_class(task: str, kind: str) -> type:
    """The estimator class registered as `kind` of `task`."""
    if (task, kind) not in _REGISTRY:
        _import_known()
    try:
        return _REGISTRY[(task, kind)]
    except KeyError:
        known = ", ".join(f"{t}/{k}" for t, k in sorted(_REGISTRY)) or "none"
        raise ValueError(f"no pipeline {kind!r} for task {task!r}; available: {known}") from None


def available_pipelines() -> list[tuple[str, str]]:
    """All (task, kind) pairs that are registered and importable."""
    _import_known()
    return sorted(_REGISTRY)


def make_pipeline(task: str, kind: str = "end-to-end", **params):
    """Build the pipeline `kind` of `task` with the given constructor parameters."""
    return get_pipeline_class(task, kind)(**params)
