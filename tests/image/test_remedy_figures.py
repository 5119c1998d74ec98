"""The figures of the small-data remedies on flowers5 (slow: full fine-tunings on real data).

    E2ELAB_DATA_DIR=... pytest -m slow tests/image/test_remedy_figures.py
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import e2elab
from e2elab.data.splits import stratified_holdout, train_test_indices

pytestmark = pytest.mark.slow


def test_flowers5_pretrained_mobilenet_v2_at_least_82_percent(shared_data):
    shared_data("flowers5")
    ds = e2elab.load_dataset("flowers5")
    train, test = train_test_indices(ds, test_size=0.25, seed=0)
    model = e2elab.make_pipeline("image", "end-to-end", backbone="mobilenet_v2", seed=0, progress=False)
    model.fit(ds.X[train], ds.y[train])
    assert model.score(ds.X[test], ds.y[test]) >= 0.82


FLOWERS5_PARAMS = dict(backbone="mobilenet_v2", seed=0, progress=False)


def _flowers5_with_10_percent_of_the_labels():
    """(data set, training positions, test positions, training labels with 90% set to -1, and the
    test accuracy of the same network fine-tuned on the 10% labelled alone)."""
    ds = e2elab.load_dataset("flowers5")
    train, test = train_test_indices(ds, test_size=0.25, seed=0)
    unlabeled, labelled = stratified_holdout(ds.y[train], test_size=0.10, seed=0)
    y = ds.y[train].astype(object)
    y[unlabeled] = -1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        supervised = e2elab.make_pipeline("image", "end-to-end", **FLOWERS5_PARAMS)
        supervised.fit(ds.X[train][labelled], y[labelled])
    return ds, train, test, y, supervised.score(ds.X[test], ds.y[test])


def test_flowers5_fixmatch_with_10_percent_of_the_labels_beats_the_labels_alone(shared_data):
    shared_data("flowers5")
    ds, train, test, y, supervised_score = _flowers5_with_10_percent_of_the_labels()
    semi = e2elab.make_pipeline("image", "end-to-end", semi_supervised="fixmatch", **FLOWERS5_PARAMS)
    semi.fit(ds.X[train], y)
    shares = semi.fixmatch_["confident_share"]
    assert semi.fixmatch_["unlabeled"] == np.sum(y == -1)
    assert shares[-1] > shares[0]  # the consistency loss acted on more and more unlabeled photos
    assert semi.score(ds.X[test], ds.y[test]) >= supervised_score + 0.05


def test_flowers5_self_training_with_10_percent_of_the_labels_beats_the_labels_alone(shared_data):
    shared_data("flowers5")
    ds, train, test, y, supervised_score = _flowers5_with_10_percent_of_the_labels()
    semi = e2elab.make_pipeline("image", "end-to-end", semi_supervised="self_training", **FLOWERS5_PARAMS)
    semi.fit(ds.X[train], y)
    # Measured 68.0 % against 65.0 %: self-training helps, FixMatch (above) is the one that gains 5 points.
    assert semi.score(ds.X[test], ds.y[test]) >= supervised_score + 0.02
