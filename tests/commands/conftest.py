"""A small, fast stand-in image pipeline, registered in place of a real one for the CLI tests."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from e2elab import registry
from e2elab.base import ModelState, PipelineMixin, Stage
from e2elab.data.image import as_image
from e2elab.params import Int, Real


class PixelLogistic(PipelineMixin, ClassifierMixin, BaseEstimator):
    """Logistic regression on raw pixels resized to 8x8: enough to exercise the commands."""

    _parameter_constraints = {"C": [Real(0, None, closed="neither")], "seed": [Int(0)]}

    def __init__(self, C=1.0, seed=0):
        self.C = C
        self.seed = seed

    def _features(self, X):
        import cv2

        return np.stack([cv2.resize(as_image(x, channels=1), (8, 8), interpolation=cv2.INTER_AREA).ravel() / 255.0 for x in X])

    def fit(self, X, y):
        self.model_ = LogisticRegression(C=self.C, max_iter=500).fit(self._features(X), y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(self._features(X))

    def predict_proba(self, X):
        return self.model_.predict_proba(self._features(X))

    def predict_details(self, X):
        return [{"label": str(self.classes_[row.argmax()]), "top": [{"label": str(self.classes_[i]), "probability": float(row[i])}
                                                                    for i in np.argsort(-row)[:3]]} for row in self.predict_proba(X)]

    @property
    def stages(self):
        return [Stage("pixels", "input", "image"), Stage("pixels 8x8", "fixed", "64 values"), Stage("class", "learned", "label")]

    def stage_outputs(self, item):
        return {"pixels": as_image(item), "pixels 8x8": self._features([item])[0].reshape(8, 8),
                "class": str(self.predict([item])[0])}

    def _get_state(self):
        return ModelState(sklearn={"model": self.model_})

    @classmethod
    def _from_state(cls, params, state):
        model = cls(**params)
        model.model_ = state.sklearn["model"]
        model.classes_ = model.model_.classes_
        return model


def make_image_folder(root, per_class=12, seed=0):
    """Two classes a logistic regression separates: bright squares on the left or on the right."""
    rng = np.random.default_rng(seed)
    for label, column in (("left", 2), ("right", 10)):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 40, (16, 16)).astype(np.uint8)
            pixels[4:12, column:column + 4] = 220
            Image.fromarray(pixels).save(root / label / f"{i}.png")
    return root


@pytest.fixture
def image_folder(tmp_path):
    """A folder of 24 PNGs in two class sub-folders, as a user might have."""
    return make_image_folder(tmp_path / "shapes")


@pytest.fixture
def stand_in_pipeline(monkeypatch):
    """Register PixelLogistic as image/traditional for the duration of a test."""
    monkeypatch.setitem(registry._REGISTRY, ("image", "traditional"), PixelLogistic)
    PixelLogistic.task, PixelLogistic.kind = "image", "traditional"
    return PixelLogistic
