"""What the server accepts: request size, file names, content types told from the bytes, image
pixels, clip length and sentence length.

Every limit is checked before the expensive step it protects: the request size before the body is
read (and again while it streams, for a client that sends no Content-Length), the pixels and the
clip length from the file's header before it is decoded. So a 12000 x 12000 PNG or a ten-minute
clip costs a header read, not gigabytes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from ..data.sniff import sniff_format
from .errors import ApiError, error_response


@dataclass(frozen=True)
class Limits:
    """The most one request may hold. The defaults suit a laptop serving a few people."""

    max_request_bytes: int = 20 * 2**20
    max_files: int = 16
    max_image_pixels: int = 25_000_000  # 5000 x 5000, a large phone photo
    max_audio_seconds: float = 60.0
    max_text_chars: int = 2000

    def __post_init__(self):
        for name in ("max_request_bytes", "max_files", "max_image_pixels", "max_audio_seconds", "max_text_chars"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Limits.{name} must be positive, got {getattr(self, name)!r}")


class RequestSizeLimit:
    """ASGI middleware refusing a body over `max_bytes` with 413: at once when Content-Length says
    so, otherwise as soon as the streamed body passes the limit."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = error_response(413, "payload_too_large", self._message(int(declared)))
            return await response(scope, receive, send)
        received = 0

        async def counted_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # Raised inside the endpoint that reads the body, so the error handlers answer it.
                raise ApiError(413, "payload_too_large", self._message(received, streamed=True))
            return message

        return await self.app(scope, counted_receive, send)

    def _message(self, n_bytes: int, streamed: bool = False) -> str:
        size = f"over {n_bytes:,} bytes" if streamed else f"{n_bytes:,} bytes"
        return f"the request is {size}, over this server's limit of {self.max_bytes:,} bytes; send smaller or fewer files"


def check_file_name(name: str | None) -> str:
    """`name` when it is a plain file name; a path, a control character or no name at all is refused
    (400), so that no client-chosen name ever reaches the file system or a log line unexamined."""
    if not name:
        raise ApiError(400, "bad_file_name", "an uploaded file has no name; send it with its file name (e.g. photo.png)")
    if "/" in name or "\\" in name or name in (".", "..") or len(name) > 255 or any(ord(c) < 32 or c == "\x7f" for c in name):
        raise ApiError(400, "bad_file_name", f"file name {name!r} is a path or holds control characters; "
                                             "send the file under its own plain name (e.g. photo.png)")
    return name


def sniffed_kind(path: Path, name: str, readable_kinds: tuple[str, ...]) -> str:
    """The item kind ("image", "audio") the bytes at `path` show, one of `readable_kinds`.

    The name is never trusted: bytes of another kind are refused (415) whatever the name says,
    and so are bytes of a readable kind under the name of another one (a WAV named photo.png),
    which is a mistake the user should hear about rather than an answer to the wrong question.
    """
    from ..tasks import task_for_file

    if path.stat().st_size == 0:
        raise ApiError(400, "empty_file", f"{name}: the file is empty (zero bytes)")
    found = sniff_format(path)
    kind = found.rsplit(" ", 1)[-1] if found else None
    if kind not in readable_kinds:
        looks = f"the bytes look like {_a(found)}" if found else "its bytes are no format this server reads"
        raise ApiError(415, "unsupported_content", f"{name}: not {' or '.join(readable_kinds)} data: {looks}")
    named = task_for_file(name)
    if named is not None and named.item_kind != kind:
        raise ApiError(415, "unsupported_content", f"{name}: named like {_a(named.item_kind)} file, but its bytes "
                                                   f"are {_a(found)}; rename it or send the right file")
    return kind


def check_image_pixels(path: Path, name: str, max_pixels: int) -> None:
    """Refuse an image whose header declares more than `max_pixels` (422), before it is decoded."""
    from PIL import Image

    with warnings.catch_warnings():
        # Pillow's own bomb guard warns at 89 Mpx and raises at twice that; the limit here is lower.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                width, height = image.size
        except Image.DecompressionBombError:
            width = height = None
        except Exception:  # noqa: BLE001 - unreadable (Pillow raises many types): the decoder names what is wrong
            return
    if width is None or width * height > max_pixels:
        size = "over 178 million pixels" if width is None else f"{width} x {height} = {width * height:,} pixels"
        raise ApiError(422, "image_too_large", f"{name}: the image is {size}, over this server's limit of "
                                               f"{max_pixels:,} pixels; send a smaller image")


def check_clip_seconds(path: Path, name: str, max_seconds: float) -> None:
    """Refuse a clip whose header declares more than `max_seconds` (422), before it is decoded."""
    from ..data.audio import audio_duration
    from ..errors import AudioError

    try:
        seconds = audio_duration(path)
    except AudioError:
        return  # the decoder names what is wrong
    if seconds > max_seconds:
        raise ApiError(422, "clip_too_long", f"{name}: the clip is {seconds:.1f} s long, over this server's limit "
                                             f"of {max_seconds:g} s; send a shorter clip")


def check_text(text: str, max_chars: int) -> str:
    """A sentence to translate: not blank, at most `max_chars` characters."""
    if not text.strip():
        raise ApiError(400, "empty_text", "the 'text' field is empty; type a sentence to translate")
    if len(text) > max_chars:
        raise ApiError(422, "text_too_long", f"the 'text' field is {len(text):,} characters, over this server's "
                                             f"limit of {max_chars:,}; send one sentence or a short paragraph")
    return text


def _a(words: str) -> str:
    return f"{'an' if words[0].lower() in 'aeiou' else 'a'} {words}"
