"""Composite HMMs: forward-backward and Viterbi against brute-force enumeration; re-estimation."""

import itertools

import numpy as np
import pytest
from scipy.special import logsumexp

from e2elab.speech.gmm import DiagGMMBank, GMMStats
from e2elab.speech.hmm import backward, build_composite, forward, make_batch, viterbi
from e2elab.speech.hmm_training import e_step, flat_start, reestimate, train


def _transition_matrix(comp, log_self):
    """Dense (L, L) log transitions of a composite, for enumeration."""
    size = len(comp)
    trans = np.full((size, size), -np.inf)
    trans[np.arange(size), np.arange(size)] = log_self[comp.state_ids]
    trans[np.arange(size - 1), np.arange(1, size)] = comp.next_logp[1:]
    trans[comp.skip_src, comp.skip_dst] = comp.skip_logp
    return trans


def _enumerate(comp, log_self, emissions):
    """Log-probability of every position path, (P,), and the paths, (P, T)."""
    size, n_frames = len(comp), emissions.shape[0]
    trans = _transition_matrix(comp, log_self)
    paths = np.array(list(itertools.product(range(size), repeat=n_frames)))  # (P, T)
    logp = comp.init_logp[paths[:, 0]] + comp.final_logp[paths[:, -1]]
    logp = logp + emissions[np.arange(n_frames), paths].sum(1)
    logp = logp + trans[paths[:, :-1], paths[:, 1:]].sum(1)
    return logp, paths


@pytest.fixture
def tiny():
    rng = np.random.default_rng(1)
    n_states = 2
    log_self = np.log(rng.uniform(0.3, 0.8, size=3 * n_states))
    log_exit = np.log1p(-np.exp(log_self))
    comp = build_composite([(0, True), (1, False), (2, False), (0, True)], n_states, log_exit)
    return comp, log_self, rng


def test_forward_backward_match_enumeration(tiny):
    comp, log_self, rng = tiny
    n_frames = 6
    emissions = rng.normal(size=(n_frames, len(comp)))
    logp, paths = _enumerate(comp, log_self, emissions)
    batch = make_batch([comp], log_self, [n_frames])
    alpha, total = forward(batch, emissions[None])
    beta = backward(batch, emissions[None])
    assert total[0] == pytest.approx(logsumexp(logp), abs=1e-9)
    posterior = np.exp(alpha[0] + beta[0] - total[0])  # (T, L)
    weights = np.exp(logp - logsumexp(logp))
    brute = np.zeros_like(posterior)
    for t in range(n_frames):
        np.add.at(brute[t], paths[:, t], weights)
    np.testing.assert_allclose(posterior, brute, atol=1e-9)
    best_paths, score = viterbi(batch, emissions[None])
    assert score[0] == pytest.approx(logp.max(), abs=1e-9)
    np.testing.assert_array_equal(best_paths[0], paths[logp.argmax()])


def test_optional_silence_can_be_skipped(tiny):
    comp, log_self, _ = tiny
    assert comp.min_frames == 4  # the two phones' states, both silences skipped
    batch = make_batch([comp], log_self, [4])
    _, total = forward(batch, np.zeros((1, 4, len(comp))))
    assert np.isfinite(total[0])
    _, too_short = forward(make_batch([comp], log_self, [3]), np.zeros((1, 3, len(comp))))
    assert too_short[0] == -np.inf


def test_batched_utterances_of_different_lengths(tiny):
    comp, log_self, rng = tiny
    short = build_composite([(1, False)], 2, np.log1p(-np.exp(log_self)))
    em_long, em_short = rng.normal(size=(7, len(comp))), rng.normal(size=(4, len(short)))
    padded = np.zeros((2, 7, len(comp)))
    padded[0] = em_long
    padded[1, :4, :len(short)] = em_short
    batch = make_batch([comp, short], log_self, [7, 4])
    _, totals = forward(batch, padded)
    _, alone = forward(make_batch([short], log_self, [4]), em_short[None])
    assert totals[1] == pytest.approx(alone[0])
    beta = backward(batch, padded)
    start = np.logaddexp.reduce(beta[1, 0, :len(short)] + batch.init_logp[1, :len(short)] + em_short[0])
    assert start == pytest.approx(totals[1])


def _synthetic(n_utts=12, seed=0):
    """Frames from three well-separated phones, utterances 'sil a b sil' and 'sil b sil'."""
    rng = np.random.default_rng(seed)
    centres = {0: np.zeros(2), 1: np.array([6.0, 0.0]), 2: np.array([0.0, 6.0])}
    feats, units = [], []
    for i in range(n_utts):
        seq = [0, 1, 2, 0] if i % 2 else [0, 2, 0]
        frames = np.concatenate([centres[p] + rng.normal(size=(rng.integers(6, 10), 2)) for p in seq])
        feats.append(frames)
        units.append([(0, True)] + [(p, False) for p in seq[1:-1]] + [(0, True)])
    return feats, units


@pytest.mark.parametrize("mode", ["baum-welch", "viterbi"])
def test_log_likelihood_never_decreases(mode):
    feats, units = _synthetic()
    model = flat_start(feats, ["SIL", "A", "B"], n_states=2)
    comps = [model.composite(u) for u in units]
    if mode == "viterbi":  # Viterbi needs a model that prefers some alignment
        reestimate(model, feats, comps, "baum-welch")
    model.gmm.split(2)
    history = []
    for _ in range(6):
        comps = [model.composite(u) for u in units]
        history.append(reestimate(model, feats, comps, mode, batch_size=5))
    assert all(b >= a - 1e-9 for a, b in zip(history[:-1], history[1:])), history


def test_training_learns_the_phones():
    feats, units = _synthetic(20)
    model = train(feats, units, ["SIL", "A", "B"], n_states=2, n_mixtures=2, flat_passes=5, passes_per_split=2)
    means = model.gmm.means.mean(1).reshape(3, 2, 2).mean(1)  # (phones, D)
    np.testing.assert_allclose(means, [[0, 0], [6, 0], [0, 6]], atol=1.0)
    assert model.gmm.n_mix == 2


def test_gmm_statistics_and_floor():
    rng = np.random.default_rng(0)
    frames = rng.normal(3.0, 0.5, size=(500, 4))
    bank = DiagGMMBank.flat(2, np.zeros(4), np.ones(4))
    stats = GMMStats.zeros(2, 1, 4)
    posts = np.zeros((500, 2))
    posts[:, 0] = 1.0  # all frames to state 0; state 1 unseen keeps its parameters
    bank.accumulate(frames, posts, stats)
    bank.update(stats, var_floor=np.full(4, 0.5))
    np.testing.assert_allclose(bank.means[0, 0], frames.mean(0))
    assert np.all(bank.variances[0, 0] >= 0.5)
    np.testing.assert_array_equal(bank.means[1, 0], 0.0)
    ll = bank.log_likelihoods(frames[:3])
    assert ll.shape == (3, 2)


def test_e_step_rejects_unknown_mode():
    feats, units = _synthetic(2)
    model = flat_start(feats, ["SIL", "A", "B"], n_states=2)
    with pytest.raises(ValueError, match="training"):
        e_step(model, feats, [model.composite(u) for u in units], mode="em")


def test_threaded_e_step_gives_the_same_statistics():
    feats, units = _synthetic(10)
    model = flat_start(feats, ["SIL", "A", "B"], n_states=2)
    comps = [model.composite(u) for u in units]
    serial = e_step(model, feats, comps, batch_size=3)
    threaded = e_step(model, feats, comps, batch_size=3, n_jobs=2)
    np.testing.assert_allclose(threaded[0].first, serial[0].first)
    np.testing.assert_allclose(threaded[1], serial[1])
    assert threaded[3] == pytest.approx(serial[3])
