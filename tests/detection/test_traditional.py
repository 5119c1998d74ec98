import json
import warnings

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file
from sklearn.base import clone

from e2elab.base import ModelState
from e2elab.detection.boxes import iou
from e2elab.detection.metrics import ap50
from e2elab.detection.traditional import SlidingWindowDetector
from e2elab.errors import DataError, ImageError, ParameterError


@pytest.fixture(scope="module")
def trained(synthetic_faces):
    photos, boxes = synthetic_faces(12, seed=0)
    return SlidingWindowDetector(min_face=16, seed=0).fit(photos, boxes)


def test_finds_planted_faces_and_not_the_eyeless_discs(trained, synthetic_faces):
    photos, boxes = synthetic_faces(6, seed=1)
    assert trained.score(photos, boxes) > 0.9
    # The best detection in each photo is a face, not the plain disc beside it.
    for prediction, faces in zip(trained.predict(photos), boxes):
        assert iou(prediction["boxes"][:1], faces).max() > 0.5


def test_predict_format_and_detection_cap(trained, synthetic_faces):
    photos, _ = synthetic_faces(2, seed=2)
    out = trained.predict(photos)
    assert len(out) == 2 and out[0]["boxes"].shape[1] == 4 and out[0]["scores"].shape == (len(out[0]["boxes"]),)
    assert len(out[0]["boxes"]) > 1 and np.all(np.diff(out[0]["scores"]) <= 0)  # best first
    capped = SlidingWindowDetector._from_state({**trained.get_params(), "max_detections": 1}, trained._get_state())
    assert all(len(p["boxes"]) == 1 for p in capped.predict(photos))


def test_clone_keeps_parameters_only(trained):
    copy = clone(trained)
    assert copy.get_params() == trained.get_params() and not hasattr(copy, "weights_")


def test_state_round_trip_through_json_and_safetensors_gives_identical_boxes(trained, synthetic_faces, tmp_path):
    state = trained._get_state()
    (tmp_path / "meta.json").write_text(json.dumps(state.meta))
    save_file(state.arrays, str(tmp_path / "weights.safetensors"))
    params = json.loads(json.dumps(trained.get_params()))
    meta, arrays = json.loads((tmp_path / "meta.json").read_text()), load_file(str(tmp_path / "weights.safetensors"))
    loaded = SlidingWindowDetector._from_state(params, ModelState(meta=meta, arrays=arrays))
    photos, _ = synthetic_faces(3, seed=3)
    for before, after in zip(trained.predict(photos), loaded.predict(photos)):
        np.testing.assert_array_equal(before["boxes"], after["boxes"])
        np.testing.assert_array_equal(before["scores"], after["scores"])


def test_stage_outputs_show_every_stage(trained, synthetic_faces):
    photos, _ = synthetic_faces(1, seed=4)
    outputs = trained.stage_outputs(photos[0])
    assert set(outputs) == {s.name for s in trained.stages}
    assert outputs["window_scores"].shape == photos[0].shape
    assert np.nanmax(outputs["window_scores"]) == pytest.approx(outputs["candidates"]["scores"].max(), abs=1e-5)
    assert len(outputs["features"]) == len(outputs["pyramid"]) >= 2
    assert len(outputs["suppression"]["boxes"]) < len(outputs["candidates"]["boxes"])


def test_explain_boxes_cell_contributions_add_up_to_the_score(trained, synthetic_faces):
    photos, _ = synthetic_faces(1, seed=5)
    explanations = trained.explain_boxes(photos[0])
    detections = trained.predict(photos)[0]
    assert len(explanations) == len(detections["boxes"]) > 0
    cells = trained.window // trained.cell_size
    for explanation, score in zip(explanations, detections["scores"]):
        assert explanation["cell_contributions"].shape == (cells, cells)
        assert explanation["cell_contributions"].sum() + explanation["bias"] == pytest.approx(score, abs=1e-4)


def test_same_seed_same_model(synthetic_faces):
    photos, boxes = synthetic_faces(4, seed=6)
    a = SlidingWindowDetector(min_face=16, mining_rounds=1, seed=3).fit(photos, boxes)
    b = SlidingWindowDetector(min_face=16, mining_rounds=1, seed=3).fit(photos, boxes)
    np.testing.assert_array_equal(a.weights_, b.weights_)


def test_bad_input(synthetic_faces, tmp_path):
    photos, boxes = synthetic_faces(2, seed=7)
    with pytest.raises(DataError, match="2 photos but 1 box lists"):
        SlidingWindowDetector().fit(photos, boxes[:1])
    with pytest.raises(ParameterError, match="multiple of cell_size"):
        SlidingWindowDetector(window=30).fit(photos, boxes)
    with pytest.raises(DataError, match="no annotated face"):
        SlidingWindowDetector(min_face=16).fit(photos, [np.zeros((0, 4))] * 2)
    missing = tmp_path / "gone.jpg"
    with pytest.raises(ImageError, match="gone.jpg"):
        SlidingWindowDetector(min_face=16, mining_rounds=0).fit([missing] + photos, [np.zeros((0, 4))] + boxes)
    model = SlidingWindowDetector(min_face=16, mining_rounds=0, on_error="skip")
    model.fit([missing] + photos, [np.zeros((0, 4))] + boxes)
    assert model.n_skipped_ == 1 and "gone.jpg" in model.skipped_[0][0]


@pytest.mark.slow
def test_facemask_average_precision(shared_data):
    """75/25 split of the facemask photos by image (seed 0): AP@0.5 over all faces, Haar beside it.

    Measured with the defaults: AP@0.5 0.47 (any-detection recall 0.74: faces under 10 px are out of
    reach), fitting in 6 to 9 minutes on two shared CPU cores."""
    import time

    from sklearn.model_selection import train_test_split

    from e2elab.detection.annotations import read_box_folder
    from e2elab.detection.haar import haar_reference
    from e2elab.errors import E2elabError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the data set's few boxes past the image edge are clipped
        data = read_box_folder(shared_data("facemask"))
    train, test = train_test_split(np.arange(len(data)), test_size=0.25, random_state=0)
    start = time.perf_counter()
    model = SlidingWindowDetector(seed=0).fit([data.paths[i] for i in train], [data.boxes[i] for i in train])
    fit_seconds = time.perf_counter() - start
    X_test, y_test = [data.paths[i] for i in test], [data.boxes[i] for i in test]
    result = {"ap50": model.score(X_test, y_test), "fit_seconds": round(fit_seconds), "history": model.history_}
    try:
        result["haar_ap50"] = ap50(haar_reference(X_test), y_test)
    except E2elabError as err:
        result["haar_ap50"] = f"unavailable: {err}"
    print(json.dumps(result))
    assert result["ap50"] >= 0.45
