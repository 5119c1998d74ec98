"""train -> evaluate -> predict through the command line, on a folder of images a user might have."""

from __future__ import annotations

import json

from e2elab.cli import main


def test_train_evaluate_predict_round_trip(tmp_path, stand_in_pipeline, image_folder, capsys):
    data = image_folder
    run = tmp_path / "run"
    assert main(["train", "image", "--data", str(data), "--pipeline", "traditional", "--out", str(run), "--param", "C=10"]) == 0
    record = json.loads((run / "train.json").read_text())
    assert record["metric"] == "error" and record["value"] == 0.0
    assert record["params"]["C"] == 10
    assert record["n_train"] + record["n_test"] == 24

    capsys.readouterr()
    assert main(["evaluate", str(run / "model"), "--data", str(data), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["items"] == record["n_test"] and result["value"] == 0.0
    assert result["scored"] == "the items held out in training"

    assert main(["predict", str(run / "model"), str(data / "left" / "0.png"), str(data / "right" / "0.png"), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["label"] for line in lines] == ["left", "right"]
    assert lines[0]["top"][0]["probability"] > 0.5 and "seconds" in lines[0]


def test_unknown_parameter_is_named(tmp_path, stand_in_pipeline, image_folder, capsys):
    data = image_folder
    code = main(["train", "image", "--data", str(data), "--pipeline", "traditional", "--out", str(tmp_path / "run"), "--param", "depth=3"])
    assert code == 1
    assert "no parameter depth" in capsys.readouterr().err


def test_wrong_task_is_refused(tmp_path, stand_in_pipeline, image_folder, capsys):
    data = image_folder
    assert main(["train", "speech", "--data", str(data), "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "no audio files for a speech data set" in err and "image" in err
