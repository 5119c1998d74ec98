"""The traditional speech explanation's chain alignment against brute force."""

import itertools

import numpy as np
import pytest

from e2elab.explain.speech_traditional import chain_align


def brute_force(emissions, self_logp, next_logp):
    n_frames, n_states = emissions.shape
    best, best_path = -np.inf, None
    for path in itertools.product(range(n_states), repeat=n_frames):
        if path[0] != 0 or path[-1] != n_states - 1:
            continue
        if any(b not in (a, a + 1) for a, b in zip(path, path[1:])):
            continue
        score = emissions[0, 0] + sum(emissions[t, s] + (self_logp[s] if s == path[t - 1] else next_logp[s])
                                      for t, s in enumerate(path) if t > 0)
        if score > best:
            best, best_path = score, path
    return best, np.array(best_path)


@pytest.mark.parametrize("seed", range(4))
def test_chain_alignment_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    emissions = rng.normal(size=(6, 3)) * 3
    self_logp = np.log(rng.uniform(0.2, 0.8, 3))
    next_logp = np.log1p(-np.exp(np.roll(self_logp, 1)))
    next_logp[0] = -np.inf
    score, path, per_frame = chain_align(emissions, self_logp, next_logp)
    expected, expected_path = brute_force(emissions, self_logp, next_logp)
    assert score == pytest.approx(expected)
    np.testing.assert_array_equal(path, expected_path)
    assert per_frame.sum() == pytest.approx(score)


def test_chain_longer_than_the_segment_cannot_align():
    score, _, _ = chain_align(np.zeros((2, 3)), np.zeros(3), np.zeros(3))
    assert score == -np.inf
