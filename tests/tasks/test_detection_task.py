"""The detection task through the command line: a folder of photos with boxes.tsv is trained on,
scored by 1 - AP@0.5, predicted with boxes, and bad annotations are named."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from e2elab.cli import main
from e2elab.data.splits import train_test_indices
from e2elab.detection.synthetic import face_photos
from e2elab.tasks import get_task

FAST = ["--param", "window=24", "--param", "mining_rounds=1", "--param", "negatives_per_image=4"]


@pytest.fixture
def face_folder(tmp_path):
    """ROOT/NN.png synthetic photos and ROOT/boxes.tsv with one row per face."""
    root = tmp_path / "faces"
    root.mkdir()
    photos, boxes = face_photos(8, seed=0, faces=2)
    rows = ["path\tx\ty\tw\th\tlabel"]
    for i, (photo, faces) in enumerate(zip(photos, boxes)):
        Image.fromarray(photo).save(root / f"{i:02d}.png")
        rows += [f"{i:02d}.png\t" + "\t".join(f"{v:g}" for v in box) + "\tface" for box in faces]
    (root / "boxes.tsv").write_text("\n".join(rows) + "\n")
    return root


def test_train_scores_by_average_precision_and_predict_returns_boxes(face_folder, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "detection", "--data", str(face_folder), "--pipeline", "traditional", "--out", str(run),
                 *FAST]) == 0
    record = json.loads((run / "train.json").read_text())
    assert record["metric"] == "ap50_error" and 0.0 <= record["value"] <= 1.0
    assert record["n_train"] == 6 and record["n_test"] == 2  # a random quarter of the photos held out
    capsys.readouterr()
    assert main(["predict", str(run / "model"), str(face_folder / "00.png"), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["n_boxes"] == len(answer["boxes"]) > 0
    assert set(answer["boxes"][0]) == {"x", "y", "w", "h", "score"}


def test_photos_are_split_at_random_not_by_class(face_folder):
    dataset = get_task("detection").read_source(face_folder)
    assert dataset.y[0].shape == (2, 4) and dataset.classes == []
    train, test = train_test_indices(dataset, seed=0)
    assert len(test) == 2 and set(train) | set(test) == set(range(8))


def test_an_annotation_naming_a_missing_photo_is_named(face_folder, tmp_path, capsys):
    with open(face_folder / "boxes.tsv", "a") as table:
        table.write("gone.png\t1\t1\t10\t10\tface\n")
    assert main(["train", "detection", "--data", str(face_folder), "--pipeline", "traditional",
                 "--out", str(tmp_path / "run"), *FAST]) == 1
    error = capsys.readouterr().err
    assert "boxes.tsv:18" in error and "gone.png" in error and "does not exist" in error


def test_boxes_outside_the_photo_are_clipped_with_a_warning_that_counts_them(face_folder):
    with open(face_folder / "boxes.tsv", "a") as table:
        table.write("00.png\t80\t80\t40\t40\tface\n00.png\t5\t5\t0\t9\tface\n")
    with pytest.warns(UserWarning, match="1 box\\(es\\) clipped to their image, 1 invalid"):
        dataset = get_task("detection").read_source(face_folder)
    assert dataset.y[0].shape == (3, 4) and dataset.y[0][:, :2].max() < 96


def test_data_show_counts_the_boxes(face_folder, capsys):
    assert main(["data", "show", str(face_folder)]) == 0
    out = capsys.readouterr().out
    assert "(detection, from" in out and "boxes: 16  (2-2 per item, 0 without any" in out
