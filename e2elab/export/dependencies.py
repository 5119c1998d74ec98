"""The optional packages of ONNX export and inference (``pip install 'e2elab[export]'``)."""

from __future__ import annotations

import importlib

from ..errors import E2elabError

EXTRA_HINT = "pip install 'e2elab[export]'"


def require(module: str):
    """The imported `module` (onnx, onnxruntime, onnxscript), or an error that says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise E2elabError(f"ONNX export and inference need {module} ({err}): {EXTRA_HINT}") from None
