"""`e2elab curve translation` end to end on a tiny parallel folder, both pipelines: the learning
curves, their laws and the crossover come out in the table and in curve.json, with BLEU and chrF."""

import json
import sys
from pathlib import Path

import pytest

from e2elab.cli import main
from e2elab.experiments.schemas import curve_schema, validate

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import corpus  # noqa: E402

END_TO_END = ["vocab_size=40", "d_model=8", "heads=2", "encoder_layers=1", "decoder_layers=1", "d_ff=16", "epochs=1",
              "max_tokens=64", "beam_size=2", "amp=false", 'device="cpu"', "progress=false"]
TRADITIONAL = ["model1_iterations=1", "hmm_iterations=1", "lm_order=2", "tune=false", "progress=false"]
FAST = [arg for kind, params in (("end-to-end", END_TO_END), ("traditional", TRADITIONAL))
        for param in params for arg in ("--param", f"{kind}.{param}")]


@pytest.fixture
def parallel_folder(tmp_path):
    """toy.de-en/ with 60 training and 12 test pairs of the synthetic grammar."""
    folder = tmp_path / "toy.de-en"
    folder.mkdir()
    for seed, (split, n) in enumerate((("train", 60), ("test", 12))):
        for language, lines in zip(("de", "en"), corpus(n, seed)):
            (folder / f"{split}.{language}").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_curve_of_both_translators_reports_the_crossover(parallel_folder, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["curve", "translation", "--data", str(parallel_folder), "--out", str(run), "--sizes", "15,30,60",
                 "--seeds", "1", "--bootstrap", "20", "--backend", "sequential", "--no-progress", *FAST]) == 0
    table = capsys.readouterr().out
    summary = json.loads((run / "curve.json").read_text())
    validate(summary, curve_schema())
    assert summary["sizes"] == [15, 30, 60] and summary["test"] == {"how": "predefined", "n_items": 12}
    assert summary["measures"] == ["bleu", "chrf"]
    for kind in ("end-to-end", "traditional"):
        entry = summary["pipelines"][kind]
        assert [p["n_items"] for p in entry["points"]] == [15, 30, 60]
        assert entry["law"] is not None
        for point in entry["points"]:
            assert point["mean"] == pytest.approx(1 - point["bleu"] / 100) and 0 <= point["chrf"] <= 100
    phrases = summary["pipelines"]["traditional"]["points"]
    assert phrases[-1]["bleu"] > phrases[0]["bleu"]  # the phrase table learns the grammar from more pairs
    assert f"crossover: {summary['crossover_explanation']}" in table
    assert "traditional: error(n) =" in table and "end-to-end: error(n) =" in table
