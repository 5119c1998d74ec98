"""CTC forced alignment against brute force on tiny examples."""

import itertools

import numpy as np
import pytest

from e2elab.explain.ctc_alignment import align_transcript, forced_align


def collapse(path, blank=0):
    out, previous = [], None
    for token in path:
        if token != previous and token != blank:
            out.append(token)
        previous = token
    return out


def brute_force(log_probs, targets):
    best, best_score = None, -np.inf
    n_frames, n_tokens = log_probs.shape
    for path in itertools.product(range(n_tokens), repeat=n_frames):
        if collapse(path) == list(targets):
            score = sum(log_probs[t, s] for t, s in enumerate(path))
            if score > best_score:
                best, best_score = path, score
    return np.array(best), best_score


@pytest.mark.parametrize("targets", [[1], [1, 2], [1, 1], [2, 1, 2], [1, 1, 2]])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forced_alignment_matches_brute_force(targets, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(6, 3)) * 2
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    _, path, score = forced_align(log_probs, targets)
    expected_path, expected_score = brute_force(log_probs, targets)
    assert collapse(path) == targets
    assert score == pytest.approx(expected_score)
    np.testing.assert_array_equal(path, expected_path)


def test_transcript_too_long_for_the_frames_is_an_error():
    with pytest.raises(ValueError):
        forced_align(np.zeros((2, 3)), [1, 1])


def test_alignment_gives_character_and_word_frames():
    vocabulary = ["_", " ", "a", "b"]
    frames = ["a", "a", "_", " ", "b", "b", "_", "a"]
    log_probs = np.full((len(frames), 4), np.log(0.01))
    for t, ch in enumerate(frames):
        log_probs[t, vocabulary.index(ch)] = np.log(0.97)
    result = align_transcript(log_probs, "a ba", vocabulary)
    assert [(w.label, w.start, w.end) for w in result["words"]] == [("a", 0, 2), ("ba", 4, 8)]
    assert [(c.label, c.start, c.end) for c in result["characters"]][:2] == [("a", 0, 2), (" ", 3, 4)]
    with pytest.raises(ValueError, match="not in the model's vocabulary"):
        align_transcript(log_probs, "abc", vocabulary)
