"""Every case of the bad-input corpus through the command line: a one-line error naming the item
(exit code 1), or with ``--on-error skip`` a count of what was skipped; never a traceback."""

from __future__ import annotations

import re

import pytest

from e2elab.cli import main

# Data sets that are usable as a whole, so that `data show` describes them.
SHOWN_FINE = {"folder-one-class"}
# Defects of single entries, which --on-error skip leaves out (the rest are defects of the whole).
SKIPPABLE = {"manifest-missing-file", "manifest-duplicate-rows", "manifest-escaping-path", "kaldi-incomplete-utt2spk",
             "manifest-empty-transcript", "tiny-clip-seven-words"}
# How many entries each skippable defect leaves out (one, unless named here).
SKIPPED_COUNT = {"kaldi-incomplete-utt2spk": 2}


def says_skipped(text: str, count: int = 1) -> bool:
    """Whether the output counts `count` skipped items ("skipped 1 unreadable item", "1 item skipped")."""
    return re.search(rf"skipped\D{{0,40}}\b{count}\b|\b{count}\b\D{{0,40}}skipped", text) is not None


def run(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, named: str) -> None:
    assert code == 1, f"expected exit code 1, got {code}; stderr: {err}"
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {err}"
    assert named in lines[0], f"{named!r} not named in: {lines[0]}"


@pytest.fixture(scope="module")
def image_model(tmp_path_factory, corpus):
    root = tmp_path_factory.mktemp("image-model")
    corpus.image_folder(root / "data")
    assert main(["train", "image", "--data", str(root / "data"), "--pipeline", "traditional", "--out", str(root / "run")]) == 0
    return root / "run" / "model"


@pytest.fixture(scope="module")
def speech_model(tmp_path_factory, corpus):
    root = tmp_path_factory.mktemp("speech-model")
    corpus.speech_folder(root / "data")
    assert main(["train", "speech", "--data", str(root / "data"), "--pipeline", "traditional", "--out", str(root / "run")]) == 0
    return root / "run" / "model"


# --- data show -----------------------------------------------------------------------------------------


def test_data_show_on_bad_dataset(tmp_path, capsys, corpus, bad_dataset):
    _, data, named = corpus.make_bad_dataset(bad_dataset, tmp_path)
    code, out, err = run(capsys, "data", "show", data, "--decode")
    if bad_dataset in SHOWN_FINE:
        assert code == 0 and "items:" in out
    else:
        assert_one_line_error(code, err, named)


@pytest.mark.parametrize("modality", ["audio", "image"])
def test_data_show_lists_undecodable_files(tmp_path, capsys, corpus, modality):
    if modality == "audio":
        corpus.speech_folder(tmp_path / "data")
        bad = [corpus.make_bad_file(kind, tmp_path / "data" / "yes" / "spk0") for kind in corpus.BAD_AUDIO]
    else:
        corpus.image_folder(tmp_path / "data")
        bad = [corpus.make_bad_file(f"image:{kind}", tmp_path / "data" / "left") for kind in corpus.BAD_IMAGES]
    code, out, err = run(capsys, "data", "show", tmp_path / "data", "--decode")
    assert code == 0 and "Traceback" not in err
    assert f"unreadable: {len(bad)}" in out
    for path in bad:
        assert path.name in out


# --- train ---------------------------------------------------------------------------------------------


def test_train_on_bad_dataset(tmp_path, capsys, corpus, bad_dataset):
    task, data, named = corpus.make_bad_dataset(bad_dataset, tmp_path)
    code, _, err = run(capsys, "train", task, "--data", data, "--pipeline", "traditional", "--out", tmp_path / "run")
    assert_one_line_error(code, err, named)
    code, out, err = run(capsys, "train", task, "--data", data, "--pipeline", "traditional", "--out", tmp_path / "run-skip",
                         "--on-error", "skip")
    if bad_dataset in SKIPPABLE:
        assert code == 0 and "Traceback" not in err, err
        assert says_skipped(out + err, SKIPPED_COUNT.get(bad_dataset, 1)), out + err
    else:
        assert_one_line_error(code, err, named)


def test_train_with_a_bad_audio_file(tmp_path, capsys, corpus, bad_audio):
    data = corpus.speech_folder(tmp_path / "data")
    bad = corpus.make_bad_file(bad_audio, data / "yes" / "spk0")
    code, _, err = run(capsys, "train", "speech", "--data", data, "--pipeline", "traditional", "--out", tmp_path / "run")
    assert_one_line_error(code, err, bad.name)
    code, out, err = run(capsys, "train", "speech", "--data", data, "--pipeline", "traditional", "--out", tmp_path / "run-skip",
                         "--on-error", "skip")
    assert code == 0 and "Traceback" not in err, err
    assert says_skipped(out + err), out + err


def test_train_with_a_bad_image_file(tmp_path, capsys, corpus, bad_image):
    data = corpus.image_folder(tmp_path / "data")
    bad = corpus.make_bad_file(f"image:{bad_image}", data / "left")
    code, _, err = run(capsys, "train", "image", "--data", data, "--pipeline", "traditional", "--out", tmp_path / "run")
    assert_one_line_error(code, err, bad.name)
    code, out, err = run(capsys, "train", "image", "--data", data, "--pipeline", "traditional", "--out", tmp_path / "run-skip",
                         "--on-error", "skip")
    assert code == 0 and "Traceback" not in err, err
    assert says_skipped(out + err), out + err


# --- predict and explain ---------------------------------------------------------------------------------


def test_predict_on_a_bad_audio_file(tmp_path, capsys, corpus, speech_model, bad_audio):
    bad = corpus.make_bad_file(bad_audio, tmp_path)
    assert_one_line_error(*run(capsys, "predict", speech_model, bad)[::2], bad.name)


def test_predict_on_a_bad_image_file(tmp_path, capsys, corpus, image_model, bad_image):
    bad = corpus.make_bad_file(f"image:{bad_image}", tmp_path)
    assert_one_line_error(*run(capsys, "predict", image_model, bad)[::2], bad.name)


def test_explain_a_bad_image_file(tmp_path, capsys, corpus, image_model, bad_image):
    bad = corpus.make_bad_file(f"image:{bad_image}", tmp_path)
    code, _, err = run(capsys, "explain", image_model, bad, "--out", tmp_path / "why", "--no-sanity", "--no-faithfulness")
    assert_one_line_error(code, err, bad.name)


def test_explain_a_bad_audio_file(tmp_path, capsys, corpus, speech_model, bad_audio):
    bad = corpus.make_bad_file(bad_audio, tmp_path)
    code, _, err = run(capsys, "explain", speech_model, bad, "--out", tmp_path / "why", "--no-sanity", "--no-faithfulness")
    assert_one_line_error(code, err, bad.name)


def test_animated_image_is_predicted_from_its_first_frame(tmp_path, capsys, corpus, image_model):
    gif = corpus.animated_gif(tmp_path / "anim.gif")
    code, out, err = run(capsys, "predict", image_model, gif)
    assert code == 0 and "Traceback" not in err
    assert out.startswith(f"{gif}\t")


def test_a_clip_of_ten_milliseconds_is_answered_or_refused_by_name(tmp_path, capsys, corpus, speech_model):
    clip = corpus.tone(tmp_path / "tiny.wav", seconds=0.01)
    code, out, err = run(capsys, "predict", speech_model, clip)
    if code == 0:
        assert out.startswith(f"{clip}\t")
    else:
        assert_one_line_error(code, err, clip.name)
