"""What a file really holds, told from its first bytes, for errors about files with the wrong name.

A JPEG saved as ``clip.wav`` or a web page saved as ``photo.jpg`` fails deep inside a decoder
with a message about the decoder; naming what the file looks like tells the user what happened.
"""

from __future__ import annotations

import codecs
from pathlib import Path

# (offset, magic bytes, what the file is); the RIFF and FORM containers are told apart by the
# form type at offset 8.
_SIGNATURES = (
    (0, b"\xff\xd8\xff", "JPEG image"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG image"),
    (0, b"GIF87a", "GIF image"),
    (0, b"GIF89a", "GIF image"),
    (8, b"WEBP", "WebP image"),
    (0, b"II*\x00", "TIFF image"),
    (0, b"MM\x00*", "TIFF image"),
    (0, b"BM", "BMP image"),
    (8, b"WAVE", "WAV audio"),
    (0, b"fLaC", "FLAC audio"),
    (0, b"OggS", "Ogg audio"),
    (0, b"ID3", "MP3 audio"),
    (8, b"AIFF", "AIFF audio"),
    (8, b"AIFC", "AIFF audio"),
    (0, b".snd", "AU audio"),
    (0, b"%PDF", "PDF document"),
    (0, b"PK\x03\x04", "ZIP archive"),
    (0, b"\x1f\x8b", "gzip archive"),
)
_HEAD_BYTES = 512


def sniff_format(path: str | Path) -> str | None:
    """"JPEG image", "WAV audio", "HTML page", "text file", ... from the first bytes; None when unknown."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError:
        return None
    for offset, magic, name in _SIGNATURES:
        if head[offset:offset + len(magic)] == magic:
            return name
    # MPEG audio frames without an ID3 tag start with an 11-bit frame sync.
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "MP3 audio"
    try:
        # Incremental, so that a character cut at the end of the head is not taken for binary.
        text = codecs.getincrementaldecoder("utf-8")().decode(head)
    except UnicodeDecodeError:
        return None
    if text.lstrip().lower().startswith(("<!doctype html", "<html")):
        return "HTML page"
    if text and all(ch.isprintable() or ch.isspace() for ch in text):
        return "text file"
    return None


def other_format(path: str | Path, expected: str) -> str | None:
    """What `path` looks like ("a JPEG image") when that is known and is not `expected`
    ("audio" or "image"); None otherwise."""
    found = sniff_format(path)
    if found is None or found.endswith(expected):
        return None
    return f"{'an' if found[0] in 'AEIOU' else 'a'} {found}"
