"""Character vocabulary, CTC loss, and forced alignment against a brute-force reference."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from e2elab.data.text import ALPHABET
from e2elab.speech.ctc import BLANK, CharVocabulary, collapse, ctc_loss, forced_align, word_timings


def test_vocabulary_round_trip_and_errors():
    vocabulary = CharVocabulary()
    assert len(vocabulary) == len(ALPHABET) + 1
    text = "don't stop"
    labels = vocabulary.encode(text)
    assert BLANK not in labels
    assert vocabulary.decode(labels) == text
    assert vocabulary.decode([vocabulary.space]) == " "
    with pytest.raises(ValueError, match="outside the vocabulary"):
        vocabulary.encode("café")


def test_collapse_merges_repeats_then_drops_blanks():
    assert collapse([0, 1, 1, 0, 1, 2, 2, 0]) == [1, 1, 2]
    assert collapse([0, 0]) == []


def test_ctc_loss_is_finite_and_learns():
    torch.manual_seed(0)
    logits = torch.randn(2, 12, 5, requires_grad=True)
    targets = [[1, 2, 2], [3]]
    lengths = torch.tensor([12, 8])
    optimizer = torch.optim.SGD([logits], lr=1.0)
    first = None
    for _ in range(30):
        loss = ctc_loss(logits.log_softmax(-1), lengths, targets)
        first = first if first is not None else float(loss.detach())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert np.isfinite(first) and float(loss.detach()) < first / 2


@pytest.mark.parametrize("seed", range(5))
def test_forced_alignment_is_the_best_path_for_the_labels(seed):
    rng = np.random.default_rng(seed)
    T, V = 6, 4
    logits = rng.normal(size=(T, V))
    log_probs = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    labels = [1, 2, 2]
    paths = [p for p in itertools.product(range(V), repeat=T) if collapse(p) == labels]
    best = max(paths, key=lambda p: sum(log_probs[t, c] for t, c in enumerate(p)))
    aligned = forced_align(log_probs, labels)
    # The alignment names which label each frame emits; map it back to a path and compare scores.
    path = [BLANK if a < 0 else labels[a] for a in aligned]
    assert collapse(path) == labels
    score = lambda p: sum(log_probs[t, c] for t, c in enumerate(p))  # noqa: E731
    assert score(path) == pytest.approx(score(best))
    assert list(np.unique(aligned[aligned >= 0])) == [0, 1, 2]


def test_forced_alignment_rejects_too_few_frames():
    log_probs = np.log(np.full((2, 4), 0.25))
    with pytest.raises(ValueError, match="too few"):
        forced_align(log_probs, [1, 1])  # needs a blank between the repeats: 3 frames


def test_word_timings_follow_the_posteriors():
    vocabulary = CharVocabulary()
    rows = []
    for ch in ["a", "b", "", " ", "", "c", "d", ""]:
        row = np.full(len(vocabulary), 1e-3)
        row[vocabulary.encode(ch)[0] if ch else BLANK] = 1.0
        rows.append(row / row.sum())
    log_probs = np.log(np.array(rows))
    words = word_timings(log_probs, "ab cd", vocabulary, frame_seconds=0.02)
    assert [w["word"] for w in words] == ["ab", "cd"]
    assert words[0]["start"] == 0.0 and words[0]["end"] == pytest.approx(0.04)
    assert words[1]["start"] == pytest.approx(0.10) and words[1]["end"] == pytest.approx(0.14)
    assert all(0.9 < w["confidence"] <= 1.0 for w in words)
