"""Training features beyond the memory limit go to a temporary file and come back unchanged."""

import os
import tempfile

import numpy as np
import pytest

from e2elab.speech.feature_store import FeatureStore
from e2elab.speech.features import cmvn

from .test_traditional import _model, corpus  # noqa: F401  (corpus is a fixture)


def _features(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(3.0, 2.0, (int(n), 5)) for n in rng.integers(1, 40, 12)]


@pytest.mark.parametrize("variance, groups", [(False, None), (True, None), (True, list("abcabcabcabc"))])
def test_a_store_on_disk_gives_back_the_features_and_their_cmvn_exactly(tmp_path, variance, groups):
    features = _features()
    with FeatureStore(memory_limit=features[0].nbytes * 3, directory=tmp_path) as store:
        for f in features:
            store.append(f)
        assert store.on_disk and len(os.listdir(tmp_path)) == 1
        np.testing.assert_array_equal(store.lengths, [len(f) for f in features])
        for a, b in zip(store, features):
            np.testing.assert_array_equal(a, b)
        store.normalise(groups, variance=variance)
        for a, b in zip(store, cmvn(features, groups, variance=variance)):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(store[-1], store[len(features) - 1])
        with pytest.raises(IndexError):
            store[len(features)]
    assert os.listdir(tmp_path) == []  # the file goes with the store


def test_a_store_within_its_limit_stays_in_memory(tmp_path):
    with FeatureStore(memory_limit=None, directory=tmp_path) as store:
        for f in _features():
            store.append(f)
        assert not store.on_disk and os.listdir(tmp_path) == []


def test_features_of_another_width_are_refused():
    store = FeatureStore()
    store.append(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="5"):
        store.append(np.zeros((3, 4)))


def test_a_folder_that_cannot_take_the_file_is_a_clear_error(tmp_path):
    store = FeatureStore(memory_limit=10, directory=tmp_path / "missing")
    with pytest.raises(OSError, match="memory limit.*TMPDIR"):
        store.append(np.zeros((3, 5)))


def test_training_past_the_memory_limit_gives_the_same_model(corpus, monkeypatch, tmp_path):  # noqa: F811
    X, y = corpus
    in_memory = _model(cmvn="speaker").fit(X, y, groups=[i % 3 for i in range(len(X))])
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    spilled = _model(cmvn="speaker", feature_memory=1e-3).fit(X, y, groups=[i % 3 for i in range(len(X))])
    np.testing.assert_array_equal(spilled.model_.gmm.means, in_memory.model_.gmm.means)
    np.testing.assert_array_equal(spilled.model_.log_self, in_memory.model_.log_self)
    assert spilled.predict(X[:4]) == in_memory.predict(X[:4])
    assert os.listdir(tmp_path) == []
