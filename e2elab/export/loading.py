"""One loader for both kinds of model file: a folder written by e2elab.save, or an exported ONNX file."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UnsafeModelError
from ..io import load
from ..model_files.signing import key_from_environment
from .onnx_model import load_onnx

ONNX_SUFFIX = ".onnx"


def load_any(path: str | os.PathLike, verify_key: bytes | str | None = None):
    """The model at `path`: an :class:`~e2elab.export.onnx_model.OnnxModel` for a ``.onnx`` file,
    else the pipeline :func:`e2elab.io.load` rebuilds from a model folder (verified with
    `verify_key`, or ``$E2ELAB_VERIFY_KEY``).

    An ONNX file carries no signature, so it is refused when a key asks for one.
    """
    path = Path(path)
    if path.suffix.lower() != ONNX_SUFFIX or path.is_dir():
        return load(path, verify_key=verify_key)
    if verify_key is not None or key_from_environment() is not None:
        raise UnsafeModelError(f"{path}: an ONNX file carries no signature, and a verify key asks for one; "
                               "use the signed model folder it was exported from")
    return load_onnx(path)
