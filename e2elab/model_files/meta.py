"""``e2elab.json``: what a model folder must say about itself before any other file is read.

The format name and version are checked first, so that a folder of another format or version gets
a message about that rather than about its fields; then the whole document against
:data:`META_SCHEMA`; then the task and pipeline against the registry.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ModelIntegrityError
from ..registry import get_pipeline_class
from . import one_line
from .files import MAX_META_BYTES, read_model_file

FORMAT = "e2elab-model"
# Version 2: the pipelines' parameters were pruned to those users need (ablation knobs went) and
# policies became objects stored as dicts of their fields; version 1 folders name parameters that
# no longer exist. A format change adds its predecessor here only if loading it stays supported.
FORMAT_VERSION = 2
READABLE_FORMAT_VERSIONS = (2,)
META_FILE = "e2elab.json"
WEIGHTS_FILE = "weights.safetensors"
SKOPS_SUFFIX = ".skops"

META_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["format", "format_version", "task", "pipeline", "params", "state", "files"],
    "additionalProperties": False,
    "properties": {
        "format": {"const": FORMAT},
        "format_version": {"type": "integer"},
        "e2elab_version": {"type": "string"},
        "task": {"type": "string"},
        "pipeline": {"type": "string"},
        "class": {"type": "string"},
        "params": {"type": "object"},
        "state": {"type": "object"},
        # File name -> SHA-256. Names are checked with their own messages (files.check_entry_name).
        "files": {"type": "object", "additionalProperties": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
        "signature": {
            "type": "object",
            "required": ["alg", "value"],
            "additionalProperties": False,
            "properties": {"alg": {"type": "string"}, "value": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
        },
    },
}


def read_meta(path: Path) -> dict:
    """The parsed ``e2elab.json`` at `path` (a regular file of bounded size holding a JSON object)."""
    data = read_model_file(path, MAX_META_BYTES)
    try:
        meta = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ModelIntegrityError(f"{path}: not valid JSON ({one_line(err)})") from None
    if not isinstance(meta, dict):
        raise ModelIntegrityError(f"{path}: not an e2elab model (a JSON {type(meta).__name__}, not an object)")
    return meta


def check_meta(meta: dict, path: Path) -> type:
    """Refuse `meta` (read from `path`) unless it is a readable e2elab model; return its pipeline class."""
    if meta.get("format") != FORMAT:
        raise ModelIntegrityError(f"{path}: not an e2elab model (format {_short(meta.get('format'))})")
    version = meta.get("format_version")
    if type(version) is not int:
        raise ModelIntegrityError(f"{path}: format_version must be an integer, not {_short(version)}")
    if version > FORMAT_VERSION:
        raise ModelIntegrityError(f"{path}: saved by a newer e2elab (format version {version}; this e2elab reads "
                                  f"{_versions()}); upgrade e2elab to load it")
    if version not in READABLE_FORMAT_VERSIONS:
        raise ModelIntegrityError(f"{path}: saved by an older e2elab (format {version}; this e2elab reads format "
                                  f"{_versions()}); retrain it with this version")
    check_schema(meta, META_SCHEMA, path, "the top level")
    try:
        return get_pipeline_class(meta["task"], meta["pipeline"])
    except ValueError as err:
        raise ModelIntegrityError(f"{path}: {err}") from None


def _versions() -> str:
    return ", ".join(str(v) for v in READABLE_FORMAT_VERSIONS)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_schema(document, schema: dict, path, top: str) -> None:
    """ModelIntegrityError naming `path` and the offending field when `document` breaks `schema`
    (`top`: how to name the document itself when the error is at its root)."""
    import jsonschema

    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(document))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or top
        raise ModelIntegrityError(f"{path}: {where}: {' '.join(error.message.split())[:300]}")
