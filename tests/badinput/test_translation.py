"""Bad input to a translation model at predict time, through the command line: a one-line error
naming the sentence or FILE:LINE (exit code 1), or an answer; never a traceback or a hang."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from e2elab.cli import main

from .test_cli import assert_one_line_error, run

sys.path.insert(0, str(Path(__file__).parents[1] / "translation"))
from synthetic import corpus  # noqa: E402


@pytest.fixture(scope="module")
def translation_model(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("translation-model")
    folder = root / "toy.de-en"
    folder.mkdir()
    for seed, (split, n) in enumerate({"train": 60, "test": 10}.items()):
        german, english = corpus(n, seed)
        (folder / f"{split}.de").write_text("\n".join(german) + "\n")
        (folder / f"{split}.en").write_text("\n".join(english) + "\n")
    assert main(["train", "translation", "--data", str(folder), "--pipeline", "traditional", "--out", str(root / "run"),
                 "--param", "tune=false", "--param", "model1_iterations=1", "--param", "hmm_iterations=1",
                 "--param", "progress=false"]) == 0
    return root / "run" / "model"


def test_an_empty_sentence_is_refused(capsys, translation_model):
    code, _, err = run(capsys, "predict", translation_model, "Der Hund läuft.", "  ")
    assert_one_line_error(code, err, "is an empty sentence")


@pytest.mark.parametrize("content, named", [
    (b"Der Hund l\xc3\xa4uft.\n" + b"wort " * 5000 + b"\n", "lines.txt:2: is too long to translate"),
    (b"Der Hund l\xc3\xa4uft.\nDer \xff Hund\n", "lines.txt, line 2: is not UTF-8 text"),
    (b"Der\x00Hund\n", "lines.txt, line 1: holds binary data"),
])
def test_a_bad_line_of_a_text_file_is_named_with_its_line(tmp_path, capsys, translation_model, content, named):
    lines = tmp_path / "lines.txt"
    lines.write_bytes(content)
    code, _, err = run(capsys, "predict", translation_model, lines)
    assert_one_line_error(code, err, named)


def test_characters_unseen_in_training_are_answered(capsys, translation_model):
    code, out, err = run(capsys, "predict", translation_model, "Der Hund 犬 läuft ☃.")
    assert code == 0, err
    assert "☃" in out and "dog" in out
