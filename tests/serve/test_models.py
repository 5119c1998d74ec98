"""Loading what `e2elab serve` is given: a model folder, a run folder with several, or neither."""

from __future__ import annotations

import pytest

from e2elab.errors import RunFolderError


def test_a_run_folder_loads_every_model_under_it_with_its_training_record(run_folder):
    from e2elab.serve.models import load_models

    served = load_models([run_folder])
    assert sorted(served) == ["image-end-to-end", "image-traditional", "speech-end-to-end", "speech-traditional"]
    assert served["speech-traditional"].training == {"data": "tiny-speech", "n_train": 8, "metric": "wer", "value": 0.5}


def test_a_model_folder_loads_one_model_and_a_second_copy_gets_its_own_name(run_folder, tmp_path):
    import shutil

    from e2elab.serve.models import load_models

    model = run_folder / "image" / "models" / "traditional" / "model"
    copy = shutil.copytree(model, tmp_path / "copy" / "model")
    served = load_models([model, copy, model])  # the same folder twice is loaded once
    assert list(served) == ["image-traditional", "image-traditional-2"]
    assert served["image-traditional-2"].training is None  # no train.json beside the copy


def test_hidden_folders_such_as_a_save_in_progress_are_left_out(run_folder, tmp_path):
    import shutil

    from e2elab.serve.models import model_folders

    shutil.copytree(run_folder / "image" / "models" / "traditional" / "model", tmp_path / "model")
    shutil.copytree(tmp_path / "model", tmp_path / ".model.tmp123")
    assert model_folders(tmp_path) == [tmp_path / "model"]


def test_a_folder_without_models_or_a_missing_one_is_refused_naming_it(tmp_path):
    from e2elab.serve.models import load_models

    (tmp_path / "results.json").write_text("{}")
    with pytest.raises(RunFolderError, match="holds no e2elab model"):
        load_models([tmp_path])
    with pytest.raises(RunFolderError, match="no such model or run folder"):
        load_models([tmp_path / "missing"])


def test_an_exported_onnx_file_answers_but_refuses_explanations_and_stages(run_folder, tmp_path, digit_png):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from fastapi.testclient import TestClient

    from e2elab.export.onnx_export import export_onnx
    from e2elab.io import load
    from e2elab.serve.app import create_app
    from e2elab.serve.models import load_models

    onnx_file = tmp_path / "digits.onnx"
    export_onnx(load(run_folder / "image" / "models" / "end-to-end" / "model"), onnx_file)
    served = load_models([onnx_file])
    assert list(served) == ["image-end-to-end"] and served["image-end-to-end"].stages == []
    png, _ = digit_png
    with TestClient(create_app(served)) as client:
        answer = client.post("/predict", files={"file": ("digit.png", png, "image/png")})
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"][0]["answers"][0]["label"] in {"0", "1", "2"}
        refused = client.post("/explain", files={"file": ("digit.png", png, "image/png")},
                              data={"model": "image-end-to-end"})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "exported_model"
