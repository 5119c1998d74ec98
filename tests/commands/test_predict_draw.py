"""e2elab predict --draw: detection photos written with their boxes; any other model refused."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import e2elab
from e2elab.cli import main
from e2elab.detection.drawing import PREDICTED_COLOUR
from e2elab.detection.synthetic import face_photos
from e2elab.detection.traditional import SlidingWindowDetector


@pytest.fixture(scope="module")
def detector_folder(tmp_path_factory):
    photos, boxes = face_photos(12, seed=0)
    model = SlidingWindowDetector(min_face=16, mining_rounds=1, seed=0).fit(photos, boxes)
    return e2elab.save(model, tmp_path_factory.mktemp("run") / "model"), model


@pytest.fixture
def photo_files(tmp_path):
    photos, _ = face_photos(2, seed=1)
    paths = []
    for i, photo in enumerate(photos):
        paths.append(tmp_path / f"photo{i}.png")
        Image.fromarray(photo).save(paths[-1])
    return paths


def test_draw_writes_each_photo_with_its_boxes(detector_folder, photo_files, tmp_path, capsys):
    folder, model = detector_folder
    out = tmp_path / "drawn"
    assert main(["predict", str(folder), *map(str, photo_files), "--draw", str(out), "--draw-min-score", "0.65"]) == 0
    assert "drew 2 photo(s)" in capsys.readouterr().out
    for path in photo_files:
        drawn = np.asarray(Image.open(out / f"{path.name}.png"))
        assert drawn.shape == (96, 96, 3)
        found = model.predict([str(path)])[0]
        drawn_boxes, hidden_boxes = found["boxes"][found["scores"] >= 0.65], found["boxes"][found["scores"] < 0.65]
        assert len(drawn_boxes) and len(hidden_boxes)
        for x, y, w, h in drawn_boxes:
            assert tuple(drawn[round(y + h / 2), round(x)]) == PREDICTED_COLOUR  # the left edge
        for x, y, w, h in hidden_boxes:
            if not np.any(np.abs(drawn_boxes[:, 0] - x) < 3):  # no drawn box's edge runs there
                assert tuple(drawn[round(y + h / 2), round(x)]) != PREDICTED_COLOUR


def test_draw_needs_a_detection_model(tmp_path, stand_in_pipeline, image_folder, capsys):
    run = tmp_path / "run"
    assert main(["train", "image", "--data", str(image_folder), "--pipeline", "traditional", "--out", str(run)]) == 0
    capsys.readouterr()
    code = main(["predict", str(run / "model"), str(image_folder / "left" / "0.png"), "--draw", str(tmp_path / "drawn")])
    assert code == 1
    assert "--draw draws boxes on photos" in capsys.readouterr().err
    assert not (tmp_path / "drawn").exists()


def test_min_score_without_draw_is_refused(detector_folder, photo_files, capsys):
    assert main(["predict", str(detector_folder[0]), str(photo_files[0]), "--draw-min-score", "0.5"]) == 1
    assert "was not given" in capsys.readouterr().err
