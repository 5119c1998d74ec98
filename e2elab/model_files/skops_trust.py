"""The scikit-learn parts of a model: skops files rebuilt only from an exact list of names.

skops rebuilds an object by importing the module and name its schema gives and calling it (as a
class, or on an array, or with arguments), so every name the schema holds is code that would run.
A prefix rule ("anything under sklearn.") is not enough: a module's namespace also holds what it
imports, such as ``sklearn.utils._testing.check_output``, which is really
``subprocess.check_output``. So a file is read only when

* every name in its schema (and every name skops itself does not trust by default) is on
  :data:`TRUSTED_NAMES`, exactly;
* each of those names resolves to an object defined under that very name (its ``__module__`` and
  ``__qualname__`` give the name back), so a re-export can never stand in for a listed name;
* every node uses a loader on :data:`TRUSTED_LOADERS` (the ones that rebuild plain objects,
  containers and arrays; not the ones that call a constructor with arguments or fetch a method).

Anything else is an :class:`UnsafeModelError`; any failure while skops rebuilds the object is a
one-line :class:`ModelIntegrityError`.
"""

from __future__ import annotations

import functools
import importlib
import io
import json
import zipfile
from pathlib import Path

from ..errors import E2elabError, ModelIntegrityError, UnsafeModelError
from . import one_line

# What the pipelines' ModelState(sklearn=...) really hold: the traditional image classifier saves a
# scikit-learn Pipeline of e2elab steps and one of its classifiers (every combination of
# classifier, encoding and selection, listed with skops from fitted models), plus the containers,
# arrays and scalars skops writes for their attributes. A new pipeline part is added here by name.
TRUSTED_NAMES = frozenset({
    # containers and scalars skops writes for attributes and dict keys
    "builtins.dict", "builtins.list", "builtins.tuple", "builtins.str", "builtins.int", "builtins.float",
    "builtins.bool",
    "numpy.ndarray", "numpy.dtype", "numpy.float32", "numpy.float64", "numpy.int32", "numpy.int64", "numpy.bool",
    # scikit-learn
    "sklearn.pipeline.Pipeline",
    "sklearn.svm._classes.SVC",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    # e2elab's own pipeline steps
    "e2elab.image.extraction.DescriptorExtractor",
    "e2elab.image.encoding.FeatureEncoder",
    "e2elab.image.selection.FeatureSelector",
    "e2elab.image.kernels.PlattScaledClassifier",
    "e2elab.image.kernels.Chi2SVC",
})
TRUSTED_LOADERS = frozenset({"ObjectNode", "DictNode", "ListNode", "TupleNode", "JsonNode", "TypeNode", "NdArrayNode",
                             "DTypeNode"})
# A skops file is a zip; its members are read into memory while skops rebuilds the object. Four
# times the file limit allows for compressed arrays and stops a zip bomb.
MAX_SKOPS_UNPACKED_BYTES = 2 * 2**30
_SCHEMA_MEMBER = "schema.json"


def load_skops(data: bytes, path: Path):
    """The object in `data` (the bytes of the skops file `path`), or an error naming what is refused."""
    import skops.io as sio

    names, loaders = _schema_names(data, path)
    _refuse_unlisted(names, loaders, path)  # before skops itself reads the schema
    try:
        untrusted = set(sio.get_untrusted_types(data=data))
    except Exception as err:
        raise _broken(err, path) from None
    _refuse_unlisted(untrusted, set(), path)  # a name skops sees that the plain-JSON reading missed
    for name in sorted(names | untrusted):
        defined_as = _defined_name(name)
        if defined_as != name:
            raise UnsafeModelError(f"{path}: refused; {name} is not defined under that name "
                                   f"({defined_as or 'it does not resolve'}), so it is not the trusted type")
    try:
        return sio.loads(data, trusted=sorted(names | untrusted))
    except Exception as err:
        raise _broken(err, path) from None


def _refuse_unlisted(names: set[str], loaders: set[str], path: Path) -> None:
    refused = sorted(names - TRUSTED_NAMES) + sorted(f"loader {name}" for name in loaders - TRUSTED_LOADERS)
    if refused:
        raise UnsafeModelError(f"{path}: refused; it holds {', '.join(refused)[:500]}, which e2elab's trusted list of "
                               "types does not include")


def _schema_names(data: bytes, path: Path) -> tuple[set[str], set[str]]:
    """Every `module.name` and every loader in the file's schema, read as plain JSON (nothing imported)."""
    if data[:1] == b"\x80":
        raise UnsafeModelError(f"{path}: not a skops file; looks like a pickle, which e2elab never loads")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
            if unpacked > MAX_SKOPS_UNPACKED_BYTES:
                raise ModelIntegrityError(f"{path}: unpacks to {unpacked} bytes, over the limit of "
                                          f"{MAX_SKOPS_UNPACKED_BYTES}")
            schema = json.loads(archive.read(_SCHEMA_MEMBER))
    except E2elabError:
        raise
    except Exception as err:  # not a zip, no schema, schema not JSON, nested too deep
        raise ModelIntegrityError(f"{path}: not a valid skops file ({one_line(err)})") from None
    names, loaders = set(), set()
    pending = [schema]
    while pending:  # iterative: a crafted schema may nest deeper than Python's recursion limit
        node = pending.pop()
        if isinstance(node, dict):
            if "__class__" in node or "__module__" in node:
                names.add(f"{node.get('__module__')}.{node.get('__class__')}")
            if "__loader__" in node:
                loaders.add(str(node["__loader__"]))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return names, loaders


@functools.cache
def _defined_name(name: str) -> str | None:
    """The name under which the object called `name` is defined (`module.qualname`), or None.

    Only called for names on TRUSTED_NAMES, so only trusted modules are ever imported here.
    """
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute, None)
        module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        return f"{module}.{qualname}" if module and qualname else None
    return None


def _broken(err: Exception, path: Path) -> E2elabError:
    """A one-line error for a failure inside skops (RecursionError on a cyclic schema, TypeError, ...)."""
    if isinstance(err, E2elabError):
        return err
    return ModelIntegrityError(f"{path}: cannot be rebuilt by skops ({one_line(err)})")
