"""The figures the end-to-end image classifier must reach (slow: full trainings on real data).

    E2ELAB_DATA_DIR=... pytest -m slow tests/image/test_end_to_end_figures.py
"""

from __future__ import annotations

import pytest

import e2elab
from e2elab.data.splits import train_test_indices

pytestmark = pytest.mark.slow


def test_usps_test_error_at_most_3_percent(shared_data):
    shared_data("usps")
    train, test = e2elab.load_dataset("usps", split="train"), e2elab.load_dataset("usps", split="test")
    model = e2elab.make_pipeline("image", "end-to-end", seed=0, progress=False).fit(train.X, train.y)
    assert 1 - model.score(test.X, test.y) <= 0.030
    assert model.calibration_["ece_after"] <= model.calibration_["ece_before"] + 0.01


@pytest.mark.xfail(reason="no recipe reaches 80 % on flowers5 yet: the default one gets 77.2 % in 100 epochs, and "
                          "none of the changes tried since did better (docs/experiments.md)", strict=False)
def test_flowers5_accuracy_at_least_80_percent(shared_data):
    shared_data("flowers5")
    ds = e2elab.load_dataset("flowers5")
    train, test = train_test_indices(ds, test_size=0.25, seed=0)
    model = e2elab.make_pipeline("image", "end-to-end", seed=0, progress=False, epochs=100, tta=True)
    model.fit(ds.X[train], ds.y[train])
    assert model.score(ds.X[test], ds.y[test]) >= 0.80


def test_flowers5_cpu_preset_for_cpus_without_bfloat16(shared_data):
    # README: 74.7 / 75.8 % in 21.5-23.5 min on 2 AVX2 cores (two runs); the bound leaves the seed-to-seed noise.
    shared_data("flowers5")
    ds = e2elab.load_dataset("flowers5")
    train, test = train_test_indices(ds, test_size=0.25, seed=0)
    model = e2elab.make_pipeline("image", "end-to-end", seed=0, progress=False, epochs=100, tta=True, preset="cpu")
    model.fit(ds.X[train], ds.y[train])
    assert model.score(ds.X[test], ds.y[test]) >= 0.74
