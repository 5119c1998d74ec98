"""The sliding-window detector's explanations: exact HOG-cell shares of each detection's SVM score."""

import json

import numpy as np
import pytest

from e2elab.detection.synthetic import face_photos
from e2elab.detection.traditional import SlidingWindowDetector
from e2elab.errors import ParameterError
from e2elab.explain import explain
from e2elab.explain.detection_records import MAX_BOXES
from e2elab.explain.detection_traditional import cell_maps, detection_windows


@pytest.fixture(scope="module")
def detector():
    photos, boxes = face_photos(12, seed=0)
    return SlidingWindowDetector(min_face=16, mining_rounds=1, seed=0).fit(photos, boxes)


@pytest.fixture(scope="module")
def photos():
    return face_photos(2, seed=1)


def test_rebuilt_windows_score_what_the_detector_scored_and_the_cells_add_up(detector, photos):
    result, windows = detection_windows(detector, photos[0][0])
    assert 0 < len(windows) <= MAX_BOXES
    maps = cell_maps(detector.weights_, [w.blocks() for w in windows])
    for window, cells, score in zip(windows, maps, result["detections"]["scores"]):
        assert float((window.blocks() * detector.weights_).sum()) + detector.bias_ == pytest.approx(score, abs=1e-4)
        assert cells.sum() + detector.bias_ == pytest.approx(score, abs=1e-4)
    # The same numbers as the detector's own explanation of its boxes.
    own = [entry["cell_contributions"] for entry in detector.explain_boxes(photos[0][0])[:len(windows)]]
    np.testing.assert_allclose(maps, np.stack(own), atol=1e-5)


def test_explain_draws_and_scores_each_detection(detector, photos, tmp_path):
    records = explain(detector, photos[0], out_dir=tmp_path)
    best = [r for r in records if r["detection"] == 0]
    assert [r["input"] for r in best] == ["input-0", "input-1"]
    for record in best:
        scores = record["scores"]
        # Removing the cells the map ranks first lowers the window's score faster than random order.
        assert scores["deletion_auc"] < scores["deletion_auc_random"]
        assert scores["randomisation_spearman"] < scores["threshold"]
        assert record["map"].shape == photos[0][0].shape[:2]
        assert (tmp_path / f"{record['input']}.box0.hog_cells.png").stat().st_size > 0
    # The map lies in the detection's window: nothing outside it.
    x, y, w, h = best[0]["box"]
    outside = best[0]["map"].copy()
    outside[max(0, int(y - h)):int(y + 2 * h), max(0, int(x - w)):int(x + 2 * w)] = 0
    assert not outside.any()
    saved = json.loads((tmp_path / "explanations.json").read_text())
    assert saved["task"] == "detection" and saved["summary"]["hog_cells"]["n"] == len(records)
    assert {"box", "detection", "scores", "png"} <= set(saved["explanations"][0])


def test_a_photo_without_detections_gives_no_record(detector, photos):
    strict = SlidingWindowDetector._from_state({**detector.get_params(), "score_threshold": 100.0}, detector._get_state())
    assert strict.predict(photos[0][:1])[0]["boxes"].shape == (0, 4)
    assert explain(strict, photos[0][:1], sanity=False, faithfulness=False) == []


def test_unknown_method_and_target_are_refused(detector, photos):
    with pytest.raises(ParameterError, match="unknown method"):
        explain(detector, photos[0][:1], methods=["gradcam"])
    with pytest.raises(ParameterError, match="no target"):
        explain(detector, photos[0][:1], target="face")
