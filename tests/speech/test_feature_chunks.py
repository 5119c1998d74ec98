"""The traditional recogniser holds one waveform at a time, and its flat start streams over the frames."""

import numpy as np
import pytest

from e2elab.speech.features import MfccConfig, extract
from e2elab.speech.hmm_training import flat_start

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


def test_flat_start_is_the_mean_and_variance_of_every_frame():
    rng = np.random.default_rng(0)
    features = [rng.normal(2.0, 3.0, (int(n), 4)) for n in rng.integers(1, 150, 60)]
    every = np.concatenate(features)
    model = flat_start(features, ["a", "sil"], 2)
    np.testing.assert_allclose(model.gmm.means[:, 0], np.broadcast_to(every.mean(0), (4, 4)), rtol=1e-12)
    np.testing.assert_allclose(model.gmm.variances[:, 0], np.broadcast_to(every.var(0), (4, 4)), rtol=1e-12)
