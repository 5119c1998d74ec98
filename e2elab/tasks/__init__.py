"""The task registry: what a task reads, predicts and is measured by, declared once.

A task is a registration, not a word spelled across the tree. The Dataset, the splits, the
command line's TASK choices, the experiments, explain and the report all read the :class:`Task`
registered under the data set's or the model's task name. ``speech`` and ``image`` are the two
registrations of :mod:`e2elab.tasks.speech` and :mod:`e2elab.tasks.image`; a new task is a new
module that calls :func:`register_task`.

What a task points at in the layers above this one (its pipelines, readers, scoring, explainers
and report figures) is a *reference*: either the object itself or its name as
``"package.module:name"``, imported only when first used (:func:`resolve`). So this package
imports nothing of e2elab but its errors, and every other layer may import it.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import DataError, ParameterError

# How splits hold data out: whole groups always (a model that has heard the test speaker proves
# little), stratified by class unless the data set names real groups, or items at random (where
# targets are free text, so no class can be stratified on).
HOLDOUTS = ("groups", "classes", "items")
# What a learning curve counts: training items, or whole groups (every item of n speakers).
CURVE_UNITS = ("items", "groups")
# Source layouts a task may read (see source_layout); each maps to a reader in Task.readers.
LAYOUTS = ("folder", "table", "jsonl", "kaldi")
# The built-in tasks and the modules that register them, imported on the first look-up so that
# `import e2elab` stays fast.
BUILTIN_TASKS = {"speech": "e2elab.tasks.speech", "image": "e2elab.tasks.image",
                 "translation": "e2elab.tasks.translation", "detection": "e2elab.tasks.detection"}


def complement(score: float) -> float:
    """1 - score: a pipeline's score (accuracy, 1 - WER) as the error the reports use."""
    return 1.0 - score


@dataclass(frozen=True)
class ReportSection:
    """What the report draws for a task's runs.

    confusion: reference to ``f(confusion_file_content) -> (labels, matrix) | None``, the square
    count matrix the report draws from a ``confusion_<pipeline>.json``.
    size_label: the x axis of its learning curves ("training items", "training speakers").
    examples: reference to ``f(cells: list[dict]) -> str``, the task's example outputs as an HTML
    fragment (figures inline): ``cells`` are the finished cells of one experiment (each
    ``{"spec", "result"}``), those of each pipeline's first split and seed holding under
    ``result["examples"]`` a few test items with their targets and predictions; None: the report
    shows no examples for the task.
    """

    confusion: Any
    size_label: str
    examples: Any = None


@dataclass(frozen=True)
class Task:
    """One task: its items and targets, its metric, its data readers, its pipelines, its report.

    name: the word users type (``e2elab train NAME``) and data sets and models carry.
    item_kind: what an item is, in words ("audio", "image"); it is also the word
        :func:`e2elab.data.sniff.sniff_format` ends a file's description with.
    target_kind: what is predicted ("transcript", "class").
    metric: the key of the error in result files ("wer", "error"); lower is better.
    error_name: that error for people ("word error rate").
    error_from_score: how a pipeline's ``score`` (higher is better) becomes that error.
    extensions: reference to the file extensions of its items (lower case, with the dot).
    read_item: reference to ``f(item) -> array``, reading one raw item (a path or an array) and
        raising DataError when it cannot: the readability check of ``--on-error skip``.
    readers: {layout: reference to ``f(path, [task=], on_error=) -> Dataset``} for the source
        layouts it can be read from (see :data:`LAYOUTS`).
    pipelines: {kind: module that registers that pipeline when imported}, end-to-end first.
    scores: reference to ``f(truth, predicted, classes) -> dict`` with the cell's "metric" and
        "confusion" (and any further measures, e.g. "accuracy") of one experiment cell.
    explainers: {kind: reference to ``f(model, inputs, names, methods=, out_dir=, target=, **options)``}.
    report: its :class:`ReportSection`.
    holdout: "groups", "classes" or "items" (see :data:`HOLDOUTS`).
    group_name: what one of its groups is ("speaker"); messages add the plural "s".
    curve_unit: "items" or "groups" (see :data:`CURVE_UNITS`).
    inputs: reference to ``f(inputs: list[str]) -> (items, names)``, how the command line's
        INPUT arguments of predict and explain become items (a sentence typed in, a text file's
        lines); None: every input is a file of the task's item kind.
    claims: reference to ``f(path) -> bool``, whether a folder or manifest is unmistakably this
        task's (a folder with a ``boxes.tsv``), so that it is read right without naming the task;
        None: the task is named, or told from the files' extensions.
    """

    name: str
    item_kind: str
    target_kind: str
    metric: str
    error_name: str
    extensions: Any
    read_item: Any
    readers: Mapping[str, Any]
    pipelines: Mapping[str, str]
    scores: Any
    report: ReportSection
    explainers: Mapping[str, Any] = field(default_factory=dict)
    error_from_score: Callable[[float], float] = complement
    holdout: str = "classes"
    group_name: str = "group"
    curve_unit: str = "items"
    inputs: Any = None
    claims: Any = None

    def __post_init__(self):
        for name, value, allowed in (("holdout", self.holdout, HOLDOUTS), ("curve_unit", self.curve_unit, CURVE_UNITS)):
            if value not in allowed:
                raise ParameterError(f"task {self.name!r}: {name} must be one of {allowed}, not {value!r}")
        unknown = sorted(set(self.readers) - set(LAYOUTS))
        if unknown:
            raise ParameterError(f"task {self.name!r}: unknown source layout(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(LAYOUTS)}")
        # Mappings become read-only views, so that a registered task cannot be edited in place.
        for name in ("readers", "pipelines", "explainers"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    @property
    def file_extensions(self) -> tuple[str, ...]:
        return tuple(resolve(self.extensions))

    def reads_file(self, path: str | Path) -> bool:
        """Whether `path`'s extension is one of this task's item files."""
        return Path(path).suffix.lower() in self.file_extensions

    def read(self, item):
        """One raw item decoded, or DataError naming it."""
        return resolve(self.read_item)(item)

    def read_source(self, path: str | Path, on_error: str = "raise") -> Any:
        """The Dataset in the folder or manifest at `path`, read by this task's reader for its layout."""
        path = Path(path)
        layout = source_layout(path)
        if layout not in self.readers:
            readable = ", ".join(self.readers) or "nothing"
            raise DataError(path, f"a {self.name} data set cannot be read from a {layout} (it is read from: {readable})")
        reader = resolve(self.readers[layout])
        if "task" in inspect.signature(reader).parameters:
            return reader(path, task=self.name, on_error=on_error)
        return reader(path, on_error=on_error)

    def explainer(self, kind: str) -> Callable:
        """The explain function of pipeline `kind`; ParameterError when the task has none."""
        if kind not in self.explainers:
            raise ParameterError(f"no explanation method for the {self.name} {kind!r} pipeline "
                                 f"(explained: {', '.join(self.explainers) or 'none'})")
        return resolve(self.explainers[kind])


_TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    """Make `task` known under its name; registering a second task of the same name is refused."""
    if task.name in _TASKS and _TASKS[task.name] != task:
        raise ParameterError(f"a task named {task.name!r} is already registered")
    _TASKS[task.name] = task
    return task


def unregister_task(name: str) -> None:
    """Forget task `name` (a test that registered a task of its own undoes it this way)."""
    _TASKS.pop(name, None)


def get_task(name: str) -> Task:
    """The task registered as `name`; ParameterError naming the known ones otherwise."""
    if name not in _TASKS and name in BUILTIN_TASKS:
        importlib.import_module(BUILTIN_TASKS[name])
    try:
        return _TASKS[name]
    except (KeyError, TypeError):
        raise ParameterError(f"unknown task {name!r}; expected one of {', '.join(task_names())}") from None


def task_claiming(path: str | Path) -> Task | None:
    """The registered task whose ``claims`` recognises the source at `path`, or None."""
    for task in tasks():
        if task.claims is not None and resolve(task.claims)(Path(path)):
            return task
    return None


def tasks() -> list[Task]:
    """Every registered task: the built-ins first, then the others in the order they were registered."""
    builtins = [get_task(name) for name in BUILTIN_TASKS]
    return builtins + [task for name, task in _TASKS.items() if name not in BUILTIN_TASKS]


def task_names() -> list[str]:
    """The registered tasks' names, in the order of :func:`tasks`."""
    return [task.name for task in tasks()]


def task_for_file(path: str | Path) -> Task | None:
    """The first registered task whose items have `path`'s extension, or None."""
    return next((task for task in tasks() if task.reads_file(path)), None)


def source_layout(path: Path) -> str:
    """How the data set at `path` is laid out: "kaldi" (a folder with wav.scp), "folder",
    "table" (.tsv / .csv), "jsonl" (.jsonl / .json), or the file's extension when none of these."""
    if path.is_dir():
        return "kaldi" if (path / "wav.scp").exists() else "folder"
    suffix = path.suffix.lower()
    return {".tsv": "table", ".csv": "table", ".jsonl": "jsonl", ".json": "jsonl"}.get(suffix, suffix or "file")


def resolve(reference):
    """The object a reference names: ``"package.module:name"`` is imported; anything else is itself."""
    if not isinstance(reference, str):
        return reference
    module, _, name = reference.partition(":")
    if not name:
        raise ParameterError(f"{reference!r} is not a reference of the form 'package.module:name'")
    return getattr(importlib.import_module(module), name)


__all__ = ["ReportSection", "Task", "get_task", "register_task", "resolve", "task_for_file", "task_names", "tasks",
           "unregister_task"]
