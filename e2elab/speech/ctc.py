"""CTC over characters: the vocabulary, the loss, greedy decoding and forced alignment.

The network emits, for every encoder frame, a distribution over the blank symbol and the
characters of :data:`e2elab.data.text.ALPHABET` (letters, apostrophe, space), so any transcript
written in that alphabet can be learned. Forced alignment (Viterbi through the CTC topology of a
known transcript) gives each word a start, an end and a confidence, for ``predict --json`` and
for the speech explanations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.text import ALPHABET

BLANK = 0


@dataclass(frozen=True)
class CharVocabulary:
    """Blank at index 0, then one index per character of `chars`."""

    chars: str = ALPHABET

    def __len__(self) -> int:
        return len(self.chars) + 1

    @property
    def space(self) -> int:
        return self.chars.index(" ") + 1

    def encode(self, text: str) -> list[int]:
        """Character indices of a normalised transcript; unknown characters are an error."""
        try:
            return [self.chars.index(ch) + 1 for ch in text]
        except ValueError:
            bad = sorted({ch for ch in text if ch not in self.chars})
            raise ValueError(f"transcript {text!r} has characters outside the vocabulary: {''.join(bad)!r}") from None

    def decode(self, labels) -> str:
        """Text of a label sequence (blanks are dropped, nothing is collapsed)."""
        return "".join(self.chars[i - 1] for i in labels if i != BLANK)


def collapse(path) -> list[int]:
    """The CTC many-to-one map: merge repeated labels, then drop blanks."""
    out: list[int] = []
    previous = None
    for label in path:
        label = int(label)
        if label != previous and label != BLANK:
            out.append(label)
        previous = label
    return out


def greedy_decode(log_probs: np.ndarray) -> list[int]:
    """Best path decoding: the most likely label of every frame, collapsed. log_probs: (T, V)."""
    return collapse(np.argmax(log_probs, axis=-1))


def ctc_loss(log_probs, input_lengths, targets: list[list[int]]):
    """Mean CTC loss per target character, as a torch scalar.

    log_probs: (B, T, V) log-softmax outputs; input_lengths: (B,) valid frames of each row.
    Dividing by target length (PyTorch's "mean" reduction) keeps long and short clips on one scale.
    """
    import torch
    import torch.nn.functional as F

    target_lengths = torch.tensor([len(t) for t in targets], dtype=torch.long)
    flat = torch.tensor([label for t in targets for label in t], dtype=torch.long)
    return F.ctc_loss(
        log_probs.transpose(0, 1).float(),  # (T, B, V)
        flat,
        input_lengths.cpu().long(),
        target_lengths,
        blank=BLANK,
        reduction="mean",
        zero_infinity=True,
    )


def forced_align(log_probs: np.ndarray, labels: list[int]) -> np.ndarray:
    """Viterbi alignment of `labels` to the frames of `log_probs` (T, V) through the CTC topology.

    Returns, for every frame, the index into `labels` of the label it emits, or -1 for blank.
    Raises ValueError when the clip has too few frames for the transcript.
    """
    T = log_probs.shape[0]
    if not labels:
        return np.full(T, -1, dtype=np.int64)
    extended = [BLANK]
    for label in labels:
        extended += [label, BLANK]
    S = len(extended)
    ext = np.asarray(extended)
    # A state may be entered from itself, the one before, or two before when that skips a blank
    # between two different labels.
    can_skip = np.zeros(S, dtype=bool)
    can_skip[2:] = (ext[2:] != BLANK) & (ext[2:] != ext[:-2])
    neg = -np.inf
    score = np.full(S, neg)
    score[0] = log_probs[0, ext[0]]
    score[1] = log_probs[0, ext[1]]
    back = np.zeros((T, S), dtype=np.int8)  # 0 stay, 1 from previous, 2 skip
    for t in range(1, T):
        stay = score
        step = np.concatenate(([neg], score[:-1]))
        skip = np.where(can_skip, np.concatenate(([neg, neg], score[:-2])), neg)
        stacked = np.stack([stay, step, skip])  # (3, S)
        choice = np.argmax(stacked, axis=0)
        score = stacked[choice, np.arange(S)] + log_probs[t, ext]
        back[t] = choice
    finals = [S - 1, S - 2] if S > 1 else [S - 1]
    state = max(finals, key=lambda s: score[s])
    if not np.isfinite(score[state]):
        raise ValueError(f"{T} frames are too few to align {len(labels)} labels")
    path = np.empty(T, dtype=np.int64)
    for t in range(T - 1, -1, -1):
        path[t] = state
        state -= int(back[t, state])
    return np.where(path % 2 == 1, path // 2, -1)


def word_timings(log_probs: np.ndarray, text: str, vocabulary: CharVocabulary, frame_seconds: float) -> list[dict]:
    """Each word of `text` with its start and end (seconds) and a confidence in [0, 1].

    The confidence is the mean posterior of the word's characters on the frames where the
    alignment emits them: near 1 when the network was sure, low where it hesitated.
    """
    words = text.split()
    if not words:
        return []
    labels = vocabulary.encode(" ".join(words))
    owner = []  # index of the word each label belongs to, -1 for spaces
    for w, word in enumerate(words):
        if w:
            owner.append(-1)
        owner += [w] * len(word)
    aligned = forced_align(log_probs, labels)
    probs = np.exp(log_probs)
    out = []
    for w, word in enumerate(words):
        label_ids = [i for i, o in enumerate(owner) if o == w]
        frames = np.flatnonzero(np.isin(aligned, label_ids))
        if frames.size == 0:  # cannot happen for a successful alignment, kept for safety
            out.append({"word": word, "start": None, "end": None, "confidence": 0.0})
            continue
        confidence = float(np.mean(probs[frames, np.asarray(labels)[aligned[frames]]]))
        out.append({
            "word": word,
            "start": round(float(frames[0] * frame_seconds), 3),
            "end": round(float((frames[-1] + 1) * frame_seconds), 3),
            "confidence": round(confidence, 4),
        })
    return out
