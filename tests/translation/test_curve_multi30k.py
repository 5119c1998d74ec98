"""The README's translation learning curve: both pipelines on 1,000 .. 29,000 Multi30k sentence
pairs (German -> English, 2 seeds), scored on test_2016_flickr, where the curves cross and how
many pairs each needs for 30 BLEU.

Reproduces ``e2elab curve translation --data multi30k --sizes 1000,3000,10000,29000 --seeds 2
--target-error 0.7 --jobs 2``: about 90 minutes on 2 CPU cores, most of it the Transformer's two
52-minute runs on all 29,000 pairs. Measured: the curves cross between 10,000 and 29,000 pairs.
"""

import json

import pytest

from e2elab.cli import main
from e2elab.experiments.schemas import curve_schema, validate

SIZES = [1000, 3000, 10000, 29000]


@pytest.mark.slow
def test_multi30k_curve_of_both_translators(shared_data, tmp_path, capsys):
    shared_data("multi30k")
    run = tmp_path / "curve"
    assert main(["curve", "translation", "--data", "multi30k", "--out", str(run), "--sizes", ",".join(map(str, SIZES)),
                 "--seeds", "2", "--target-error", "0.7", "--jobs", "2", "--no-progress"]) == 0
    print(capsys.readouterr().out)
    summary = json.loads((run / "curve.json").read_text())
    validate(summary, curve_schema())
    assert summary["sizes"] == SIZES and summary["seeds"] == [0, 1] and summary["test"]["n_items"] == 1000
    for kind in ("end-to-end", "traditional"):
        points = summary["pipelines"][kind]["points"]
        assert [p["n"] for p in points] == SIZES and all(len(p["runs"]) == 2 for p in points)
        assert points[-1]["bleu"] > points[0]["bleu"]  # more pairs, better translations
    assert summary["crossover_explanation"]
    first = {kind: entry["points"][0]["bleu"] for kind, entry in summary["pipelines"].items()}
    assert first["traditional"] > first["end-to-end"]  # the phrase-based system is ahead on little data
    assert set(summary["target"]["n_needed"]) == {"end-to-end", "traditional"}  # pairs needed for 30 BLEU
