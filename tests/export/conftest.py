"""Tiny fitted end-to-end models and their ONNX files, made once per test run (exporting takes seconds)."""

from __future__ import annotations

import warnings

import pytest

from .onnx_helpers import SPEECH_WORDS, glyphs, speech_clips


@pytest.fixture(scope="session")
def image_model():
    pytest.importorskip("onnxruntime")
    import e2elab
    from e2elab.image.backbones import Backbone

    model = e2elab.make_pipeline("image", "end-to-end", backbone=Backbone(width=4, depth=1), epochs=1, batch_size=8, tta=True,
                                 progress=False, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "too few to learn well": tiny on purpose, the export is tested
        return model.fit(glyphs(20), ["a", "b"] * 10)


@pytest.fixture(scope="session")
def image_onnx(image_model, tmp_path_factory):
    from e2elab.export import export_onnx

    return export_onnx(image_model, tmp_path_factory.mktemp("export") / "image.onnx")


@pytest.fixture(scope="session")
def speech_model():
    pytest.importorskip("onnxruntime")
    import e2elab

    model = e2elab.make_pipeline("speech", "end-to-end", n_filters=16, width=16, depth=1, epochs=1, batch_size=4,
                                 augment=False, progress=False, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return model.fit(speech_clips(len(SPEECH_WORDS)), SPEECH_WORDS)


@pytest.fixture(scope="session")
def speech_onnx(speech_model, tmp_path_factory):
    from e2elab.export import export_onnx

    return export_onnx(speech_model, tmp_path_factory.mktemp("export") / "speech.onnx")
