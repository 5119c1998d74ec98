"""Data and readers shared by the export tests."""

from __future__ import annotations

import numpy as np

SPEECH_WORDS = ["one", "two", "three", "one two", "two", "three"]


def speech_clips(n: int, frame: int = 160, seed: int = 0) -> list[np.ndarray]:
    """Noise clips of different lengths, each a whole number of the exported graph's frames."""
    rng = np.random.default_rng(seed)
    return [(0.1 * rng.standard_normal(frame * (25 + 13 * i))).astype(np.float32) for i in range(n)]


def glyphs(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.random((16, 16)) * 255).astype(np.uint8) for _ in range(n)]


def metadata_of(path) -> dict:
    import json

    import onnx

    return {entry.key: json.loads(entry.value) for entry in onnx.load(str(path)).metadata_props}


def onnx_session(path):
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
