"""What an exported ONNX file says about its model, in the file's metadata_props.

Every entry is one field, its value JSON text (``"task": "\\"image\\""``, ``"classes": "[\\"0\\", ...]"``),
so that any ONNX viewer shows the fields and e2elab reads them back exactly. The fields are
checked against :data:`SCHEMA` (the approach of model folders' ``e2elab.json``) before anything
is built from them.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ModelIntegrityError
from ..model_files import one_line
from ..version import __version__

FORMAT = "e2elab-onnx"
FORMAT_VERSION = 1

_STRINGS = {"type": "array", "items": {"type": "string"}}
_NUMBERS = {"type": "array", "items": {"type": "number"}}
_COMMON = {
    "format": {"const": FORMAT},
    "format_version": {"const": FORMAT_VERSION},
    "e2elab_version": {"type": "string"},
    "task": {"enum": ["image", "speech"]},
    "kind": {"const": "end-to-end"},
}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": list(_COMMON),
    "properties": _COMMON,
    "allOf": [
        {"if": {"properties": {"task": {"const": "image"}}},
         "then": {"required": ["classes", "input_size", "channels", "resize", "normalisation", "max_pixels"],
                  "properties": {
                      "classes": {**_STRINGS, "minItems": 2}, "input_size": {"type": "integer", "minimum": 1},
                      "channels": {"enum": [1, 3]}, "resize": {"type": "string"}, "max_pixels": {"type": "integer"},
                      "normalisation": {"type": "object", "required": ["mean", "std"],
                                        "properties": {"mean": _NUMBERS, "std": _NUMBERS}}}}},
        {"if": {"properties": {"task": {"const": "speech"}}},
         "then": {"required": ["alphabet", "sample_rate", "min_samples", "samples_per_frame", "max_seconds", "decoder",
                               "lexicon", "lm"],
                  "properties": {
                      "alphabet": {"type": "string", "minLength": 1}, "sample_rate": {"type": "integer", "minimum": 1},
                      "min_samples": {"type": "integer", "minimum": 1},
                      "samples_per_frame": {"type": "integer", "minimum": 1},
                      "max_seconds": {"type": ["number", "null"]}, "decoder": {"type": "object"},
                      "lexicon": _STRINGS, "lm": {"type": ["object", "null"]}}}},
    ],
}


def image_metadata(classifier) -> dict:
    """The fields of an exported EndToEndImageClassifier: what turns an item into the graph's input."""
    return {"classes": classifier.classes_.tolist(), "input_size": int(classifier.input_size_),
            "channels": int(classifier.channels_), "resize": classifier.resize, "max_pixels": int(classifier.max_pixels),
            "normalisation": {"mean": list(classifier.mean_), "std": list(classifier.std_)},
            "temperature": float(classifier.temperature_), "tta": bool(classifier.tta)}


def speech_metadata(recognizer, min_samples: int) -> dict:
    """The fields of an exported EndToEndSpeechRecognizer: reading clips, and decoding the graph's output."""
    from ..speech.ctc_decoding import CTCDecoding

    return {"alphabet": recognizer.vocabulary_.chars, "sample_rate": int(recognizer.sample_rate),
            "min_samples": int(min_samples), "samples_per_frame": int(recognizer.model_.samples_per_frame),
            "max_seconds": recognizer.max_seconds, "frontend": recognizer.frontend,
            "decoder": CTCDecoding.of(recognizer.decoder).to_dict(), "lexicon": list(recognizer.lexicon_),
            "lm": recognizer.lm_.to_json() if recognizer.lm_ is not None else None}


def metadata_props(model, fields: dict) -> dict[str, str]:
    """All the fields of `model`'s file (the common ones, then `fields`), each as JSON text."""
    common = {"format": FORMAT, "format_version": FORMAT_VERSION, "e2elab_version": __version__,
              "task": model.task, "kind": model.kind}
    return {key: json.dumps(value) for key, value in {**common, **fields}.items()}


def read_metadata(props: dict[str, str], path: Path) -> dict:
    """The checked fields of the ONNX file at `path`, from its metadata_props."""
    from ..model_files.meta import check_schema

    if "format" not in props:
        raise ModelIntegrityError(f"{path}: an ONNX file without e2elab metadata (not written by `e2elab export`, "
                                  "or cut short); export the model with `e2elab export MODEL --format onnx`")
    fields = {}
    for key, text in props.items():
        try:
            fields[key] = json.loads(text)
        except (ValueError, RecursionError) as err:
            raise ModelIntegrityError(f"{path}: metadata field {key!r} is not JSON ({one_line(err)})") from None
    if fields.get("format") != FORMAT:
        raise ModelIntegrityError(f"{path}: not an e2elab ONNX model (format {fields.get('format')!r})")
    if fields.get("format_version") != FORMAT_VERSION:
        raise ModelIntegrityError(f"{path}: exported in format version {fields.get('format_version')!r}; this e2elab "
                                  f"reads version {FORMAT_VERSION}; export the model again with this version")
    check_schema(fields, SCHEMA, path, "the metadata")
    return fields
