"""`curve` with pipeline entries that carry parameters (remedies), each its own curve, on scikit-learn's digits."""

import json

import pytest

from e2elab.cli import main
from e2elab.experiments import curve
from e2elab.experiments.curve_table import format_table
from e2elab.experiments.entries import parse_entry, pretraining, resolve_entries
from e2elab.experiments.schemas import curve_schema, validate

SIZES = [20, 40, 80, 160, 320]


def test_a_parameterised_entry_is_its_own_curve_with_its_own_cells(stand_ins, digits, tmp_path):
    summary = curve("image", digits, tmp_path, pipelines=["traditional", "end-to-end", "end-to-end:C=0.002"],
                    params={"end-to-end": {"C": 0.5}}, sizes=SIZES, seeds=[0, 1], n_boot=20, progress=False)
    validate(json.loads((tmp_path / "curve.json").read_text()), curve_schema())
    assert list(summary["pipelines"]) == ["traditional", "end-to-end", "end-to-end:C=0.002"]
    remedy = summary["pipelines"]["end-to-end:C=0.002"]
    assert remedy["kind"] == "end-to-end" and remedy["params"] == {"C": 0.002}
    assert summary["pipelines"]["end-to-end"]["params"] == {}
    # the kind's parameter reaches the plain entry; the entry's own overrides it for the remedy
    cells = [json.loads(p.read_text()) for p in (tmp_path / "cells").glob("*.json")]
    assert len(cells) == 3 * len(SIZES) * 2
    used = {(c["spec"]["kind"], c["spec"]["params"]["C"]) for c in cells if c["spec"]["kind"] == "end-to-end"}
    assert used == {("end-to-end", 0.5), ("end-to-end", 0.002)}
    # so heavy a penalty learns less from the same items: the remedy here costs data instead of saving it
    assert remedy["points"][-1]["mean"] > summary["pipelines"]["end-to-end"]["points"][-1]["mean"]
    saved = summary["remedies"]["end-to-end:C=0.002"]
    assert saved["baseline"] == "end-to-end"
    assert saved["saving_factor_measured"] is None or saved["saving_factor_measured"] < 1
    # without --target-error, remedies are measured at the plain pipeline's error with the most data
    assert summary["target"]["error"] == summary["pipelines"]["end-to-end"]["points"][-1]["mean"]
    assert set(summary["crossovers"]) == {"end-to-end", "end-to-end:C=0.002"}
    table = format_table(summary)
    assert "end-to-end:C=0.002 saves a factor" in table and "R^2" in table


def test_an_entry_starting_from_a_missing_model_fails_before_any_training(stand_ins, digits, tmp_path):
    with pytest.raises(ValueError, match="init_from=.*no such model folder"):
        curve("image", digits, tmp_path, pipelines=["end-to-end", f"end-to-end:init_from={tmp_path / 'nowhere'}"],
              sizes=SIZES, seeds=[0], n_boot=10, progress=False)
    assert stand_ins == [] and not (tmp_path / "cells").exists()


def test_entries_are_parsed_labelled_and_checked():
    entry = parse_entry(" end-to-end : init_from=C:\\models\\m : lower_lr=0.1 ")
    assert entry.label == "end-to-end:init_from=C:\\models\\m:lower_lr=0.1"
    assert entry.own_params == {"init_from": "C:\\models\\m", "lower_lr": 0.1}  # a drive's colon is not a separator
    assert entry.params({"end-to-end": {"lower_lr": 1.0, "epochs": 3}}) == {"lower_lr": 0.1, "epochs": 3,
                                                                             "init_from": "C:\\models\\m"}
    assert parse_entry("end-to-end:init_from=a/b").key != parse_entry("end-to-end:init_from=a_b").key
    with pytest.raises(ValueError, match="given twice"):
        parse_entry("end-to-end:C=1:C=2")
    with pytest.raises(ValueError, match="expected kind"):
        parse_entry("C=1")
    with pytest.raises(ValueError, match="given twice"):
        resolve_entries("image", ["end-to-end", "end-to-end"])
    with pytest.raises(ValueError, match="no pipeline 'end-to-nowhere'"):
        resolve_entries("image", ["end-to-nowhere:C=1"])
    assert [e.label for e in resolve_entries("image", [("end-to-end", {"backbone": "mobilenet_v2"})])] == [
        "end-to-end:backbone=mobilenet_v2"]


def test_pretraining_time_is_read_from_the_record_beside_the_model(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "train.json").write_text(json.dumps({"model": "elsewhere/model", "train_seconds": 1234.5}))
    assert pretraining({"init_from": str(tmp_path / "model")}) == {"seconds": 1234.5, "record": str(tmp_path / "train.json")}
    (tmp_path / "other").mkdir()
    assert pretraining({"init_from": str(tmp_path / "other")}) is None  # the record describes another model
    assert pretraining({"backbone": "mobilenet_v2"}) is None
    # a model of `e2elab pretrain`: its synthetic corpus counts too
    (tmp_path / "train.json").write_text(json.dumps({"model": "model", "train_seconds": 900.0,
                                                      "pretraining": {"total_seconds": 1500.0}}))
    assert pretraining({"init_from": str(tmp_path / "model")})["seconds"] == 1500.0


def test_curve_command_takes_entries_and_refuses_a_bad_one(stand_ins, digits, tmp_path, capsys):
    code = main(["curve", "image", "--data", "nowhere", "--out", str(tmp_path / "r"), "--pipelines", "end-to-end:C=-1",
                 "--no-progress"])
    assert code == 1 and "C" in capsys.readouterr().err  # the value is checked before the data is looked for
