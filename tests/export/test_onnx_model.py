"""Loading ONNX files: answers like the pipeline's, and clear errors for files that are not e2elab ONNX models."""

from __future__ import annotations

import json

import numpy as np
import pytest

from e2elab.errors import ModelIntegrityError, UnsafeModelError

from .onnx_helpers import glyphs

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def test_the_image_model_answers_like_the_pipeline(image_model, image_onnx):
    from e2elab.export import load_onnx

    model = load_onnx(image_onnx, threads=1)
    images = glyphs(9, seed=3)
    assert list(model.classes_) == list(image_model.classes_)
    assert np.abs(model.predict_proba(images) - image_model.predict_proba(images)).max() < 1e-5
    assert list(model.predict(images)) == list(image_model.predict(images))
    (details,), (expected,) = model.predict_details(images[:1]), image_model.predict_details(images[:1])
    assert [t["label"] for t in details["top"]] == [t["label"] for t in expected["top"]]
    assert [t["probability"] for t in details["top"]] == pytest.approx([t["probability"] for t in expected["top"]])
    assert model.score(images, image_model.predict(images)) == 1.0


def _rewritten(path, tmp_path, change) -> str:
    proto = onnx.load(str(path))
    change(proto)
    out = tmp_path / "changed.onnx"
    out.write_bytes(proto.SerializeToString())  # as is: onnx.save would try to write external data
    return str(out)


def test_a_file_that_is_not_onnx_is_refused(tmp_path):
    from e2elab.export import load_onnx

    path = tmp_path / "model.onnx"
    path.write_text("this is a text file, not a network\n")
    with pytest.raises(ModelIntegrityError, match=r"model\.onnx: not an ONNX model"):
        load_onnx(path)


@pytest.mark.parametrize("keep", [0.5, 0.98])
def test_a_truncated_file_is_refused(image_onnx, tmp_path, keep):
    from e2elab.export import load_onnx

    data = image_onnx.read_bytes()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelIntegrityError, match=r"cut\.onnx: .*(cut short|not an ONNX model)"):
        load_onnx(path)


def test_an_onnx_file_without_e2elab_metadata_is_refused(image_onnx, tmp_path):
    from e2elab.export import load_onnx

    path = _rewritten(image_onnx, tmp_path, lambda proto: proto.ClearField("metadata_props"))
    with pytest.raises(ModelIntegrityError, match="without e2elab metadata"):
        load_onnx(path)


def test_metadata_that_breaks_the_schema_is_refused(image_onnx, tmp_path):
    from e2elab.export import load_onnx

    def one_class(proto):
        for entry in proto.metadata_props:
            if entry.key == "classes":
                entry.value = json.dumps(["only"])

    with pytest.raises(ModelIntegrityError, match="classes"):
        load_onnx(_rewritten(image_onnx, tmp_path, one_class))


def test_weights_stored_in_another_file_are_refused(image_onnx, tmp_path):
    from e2elab.export import load_onnx

    def point_elsewhere(proto):
        tensor = proto.graph.initializer[0]
        tensor.data_location = onnx.TensorProto.EXTERNAL
        entry = tensor.external_data.add()
        entry.key, entry.value = "location", "../../etc/passwd"

    with pytest.raises(UnsafeModelError, match="stored in another file"):
        load_onnx(_rewritten(image_onnx, tmp_path, point_elsewhere))


def test_load_any_takes_folders_and_onnx_files(image_model, image_onnx, tmp_path):
    import e2elab
    from e2elab.export import OnnxImageClassifier, load_any

    e2elab.save(image_model, tmp_path / "model")
    assert type(load_any(tmp_path / "model")) is type(image_model)
    assert isinstance(load_any(image_onnx), OnnxImageClassifier)


def test_a_verify_key_refuses_an_unsigned_onnx_file(image_onnx, monkeypatch):
    from e2elab.export import load_any

    with pytest.raises(UnsafeModelError, match="carries no signature"):
        load_any(image_onnx, verify_key=b"secret")
    monkeypatch.setenv("E2ELAB_VERIFY_KEY", "secret")
    with pytest.raises(UnsafeModelError, match="carries no signature"):
        load_any(image_onnx)


def test_e2elab_load_points_an_onnx_file_to_its_loader(image_onnx):
    import e2elab

    with pytest.raises(ModelIntegrityError, match="load_onnx"):
        e2elab.load(image_onnx)
