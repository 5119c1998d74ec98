"""`e2elab serve` with detection and translation models: both pipelines of each, trained tiny, saved,
loaded as a run folder and asked through the API for boxes, translations and explanations."""

from __future__ import annotations

import io

import pytest

# A tiny parallel corpus in which each German word has one English translation.
GERMAN = ["ein Vogel singt", "der Junge wartet", "ein Hund springt", "der Vogel wartet", "ein Junge singt",
          "der Hund wartet", "ein Vogel springt", "der Junge springt"]
ENGLISH = ["a bird sings", "the boy waits", "a dog jumps", "the bird waits", "a boy sings", "the dog waits",
           "a bird jumps", "the boy jumps"]

# Parameters that fit the tiny data in about a second on one core (as in tests/test_contract.py).
FAST = {
    ("detection", "end-to-end"): {"width": 4, "neck_channels": 8, "input_size": 96, "train_size": 64, "epochs": 1,
                                  "batch_size": 6, "device": "cpu", "progress": False},
    ("detection", "traditional"): {"window": 24, "mining_rounds": 1, "negatives_per_image": 4, "progress": False},
    ("translation", "end-to-end"): {"vocab_size": 40, "d_model": 8, "heads": 2, "encoder_layers": 1,
                                    "decoder_layers": 1, "d_ff": 16, "epochs": 1, "max_tokens": 64, "beam_size": 2,
                                    "amp": False, "device": "cpu", "progress": False},
    ("translation", "traditional"): {"model1_iterations": 1, "hmm_iterations": 1, "lm_order": 2, "tune": False,
                                     "progress": False},
}
DETECTORS = ["detection-end-to-end", "detection-traditional"]
TRANSLATORS = ["translation-end-to-end", "translation-traditional"]


def face_photos():
    from e2elab.detection.synthetic import face_photos

    return face_photos(6, seed=0, faces=1)  # 96 x 96 photos, one face-like pattern each


@pytest.fixture(scope="module")
def other_client(tmp_path_factory):
    """The app serving the four pipelines, saved as `e2elab demo` lays out a run folder."""
    import torch
    from fastapi.testclient import TestClient

    from e2elab.io import save
    from e2elab.registry import get_pipeline_class
    from e2elab.serve.app import create_app
    from e2elab.serve.models import load_models

    root = tmp_path_factory.mktemp("served-other-tasks")
    data = {"detection": face_photos(), "translation": (GERMAN, ENGLISH)}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # networks this small gain nothing from threads
    try:
        for (task, kind), params in FAST.items():
            X, y = data[task]
            save(get_pipeline_class(task, kind)(**params).fit(X, y), root / task / "models" / kind / "model")
        with TestClient(create_app(load_models([root]))) as client:
            yield client
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def photo_png():
    from PIL import Image

    photos, _ = face_photos()
    buffer = io.BytesIO()
    Image.fromarray(photos[0]).save(buffer, format="PNG")
    return buffer.getvalue()


def test_models_lists_both_pipelines_of_both_tasks(other_client):
    listed = {model["name"]: model for model in other_client.get("/models").json()["models"]}
    assert sorted(listed) == sorted(DETECTORS + TRANSLATORS)
    assert {listed[name]["reads"] for name in DETECTORS} == {"image"}
    assert {listed[name]["reads"] for name in TRANSLATORS} == {"text"}
    assert all(listed[name]["training"] is None for name in listed)  # saved from Python: no train.json


def test_a_photo_gets_scored_boxes_from_both_detectors(other_client, photo_png):
    response = other_client.post("/predict", files={"file": ("photo.png", photo_png, "image/png")})
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    answers = {answer["model"]: answer for answer in result["answers"]}
    assert sorted(answers) == DETECTORS  # the translators read text, so only the detectors answer
    for answer in answers.values():
        assert answer["boxes"] and answer["n_boxes"] == len(answer["boxes"])
        for box in answer["boxes"]:
            assert set(box) == {"x", "y", "w", "h", "score"}
            assert box["w"] > 0 and box["h"] > 0 and 0 <= box["x"] < 96 and 0 <= box["y"] < 96
            assert isinstance(box["score"], float)
        scores = [box["score"] for box in answer["boxes"]]
        assert scores == sorted(scores, reverse=True)  # best first


@pytest.mark.parametrize("body", ["form", "json"])
def test_a_sentence_gets_a_translation_from_both_translators(other_client, body):
    sentence = "der Hund singt"  # a sentence it never saw whole
    if body == "form":
        response = other_client.post("/predict", data={"text": sentence})
    else:
        response = other_client.post("/predict", json={"text": sentence})
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["kind"] == "text"
    answers = {answer["model"]: answer for answer in result["answers"]}
    assert sorted(answers) == TRANSLATORS  # the detectors read images, so only the translators answer
    for answer in answers.values():
        assert isinstance(answer["translation"], str)
        assert answer["task"] == "translation"
    assert answers["translation-traditional"]["translation"]  # word translation tables always say something


def test_a_sentence_sent_to_a_detector_is_refused(other_client):
    response = other_client.post("/predict", data={"text": "der Hund", "models": "detection-traditional"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "no_model_for_input"


@pytest.mark.parametrize("name", DETECTORS)
def test_a_detection_is_explained(other_client, photo_png, name):
    response = other_client.post("/explain", files={"file": ("photo.png", photo_png, "image/png")},
                                 data={"model": name})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model"] == name and answer["input"] == "photo.png"
    assert answer["explanations"]
    assert all(explanation["method"] and explanation["image"] for explanation in answer["explanations"])


@pytest.mark.parametrize("name", TRANSLATORS)
def test_a_translation_is_explained(other_client, name):
    response = other_client.post("/explain", data={"text": "ein Hund wartet", "model": name})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model"] == name and answer["input"] == "text"
    assert answer["explanations"]
    assert all(explanation["method"] and explanation["image"] for explanation in answer["explanations"])


def test_an_unknown_method_for_a_translator_is_a_clear_400(other_client):
    response = other_client.post("/explain", data={"text": "der Hund", "model": "translation-traditional",
                                                   "method": "no-such-method"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "bad_method" and "no-such-method" in error["message"]
