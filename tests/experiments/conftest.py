"""Small, fast stand-in pipelines and data sets, registered in place of the real ones for the experiment tests.

Images: scikit-learn's 8x8 digits, with a "train"/"test" split; "end-to-end" is logistic
regression on the pixels, "traditional" a nearest-centroid classifier. Speech: one-word clips of
a tone whose pitch names the word, spoken by four "speakers" (each with their own pitch shift);
both kinds recognise the word from the spectrum.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestCentroid

from e2elab import registry
from e2elab.base import ModelState, PipelineMixin, SpeechRecognizerMixin
from e2elab.data.dataset import Dataset
from e2elab.data.image import as_image
from e2elab.params import Int, Real

FITS: list[tuple[str, int, int]] = []  # (kind, seed, n_train) of every fit, to check what a resumed run retrains


class _Pixels(PipelineMixin, ClassifierMixin, BaseEstimator):
    _parameter_constraints = {"seed": [Int(0)], "C": [Real(0, None, closed="neither")]}

    def __init__(self, seed=0, C=1.0):
        self.seed = seed
        self.C = C

    def _features(self, X):
        images = [as_image(x, channels=1) if isinstance(x, str) else np.asarray(x) for x in X]
        return np.asarray(images, dtype=float).reshape(len(images), -1) / 16.0

    def predict(self, X):
        return self.model_.predict(self._features(X))

    def _get_state(self):
        return ModelState(sklearn={"model": self.model_})


class PixelLogistic(_Pixels):
    def fit(self, X, y):
        FITS.append(("end-to-end", self.seed, len(y)))
        self.model_ = LogisticRegression(C=self.C, max_iter=200, random_state=self.seed).fit(self._features(X), y)
        self.classes_ = self.model_.classes_
        return self


class PixelCentroid(_Pixels):
    def fit(self, X, y):
        FITS.append(("traditional", self.seed, len(y)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # constant border pixels within a class
            self.model_ = NearestCentroid().fit(self._features(X), y)
        self.classes_ = self.model_.classes_
        return self


WORDS = {"yes": 300.0, "no": 500.0, "up": 800.0, "down": 1200.0}
RATE = 4000


class _Tones(SpeechRecognizerMixin, BaseEstimator):
    _parameter_constraints = {"seed": [Int(0)], "bins": [Int(2)]}

    def __init__(self, seed=0, bins=64):
        self.seed = seed
        self.bins = bins

    def _features(self, X):
        spectra = [np.abs(np.fft.rfft(np.asarray(x, dtype=float), n=2 * self.bins))[: self.bins] for x in X]
        return np.stack([s / (s.sum() + 1e-9) for s in spectra])

    def predict(self, X):
        return list(self.model_.predict(self._features(X)))


class ToneLogistic(_Tones):
    def fit(self, X, y):
        FITS.append(("end-to-end", self.seed, len(y)))
        self.model_ = LogisticRegression(max_iter=300, random_state=self.seed).fit(self._features(X), list(y))
        return self


class ToneCentroid(_Tones):
    def fit(self, X, y):
        FITS.append(("traditional", self.seed, len(y)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model_ = NearestCentroid().fit(self._features(X), list(y))
        return self


@pytest.fixture
def stand_ins(monkeypatch):
    """Register the stand-ins as image/* and speech/* for one test (the registry is restored after)."""
    FITS.clear()
    for task, kind, cls in [("image", "end-to-end", PixelLogistic), ("image", "traditional", PixelCentroid),
                            ("speech", "end-to-end", ToneLogistic), ("speech", "traditional", ToneCentroid)]:
        monkeypatch.setitem(registry._REGISTRY, (task, kind), cls)
        monkeypatch.setattr(cls, "task", task, raising=False)
        monkeypatch.setattr(cls, "kind", kind, raising=False)
    return FITS


@pytest.fixture(scope="session")
def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    split = np.where(np.arange(len(data.target)) < 1300, "train", "test")
    return Dataset(X=data.images.astype(np.uint8), y=data.target.astype(str), task="image", split=split, name="digits")


@pytest.fixture(scope="session")
def tones():
    rng = np.random.default_rng(0)
    t = np.arange(int(0.1 * RATE)) / RATE
    X, y, groups = [], [], []
    for s, speaker in enumerate(["ann", "bob", "cy", "dee"]):
        for word, freq in WORDS.items():
            for _ in range(6):
                pitch = freq * (1 + 0.04 * (s - 1.5)) * (1 + 0.01 * rng.standard_normal())
                X.append(np.sin(2 * np.pi * pitch * t) + 0.8 * rng.standard_normal(len(t)))
                y.append(word)
                groups.append(speaker)
    items = np.empty(len(X), dtype=object)
    items[:] = X
    return Dataset(X=items, y=np.array(y), task="speech", groups=np.array(groups), name="tones")
