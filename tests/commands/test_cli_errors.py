"""Bad settings and bad inputs on the command line: one line on stderr, exit status 1, no traceback."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch
from sklearn.base import BaseEstimator

from e2elab import registry
from e2elab.base import ModelState, SpeechRecognizerMixin
from e2elab.cli import main
from e2elab.io import save


def one_line_error(capsys, code, *fragments) -> str:
    """The error message, after checking it is one line on stderr with exit status 1 and no traceback."""
    err = capsys.readouterr().err
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


@pytest.mark.parametrize("param,named", [("epochs=abc", "'epochs'"), ("epochs=1.5", "'epochs'"), ("lr=abc", "'lr'"),
                                         ("batch_size=0", "'batch_size'"), ("depth3", "key=value"),
                                         ("no_such_thing=3", "no parameter no_such_thing")])
def test_bad_parameters_fail_before_any_data_is_read(tmp_path, capsys, param, named):
    # The data set does not exist: an error naming the parameter proves the data were never opened.
    code = main(["train", "image", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run"), "--param", param])
    one_line_error(capsys, code, named)
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_without_cuda_fails_before_any_data_is_read(tmp_path, capsys):
    code = main(["train", "image", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run"), "--param", "device=cuda"])
    one_line_error(capsys, code, "CUDA is not available")


@pytest.mark.parametrize("value", ["-0.5", "0", "1", "1.5", "half"])
def test_test_size_must_be_a_fraction(tmp_path, capsys, value):
    code = main(["train", "image", "--data", "digits", "--out", str(tmp_path / "run"), f"--test-size={value}"])
    one_line_error(capsys, code, "argument --test-size", "e2elab train --help")


def test_explain_steps_must_be_positive(tmp_path, capsys):
    code = main(["explain", str(tmp_path / "model"), "x.png", "--out", str(tmp_path / "out"), "--steps", "0"])
    one_line_error(capsys, code, "argument --steps: must be at least 1, got 0")


def test_grid_settings_are_checked_before_any_data_is_read(tmp_path, capsys):
    nowhere = str(tmp_path / "nowhere")
    code = main(["curve", "image", "--data", nowhere, "--out", str(tmp_path / "a"), "--param", "end-to-end.epochs=abc"])
    one_line_error(capsys, code, "'epochs'")
    code = main(["compare", "image", "--data", nowhere, "--out", str(tmp_path / "b"), "--param", "nonsense.epochs=3"])
    one_line_error(capsys, code, "nonsense")
    code = main(["curve", "image", "--data", nowhere, "--out", str(tmp_path / "c"), "--sizes", "10,lots"])
    one_line_error(capsys, code, "'lots' is not a number")
    code = main(["compare", "image", "--data", nowhere, "--out", str(tmp_path / "d"), "--jobs", "0"])
    one_line_error(capsys, code, "argument --jobs")


def test_report_on_a_missing_folder(tmp_path, capsys):
    code = main(["report", str(tmp_path / "missing")])
    one_line_error(capsys, code, "missing: no such run folder")


def test_evaluate_skips_unreadable_items_only_when_asked(tmp_path, stand_in_pipeline, image_folder, capsys):
    data = image_folder
    run = tmp_path / "run"
    assert main(["train", "image", "--data", str(data), "--pipeline", "traditional", "--out", str(run)]) == 0
    (data / "left" / "3.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    capsys.readouterr()

    code = main(["evaluate", str(run / "model"), "--data", str(data), "--split", "all"])
    one_line_error(capsys, code, "3.png")

    assert main(["evaluate", str(run / "model"), "--data", str(data), "--split", "all", "--on-error", "skip", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["skipped"] == 1 and result["items"] == 23
    assert "skipped 1 unreadable test item(s), e.g." in captured.err and "3.png" in captured.err


class _SilentRecognizer(SpeechRecognizerMixin, BaseEstimator):
    """A speech model that hears nothing: enough to be saved, loaded and handed the wrong files."""

    _parameter_constraints = {"seed": [None, int]}

    def __init__(self, seed=0):
        self.seed = seed

    def predict(self, X):
        return ["" for _ in X]

    def _get_state(self):
        return ModelState(meta={"words": []})

    @classmethod
    def _from_state(cls, params, state):
        return cls(**params)


@pytest.fixture
def speech_model(tmp_path, monkeypatch):
    monkeypatch.setitem(registry._REGISTRY, ("speech", "traditional"), _SilentRecognizer)
    monkeypatch.setattr(_SilentRecognizer, "task", "speech", raising=False)
    monkeypatch.setattr(_SilentRecognizer, "kind", "traditional", raising=False)
    return save(_SilentRecognizer(), tmp_path / "speech-model")


def test_predict_names_a_file_of_the_wrong_kind(tmp_path, speech_model, image_folder, capsys):
    photo = image_folder / "left" / "0.png"
    code = main(["predict", str(speech_model), str(photo)])
    one_line_error(capsys, code, "0.png: an image file", "speech-model is a speech model, which expects audio files")

    disguised = tmp_path / "recording.bin"  # no telling extension: the first bytes say it is a PNG
    disguised.write_bytes(photo.read_bytes())
    one_line_error(capsys, main(["predict", str(speech_model), str(disguised)]), "recording.bin: an image file")

    clip = tmp_path / "clip.wav"
    sf.write(clip, np.zeros(1600, dtype=np.float32), 16000)
    assert main(["predict", str(speech_model), str(clip)]) == 0
    one_line_error(capsys, main(["predict", str(speech_model), str(tmp_path / "gone.wav")]), "gone.wav: no such file")


def test_signed_model_is_verified_with_the_key_file(tmp_path, stand_in_pipeline, image_folder, capsys):
    data = image_folder
    key, other = tmp_path / "key", tmp_path / "other-key"
    key.write_text("correct horse\n")
    other.write_text("battery staple\n")
    run = tmp_path / "run"
    assert main(["train", "image", "--data", str(data), "--pipeline", "traditional", "--out", str(run),
                 "--sign-key-file", str(key)]) == 0
    image = str(data / "left" / "0.png")
    capsys.readouterr()
    assert main(["predict", str(run / "model"), image, "--verify-key-file", str(key)]) == 0
    assert "left" in capsys.readouterr().out
    one_line_error(capsys, main(["predict", str(run / "model"), image, "--verify-key-file", str(other)]), "model")
    one_line_error(capsys, main(["evaluate", str(run / "model"), "--data", str(data), "--verify-key-file",
                                 str(tmp_path / "no-key")]), "no-key: cannot read the key file")
