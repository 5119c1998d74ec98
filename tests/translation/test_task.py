"""The translation task end to end through the command line: train, compare, curve, explain,
report and predict on a tiny synthetic parallel corpus, and bad input named or skipped."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

from e2elab.cli import main
from e2elab.errors import DataError
from e2elab.experiments.schemas import curve_schema, results_schema, validate

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import corpus  # noqa: E402

E2E_GRID = [arg for pair in (("--param", f"end-to-end.{p}") for p in ("epochs=1", "vocab_size=60", "d_model=16", "heads=2",
            "d_ff=32", "encoder_layers=1", "decoder_layers=1", "amp=false")) for arg in pair]
GRID = ["--seeds", "1", "--backend", "sequential", "--no-progress"]
TRADITIONAL = ["--param", "tune=false", "--param", "model1_iterations=2", "--param", "hmm_iterations=2",
               "--param", "progress=false"]
END_TO_END = ["--param", "vocab_size=60", "--param", "d_model=16", "--param", "heads=2", "--param", "d_ff=32",
              "--param", "encoder_layers=1", "--param", "decoder_layers=1", "--param", "epochs=2",
              "--param", "device=\"cpu\"", "--param", "amp=false", "--param", "progress=false"]


def write_folder(root: Path, sizes: dict[str, int], gz: bool = False) -> Path:
    """ROOT/toy.de-en/<split>.de and <split>.en from the synthetic grammar."""
    folder = root / "toy.de-en"
    folder.mkdir(parents=True)
    for seed, (split, n) in enumerate(sizes.items()):
        german, english = corpus(n, seed)
        for language, lines in (("de", german), ("en", english)):
            data = ("\n".join(lines) + "\n").encode()
            if gz:
                (folder / f"{split}.{language}.gz").write_bytes(gzip.compress(data))
            else:
                (folder / f"{split}.{language}").write_bytes(data)
    return folder


@pytest.fixture
def toy(tmp_path):
    return write_folder(tmp_path, {"train": 120, "test": 20}, gz=True)


def test_train_predict_explain_on_a_parallel_folder(toy, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "translation", "--data", str(toy), "--pipeline", "traditional", "--out", str(run),
                 *TRADITIONAL]) == 0
    record = json.loads((run / "train.json").read_text())
    assert record["metric"] == "bleu_error" and (record["n_train"], record["n_test"]) == (120, 20)
    assert record["value"] < 0.5  # 1 - BLEU/100: the grammar is easy for phrases
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("Der Hund läuft.\nHeute schläft die Katze.\n")
    capsys.readouterr()
    assert main(["explain", str(run / "model"), str(sentences), "--out", str(tmp_path / "why")]) == 0
    explained = json.loads((tmp_path / "why" / "explanations.json").read_text())
    words = explained["explanations"][0]["words"]
    assert explained["pipeline"] == "traditional" and words
    assert any(w["source_words"] for w in words)  # output words linked to source words
    assert [record["input"] for record in explained["explanations"]] == ["sentences.txt:1", "sentences.txt:2"]

    capsys.readouterr()
    assert main(["predict", str(run / "model"), "Der Hund läuft.", str(sentences), "--json"]) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["input"] for a in answers] == ["Der Hund läuft.", "sentences.txt:1", "sentences.txt:2"]
    assert all(a["translation"] for a in answers)


def test_compare_curve_report_and_end_to_end_explanation(toy, tmp_path):
    compared = tmp_path / "compare"
    assert main(["compare", "translation", "--data", str(toy), "--out", str(compared), *GRID,
                 "--param", "traditional.tune=false", *E2E_GRID]) == 0
    results = json.loads((compared / "results.json").read_text())
    validate(results, results_schema())
    assert results["metric"] == "bleu_error" and set(results["pipelines"]) == {"end-to-end", "traditional"}
    traditional = results["pipelines"]["traditional"]["metric"]["mean"]
    assert traditional < results["pipelines"]["end-to-end"]["metric"]["mean"]  # phrases win on 120 pairs

    curved = tmp_path / "curve"
    assert main(["curve", "translation", "--data", str(toy), "--out", str(curved), "--sizes", "30,60,120",
                 "--pipelines", "traditional", "--bootstrap", "20", *GRID, "--param", "traditional.tune=false"]) == 0
    curve = json.loads((curved / "curve.json").read_text())
    validate(curve, curve_schema())
    assert curve["unit"] == "items" and curve["sizes"] == [30, 60, 120]
    assert main(["report", str(compared)]) == 0 and (compared / "report.html").is_file()


def test_end_to_end_explanation_is_scored(toy, tmp_path):
    run = tmp_path / "run"
    assert main(["train", "translation", "--data", str(toy), "--out", str(run), *END_TO_END]) == 0
    sentences = tmp_path / "one.txt"
    sentences.write_text("Der Hund läuft.\n")
    assert main(["explain", str(run / "model"), str(sentences), "--out", str(tmp_path / "why"), "--steps", "8"]) == 0
    scores = json.loads((tmp_path / "why" / "explanations.json").read_text())["explanations"][0]["scores"]
    assert scores["deletion_auc"] is not None and scores["randomisation_spearman"] is not None


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "train.en.gz").write_bytes(gzip.compress(b"one line\n")), "has 120 lines but"),
    (lambda f: (f / "test.de.gz").write_bytes(gzip.compress(b"Der Hund\n\xff\xfe\n" * 10)), "line 2: is not UTF-8"),
    (lambda f: (f / "test.de.gz").write_bytes(gzip.compress(b"Der\x00Hund\n" * 20)), "line 1: holds binary data"),
    (lambda f: (f / "test.de.gz").write_bytes(gzip.compress(("wort " * 5000 + "\n").encode() * 20)),
     "line 1: is too long"),
    (lambda f: (f / "test.de.gz").write_bytes(gzip.compress(b"\n" * 20)), "line 1: is empty"),
])
def test_bad_files_are_named_with_their_line(toy, tmp_path, capsys, damage, message):
    damage(toy)
    assert main(["train", "translation", "--data", str(toy), "--pipeline", "traditional", "--out",
                 str(tmp_path / "run"), *TRADITIONAL]) == 1
    assert message in capsys.readouterr().err


def test_empty_pairs_are_skipped_and_counted_on_request(toy, tmp_path, capsys):
    (toy / "test.de.gz").write_bytes(gzip.compress(b"Der Hund l\xc3\xa4uft.\n\n" * 10))
    (toy / "test.en.gz").write_bytes(gzip.compress(b"The dog runs.\nnothing\n" * 10))
    assert main(["train", "translation", "--data", str(toy), "--pipeline", "traditional", "--out",
                 str(tmp_path / "run"), "--on-error", "skip", *TRADITIONAL]) == 0
    assert "skipped 1 unreadable item(s)" in capsys.readouterr().out
    assert json.loads((tmp_path / "run" / "train.json").read_text())["n_test"] == 10


def test_a_language_pair_not_in_the_folder_is_named(tmp_path, capsys):
    folder = write_folder(tmp_path, {"train": 5})
    folder.rename(tmp_path / "toy.fr-en")
    assert main(["train", "translation", "--data", str(tmp_path / "toy.fr-en"), "--out", str(tmp_path / "run")]) == 1
    assert "has no 'fr' files" in capsys.readouterr().err
    plain = tmp_path / "plain"
    (tmp_path / "toy.fr-en").rename(plain)
    assert main(["train", "translation", "--data", str(plain), "--out", str(tmp_path / "run")]) == 1
    assert "does not name its language pair" in capsys.readouterr().err


def test_a_manifest_without_splits_is_held_out_at_random(tmp_path):
    german, english = corpus(40, 0)
    manifest = tmp_path / "pairs.tsv"
    manifest.write_text("source\ttarget\n" + "".join(f"{g}\t{e}\n" for g, e in zip(german, english)))
    run = tmp_path / "run"
    assert main(["train", "translation", "--data", str(manifest), "--pipeline", "traditional", "--out", str(run),
                 *TRADITIONAL]) == 0
    record = json.loads((run / "train.json").read_text())
    assert (record["n_train"], record["n_test"]) == (30, 10)


def test_multi30k_is_read_with_its_own_splits(shared_data, monkeypatch):
    from e2elab.data.sources import load_dataset

    monkeypatch.setenv("E2ELAB_DATA_DIR", str(shared_data("multi30k").parent))
    ds = load_dataset("multi30k")
    assert ds.task == "translation" and ds.splits == ["train", "val", "test"]
    assert [len(ds.take_split(s)) for s in ds.splits] == [29000, 1014, 1000]
    with pytest.raises(DataError):
        ds.take_split("dev")
