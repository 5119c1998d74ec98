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


def test_flowers5_self_training_with_10_percent_of_the_labels_beats_the_labels_alone(shared_data):
    shared_data("flowers5")
    ds = e2elab.load_dataset("flowers5")
    train, test = train_test_indices(ds, test_size=0.25, seed=0)
    unlabeled, labelled = stratified_holdout(ds.y[train], test_size=0.10, seed=0)
    y = ds.y[train].astype(object)
    y[unlabeled] = -1
    params = dict(backbone="mobilenet_v2", seed=0, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        supervised = e2elab.make_pipeline("image", "end-to-end", **params).fit(ds.X[train][labelled], y[labelled])
    semi = e2elab.make_pipeline("image", "end-to-end", semi_supervised="self_training", **params).fit(ds.X[train], y)
    assert np.sum(y != -1) == len(labelled)
    assert semi.score(ds.X[test], ds.y[test]) >= supervised.score(ds.X[test], ds.y[test]) + 0.05
