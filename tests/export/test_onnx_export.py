"""ONNX export: the files' outputs match PyTorch within 1e-4, with dynamic batch and length axes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from e2elab.errors import ParameterError

from .onnx_helpers import glyphs, metadata_of, onnx_session

pytest.importorskip("onnxruntime")
TOLERANCE = 1e-4  # max abs difference of log-probabilities


@pytest.mark.parametrize("batch", [1, 3, 7])
def test_image_log_probabilities_match_pytorch_at_any_batch_size(image_model, image_onnx, batch):
    from e2elab.image.transforms import decode_squares, to_chw

    images = glyphs(batch, seed=batch)
    squares, _, _ = decode_squares(images, image_model.input_size_, image_model.resize)
    pixels = to_chw(squares, image_model.channels_).numpy()
    (log_probs,) = onnx_session(image_onnx).run(None, {"pixels": pixels})
    expected = np.log(image_model.predict_proba(images))  # test-time views and temperature included
    assert log_probs.shape == (batch, 2)
    assert np.abs(log_probs - expected).max() < TOLERANCE


def test_metadata_describes_the_model(image_model, image_onnx):
    from e2elab.version import __version__

    image = metadata_of(image_onnx)
    assert image["task"] == "image" and image["kind"] == "end-to-end" and image["e2elab_version"] == __version__
    assert image["classes"] == ["a", "b"] and image["input_size"] == image_model.input_size_
    assert image["normalisation"] == {"mean": image_model.mean_, "std": image_model.std_}


def test_pipelines_that_are_not_one_network_are_refused(tmp_path):
    import e2elab
    from e2elab.export import export_onnx

    model = e2elab.make_pipeline("image", "traditional")
    with pytest.raises(ParameterError, match="only the end-to-end image and speech pipelines"):
        export_onnx(model, tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_the_command_line_exports_a_model_folder_and_predicts_with_the_file(image_model, tmp_path, capsys):
    import json

    from PIL import Image

    import e2elab
    from e2elab.cli import main

    e2elab.save(image_model, tmp_path / "model")
    picture = tmp_path / "glyph.png"
    Image.fromarray(glyphs(1, seed=5)[0]).save(picture)
    assert main(["export", str(tmp_path / "model"), "--format", "onnx", "--out", str(tmp_path / "model.onnx")]) == 0
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "model.onnx"), str(picture), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    expected = image_model.predict_details([str(picture)])[0]
    assert record["label"] == expected["label"]
    assert record["top"][0]["probability"] == pytest.approx(expected["top"][0]["probability"], abs=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["usps", "fsdd"])
def test_onnx_matches_pytorch_on_real_test_items(shared_data, tmp_path, name):
    """Models trained quickly on the real data sets: their test items through ONNX and through PyTorch."""
    import e2elab
    from e2elab.export import export_onnx, load_onnx

    shared_data(name)
    task = "image" if name == "usps" else "speech"
    data = e2elab.load_dataset(name)
    rng = np.random.default_rng(0)
    train = rng.choice(len(data.X), size=min(300, len(data.X)), replace=False)
    test = np.setdiff1d(np.arange(len(data.X)), train)[:64]
    model = e2elab.make_pipeline(task, "end-to-end", epochs=2, progress=False, device="cpu")
    model.fit([data.X[i] for i in train], [data.y[i] for i in train])
    path = export_onnx(model, tmp_path / f"{name}.onnx")
    items = [data.X[i] for i in test]
    if task == "image":
        difference = np.abs(load_onnx(path).predict_log_proba(items) - np.log(model.predict_proba(items))).max()
        assert list(load_onnx(path).predict(items)) == list(model.predict(items))
    else:
        from e2elab.speech.clips import read_clip
        from e2elab.speech.ctc_batches import pad_batch

        frame = model.model_.samples_per_frame
        waves = [read_clip(item, model.sample_rate, None, str(item)) for item in items]
        waves = [np.pad(w, (0, -len(w) % frame)) for w in waves]  # the graph takes whole frames
        difference = 0.0
        for start in range(0, len(waves), 16):
            batch, lengths, _ = pad_batch([(w, None) for w in waves[start:start + 16]])
            with torch.no_grad():
                expected, frames = model.model_(batch, lengths)
            log_probs, _ = onnx_session(path).run(None, {"waveform": batch.numpy(), "lengths": lengths.numpy()})
            difference = max(difference, max(np.abs(log_probs[r, :n] - expected[r, :n].numpy()).max()
                                             for r, n in enumerate(frames.tolist())))
    assert difference < TOLERANCE
