"""explain() and `e2elab explain` on a small end-to-end image classifier."""

import json

import numpy as np
import pytest
from PIL import Image

import e2elab
from e2elab.cli import main
from e2elab.errors import ParameterError
from e2elab.explain.api import explain, input_names
from e2elab.image.backbones import Backbone


@pytest.fixture(scope="module")
def cnn(blobs16):
    images, labels = blobs16
    model = e2elab.make_pipeline("image", "end-to-end", backbone=Backbone(width=8, depth=1), input_size=16, epochs=3,
                                 batch_size=16, validation=0.0, augment="none", device="cpu", progress=False, seed=0)
    return model.fit(images, labels)


def test_explain_writes_figures_and_scored_json(cnn, blobs16, tmp_path):
    images, _ = blobs16
    records = explain(cnn, images[:2], methods=["integrated_gradients", "gradcam"], out_dir=tmp_path, n_steps=8)
    assert [(r["input"], r["method"]) for r in records] == [("input-0", "integrated_gradients"), ("input-1", "integrated_gradients"),
                                                           ("input-0", "gradcam"), ("input-1", "gradcam")]
    document = json.loads((tmp_path / "explanations.json").read_text())
    assert document["task"] == "image" and document["pipeline"] == "end-to-end"
    assert document["summary"]["gradcam"]["n"] == 2
    for entry, record in zip(document["explanations"], records):
        assert set(entry) >= {"input", "method", "prediction", "probability", "png", "scores"}
        assert set(entry["scores"]) >= {"deletion_auc", "deletion_auc_random", "insertion_auc", "insertion_auc_random",
                                        "randomisation_spearman", "trustworthy"}
        assert "map" not in entry and record["map"].shape == (16, 16)
        assert entry["prediction"] in ("left", "right") and 0 <= entry["probability"] <= 1
        assert (tmp_path / entry["png"].split("/")[-1]).exists()


def test_target_class_is_explained_instead_of_the_answer(cnn, blobs16):
    images, _ = blobs16
    records = explain(cnn, images[:1], methods=["saliency"], target="right", sanity=False)
    assert records[0]["target"] == "right"
    with pytest.raises(ValueError, match="not one of the model's classes"):
        explain(cnn, images[:1], methods=["saliency"], target="middle", sanity=False)


def test_command_line_explains_saved_model(cnn, blobs16, tmp_path, capsys):
    images, _ = blobs16
    e2elab.save(cnn, tmp_path / "model")
    paths = []
    for i in range(2):
        Image.fromarray(images[i]).save(tmp_path / f"digit{i}.png")
        paths.append(str(tmp_path / f"digit{i}.png"))
    code = main(["explain", str(tmp_path / "model"), *paths, "--out", str(tmp_path / "out"), "--method", "occlusion",
                 "--no-sanity"])
    assert code == 0
    document = json.loads((tmp_path / "out" / "explanations.json").read_text())
    assert [e["input"] for e in document["explanations"]] == ["digit0.png", "digit1.png"]
    assert (tmp_path / "out" / "digit0.png.occlusion.png").exists()
    assert "digit1.png\tocclusion" in capsys.readouterr().out


def test_input_names_are_distinct():
    assert input_names(["a/x.png", "b/x.png", np.zeros(3)]) == ["x.png", "x.png-1", "input-2"]


def test_unknown_model_is_an_error():
    with pytest.raises(TypeError, match="not a fitted e2elab pipeline"):
        explain(object(), [np.zeros((4, 4))])


@pytest.mark.parametrize("options, message", [
    ({"n_steps": 0}, "'n_steps' parameter of explain must be an int >= 1. Got 0"),
    ({"n_steps": 2.5}, "'n_steps' parameter of explain must be an int >= 1"),
    ({"internal_batch_size": 0}, "'internal_batch_size' parameter of explain must be an int >= 1"),
    ({"threshold": 2}, "'threshold' parameter of explain must be a number in \\[0, 1\\]"),
    ({"max_seconds": 0}, "'max_seconds' parameter of explain must be a number > 0 or None"),
    ({"steps": 10}, "unknown option\\(s\\) 'steps'"),
])
def test_bad_options_fail_before_the_model_is_loaded(options, message, tmp_path):
    with pytest.raises(ParameterError, match=message):
        explain(tmp_path / "no such model", [np.zeros((4, 4))], **options)


def test_seconds_limit_is_for_speech_models(cnn, blobs16):
    with pytest.raises(ParameterError, match="max_seconds limits audio clips"):
        explain(cnn, blobs16[0][:1], methods=["saliency"], max_seconds=5)


def test_progress_is_shown_on_stderr_when_asked_for(cnn, blobs16, capsys):
    images, _ = blobs16
    explain(cnn, images[:2], methods=["saliency"], sanity=False, progress=True)
    assert "explaining" in capsys.readouterr().err
    explain(cnn, images[:2], methods=["saliency"], sanity=False, progress=False)
    assert "explaining" not in capsys.readouterr().err
