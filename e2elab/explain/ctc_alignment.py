"""Which frames of a CTC model emitted which characters and words.

A CTC model scores every frame over the characters plus a blank; a transcript is read off a
frame path by merging repeats and dropping blanks. The *forced alignment* of a transcript is the
single most probable frame path that reads as that transcript: a Viterbi search over the CTC
topology (the transcript with a blank between and around its characters; a path moves to the
same state, the next state, or skips a blank between two different characters). The search
itself is the speech pipeline's; this module turns its path into character and word segments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Segment:
    """A character or word and the frames [start, end) that emitted it."""

    label: str
    start: int
    end: int
    log_prob: float  # summed log-probability of its frames on the best path


def forced_align(log_probs: np.ndarray, targets: list[int]) -> tuple[np.ndarray, np.ndarray, float]:
    """The most probable frame path of `log_probs` (T, V) that reads as `targets` (blank is 0).

    The Viterbi search is the speech pipeline's own (:func:`e2elab.speech.ctc.forced_align`).
    Returns (owner (T,): the index into `targets` each frame emits, -1 for blank; path (T,):
    the token id of each frame, blanks included; the path's total log-probability).
    Raises ValueError when the transcript cannot fit in the frames.
    """
    from ..speech.ctc import BLANK
    from ..speech.ctc import forced_align as viterbi

    log_probs = np.asarray(log_probs, dtype=np.float64)
    targets = [int(t) for t in targets]
    owner = viterbi(log_probs, targets)
    path = np.where(owner >= 0, np.asarray(targets + [BLANK])[owner], BLANK)
    total = float(log_probs[np.arange(len(log_probs)), path].sum())
    return owner, path, total


def token_segments(owner: np.ndarray, targets: list[int], log_probs: np.ndarray, vocabulary: list[str]) -> list[Segment]:
    """Each transcript token with the frames that emitted it (its repeats, not the blanks)."""
    segments = []
    for index, token in enumerate(targets):
        frames = np.flatnonzero(owner == index)
        segments.append(Segment(vocabulary[token], int(frames[0]), int(frames[-1]) + 1,
                                float(np.sum(log_probs[frames, token]))))
    return segments


def word_segments(characters: list[Segment], separator: str = " ") -> list[Segment]:
    """Characters grouped into words at `separator`; a word spans its first to last character."""
    words: list[Segment] = []
    current: list[Segment] = []
    for segment in characters + [Segment(separator, -1, -1, 0.0)]:
        if segment.label == separator:
            if current:
                words.append(Segment("".join(s.label for s in current), current[0].start, current[-1].end,
                                     sum(s.log_prob for s in current)))
            current = []
        else:
            current.append(segment)
    return words


def align_transcript(log_probs: np.ndarray, text: str, vocabulary: list[str], separator: str = " ") -> dict:
    """Forced alignment of `text` to `log_probs` (T, V); `vocabulary[i]` is token i (0 is blank).

    Returns {"path", "log_prob", "characters": [Segment], "words": [Segment]}; frames are the
    model's output frames. Characters outside the vocabulary raise ValueError.
    """
    index = {ch: i for i, ch in enumerate(vocabulary) if i != 0}
    missing = sorted({ch for ch in text if ch not in index})
    if missing:
        raise ValueError(f"characters {missing} of {text!r} are not in the model's vocabulary")
    targets = [index[ch] for ch in text]
    owner, path, total = forced_align(log_probs, targets)
    characters = token_segments(owner, targets, np.asarray(log_probs), vocabulary)
    return {"path": path, "log_prob": total, "characters": characters, "words": word_segments(characters, separator)}
