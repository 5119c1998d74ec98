"""A request's inputs: uploaded files spooled into a private folder and checked, or a sentence.

``POST /predict`` and ``POST /explain`` take a multipart form (``file`` fields, one or many, and
text fields), a URL-encoded form (text fields only, as ``curl -d text=...`` sends) or a JSON
object (``{"text": ..., "models": [...]}``) for a client that has a sentence and no file. Nothing
the client names is used as a path: each file is stored under a name the server makes, and the
client's name is only echoed back in answers.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from ..data.audio import DEFAULT_SAMPLE_RATE, load_audio
from ..data.image import as_image
from ..errors import DataError
from .errors import ApiError, unreadable
from .limits import (
    Limits,
    check_clip_seconds,
    check_file_name,
    check_image_pixels,
    check_text,
    sniffed_kind,
)

CHUNK_BYTES = 1 << 16
TEXT_KIND = "text"
MULTIPART = "multipart/form-data"
# A URL-encoded form carries no files, but is what an HTML form or `curl -d` sends a sentence as.
FORM_TYPES = (MULTIPART, "application/x-www-form-urlencoded")


@dataclass
class Input:
    """One input of a request: a checked file (`path`, `kind` told from its bytes) or a sentence."""

    name: str
    kind: str
    path: Path | None = None
    text: str | None = None

    def decode(self, limits: Limits):
        """The raw item the pipelines take: an image array, a (waveform, rate) pair, or the sentence.

        Decoded here, once, with the server's limits, so that no pipeline reads the file with its own
        (more generous) ones; errors name the client's file, not the private copy.
        """
        if self.kind == TEXT_KIND:
            return self.text
        try:
            if self.kind == "image":
                check_image_pixels(self.path, self.name, limits.max_image_pixels)
                return as_image(self.path, max_pixels=limits.max_image_pixels)
            check_clip_seconds(self.path, self.name, limits.max_audio_seconds)
            # Decoded at the common rate and passed with it, so a model working at another rate resamples.
            return load_audio(self.path, DEFAULT_SAMPLE_RATE, max_seconds=limits.max_audio_seconds), DEFAULT_SAMPLE_RATE
        except DataError as err:
            raise unreadable(type(err)(self.name, err.reason)) from None


@dataclass
class ParsedRequest:
    inputs: list[Input]
    fields: dict[str, list[str]] = field(default_factory=dict)

    def field(self, name: str) -> str | None:
        values = self.fields.get(name) or []
        return values[0] if values else None

    def names(self, name: str) -> list[str]:
        """A field given as repeated values, a comma-separated list, or (JSON) a list, as one list."""
        return [part.strip() for value in self.fields.get(name, []) for part in value.split(",") if part.strip()]


async def read_request(request: Request, folder: Path, limits: Limits, readable_kinds: tuple[str, ...]) -> ParsedRequest:
    """The inputs and fields of a multipart, URL-encoded or JSON request; files are copied into `folder`."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        parsed = _from_json(await request.body())
    elif content_type in FORM_TYPES:
        parsed = await _from_form(request, folder, limits, readable_kinds, multipart=content_type == MULTIPART)
    elif not content_type and not await request.body():
        raise ApiError(400, "empty_request", _WHAT_TO_SEND)
    else:
        raise ApiError(415, "unsupported_media_type", f"cannot read a {content_type or 'typeless'} request; {_WHAT_TO_SEND}")
    text = parsed.field("text")
    if text is not None:
        parsed.inputs.append(Input(name="text", kind=TEXT_KIND, text=check_text(text, limits.max_text_chars)))
    if not parsed.inputs:
        raise ApiError(400, "empty_request", f"the request holds no input; {_WHAT_TO_SEND}")
    return parsed


_WHAT_TO_SEND = ("send a multipart form with one or more 'file' fields (an image or an audio clip), or a 'text' "
                 "field, or a JSON object {\"text\": ...} for a translation model")


def _from_json(body: bytes) -> ParsedRequest:
    if not body.strip():
        raise ApiError(400, "empty_request", f"the JSON body is empty; {_WHAT_TO_SEND}")
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON ({err})") from None
    if not isinstance(document, dict):
        raise ApiError(400, "malformed_json", f"the JSON body must be an object, not {type(document).__name__}")
    fields = {}
    for key, value in document.items():
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in values):
            raise ApiError(400, "malformed_json", f"JSON field {key!r} must be a string or a list of strings")
        fields[key] = values
    return ParsedRequest(inputs=[], fields=fields)


async def _from_form(request: Request, folder: Path, limits: Limits, readable_kinds: tuple[str, ...],
                     multipart: bool) -> ParsedRequest:
    form = await request.form(max_files=limits.max_files, max_fields=32)
    if multipart and not form and int(request.headers.get("content-length") or 0) > 0:
        # The parser drops a part whose closing boundary never came, so a cut-off body parses as empty.
        raise ApiError(400, "incomplete_form", "the multipart body holds no complete part: it was cut off, or its "
                                               "boundary does not match the one in the Content-Type header")
    inputs, fields = [], {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key != "file":
                raise ApiError(400, "bad_request", f"files go in the 'file' field, not {key!r}")
            name = check_file_name(value.filename)
            path = folder / f"upload-{len(inputs)}"  # the server's name, never the client's
            await _copy(value, path)
            inputs.append(Input(name=name, kind=sniffed_kind(path, name, readable_kinds), path=path))
        else:
            fields.setdefault(key, []).append(value)
    await form.close()
    return ParsedRequest(inputs=inputs, fields=fields)


async def _copy(upload: UploadFile, path: Path) -> None:
    """Copy the spooled upload to `path` on a thread, so that disk writes never block the event loop."""
    def copy():
        upload.file.seek(0)
        with open(path, "wb") as out:
            shutil.copyfileobj(upload.file, out, CHUNK_BYTES)

    await run_in_threadpool(copy)


def one_item(value) -> np.ndarray:
    """`value` as a one-item object array, the X a pipeline takes (an array item stays one item)."""
    items = np.empty(1, dtype=object)
    items[0] = value
    return items
