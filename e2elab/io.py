"""Saving and loading pipelines as safe, plain folders: model files are data, never code.

A model folder holds ``e2elab.json`` (format, pipeline, parameters, JSON state, and the SHA-256
of every other file), ``weights.safetensors`` (arrays) and one ``<name>.skops`` file per
scikit-learn part. Nothing is ever unpickled. Loading checks, before it rebuilds anything:

* ``e2elab.json`` against its schema, format version, and the registered tasks and pipelines;
* that every listed file is a plain name in the folder, a regular file (never a symbolic link),
  of bounded size, whose SHA-256 matches (checked on the very bytes that are then parsed);
* the safetensors header (length, JSON, every tensor inside the file);
* that skops files name only types on an exact trusted list, each defined where it says.

**Trusting a model from elsewhere.** Checksums catch damage, not tampering: whoever can change a
file can change its checksum. Sign models you publish and verify those you receive::

    e2elab.io.save(model, "model", sign_key=key)      # HMAC-SHA256 over e2elab.json
    e2elab.io.load("model", verify_key=key)           # refuses unsigned or wrongly signed folders

The key is bytes or a str. Without `verify_key`, ``load`` uses ``$E2ELAB_VERIFY_KEY`` when it is
set, so command-line users (``e2elab predict``, ``evaluate``, ...) verify with no new flag; with
neither, signed folders load like unsigned ones (the signature is not checked).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .version import __version__
from .atomic import atomic_write_bytes, atomic_write_json
from .base import ModelState
from .errors import E2elabError, ModelIntegrityError, RunFolderError, UnsafeModelError
from .model_files import one_line
from .model_files.files import MAX_SKOPS_BYTES, MAX_WEIGHTS_BYTES, check_entry_name, read_model_file
from .model_files.meta import FORMAT, FORMAT_VERSION, META_FILE, SKOPS_SUFFIX, WEIGHTS_FILE, check_meta, read_meta
from .model_files.safetensors_check import load_safetensors
from .model_files.signing import SIGNATURE_FIELD, key_from_environment, signature, verify
from .model_files.skops_trust import load_skops

__all__ = ["META_FILE", "WEIGHTS_FILE", "load", "save"]

PICKLE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".joblib", ".bin", ".ckpt")


def save(model, directory: str | os.PathLike, sign_key: bytes | str | None = None) -> Path:
    """Write `model` to `directory` atomically, signed with `sign_key` when one is given.

    The folder is written under a temporary name beside `directory`, then renamed over it: a
    failure (a full disk, an interrupt) leaves the previous model as it was and raises a
    RunFolderError naming the folder and the reason.
    """
    directory = Path(directory)
    state: ModelState = model._get_state()
    params = _jsonable(model.get_params(deep=False), "parameters")
    contents = _serialise(state)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "e2elab_version": __version__,
        "task": model.task,
        "pipeline": model.kind,
        "class": type(model).__name__,
        "params": params,
        "state": _jsonable(state.meta, "state"),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()},
    }
    if sign_key is not None:
        meta[SIGNATURE_FIELD] = signature(meta, sign_key)
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        _refuse_to_overwrite_other_folders(directory)
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    except OSError as err:
        raise RunFolderError(f"{directory}: cannot write the model there ({err.strerror or err})") from None
    try:
        for name, data in contents.items():
            atomic_write_bytes(staging / name, data)
        atomic_write_json(staging / META_FILE, meta, sort_keys=True)
        _replace_directory(staging, directory)
    except OSError as err:
        raise RunFolderError(f"{directory}: could not save the model ({err.strerror or err}); "
                             "any previous model there is unchanged") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return directory


def load(directory: str | os.PathLike, verify_key: bytes | str | None = None):
    """Rebuild the pipeline saved in `directory`, refusing pickles, tampered and unsafe folders.

    With `verify_key` (or ``$E2ELAB_VERIFY_KEY``), the folder must carry a valid signature.
    """
    directory = Path(directory)
    if directory.is_file():
        _refuse_non_model_file(directory)
    meta_path = directory / META_FILE
    if not os.path.lexists(meta_path):
        pickles = [p.name for p in directory.glob("*") if p.suffix in PICKLE_SUFFIXES] if directory.is_dir() else []
        if pickles:
            raise UnsafeModelError(f"{directory}: holds {', '.join(pickles)}, which would need pickle to load; "
                                   "e2elab never loads pickles")
        raise ModelIntegrityError(f"{directory}: not an e2elab model folder (no {META_FILE})")
    meta = read_meta(meta_path)
    pipeline_class = check_meta(meta, meta_path)
    key = verify_key if verify_key is not None else key_from_environment()
    if key is not None:
        verify(meta, key, meta_path)
    contents = _read_listed_files(directory, meta["files"], meta_path)
    arrays: dict[str, np.ndarray] = {}
    sklearn: dict[str, Any] = {}
    for name, data in contents.items():
        if name == WEIGHTS_FILE:
            arrays = load_safetensors(data, directory / name)
        else:
            sklearn[name[: -len(SKOPS_SUFFIX)]] = load_skops(data, directory / name)
    state = ModelState(meta=meta["state"], arrays=arrays, sklearn=sklearn)
    try:
        return pipeline_class._from_state(meta["params"], state)
    except E2elabError:
        raise
    except Exception as err:  # parameters or state that do not fit the pipeline (edited, or another version)
        raise ModelIntegrityError(f"{meta_path}: the saved parameters and state do not fit "
                                  f"{pipeline_class.__name__} ({one_line(err)})") from None


def _serialise(state: ModelState) -> dict[str, bytes]:
    """The bytes of every file besides e2elab.json, by file name; hashed as they are written."""
    contents: dict[str, bytes] = {}
    if state.arrays:
        from safetensors.numpy import save as safetensors_bytes

        arrays = {name: np.ascontiguousarray(value) for name, value in state.arrays.items()}
        contents[WEIGHTS_FILE] = safetensors_bytes(arrays)
    if state.sklearn:
        import skops.io as sio

        for name, obj in state.sklearn.items():
            contents[f"{name}{SKOPS_SUFFIX}"] = sio.dumps(obj)
    return contents


def _read_listed_files(directory: Path, files: dict[str, str], meta_path: Path) -> dict[str, bytes]:
    """Every file `meta_path` lists, read once and checked against its SHA-256 before any is parsed."""
    contents = {}
    for name, digest in files.items():
        check_entry_name(name, meta_path)
        if name == WEIGHTS_FILE:
            limit = MAX_WEIGHTS_BYTES
        elif name.endswith(SKOPS_SUFFIX):
            limit = MAX_SKOPS_BYTES
        else:
            raise ModelIntegrityError(f"{meta_path}: lists {name!r}, which is neither {WEIGHTS_FILE} nor a "
                                      f"{SKOPS_SUFFIX} file")
        data = read_model_file(directory / name, limit)
        if hashlib.sha256(data).hexdigest() != digest:
            raise ModelIntegrityError(f"{directory}: {name} does not match its checksum (changed or corrupt)")
        contents[name] = data
    return contents


def _refuse_non_model_file(path: Path):
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head[:1] == b"\x80" or path.suffix in PICKLE_SUFFIXES or head[:2] == b"PK":
        raise UnsafeModelError(f"{path}: looks like a pickle (or a zip of pickles, as torch.save writes); e2elab never "
                               "loads pickles. A model is a folder written by e2elab.save")
    if path.suffix.lower() == ".onnx":  # e2elab.export reads these; the layers keep that import out of this module
        raise ModelIntegrityError(f"{path}: an ONNX file; load it with e2elab.export.load_onnx (or load_any, which "
                                  "takes model folders too); e2elab.load reads model folders")
    raise ModelIntegrityError(f"{path}: a model is a folder written by e2elab.save, not a single file")


def _refuse_to_overwrite_other_folders(directory: Path):
    if not os.path.lexists(directory):
        return
    if directory.is_symlink() or not directory.is_dir():
        raise RunFolderError(f"{directory}: exists and is not a folder; refusing to overwrite it")
    if not (directory / META_FILE).exists() and any(directory.iterdir()):
        raise RunFolderError(f"{directory}: exists and is not an e2elab model folder; refusing to overwrite it")


def _replace_directory(staging: Path, directory: Path):
    """Rename `staging` to `directory`; an old model folder is moved aside first and put back on failure."""
    if not directory.exists():
        os.replace(staging, directory)
        return
    old = directory.with_name(f".{directory.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(directory, old)
    try:
        os.replace(staging, directory)
    except OSError:
        os.replace(old, directory)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _jsonable(value, what: str):
    """`value` with NumPy scalars and arrays turned into plain JSON types, and a settings object (a
    frozen dataclass such as an augmentation policy) into the dict of its fields, which the
    pipeline's `_from_state` turns back; anything else is an error."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value), what)
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
