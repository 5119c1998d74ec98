"""Saving and loading: round trips through JSON + safetensors + skops; pickles and tampering refused."""

import json
import pickle

import numpy as np
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer

import e2elab
from e2elab import registry
from e2elab.base import ModelState, PipelineMixin, Stage
from e2elab.errors import ModelIntegrityError, RunFolderError, UnsafeModelError
from e2elab.io import META_FILE, WEIGHTS_FILE
from e2elab.model_files import skops_trust


class Gadget:
    """A class from outside the trusted modules; skops can store it, e2elab must refuse it."""

    def __init__(self):
        self.value = 1


class NearestMeanDummy(PipelineMixin, ClassifierMixin, BaseEstimator):
    """Nearest class mean on flattened pixels, then a logistic regression on the distances."""

    def __init__(self, shrink=0.0, seed=0):
        self.shrink = shrink
        self.seed = seed

    def fit(self, X, y):
        X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        self.classes_ = np.unique(y)
        self.means_ = np.stack([X[np.asarray(y) == c].mean(axis=0) for c in self.classes_]) * (1 - self.shrink)
        self.head_ = LogisticRegression(random_state=self.seed).fit(self._distances(X), y)
        return self

    def _distances(self, X):
        return ((X[:, None, :] - self.means_[None]) ** 2).sum(axis=2)  # (N, K)

    def predict(self, X):
        X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        return self.head_.predict(self._distances(X))

    @property
    def stages(self):
        return [Stage("pixels", "input", "(H, W)"), Stage("distances", "learned", "(K,)"), Stage("class", "output", "label")]

    def _get_state(self):
        sklearn = {"head": self.head_}
        if getattr(self, "extra_", None) is not None:  # one more scikit-learn part, set by a test
            sklearn["extra"] = self.extra_
        return ModelState(meta={"classes": self.classes_.tolist()}, arrays={"means": self.means_}, sklearn=sklearn)

    @classmethod
    def _from_state(cls, params, state):
        model = cls(**params)
        model.classes_ = np.array(state.meta["classes"])
        model.means_ = state.arrays["means"]
        model.head_ = state.sklearn["head"]
        return model


@pytest.fixture
def dummy_kind():
    """Register the dummy as image/"io-test" for one test, then remove it from the registry."""
    registry.register_pipeline("image", "io-test")(NearestMeanDummy)
    yield "io-test"
    registry._REGISTRY.pop(("image", "io-test"), None)


@pytest.fixture
def fitted(dummy_kind):
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (20, 4, 4)), rng.normal(3, 1, (20, 4, 4))])
    y = np.array(["a"] * 20 + ["b"] * 20)
    return NearestMeanDummy(shrink=0.1, seed=3).fit(X, y), X, y


def test_round_trip(fitted, tmp_path):
    model, X, y = fitted
    folder = e2elab.save(model, tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == sorted([META_FILE, WEIGHTS_FILE, "head.skops"])
    loaded = e2elab.load(folder)
    assert type(loaded) is NearestMeanDummy and loaded.get_params() == model.get_params()
    assert np.array_equal(loaded.means_, model.means_)
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert loaded.score(X, y) == model.score(X, y) > 0.9
    clone(loaded)  # still a plain scikit-learn estimator
    meta = json.loads((folder / META_FILE).read_text())
    assert meta["task"] == "image" and meta["pipeline"] == "io-test" and meta["params"]["shrink"] == 0.1
    assert not list(tmp_path.glob(".model*"))  # no staging folder left behind


def test_save_replaces_an_old_model_but_not_other_folders(fitted, tmp_path):
    model, X, _ = fitted
    e2elab.save(model, tmp_path / "model")
    model.set_params(shrink=0.5).fit(X, ["a"] * 20 + ["b"] * 20)
    e2elab.save(model, tmp_path / "model")
    assert e2elab.load(tmp_path / "model").shrink == 0.5
    other = tmp_path / "photos"
    other.mkdir()
    (other / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(RunFolderError, match="not an e2elab model folder"):
        e2elab.save(model, other)
    assert (other / "holiday.jpg").exists()


def test_sklearn_parts_load_only_when_listed_by_their_exact_name(dummy_kind, fitted, tmp_path, monkeypatch):
    """A score function of scikit-learn's own is still refused until its exact name is listed."""
    model, X, y = fitted
    model.extra_ = SelectKBest(f_classif, k=3).fit(X.reshape(len(X), -1), y)
    e2elab.save(model, tmp_path / "model")
    with pytest.raises(UnsafeModelError, match="f_classif"):
        e2elab.load(tmp_path / "model")
    selection = "sklearn.feature_selection._univariate_selection"
    monkeypatch.setattr(skops_trust, "TRUSTED_NAMES", skops_trust.TRUSTED_NAMES | {f"{selection}.SelectKBest",
                                                                                   f"{selection}.f_classif"})
    monkeypatch.setattr(skops_trust, "TRUSTED_LOADERS", skops_trust.TRUSTED_LOADERS | {"FunctionNode"})
    assert e2elab.load(tmp_path / "model").predict(X).tolist() == model.predict(X).tolist()
    path = tmp_path / "model" / "extra.skops"
    assert skops_trust.load_skops(path.read_bytes(), path).score_func is f_classif


def test_pickles_are_refused(fitted, tmp_path):
    model, _, _ = fitted
    (tmp_path / "model.pkl").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(UnsafeModelError, match="pickle"):
        e2elab.load(tmp_path / "model.pkl")
    renamed = tmp_path / "innocent.dat"
    renamed.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(UnsafeModelError, match="pickle"):
        e2elab.load(renamed)
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "model.joblib").write_bytes(b"\x80\x04")
    with pytest.raises(UnsafeModelError, match="model.joblib"):
        e2elab.load(folder)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelIntegrityError, match="not a single file"):
        e2elab.load(tmp_path / "notes.txt")


@pytest.mark.parametrize("victim", [WEIGHTS_FILE, "head.skops"])
def test_tampered_or_missing_files_are_refused(fitted, tmp_path, victim):
    model, _, _ = fitted
    folder = e2elab.save(model, tmp_path / "model")
    data = bytearray((folder / victim).read_bytes())
    data[-1] ^= 0xFF
    (folder / victim).write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="checksum"):
        e2elab.load(folder)
    (folder / victim).unlink()
    with pytest.raises(ModelIntegrityError, match="missing"):
        e2elab.load(folder)


def test_bad_meta_is_refused(fitted, tmp_path):
    model, _, _ = fitted
    folder = e2elab.save(model, tmp_path / "model")
    meta = json.loads((folder / META_FILE).read_text())
    (folder / META_FILE).write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(ModelIntegrityError, match="newer e2elab"):
        e2elab.load(folder)
    (folder / META_FILE).write_text(json.dumps({**meta, "format": "something-else"}))
    with pytest.raises(ModelIntegrityError, match="not an e2elab model"):
        e2elab.load(folder)
    (folder / META_FILE).write_text("{ not json")
    with pytest.raises(ModelIntegrityError, match="not valid JSON"):
        e2elab.load(folder)
    with pytest.raises(ModelIntegrityError, match="no e2elab.json"):
        e2elab.load(tmp_path)


def test_a_folder_of_the_first_format_is_refused_with_a_clear_message(fitted, tmp_path):
    """Format 1 folders name parameters that no longer exist; loading them asks for a retrain."""
    model, _, _ = fitted
    folder = e2elab.save(model, tmp_path / "model")
    meta = json.loads((folder / META_FILE).read_text())
    assert meta["format_version"] == 2
    (folder / META_FILE).write_text(json.dumps({**meta, "format_version": 1}))
    with pytest.raises(ModelIntegrityError, match=r"saved by an older e2elab \(format 1; .*retrain it with this version"):
        e2elab.load(folder)


@pytest.mark.parametrize("extra, refused", [
    (Gadget(), "Gadget"),
    (FunctionTransformer(func=eval), "builtins.eval"),
    (FunctionTransformer(func=np.load, kw_args={"allow_pickle": True}), "numpy.load"),
])
def test_untrusted_skops_content_is_refused(fitted, tmp_path, extra, refused):
    """Checksums match (e2elab wrote the folder), yet the content is not on the trusted list."""
    model, _, _ = fitted
    model.extra_ = extra
    folder = e2elab.save(model, tmp_path / "model")
    assert refused in " ".join(sio.get_untrusted_types(file=folder / "extra.skops"))
    with pytest.raises(UnsafeModelError, match=refused):
        e2elab.load(folder)


def test_parameters_must_be_plain_json(dummy_kind, fitted, tmp_path):
    model, X, y = fitted
    model.set_params(shrink=object())
    with pytest.raises(TypeError, match="not plain JSON"):
        e2elab.save(model, tmp_path / "model")
    assert not (tmp_path / "model").exists()
