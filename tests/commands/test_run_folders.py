"""Run folders: a non-empty one is refused unless --overwrite or --resume says what to do with it."""

from __future__ import annotations

import json

import pytest

from e2elab.cli import main


def train(data, run, *extra):
    return main(["train", "image", "--data", str(data), "--pipeline", "traditional", "--out", str(run), *extra])


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_a_folder_holding_anything_is_refused_before_training(tmp_path, stand_in_pipeline, image_folder, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("mine")
    assert train(image_folder, run) == 1
    assert "is not empty; use a new --out, --resume to continue the run there, or --overwrite" in error_line(capsys)
    assert sorted(p.name for p in run.iterdir()) == ["notes.txt"]


def test_overwrite_discards_only_what_a_run_wrote(tmp_path, stand_in_pipeline, image_folder, capsys):
    run = tmp_path / "run"
    assert train(image_folder, run, "--param", "C=0.5") == 0
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "metrics.jsonl").write_text('{"epoch": 1}\n')
    (run / "notes.txt").write_text("mine")
    assert train(image_folder, run, "--overwrite", "--param", "C=2") == 0
    assert not (run / "checkpoints").exists()
    assert (run / "notes.txt").read_text() == "mine"
    assert json.loads((run / "train.json").read_text())["params"]["C"] == 2


def test_resume_refuses_a_run_with_other_settings(tmp_path, stand_in_pipeline, image_folder, capsys):
    run = tmp_path / "run"
    assert train(image_folder, run) == 0
    record = (run / "train.json").read_text()
    assert train(image_folder, run, "--resume", "--seed", "1", "--param", "C=3") == 1
    assert "holds another run (its seed, C differ from this one's)" in error_line(capsys)
    assert (run / "train.json").read_text() == record
    assert train(image_folder, run, "--resume") == 0  # the same settings continue


def test_a_model_folder_that_is_not_a_model_is_refused_before_training(tmp_path, stand_in_pipeline, image_folder, capsys):
    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)
    (run / "model" / "thesis.tex").write_text("years of work")
    for flag in ("--overwrite", "--resume"):
        assert train(image_folder, run, flag) == 1
        assert "model exists and is not an e2elab model folder" in error_line(capsys)
    assert (run / "model" / "thesis.tex").exists() and not (run / "train.json").exists()


def test_an_output_path_below_a_file_is_a_clear_error(tmp_path, stand_in_pipeline, image_folder, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert train(image_folder, blocker / "run") == 1
    assert "cannot write there" in error_line(capsys)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_grid_with_other_settings_is_refused_and_overwrite_replaces_it(tmp_path, stand_in_pipeline, image_folder, capsys):
    run = tmp_path / "run"
    grid = ["compare", "image", "--data", str(image_folder), "--out", str(run), "--pipelines", "traditional", "--no-progress"]
    assert main([*grid, "--seeds", "1"]) == 0
    assert main([*grid, "--seeds", "1"]) == 0  # the same settings: every cell reused
    capsys.readouterr()
    assert main([*grid, "--seeds", "2"]) == 1
    assert "holds a compare run with other settings (seeds differ)" in error_line(capsys)
    assert json.loads((run / "results.json").read_text())["seeds"] == [0]
    assert main([*grid, "--seeds", "2", "--overwrite"]) == 0
    assert json.loads((run / "results.json").read_text())["seeds"] == [0, 1]
