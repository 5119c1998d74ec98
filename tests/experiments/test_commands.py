"""`e2elab compare` and `e2elab curve` from the command line, on a folder of images."""

import json

import numpy as np
import pytest
from PIL import Image

from e2elab.cli import main
from e2elab.commands._grid_args import parse_kind_params, parse_seeds
from e2elab.experiments.schemas import curve_schema, results_schema, validate
from e2elab.errors import E2elabError


@pytest.fixture
def digit_folder(digits, tmp_path):
    """train/ and test/ folders of class sub-folders of PNGs (a layout `--data` understands)."""
    root = tmp_path / "digits"
    rng = np.random.default_rng(0)
    for split, count in (("train", 240), ("test", 80)):
        pool = np.flatnonzero(digits.split == split)
        for i in rng.choice(pool, count, replace=False):
            folder = root / split / digits.y[i]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray((digits.X[i] * 15).astype(np.uint8)).save(folder / f"{i}.png")
    return root


def test_compare_command(stand_ins, digit_folder, tmp_path, capsys):
    run = tmp_path / "run"
    code = main(["compare", "image", "--data", str(digit_folder), "--out", str(run), "--seeds", "2",
                 "--param", "end-to-end.C=0.5", "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    assert "paired over 2 matched runs" in out and "traditional" in out
    results = json.loads((run / "results.json").read_text())
    validate(results, results_schema())
    assert results["split"]["kind"] == "predefined"
    assert len(list((run / "cells").glob("*.json"))) == 4


@pytest.mark.filterwarnings("ignore::UserWarning")  # the stand-in's warnings, from worker threads
def test_curve_command(stand_ins, digit_folder, tmp_path, capsys):
    run = tmp_path / "run"
    code = main(["curve", "image", "--data", str(digit_folder), "--out", str(run), "--sizes", "20,40,80,1.0",
                 "--seeds", "0,1", "--target-error", "0.2", "--bootstrap", "20", "--jobs", "2", "--backend", "threading",
                 "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    assert "crossover:" in out and "target 0.2" in out
    validate(json.loads((run / "curve.json").read_text()), curve_schema())
    assert (run / "curve.png").exists()


def test_bad_sizes_are_a_clear_error(stand_ins, digit_folder, tmp_path, capsys):
    code = main(["curve", "image", "--data", str(digit_folder), "--out", str(tmp_path / "r"), "--sizes", "20,100000", "--no-progress"])
    assert code == 1
    assert "outside" in capsys.readouterr().err


def test_argument_parsing():
    assert parse_seeds("3") == [0, 1, 2]
    assert parse_seeds("4,7") == [4, 7]
    with pytest.raises(E2elabError, match="count of seeds"):
        parse_seeds("0")
    assert parse_kind_params(["end-to-end.epochs=20", "traditional.kernel=rbf", "end-to-end.lr=0.01"]) == {
        "end-to-end": {"epochs": 20, "lr": 0.01}, "traditional": {"kernel": "rbf"}}
    with pytest.raises(E2elabError, match="KIND.KEY=VALUE"):
        parse_kind_params(["epochs=20"])
