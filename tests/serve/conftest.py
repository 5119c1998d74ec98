"""Tiny trained models of both pipelines of the image and speech tasks, saved as a run folder the
way ``e2elab demo`` lays one out, and the app serving them."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from e2elab.image.backbones import Backbone

pytest.importorskip("fastapi")
pytest.importorskip("multipart")  # python-multipart, which FastAPI reads forms with

RATE = 16_000
TONE_HZ = {"g": 450.0, "o": 1300.0, "n": 2600.0}  # one tone per letter: words a tiny model can tell apart
WORDS = ["go", "no", "on", "go no", "no on", "on go", "no", "go on"]

FAST = {
    ("image", "end-to-end"): {"backbone": Backbone(width=4), "epochs": 1, "batch_size": 8, "device": "cpu", "progress": False},
    ("image", "traditional"): {},
    ("speech", "end-to-end"): {"n_filters": 8, "width": 8, "depth": 1, "epochs": 1, "batch_size": 4, "device": "cpu",
                               "progress": False},
    ("speech", "traditional"): {"lexicon": {"go": ["G", "OW"], "no": ["N", "OW"], "on": ["AA", "N"]}, "n_states": 1,
                                "n_mixtures": 1, "flat_passes": 1, "passes_per_split": 1, "lm": "loop",
                                "cmvn": "utterance", "progress": False},
}


def tone_clip(text: str, seed: int = 0) -> np.ndarray:
    """`text` spoken in tones: a burst per letter, a pause per space."""
    rng = np.random.default_rng(seed)
    pieces = [np.zeros(800)]
    for letter in text:
        n = int(rng.uniform(0.09, 0.13) * RATE)
        burst = 0.3 * np.sin(2 * np.pi * TONE_HZ.get(letter, 0.0) * np.arange(n) / RATE) * np.hanning(n)
        pieces.append(np.zeros(n) if letter == " " else burst)
    pieces.append(np.zeros(800))
    wave = np.concatenate(pieces)
    return (wave + rng.normal(scale=0.003, size=wave.size)).astype(np.float32)


def digit_images():
    """USPS-like grey digits: scikit-learn's 8x8 digits 0, 1 and 2, six of each, scaled to 0-240."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    keep = np.flatnonzero(digits.target < 3)[:18]
    return [(digits.images[i] * 15).astype(np.uint8) for i in keep], digits.target[keep].astype(str)


def wav_bytes(wave: np.ndarray, rate: int = RATE) -> bytes:
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, wave, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def png_bytes(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory):
    """RUN/<task>/models/<kind>/{model, train.json}, as the demo writes it, for the four pipelines."""
    import torch

    from e2elab.io import save
    from e2elab.registry import get_pipeline_class

    root = tmp_path_factory.mktemp("served-run")
    data = {"image": digit_images(), "speech": ([tone_clip(w, seed=i) for i, w in enumerate(WORDS)], WORDS)}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # networks this small gain nothing from threads
    try:
        for (task, kind), params in FAST.items():
            X, y = data[task]
            model = get_pipeline_class(task, kind)(**params).fit(X, y)
            run = root / task / "models" / kind
            save(model, run / "model")
            (run / "train.json").write_text(json.dumps({"task": task, "data": f"tiny-{task}", "n_train": len(X),
                                                        "metric": "error" if task == "image" else "wer", "value": 0.5}))
    finally:
        torch.set_num_threads(threads)
    return root


@pytest.fixture(scope="session")
def served(run_folder):
    from e2elab.serve.models import load_models

    return load_models([run_folder])


@pytest.fixture
def client(served):
    from fastapi.testclient import TestClient

    from e2elab.serve.app import create_app
    from e2elab.serve.limits import Limits

    app = create_app(served, limits=Limits(max_request_bytes=400_000, max_audio_seconds=30.0, max_image_pixels=4_000_000))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def digit_png():
    images, labels = digit_images()
    return png_bytes(images[0]), labels[0]


@pytest.fixture
def clip_wav():
    return wav_bytes(tone_clip("go no", seed=3))
