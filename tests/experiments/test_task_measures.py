"""The measures a task reports beside its error (AP@0.5 and COCO's AP for detection, BLEU and chrF
for translation) reach results.json and curve.json, and the schemas check them."""

import copy
import json

import pytest

from e2elab.data.dataset import Dataset
from e2elab.detection.synthetic import face_photos
from e2elab.experiments import compare, curve
from e2elab.experiments.cells import task_measures
from e2elab.experiments.compare import format_table
from e2elab.experiments.schemas import SchemaError, _check, curve_schema, results_schema, validate

TRADITIONAL_DETECTOR = {"window": 24, "mining_rounds": 1, "negatives_per_image": 4, "progress": False}
PHRASE_BASED = {"model1_iterations": 1, "hmm_iterations": 1, "lm_order": 2, "tune": False, "progress": False}

GERMAN = ["der Hund läuft", "die Katze schläft", "der Mann singt", "die Frau läuft", "der Hund schläft",
          "die Katze singt", "der Mann läuft", "die Frau schläft", "der Hund singt", "die Katze läuft"]
ENGLISH = ["the dog runs", "the cat sleeps", "the man sings", "the woman runs", "the dog sleeps",
           "the cat sings", "the man runs", "the woman sleeps", "the dog sings", "the cat runs"]


@pytest.fixture(scope="module")
def faces():
    photos, boxes = face_photos(8, seed=0, faces=2)
    return Dataset(X=photos, y=boxes, task="detection", split=["train"] * 6 + ["test"] * 2, name="faces")


@pytest.fixture(scope="module")
def sentences():
    return Dataset(X=GERMAN, y=ENGLISH, task="translation", split=["train"] * 8 + ["test"] * 2, name="toy de-en")


def test_detection_results_keep_average_precision_beside_the_error(faces, tmp_path):
    summary = compare("detection", faces, tmp_path, pipelines=["traditional"], seeds=[0, 1],
                      params={"traditional": TRADITIONAL_DETECTOR}, progress=False)
    written = json.loads((tmp_path / "results.json").read_text())
    validate(written, results_schema())
    assert written["measures"] == ["ap50", "coco_ap"]
    entry = written["pipelines"]["traditional"]
    assert len(entry["ap50"]["runs"]) == 2
    assert entry["metric"]["runs"] == pytest.approx([1 - ap for ap in entry["ap50"]["runs"]])
    assert all(0 <= coco <= ap50 for coco, ap50 in zip(entry["coco_ap"]["runs"], entry["ap50"]["runs"]))
    assert not list(tmp_path.glob("confusion_*.json"))  # boxes have no confusion matrix to sum
    assert "ap50" in format_table(summary).splitlines()[1]


def test_translation_results_keep_bleu_chrf_and_the_signature(sentences):
    summary = compare("translation", sentences, None, pipelines=["traditional"], seeds=[0],
                      params={"traditional": PHRASE_BASED}, progress=False)
    validate(summary, results_schema())
    entry = summary["pipelines"]["traditional"]
    assert summary["measures"] == ["bleu", "chrf"]
    assert entry["metric"]["mean"] == pytest.approx(1 - entry["bleu"]["mean"] / 100)
    assert 0 < entry["chrf"]["mean"] <= 100
    assert entry["bleu_signature"].startswith("nrefs:1")
    table = format_table(summary)
    assert "chrf" in table and f"bleu_signature: {entry['bleu_signature']}" in table


def test_curve_points_hold_the_task_measures(sentences, tmp_path):
    summary = curve("translation", sentences, tmp_path, pipelines=["traditional"], sizes=[2, 4, 8], seeds=[0],
                    params={"traditional": PHRASE_BASED}, n_boot=10, progress=False)
    written = json.loads((tmp_path / "curve.json").read_text())
    validate(written, curve_schema())
    assert written["measures"] == ["bleu", "chrf"]
    for point in summary["pipelines"]["traditional"]["points"]:
        assert point["mean"] == pytest.approx(1 - point["bleu"] / 100)
        assert "chrf" in point


def test_task_measures_leave_out_the_run_bookkeeping():
    runs = [{"metric": 0.4, "confusion": {}, "n_train": 8, "train_seconds": 1.0, "ap50": 0.6, "note": "same", "seed": "a"},
            {"metric": 0.2, "confusion": {}, "n_train": 8, "train_seconds": 2.0, "ap50": 0.8, "note": "same", "seed": "b"}]
    numbers, texts = task_measures(runs)
    assert numbers == {"ap50": [0.6, 0.8]}
    assert texts == {"note": "same"}  # a text that differs between runs says nothing about all of them
    assert task_measures([]) == ({}, {})


VALIDATORS = [validate, lambda doc, schema: _check(doc, schema, "$")]
RESULTS = {"task": "detection", "data": "faces", "split": {"kind": "random", "folds": 1}, "metric": "ap50_error",
           "lower_is_better": True, "measures": ["ap50"],
           "pipelines": {"traditional": {"metric": {"mean": 0.3, "ci95": None, "runs": [0.3]}, "train_seconds": 1.0,
                                         "predict_seconds_per_item": 0.1, "n_parameters": 10, "model_bytes": 100,
                                         "ap50": {"mean": 0.7, "ci95": None, "runs": [0.7]}}}}


@pytest.mark.parametrize("check", VALIDATORS)
def test_schemas_check_the_measures(check):
    check(RESULTS, results_schema())
    bare = copy.deepcopy(RESULTS)
    bare["pipelines"]["traditional"]["ap50"] = 0.7  # a number where the summary of the runs belongs
    with pytest.raises(SchemaError, match="ap50"):
        check(bare, results_schema())
    point = {"n": 4, "mean": 0.3, "ci95": None, "runs": [0.3], "ap50": "high"}
    curve_doc = {"task": "detection", "data": "faces", "metric": "ap50_error", "crossover": None,
                 "pipelines": {"traditional": {"points": [point], "law": None, "extrapolation_check": None}}}
    with pytest.raises(SchemaError, match="ap50"):
        check(curve_doc, curve_schema())
    point["ap50"] = 0.7
    check(curve_doc, curve_schema())
