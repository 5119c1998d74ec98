"""Transcript normalisation: the character alphabet every speech pipeline shares."""

from __future__ import annotations

import re
import unicodedata

from ..errors import DataError

# Letters, apostrophe and space: enough to write any English transcript.
ALPHABET = "abcdefghijklmnopqrstuvwxyz' "

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

_PUNCTUATION = re.compile(r"[\-_.,;:!?\"()\[\]{}/\\–—…“”‘’`*]+")
_SPACES = re.compile(r"\s+")


def normalize_transcript(text: str, source: str | None = None) -> str:
    """Lower-case, strip accents, spell digits, drop punctuation; reject anything else.

    `source` (a file or manifest line) is named in the error when a character cannot be mapped.
    """
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("’", "'").replace("‘", "'")
    text = re.sub(r"\d", lambda m: f" {DIGIT_WORDS[int(m.group())]} ", text)
    text = _PUNCTUATION.sub(" ", text)
    text = _SPACES.sub(" ", text).strip()
    bad = sorted({ch for ch in text if ch not in ALPHABET})
    if bad:
        raise DataError(source, f"transcript {text!r} has characters outside the alphabet: {''.join(bad)!r}")
    return text
