"""The limits both speech pipelines put on a clip: not too long to process, not too short to learn from.

Too long: a clip over `max_seconds` is refused before it is decoded (a file, from its header) or
right after (an array), so one hour-long recording cannot stall training, prediction or an
explanation. Too short: a transcript needs a minimum number of frames (CTC: one per character and
one blank between repeated characters; an HMM: one per emitting state of the words' phones); a
clip with fewer would be trained on silently (CTC's infinite loss zeroed, an HMM utterance
dropped), so it is an error that says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.audio import DEFAULT_SAMPLE_RATE, as_waveform
from ..errors import AudioError


def read_clip(item, sample_rate: int, max_seconds: float | None, name: str,
              bare_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """One speech item (path, array at `bare_rate`, or (array, rate)) as a waveform at `sample_rate`.

    Raises AudioError naming `name` for an unusable clip or one longer than `max_seconds` (None: no limit).
    """
    if not isinstance(item, (str, Path, tuple)):
        item = (item, bare_rate)
    try:
        wave = as_waveform(item, sample_rate, max_seconds=max_seconds)
    except AudioError as err:
        if err.source is None:  # an array's error names no file; say which item it was
            raise AudioError(name, err.reason) from None
        raise
    if max_seconds is not None and len(wave) > max_seconds * sample_rate:
        raise AudioError(name, f"clip is {len(wave) / sample_rate:.1f} s long, over the limit of {max_seconds:g} s")
    return wave


def too_short(name: str, seconds: float, n_words: int, needed: int, available: int, model: str) -> AudioError:
    """The error for a clip with fewer frames than its transcript needs."""
    return AudioError(name, f"{seconds:.3g} s is too short for a {n_words}-word transcript ({model} needs at least "
                            f"{needed} frames, the clip gives {available})")


def ctc_frames_needed(labels: list[int]) -> int:
    """Frames a CTC path needs for `labels`: one per label, plus a blank between two equal labels."""
    return len(labels) + sum(1 for a, b in zip(labels, labels[1:]) if a == b)
