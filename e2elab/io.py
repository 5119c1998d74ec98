"""Saving and loading pipelines as safe, plain folders.

A model folder holds ``e2elab.json`` (format, pipeline, parameters, JSON state, and the SHA-256
of every other file), ``weights.safetensors`` (arrays) and one ``<name>.skops`` file per
scikit-learn part. Nothing is ever unpickled: skops loads only types on a trusted list, and a
folder whose files do not match their recorded checksums is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .base import ModelState
from .errors import ModelIntegrityError, UnsafeModelError
from .registry import get_pipeline_class

FORMAT = "e2elab-model"
FORMAT_VERSION = 1
META_FILE = "e2elab.json"
WEIGHTS_FILE = "weights.safetensors"
# Module prefixes whose types skops may rebuild. Everything else is refused.
TRUSTED_MODULE_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.", "e2elab.")
# Of those, only these may contribute functions (a score_func such as f_classif); elsewhere only
# classes are trusted, since a function such as builtins.eval or numpy.load would run on the data.
FUNCTION_MODULE_PREFIXES = ("sklearn.", "e2elab.")
PICKLE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".joblib", ".bin", ".ckpt")


def save(model, directory: str | os.PathLike) -> Path:
    """Write `model` to `directory` atomically (a temporary folder, then a rename)."""
    directory = Path(directory)
    state: ModelState = model._get_state()
    params = _jsonable(model.get_params(deep=False), "parameters")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        files: dict[str, str] = {}
        if state.arrays:
            from safetensors.numpy import save_file

            arrays = {name: np.ascontiguousarray(value) for name, value in state.arrays.items()}
            save_file(arrays, str(staging / WEIGHTS_FILE))
            files[WEIGHTS_FILE] = _sha256(staging / WEIGHTS_FILE)
        if state.sklearn:
            import skops.io as sio

            for name, obj in state.sklearn.items():
                filename = f"{name}.skops"
                sio.dump(obj, staging / filename)
                files[filename] = _sha256(staging / filename)
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "e2elab_version": __version__,
            "task": model.task,
            "pipeline": model.kind,
            "class": type(model).__name__,
            "params": params,
            "state": _jsonable(state.meta, "state"),
            "files": files,
        }
        (staging / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
        _replace_directory(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


def load(directory: str | os.PathLike):
    """Rebuild the pipeline saved in `directory`, refusing pickles and tampered folders."""
    directory = Path(directory)
    if directory.is_file():
        _refuse_non_model_file(directory)
    meta_path = directory / META_FILE
    if not meta_path.exists():
        pickles = [p.name for p in directory.glob("*") if p.suffix in PICKLE_SUFFIXES] if directory.is_dir() else []
        if pickles:
            raise UnsafeModelError(f"{directory}: holds {', '.join(pickles)}, which would need pickle to load; e2elab never loads pickles")
        raise ModelIntegrityError(f"{directory}: not an e2elab model folder (no {META_FILE})")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as err:
        raise ModelIntegrityError(f"{meta_path}: not valid JSON ({err})") from None
    if meta.get("format") != FORMAT:
        raise ModelIntegrityError(f"{meta_path}: not an e2elab model (format {meta.get('format')!r})")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ModelIntegrityError(f"{meta_path}: saved by a newer e2elab (format {meta['format_version']}); upgrade e2elab")
    for filename, digest in meta.get("files", {}).items():
        path = directory / filename
        if not path.exists():
            raise ModelIntegrityError(f"{directory}: {filename} is missing")
        if _sha256(path) != digest:
            raise ModelIntegrityError(f"{directory}: {filename} does not match its checksum (changed or corrupt)")

    arrays: dict[str, np.ndarray] = {}
    sklearn: dict[str, Any] = {}
    for filename in meta.get("files", {}):
        path = directory / filename
        if filename == WEIGHTS_FILE:
            from safetensors.numpy import load_file

            arrays = load_file(str(path))
        elif filename.endswith(".skops"):
            sklearn[filename[: -len(".skops")]] = _load_skops(path)
    cls = get_pipeline_class(meta["task"], meta["pipeline"])
    return cls._from_state(meta["params"], ModelState(meta=meta["state"], arrays=arrays, sklearn=sklearn))


def _load_skops(path: Path):
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=path)
    refused = [t for t in untrusted if not _trusted_name(t)]
    if refused:
        raise UnsafeModelError(f"{path}: holds types outside the trusted list: {', '.join(refused)}")
    return sio.load(path, trusted=untrusted)


def _trusted_name(name: str) -> bool:
    """A type (or, from FUNCTION_MODULE_PREFIXES, a function) that skops may rebuild."""
    if not name.startswith(TRUSTED_MODULE_PREFIXES):
        return False
    if name.startswith(FUNCTION_MODULE_PREFIXES):
        return True
    return isinstance(_resolve_name(name), type)


def _resolve_name(name: str):
    """The object a dotted name refers to (its module is one of the trusted ones), or None."""
    import importlib

    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return None
        return obj
    return None


def _refuse_non_model_file(path: Path):
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head[:1] == b"\x80" or path.suffix in PICKLE_SUFFIXES or head[:2] == b"PK":
        raise UnsafeModelError(f"{path}: looks like a pickle (or a zip of pickles, as torch.save writes); e2elab never loads pickles. "
                               "A model is a folder written by e2elab.save")
    raise ModelIntegrityError(f"{path}: a model is a folder written by e2elab.save, not a single file")


def _replace_directory(staging: Path, directory: Path):
    """Rename `staging` to `directory`, replacing an old model folder without a moment of neither."""
    if directory.exists():
        if not (directory / META_FILE).exists() and any(directory.iterdir()):
            raise FileExistsError(f"{directory} exists and is not an e2elab model folder; refusing to overwrite it")
        old = directory.with_name(f".{directory.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(directory, old)
        os.replace(staging, directory)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, directory)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _jsonable(value, what: str):
    """`value` with NumPy scalars and arrays turned into plain JSON types; anything else is an error."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v, what) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, what) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot save {what}: {type(value).__name__} value {value!r} is not plain JSON")
