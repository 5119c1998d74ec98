"""Streaming training images from disk: the same model as in memory, the decoded-image cache,
statistics from a bounded sample, images that fail mid-epoch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from e2elab.errors import DataError
from e2elab.image import image_stream
from e2elab.image.end_to_end import EndToEndImageClassifier
from e2elab.image.image_stream import ImageFeed
from e2elab.nn.streaming import StreamedItems

from .test_end_to_end import FAST, _bars

pytestmark = [pytest.mark.filterwarnings("ignore::e2elab.nn.schedule.SmallDataWarning"),
              pytest.mark.usefixtures("one_thread")]


def _write(folder: Path, n_per_class: int) -> tuple[list[str], np.ndarray]:
    """Colour PNGs of three classes at 24 px: training crops come from 24 px sources, the network sees 16 px."""
    X, y = _bars(n_per_class, size=24, colour=True)
    paths = []
    for i, image in enumerate(X):
        paths.append(str(folder / f"image{i}.png"))
        Image.fromarray(image).save(paths[-1])
    return paths, y


@pytest.fixture
def folder(tmp_path):
    return _write(tmp_path, 6)


def tiny(**params) -> EndToEndImageClassifier:
    return EndToEndImageClassifier(**{**FAST, "epochs": 3, "input_size": 16, "amp": False, **params})


def test_streamed_fit_trains_the_same_model_as_the_in_memory_fit_and_fills_the_cache(folder, tmp_path):
    paths, y = folder
    in_memory = tiny().fit(paths, y)
    streamed = tiny(cache_dir=str(tmp_path / "cache")).fit(paths, y)
    assert in_memory.channels_ == streamed.channels_ == 3
    np.testing.assert_allclose(in_memory.mean_, streamed.mean_, rtol=1e-6)
    np.testing.assert_allclose([r["train_loss"] for r in in_memory.history_],
                               [r["train_loss"] for r in streamed.history_], rtol=1e-5)
    np.testing.assert_allclose(in_memory.predict_proba(paths), streamed.predict_proba(paths), atol=1e-5)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == len(paths)


def test_streaming_is_on_for_workers_a_cache_or_a_large_decoded_set(folder, tmp_path, monkeypatch):
    paths, _ = folder

    def feed(**params):
        model = tiny(**params)
        model.input_size_ = 16
        return ImageFeed(model, paths, 32)

    assert not feed().streaming
    assert feed(num_workers=2).streaming and feed(cache_dir=str(tmp_path / "c")).streaming
    monkeypatch.setattr(image_stream, "STREAM_ABOVE_BYTES", len(paths) * 3 * (32**2 + 16**2) - 1)
    assert feed().streaming


def test_a_streamed_fit_decodes_only_the_statistics_sample_before_training(folder, tmp_path, monkeypatch):
    paths, y = folder
    monkeypatch.setattr(image_stream, "STATS_SAMPLE", 4)
    model = tiny(cache_dir=str(tmp_path / "cache"))
    model.input_size_ = 16
    feed = ImageFeed(model, paths, 24)
    labels, skipped = feed.read(y)
    assert len(labels) == len(paths) and not skipped
    assert sorted(feed._decoded) == [0, 5, 10, 15]  # evenly spread
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 4
    train_set, val_set = feed.datasets(torch.zeros(len(paths), dtype=torch.long), np.arange(10), np.arange(10, 18),
                                       feed.channels())
    assert isinstance(train_set, StreamedItems) and train_set[0][0].shape == (3, 24, 24)
    assert val_set[0][0].shape == (3, 16, 16) and val_set[0][0].dtype == torch.uint8


def test_an_image_that_fails_mid_epoch_is_raised_by_path_or_skipped_and_counted(tmp_path, monkeypatch):
    # 60 images: the input size is read from the first 50, the statistics from images 0 and 30,
    # so image 55 is first decoded while training.
    paths, y = _write(tmp_path, 20)
    monkeypatch.setattr(image_stream, "STATS_SAMPLE", 2)
    data = Path(paths[55]).read_bytes()
    Path(paths[55]).write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"image55\.png: .*truncated.*while training"):
        tiny(epochs=1, cache_dir=str(tmp_path / "cache")).fit(paths, y)
    model = tiny(epochs=1, on_error="skip", cache_dir=str(tmp_path / "cache")).fit(paths, y)
    assert model.n_skipped_ == 1 and model.skipped_[0][0] == paths[55]


def test_a_streamed_fit_with_loader_workers_learns(folder):
    paths, y = folder
    model = tiny(num_workers=1, epochs=2).fit(paths, y)
    assert len(model.history_) == 2 and model.predict(paths[:2]).shape == (2,)
