"""The API on tiny trained models: health, the models' descriptions, answers of both pipelines of
both tasks side by side, explanations with their trust scores, and the stages of one input."""

from __future__ import annotations

import base64

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_health_says_ok_and_counts_models(client):
    answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok" and answer.json()["models"] == 4


def test_models_describe_task_kind_vocabulary_training_and_stages(client):
    models = {m["name"]: m for m in client.get("/models").json()["models"]}
    assert set(models) == {"image-end-to-end", "image-traditional", "speech-end-to-end", "speech-traditional"}
    image = models["image-end-to-end"]
    assert (image["task"], image["kind"], image["reads"]) == ("image", "end-to-end", "image")
    assert image["classes"] == ["0", "1", "2"]
    assert image["training"]["data"] == "tiny-image" and image["metric"]["name"] == "error"
    assert image["stages"][0]["kind"] == "input"
    assert set(models["speech-end-to-end"]["alphabet"]) >= set("gon ")
    assert set(models["speech-traditional"]["words"]) == {"go", "no", "on"}


def test_predict_answers_image_and_clip_with_every_pipeline_of_their_task(client, digit_png, clip_wav):
    png, _ = digit_png
    answer = client.post("/predict", files=[("file", ("digit.png", png, "image/png")), ("file", ("clip.wav", clip_wav, "audio/wav"))])
    assert answer.status_code == 200, answer.text
    image, clip = answer.json()["results"]
    assert (image["input"], image["kind"], clip["input"], clip["kind"]) == ("digit.png", "image", "clip.wav", "audio")
    assert [a["model"] for a in image["answers"]] == ["image-end-to-end", "image-traditional"]
    for a in image["answers"]:
        assert a["label"] in {"0", "1", "2"} and a["label"] == a["top"][0]["label"]
        assert abs(sum(t["probability"] for t in a["top"]) - 1.0) < 1e-6  # three classes: all of them listed
    assert [a["model"] for a in clip["answers"]] == ["speech-end-to-end", "speech-traditional"]
    for a in clip["answers"]:
        assert set(a["text"].split()) <= {"go", "no", "on"}
        for word in a["words"]:
            assert 0 <= word["start"] <= word["end"] and 0 <= word["confidence"] <= 1


def test_predict_with_named_models_answers_with_those_only(client, digit_png):
    answer = client.post("/predict", files={"file": ("digit.png", digit_png[0])}, data={"models": "image-traditional"})
    assert answer.status_code == 200
    assert [a["model"] for a in answer.json()["results"][0]["answers"]] == ["image-traditional"]


def test_predict_reads_the_kind_from_the_bytes_not_the_declared_content_type(client, clip_wav):
    answer = client.post("/predict", files={"file": ("clip.wav", clip_wav, "image/png")})
    assert answer.status_code == 200
    assert answer.json()["results"][0]["kind"] == "audio"


def test_explain_returns_a_png_and_trust_scores(client, digit_png):
    answer = client.post("/explain", files={"file": ("digit.png", digit_png[0])},
                         data={"model": "image-end-to-end", "method": "occlusion"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["input"] == "digit.png" and body["model"] == "image-end-to-end"
    (explanation,) = body["explanations"]
    assert explanation["method"] == "occlusion"
    assert base64.b64decode(explanation["image"]).startswith(PNG_MAGIC)
    assert isinstance(explanation["trustworthy"], bool)
    assert {"deletion_auc", "insertion_auc", "randomisation_spearman"} <= set(explanation["scores"])
    assert "deletion_curve" not in explanation["scores"]


def test_explain_a_clip_with_the_traditional_pipeline(client, clip_wav):
    answer = client.post("/explain", files={"file": ("clip.wav", clip_wav)}, data={"model": "speech-traditional"})
    assert answer.status_code == 200, answer.text
    (explanation,) = answer.json()["explanations"]
    assert explanation["method"] == "likelihood_ratio"
    assert base64.b64decode(explanation["image"]).startswith(PNG_MAGIC)


def test_explain_with_an_unknown_method_is_a_400_naming_it(client, digit_png):
    answer = client.post("/explain", files={"file": ("digit.png", digit_png[0])},
                         data={"model": "image-end-to-end", "method": "astrology"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_method" and "astrology" in answer.json()["error"]["message"]


def test_explain_refuses_a_model_of_another_task_and_a_missing_model(client, digit_png):
    other = client.post("/explain", files={"file": ("digit.png", digit_png[0])}, data={"model": "speech-end-to-end"})
    assert other.status_code == 422 and other.json()["error"]["code"] == "no_model_for_input"
    assert "digit.png" in other.json()["error"]["message"]
    missing = client.post("/explain", files={"file": ("digit.png", digit_png[0])})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "missing_model"


def test_stages_draw_each_stage_with_its_output_for_the_input(client, clip_wav):
    answer = client.post("/stages", files={"file": ("clip.wav", clip_wav)}, data={"model": "speech-end-to-end"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["stages"][0]["name"] == "waveform"
    assert body["html"].count('class="stage ') == len(body["stages"])
    assert "data:image/png;base64," in body["html"]  # real outputs drawn, not only the chain


def test_a_sentence_without_a_translation_model_is_refused_naming_what_is_loaded(client):
    answer = client.post("/predict", json={"text": "der Hund läuft"})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "no_model_for_input" and "speech-end-to-end reads audio" in error["message"]


def test_the_page_and_its_assets_are_served_with_no_external_resources(client):
    page = client.get("/")
    assert page.status_code == 200 and 'id="file-input"' in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        body = client.get(asset)
        assert body.status_code == 200
        assert "http://" not in body.text and "https://" not in body.text
    assert "https://" not in page.text and "http://" not in page.text


def test_openapi_describes_the_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/health", "/models", "/predict", "/explain", "/stages"} <= set(paths)
    assert "multipart/form-data" in paths["/predict"]["post"]["requestBody"]["content"]
    assert client.get("/docs").status_code == 200
