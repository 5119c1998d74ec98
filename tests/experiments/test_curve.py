import json

import numpy as np
import pytest

from e2elab.errors import RunFolderError
from e2elab.experiments import curve
from e2elab.experiments.curve import parse_sizes, resolve_sizes
from e2elab.experiments.curve_table import format_table
from e2elab.experiments.schemas import curve_schema, validate


def test_image_curve_writes_points_laws_crossing_and_plot(stand_ins, digits, tmp_path):
    summary = curve("image", digits, tmp_path, sizes=[20, 40, 80, 160, 0.5], seeds=[0, 1], target=0.1, n_boot=40,
                    progress=False)
    validate(json.loads((tmp_path / "curve.json").read_text()), curve_schema())
    assert (tmp_path / "curve.png").stat().st_size > 10_000
    assert summary["sizes"] == [20, 40, 80, 160, 650]
    assert summary["test"]["n_items"] == len(digits) - 1300
    for kind in ("end-to-end", "traditional"):
        entry = summary["pipelines"][kind]
        assert [p["n"] for p in entry["points"]] == [20, 40, 80, 160, 650]
        assert all(len(p["runs"]) == 2 for p in entry["points"])
        assert entry["points"][-1]["mean"] < entry["points"][0]["mean"]  # more data helps
        assert entry["law"]["form"] == "a + b * n**-c"
        assert entry["extrapolation_check"]["n"] == 650
        assert set(entry["law_ci95"]) == {"a", "b", "c"}
    assert set(summary["target"]["n_needed"]) == {"end-to-end", "traditional"}
    assert "crossover_explanation" in summary
    assert "error(n) =" in format_table(summary)


def test_every_pipeline_gets_the_same_training_items(stand_ins, digits, tmp_path):
    curve("image", digits, tmp_path, sizes=[30, 60, 120], seeds=[0], n_boot=10, progress=False)
    cells = [json.loads(p.read_text()) for p in (tmp_path / "cells").glob("*.json")]
    digests = {}
    for cell in cells:
        digests.setdefault(cell["spec"]["n"], set()).add(cell["spec"]["split_digest"])
        assert cell["result"]["n_train"] == cell["spec"]["n"]
    assert all(len(d) == 1 for d in digests.values())


def test_speech_curve_grows_by_whole_speakers(stand_ins, tones, tmp_path):
    summary = curve("speech", tones, tmp_path, seeds=[0, 1], n_boot=20, progress=False)
    assert summary["unit"] == "groups" and summary["sizes"] == [1, 2, 3]  # 4 speakers, one held out for testing
    points = summary["pipelines"]["end-to-end"]["points"]
    assert [p["n_items"] for p in points] == [24, 48, 72]
    assert summary["pipelines"]["end-to-end"]["extrapolation_check"] is None  # needs 4 sizes


def test_curve_resumes_and_refuses_other_sizes(stand_ins, digits, tmp_path):
    curve("image", digits, tmp_path, pipelines=["traditional"], sizes=[30, 60, 120], seeds=[0], n_boot=10, progress=False)
    (tmp_path / "cells" / "traditional__n120__seed0.json").unlink()  # as if killed before this cell finished
    stand_ins.clear()
    curve("image", digits, tmp_path, pipelines=["traditional"], sizes=[30, 60, 120], seeds=[0], n_boot=10, progress=False)
    assert stand_ins == [("traditional", 0, 120)]
    with pytest.raises(RunFolderError, match="other settings \\(sizes differ\\)"):
        curve("image", digits, tmp_path, pipelines=["traditional"], sizes=[30, 60, 120, 240], seeds=[0], n_boot=10, progress=False)


def test_parse_and_resolve_sizes():
    assert parse_sizes("50, 100,0.5,1.0") == [50, 100, 0.5, 1.0]
    assert resolve_sizes(parse_sizes("50,100,0.5,1.0"), 1000, "items") == [50, 100, 500, 1000]
    assert resolve_sizes(None, 5, "groups") == [1, 2, 3, 4, 5]
    assert resolve_sizes(None, 7291, "items")[-1] == 7291
    # by default 7 log-spaced sizes, from 5 items of each class (at least 50) to the whole pool
    assert resolve_sizes(None, 1300, "items", n_classes=10) == [50, 86, 148, 255, 439, 755, 1300]
    assert resolve_sizes(None, 1300, "items", n_classes=20)[0] == 100
    with pytest.raises(ValueError, match="outside"):
        resolve_sizes([2000], 1000, "items")
    with pytest.raises(ValueError, match="not a number"):
        parse_sizes("50,lots")
    with pytest.raises(ValueError):
        parse_sizes("2.5")


def test_api_without_a_folder_returns_the_same_data(stand_ins, digits):
    summary = curve("image", digits, None, pipelines=["end-to-end"], sizes=[30, 60, 120], seeds=[0], n_boot=10, progress=False)
    validate(summary, curve_schema())
    assert summary["crossover"] is None and "both" in summary["crossover_explanation"]
    assert np.isfinite(summary["pipelines"]["end-to-end"]["law"]["a"])


def test_min_updates_raises_the_epochs_of_small_training_sets(monkeypatch):
    from sklearn.base import BaseEstimator

    from e2elab import registry
    from e2elab.experiments.curve import with_min_updates

    class ByEpochs(BaseEstimator):
        def __init__(self, epochs=5, batch_size=32, seed=0):
            self.epochs, self.batch_size, self.seed = epochs, batch_size, seed

    monkeypatch.setitem(registry._REGISTRY, ("image", "end-to-end"), ByEpochs)
    assert with_min_updates("image", "end-to-end", {}, 64, 100) == {"epochs": 50}  # 2 batches per epoch
    assert with_min_updates("image", "end-to-end", {"batch_size": 64}, 64, 100) == {"batch_size": 64, "epochs": 100}
    assert with_min_updates("image", "end-to-end", {"epochs": 8}, 10_000, 100) == {"epochs": 8}  # enough already
    assert with_min_updates("image", "end-to-end", {"epochs": 8}, 64, None) == {"epochs": 8}
