"""Unlabeled images in `fit`: accepted, counted, left out with a warning, or pseudo-labelled."""

import warnings

import numpy as np
import pytest

import e2elab
from e2elab.errors import DataError
from e2elab.image.backbones import Backbone
from e2elab.image.semi_supervised import labelled_only, most_confident_per_class, self_train
from e2elab.nn.pseudo_labels import labelled_mask

FAST = dict(backbone=Backbone(width=4), epochs=1, batch_size=4, validation=0, device="cpu", progress=False)


def images(n, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (16, 16)).astype(np.uint8) for _ in range(n)]


def test_labelled_mask_follows_scikit_learns_convention():
    assert labelled_mask(["a", -1, None, "-1", "", "b", 0]).tolist() == [True, False, False, False, False, True, True]
    assert labelled_mask(np.array([3, -1, 7])).tolist() == [True, False, True]


def test_labelled_only_keeps_label_types_and_refuses_no_labels():
    X, y = labelled_only(["x", "y", "z"], np.array([3, -1, 7]), labelled_mask(np.array([3, -1, 7])), why=None)
    assert X == ["x", "z"] and y.tolist() == [3, 7]
    with pytest.raises(DataError, match="all 2 training images are unlabeled"):
        labelled_only(["x", "y"], [-1, None], labelled_mask([-1, None]), why=None)


def test_end_to_end_without_semi_supervised_leaves_unlabeled_out_with_a_warning():
    X, y = images(10), ["a", "b"] * 3 + [-1, None, -1, None]
    with pytest.warns(UserWarning, match="left out 4 unlabeled training image.*semi_supervised='self_training'"):
        model = e2elab.make_pipeline("image", "end-to-end", **FAST).fit(X, y)
    assert model.classes_.tolist() == ["a", "b"]
    with pytest.raises(DataError, match="all 3 training images are unlabeled"):
        e2elab.make_pipeline("image", "end-to-end", **FAST).fit(images(3), [-1, -1, None])


def test_traditional_pipeline_ignores_unlabeled_images_and_says_so():
    X, y = images(8), [1, 2] * 3 + [-1, -1]
    with pytest.warns(UserWarning, match="left out 2 unlabeled .*traditional pipeline learns from labelled images"):
        model = e2elab.make_pipeline("image", "traditional", detector="dense", codebook_size=8, n_jobs=1).fit(X, y)
    assert model.classes_.tolist() == [1, 2]  # integer labels stay integers


class Recorder:
    """A stand-in classifier: remembers what it was fitted on; predicts "a" for even items, more
    confidently the smaller they are, and "b" for odd ones."""

    classes_ = np.array(["a", "b"])

    def __init__(self):
        self.fits = []

    def fit(self, X, y):
        self.fits.append((list(X), np.asarray(y).tolist()))
        return self

    def predict_proba(self, X):
        return np.array([[0.99 - x / 100, 0.01 + x / 100] if x % 2 == 0 else [0.4, 0.6] for x in X])


def test_most_confident_per_class_takes_an_equal_share_of_each_class():
    probabilities = np.array([[0.9, 0.1], [0.6, 0.4], [0.8, 0.2], [0.7, 0.3], [0.45, 0.55], [0.2, 0.8]])
    chosen, labels = most_confident_per_class(probabilities, np.array(["a", "b"]), share=2 / 3)
    assert chosen.tolist() == [0, 2, 4, 5] and labels.tolist() == ["a", "a", "b", "b"]  # 2 per class, the surest


def test_self_training_pseudo_labels_a_growing_share_of_the_surest_images():
    model = self_train(Recorder(), [100, 101], np.array(["a", "b"]), [0, 1, 2, 3, 4, 5, 6, 7], share=0.5, rounds=2)
    assert model.fits[0] == ([100, 101], ["a", "b"])
    assert model.fits[1] == ([100, 101, 0, 1], ["a", "b", "a", "b"])  # 1 per class in round 1
    assert model.fits[2] == ([100, 101, 0, 1, 2, 3], ["a", "b", "a", "b", "a", "b"])  # 2 per class in round 2
    assert [r["pseudo_labelled"] for r in model.self_training_] == [0, 2, 4]
    assert model.self_training_[-1]["left_out"] == 4


def test_self_training_end_to_end_on_tiny_data_uses_confident_unlabeled_images():
    # Two classes told apart by brightness; the unlabeled images are as easy as the labelled ones.
    rng = np.random.default_rng(0)
    dark = [rng.integers(0, 40, (16, 16)).astype(np.uint8) for _ in range(12)]
    light = [rng.integers(215, 256, (16, 16)).astype(np.uint8) for _ in range(12)]
    X = dark[:4] + light[:4] + dark[4:] + light[4:]
    y = ["dark"] * 4 + ["light"] * 4 + [-1] * 16
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # too little data for the network: known, and beside the point
        model = e2elab.make_pipeline("image", "end-to-end", semi_supervised="self_training",
                                     **{**FAST, "epochs": 30, "lr": 0.01}).fit(X, y)
    assert model.self_training_[0] == {"round": 0, "pseudo_labelled": 0, "left_out": 16}
    assert model.self_training_[-1]["pseudo_labelled"] > 0
    assert model.predict(dark[4:] + light[4:]).tolist() == ["dark"] * 8 + ["light"] * 8
