"""The models a server answers with, loaded from model folders or whole run folders.

A model folder (``RUN/model``, written by ``e2elab train``) or an exported ``.onnx`` file is one
model; a run folder of ``e2elab demo`` or ``train`` is every model folder under it, so that ``e2elab serve runs/demo`` puts both
pipelines of every task side by side. Each model is named ``<task>-<kind>`` (``-2``, ``-3`` for a
second of the same), the name clients use to choose it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RunFolderError
from ..io import META_FILE
from ..tasks import get_task

# The training record `e2elab train` (and the demo) writes beside the model folder.
TRAIN_RECORD = "train.json"
ONNX_SUFFIX = ".onnx"
TRAINING_KEYS = ("data", "n_train", "n_test", "held_out", "metric", "value")


@dataclass(frozen=True)
class ServedModel:
    name: str
    model: Any  # a fitted e2elab pipeline
    folder: Path
    training: dict | None  # what it was trained on and how it scored, when the run recorded it

    @property
    def exported(self) -> bool:
        """Whether the model is an exported ONNX graph: it answers, but has no stages or explanations."""
        return self.folder.suffix.lower() == ONNX_SUFFIX

    @property
    def stages(self) -> list:
        return [] if self.exported else list(self.model.stages)

    @property
    def task(self):
        return get_task(self.model.task)

    def describe(self) -> dict:
        """What ``GET /models`` says about the model."""
        task = self.task
        return {"name": self.name, "task": task.name, "kind": self.model.kind, "pipeline": type(self.model).__name__,
                "reads": task.item_kind, "predicts": task.target_kind, **vocabulary(self.model),
                "stages": [{"name": s.name, "kind": s.kind, "output": s.output} for s in self.stages],
                "training": self.training, "metric": {"name": task.metric, "meaning": task.error_name,
                                                      "value": (self.training or {}).get("value")}}


def vocabulary(model) -> dict:
    """What the model can answer: its classes, its alphabet (CTC) or its words (lexicon)."""
    if hasattr(model, "classes_"):
        return {"classes": [str(c) for c in model.classes_]}
    if hasattr(model, "vocabulary_") and hasattr(model.vocabulary_, "chars"):
        return {"alphabet": model.vocabulary_.chars}
    if hasattr(model, "words_"):
        return {"words": list(model.words_)}
    return {}


def model_folders(source: str | Path) -> list[Path]:
    """`source` itself when it is a model folder, else every model folder under it (hidden ones,
    such as a save in progress, left out); RunFolderError when there is none."""
    source = Path(source)
    if (source / META_FILE).is_file() or (source.is_file() and source.suffix.lower() == ONNX_SUFFIX):
        return [source]
    if not source.is_dir():
        raise RunFolderError(f"{source}: no such model or run folder")
    found = sorted(meta.parent for meta in source.rglob(META_FILE)
                   if not any(part.startswith(".") for part in meta.relative_to(source).parts))
    if not found:
        raise RunFolderError(f"{source}: holds no e2elab model ({META_FILE} neither in it nor below it); pass a model "
                             "folder (RUN/model of `e2elab train`) or a run folder of `e2elab demo` or `train`")
    return found


def load_any(path: Path, verify_key: bytes | None = None):
    """The model of a folder, or of an ONNX file through onnxruntime (the `export` extra)."""
    from ..export.loading import load_any as load_model_or_onnx

    return load_model_or_onnx(path, verify_key=verify_key)


def load_models(sources: list[str | Path], verify_key: bytes | None = None) -> dict[str, ServedModel]:
    """Every model of `sources` by its name, each loaded with e2elab's checks (signature, checksums)."""
    served: dict[str, ServedModel] = {}
    seen: set[Path] = set()
    for source in sources:
        for folder in model_folders(source):
            if folder.resolve() in seen:
                continue
            seen.add(folder.resolve())
            model = load_any(folder, verify_key=verify_key)
            name = _free_name(f"{model.task}-{model.kind}", served)
            served[name] = ServedModel(name=name, model=model, folder=folder, training=training_record(folder))
    return served


def training_record(model_folder: Path) -> dict | None:
    """The data and held-out score of the run that trained the model, from its train.json."""
    path = model_folder.parent / TRAIN_RECORD
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # a model saved from Python has no record; /models says so with null
    return {key: record[key] for key in TRAINING_KEYS if key in record} if isinstance(record, dict) else None


def _free_name(name: str, taken: dict) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{name}-{n}" in taken:
        n += 1
    return f"{name}-{n}"
