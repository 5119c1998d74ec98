import json

import pytest

from e2elab.errors import RunFolderError
from e2elab.experiments import compare
from e2elab.experiments.compare import compare_splits, format_table
from e2elab.experiments.schemas import results_schema, validate


def test_image_compare_on_the_data_sets_own_split(stand_ins, digits, tmp_path):
    summary = compare("image", digits, tmp_path, pipelines=["end-to-end", "traditional"], seeds=[0, 1], progress=False)
    validate(json.loads((tmp_path / "results.json").read_text()), results_schema())
    assert summary["split"] == {"kind": "predefined", "folds": 1}
    assert summary["metric"] == "error" and summary["lower_is_better"] is True
    for kind in ("end-to-end", "traditional"):
        entry = summary["pipelines"][kind]
        assert len(entry["metric"]["runs"]) == 2
        assert 0 <= entry["metric"]["mean"] < 0.3
        assert entry["accuracy"]["mean"] == pytest.approx(1 - entry["metric"]["mean"])
        assert entry["n_test"] == len(digits) - 1300
        assert entry["n_parameters"] > 0 and entry["model_bytes"] > 0
    # logistic regression has coef (10, 64) + intercept (10,) at least; a centroid model 10 x 64 centroids
    assert summary["pipelines"]["end-to-end"]["n_parameters"] >= 650
    test = summary["paired_tests"][0]
    assert (test["a"], test["b"], test["n_pairs"]) == ("end-to-end", "traditional", 2)
    confusion = json.loads((tmp_path / "confusion_traditional.json").read_text())
    assert sum(map(sum, confusion["matrix"])) == 2 * (len(digits) - 1300)
    table = format_table(summary)
    assert "end-to-end" in table and "paired over 2 matched runs" in table


def test_speech_compare_holds_whole_speakers_out(stand_ins, tones, tmp_path):
    summary = compare("speech", tones, tmp_path, seeds=[0], folds=4, pipelines=["end-to-end", "traditional"], progress=False)
    assert (summary["split"]["kind"], summary["split"]["folds"]) == ("group", 4)
    assert sorted(g for groups in summary["split"]["test_groups"].values() for g in groups) == ["ann", "bob", "cy", "dee"]
    assert summary["metric"] == "wer"
    runs = summary["pipelines"]["end-to-end"]["metric"]["runs"]
    assert len(runs) == 4 and all(0 <= r <= 1 for r in runs)
    assert summary["pipelines"]["traditional"]["model_bytes"] is None  # the stand-in cannot be saved
    words = json.loads((tmp_path / "confusion_end-to-end.json").read_text())["counts"]
    assert sum(sum(h.values()) for h in words.values()) == len(tones)  # one word per clip, each aligned once
    for train, test in compare_splits(tones, folds=4)[0].values():
        assert not set(tones.groups[train]) & set(tones.groups[test])


def test_compare_resumes_without_retraining(stand_ins, digits, tmp_path):
    compare("image", digits, tmp_path, pipelines=["traditional"], seeds=[0, 1], progress=False)
    assert len(stand_ins) == 2
    (tmp_path / "cells" / "traditional__dataset__seed1.json").unlink()  # as if killed before this cell finished
    stand_ins.clear()
    compare("image", digits, tmp_path, pipelines=["traditional"], seeds=[0, 1], progress=False)
    assert stand_ins == [("traditional", 1, 1300)]


def test_compare_with_other_settings_is_refused(stand_ins, digits, tmp_path):
    compare("image", digits, tmp_path, pipelines=["traditional"], seeds=[0, 1], progress=False)
    results = (tmp_path / "results.json").read_text()
    stand_ins.clear()
    with pytest.raises(RunFolderError, match="holds a compare run with other settings \\(params, pipelines, seeds differ\\)"):
        compare("image", digits, tmp_path, pipelines=["traditional", "end-to-end"], seeds=[0, 1, 2], progress=False)
    assert stand_ins == [] and (tmp_path / "results.json").read_text() == results


def test_parameters_reach_the_pipeline(stand_ins, digits, tmp_path):
    weak = compare("image", digits, None, pipelines=["end-to-end"], seeds=[0], params={"end-to-end": {"C": 1e-6}}, progress=False)
    strong = compare("image", digits, None, pipelines=["end-to-end"], seeds=[0], progress=False)
    assert weak["pipelines"]["end-to-end"]["metric"]["mean"] > strong["pipelines"]["end-to-end"]["metric"]["mean"] + 0.05
    with pytest.raises(ValueError, match="not compared"):
        compare("image", digits, None, pipelines=["end-to-end"], seeds=[0], params={"traditional": {"C": 1}}, progress=False)


def test_images_without_a_split_get_a_stratified_holdout(digits):
    unsplit = digits.subset(range(400))
    unsplit.split = None
    splits, info = compare_splits(unsplit, test_size=0.25)
    train, test = splits["holdout"]
    assert info["kind"] == "stratified" and len(test) == pytest.approx(100, abs=10)
    assert set(unsplit.y[test]) == set(unsplit.y)


def test_speakers_reach_pipelines_that_take_them(stand_ins, tones, monkeypatch):
    from e2elab import registry

    ToneCentroid = registry._REGISTRY[("speech", "traditional")]  # the stand-in, from the fixture
    seen = []

    class SpeakerNormalised(ToneCentroid):
        def fit(self, X, y, groups=None):
            seen.append(("fit", sorted(set(groups))))
            return super().fit(X, y)

        def predict(self, X, groups=None):
            seen.append(("predict", sorted(set(groups))))
            return super().predict(X)

    monkeypatch.setitem(registry._REGISTRY, ("speech", "traditional"), SpeakerNormalised)
    monkeypatch.setattr(SpeakerNormalised, "kind", "traditional", raising=False)
    compare("speech", tones, None, pipelines=["traditional"], seeds=[0], folds=2, progress=False)
    fits = [g for what, g in seen if what == "fit"]
    predicts = [g for what, g in seen if what == "predict"]
    assert len(fits) == 2 and all(len(g) == 2 for g in fits)
    assert sorted(g for p in predicts for g in p) == ["ann", "bob", "cy", "dee"]
