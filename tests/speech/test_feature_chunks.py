"""The traditional recogniser holds one waveform at a time, and its flat start a bounded sample of frames."""

import numpy as np
import pytest

from e2elab.speech import hmm_training
from e2elab.speech.features import MfccConfig, extract
from e2elab.speech.hmm_training import flat_start, frame_sample

from .test_traditional import RATE, _model, corpus  # noqa: F401  (corpus is a fixture)


@pytest.mark.parametrize("cmvn, variance, groups", [("speaker", True, [0, 1, 0, 1]), ("utterance", False, None),
                                                    ("none", False, None), ("speaker", False, None)])
def test_clip_by_clip_features_are_the_features_of_all_clips_at_once(corpus, cmvn, variance, groups):  # noqa: F811
    signals = corpus[0][:4]
    model = _model(cmvn=cmvn, cmvn_variance=variance, sample_rate=RATE)
    at_once = extract(signals, MfccConfig(sample_rate=RATE), groups=groups, cmvn_mode=cmvn, cmvn_variance=variance)
    one_by_one = model._normalised([model._clip_features(s) for s in signals], groups)
    for a, b in zip(at_once, one_by_one):
        np.testing.assert_array_equal(a, b)


def test_frame_sample_is_every_frame_up_to_the_bound_then_a_seeded_draw():
    rng = np.random.default_rng(0)
    features = [rng.standard_normal((n, 3)) for n in (5, 40, 1, 17)]
    np.testing.assert_array_equal(frame_sample(features, 63), np.concatenate(features))
    sample = frame_sample(features, 20, seed=1)
    assert sample.shape == (20, 3)
    every = np.concatenate(features)
    rows = [int(np.flatnonzero((every == row).all(axis=1))[0]) for row in sample]
    assert rows == sorted(set(rows))  # distinct real frames, in corpus order
    np.testing.assert_array_equal(sample, frame_sample(features, 20, seed=1))


def test_flat_start_on_a_sample_is_close_to_the_start_on_every_frame():
    rng = np.random.default_rng(0)
    features = [rng.normal(2.0, 3.0, (int(n), 4)) for n in rng.integers(50, 150, 60)]
    every = flat_start(features, ["a", "sil"], 2)
    sampled = flat_start(features, ["a", "sil"], 2, max_frames=2000)
    np.testing.assert_allclose(sampled.gmm.means, every.gmm.means, atol=0.2)
    np.testing.assert_allclose(sampled.gmm.variances, every.gmm.variances, rtol=0.1)
    assert not np.array_equal(sampled.gmm.means, every.gmm.means)


def test_training_with_a_bounded_flat_start_still_learns(corpus, monkeypatch):  # noqa: F811
    X, y = corpus
    monkeypatch.setattr(hmm_training, "FLAT_START_FRAMES", 300)
    model = _model().fit(X, y)
    assert model.score(X, y) > 0.8
