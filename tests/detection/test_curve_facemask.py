"""The README's detection learning curve: both detectors on 50 .. 480 facemask photos (seed 0),
tested on the same quarter of the photos held out at random, and where the curves cross.

Reproduces ``e2elab curve detection --data facemask --sizes 50,100,200,480 --seeds 1
--param end-to-end.epochs=80 --min-updates 2400``: every size gets the 2,400 gradient updates
(80 epochs of 30 steps) of the full training set, so that small sizes measure a lack of data, not
of training. About an hour on 2 CPU cores.
"""

import json

import pytest

from e2elab.cli import main
from e2elab.experiments.schemas import curve_schema, validate

SIZES = [50, 100, 200, 480]


@pytest.mark.slow
def test_facemask_curve_of_both_detectors(shared_data, tmp_path, capsys):
    shared_data("facemask")
    run = tmp_path / "curve"
    assert main(["curve", "detection", "--data", "facemask", "--out", str(run), "--sizes", ",".join(map(str, SIZES)),
                 "--seeds", "1", "--param", "end-to-end.epochs=80", "--min-updates", "2400", "--no-progress"]) == 0
    print(capsys.readouterr().out)
    summary = json.loads((run / "curve.json").read_text())
    validate(summary, curve_schema())
    assert summary["sizes"] == SIZES and summary["test"]["n_items"] == 160
    for kind in ("end-to-end", "traditional"):
        points = summary["pipelines"][kind]["points"]
        assert [p["n"] for p in points] == SIZES
        assert points[-1]["ap50"] > points[0]["ap50"]  # more photos, better detector
    assert summary["crossover_explanation"]
