"""A parallel corpus of several languages read for the pair asked for (--source / --target), and
the pair kept by the data set and by the model trained on it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from e2elab.cli import main
from e2elab.errors import DataError, ParameterError
from e2elab.translation.datasets import read_language_pair, read_manifest_dataset

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import corpus  # noqa: E402

TRADITIONAL = ["--pipeline", "traditional", "--param", "tune=false", "--param", "model1_iterations=2",
               "--param", "hmm_iterations=2", "--param", "progress=false"]


def french(english: list[str]) -> list[str]:
    """A third language that is told apart from English by its articles."""
    return [line.replace("The ", "Le ").replace("A ", "Un ") for line in english]


@pytest.fixture
def trilingual(tmp_path) -> Path:
    """toy.de-en/<split>.de, .en and .fr: the name says de-en, the folder holds three languages."""
    folder = tmp_path / "toy.de-en"
    folder.mkdir()
    for seed, (split, n) in enumerate({"train": 60, "test": 12}.items()):
        german, english = corpus(n, seed)
        for language, lines in (("de", german), ("en", english), ("fr", french(english))):
            (folder / f"{split}.{language}").write_text("\n".join(lines) + "\n")
    return folder


def run(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_pair_asked_for_is_read_and_recorded(trilingual):
    named = read_language_pair(str(trilingual), None, None)
    french_english = read_language_pair(str(trilingual), "fr", "en")
    one_side = read_language_pair(str(trilingual), "fr", None)  # the other side from the folder's name
    assert named.languages == ("de", "en") and french_english.languages == ("fr", "en") == one_side.languages
    assert list(french_english.y) == list(named.y) and list(french_english.X) != list(named.X)
    assert list(french_english.X) == french(list(named.y))
    assert french_english.take_split("test").languages == ("fr", "en")  # subsets keep the pair


def test_data_show_names_the_pair(trilingual, capsys):
    code, out, _ = run(capsys, "data", "show", trilingual, "--source", "fr", "--json")
    assert code == 0 and json.loads(out)["languages"] == ["fr", "en"]
    code, out, _ = run(capsys, "data", "show", trilingual, "--task", "translation")
    assert code == 0 and "de -> en" in out.splitlines()[0]


@pytest.mark.parametrize("command", ["data show", "train"])
def test_a_language_not_in_the_folder_lists_those_present(trilingual, tmp_path, capsys, command):
    args = ["data", "show", trilingual] if command == "data show" else \
        ["train", "translation", "--data", trilingual, "--out", tmp_path / "run", *TRADITIONAL]
    code, _, err = run(capsys, *args, "--source", "it")
    assert code == 1 and "has no 'it' files" in err and "['de', 'en', 'fr']" in err


def test_a_language_pair_is_refused_for_data_of_other_tasks(trilingual, tmp_path, capsys):
    code, _, err = run(capsys, "train", "speech", "--data", trilingual, "--source", "fr", "--out", tmp_path / "run")
    assert code == 1 and "--source and --target choose the languages of translation data" in err
    with pytest.raises(DataError, match="one language pair"):
        read_language_pair("digits", "fr", "en")


def test_a_manifest_takes_both_languages_or_neither(tmp_path):
    manifest = tmp_path / "pairs.tsv"
    manifest.write_text("source\ttarget\nDer Hund.\tThe dog.\n")
    assert read_manifest_dataset(manifest).languages is None
    assert read_manifest_dataset(manifest, source="de", target="en").languages == ("de", "en")
    with pytest.raises(ParameterError, match="both"):
        read_manifest_dataset(manifest, source="de")


def test_the_model_knows_its_pair_and_evaluate_reads_it(trilingual, tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "translation", "--data", trilingual, "--source", "fr", "--target", "en",
                       "--out", out, *TRADITIONAL)
    assert code == 0, err
    assert json.loads((out / "train.json").read_text())["languages"] == ["fr", "en"]
    assert json.loads((out / "model" / "e2elab.json").read_text())["state"]["languages"] == ["fr", "en"]

    code, answer, _ = run(capsys, "predict", out / "model", "Le chien dort.", "--json")
    assert code == 0 and json.loads(answer)["languages"] == ["fr", "en"]

    # Without --source / --target the model's own pair is read, not the one the folder is named for.
    code, result, err = run(capsys, "evaluate", out / "model", "--data", trilingual, "--json")
    assert code == 0, err
    assert json.loads(result)["value"] < 0.5  # French articles learned: 1 - BLEU/100 is low
    code, _, err = run(capsys, "evaluate", out / "model", "--data", trilingual, "--source", "de")
    assert code == 1 and "translates fr -> en" in err

    # A resumed run must read the same pair.
    code, _, err = run(capsys, "train", "translation", "--data", trilingual, "--out", out, "--resume", *TRADITIONAL)
    assert code == 1 and "languages" in err


def test_multi30k_reads_any_pair_of_its_languages(shared_data, monkeypatch):
    monkeypatch.setenv("E2ELAB_DATA_DIR", str(shared_data("multi30k").parent))
    default = read_language_pair("multi30k", None, None)
    czech_french = read_language_pair("multi30k", "cs", "fr")
    assert default.languages == ("de", "en") and czech_french.languages == ("cs", "fr")
    assert czech_french.name == "multi30k" and czech_french.splits == ["train", "val", "test"]
    assert len(czech_french) == len(default) == 31014
    with pytest.raises(DataError, match=r"has no 'ja' files.*\['cs', 'de', 'en', 'fr'\]"):
        read_language_pair("multi30k", "ja", "en")
