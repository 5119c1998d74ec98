"""Fine-tuning the end-to-end recogniser from a saved model (`init_from`), the schedule it chooses
from the data, and the traditional recogniser's working rate chosen from the clips."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import soundfile as sf

import e2elab
from e2elab.errors import ParameterError
from e2elab.image.backbones import Backbone
from e2elab.image.end_to_end import EndToEndImageClassifier
from e2elab.nn.schedule import SmallDataWarning
from e2elab.speech.features import working_rate

from .test_end_to_end import TRANSCRIPTS, synthesise, tiny
from .test_traditional import _model, corpus  # noqa: F401 (corpus is a fixture)

NO_LEARNING = {"epochs": 1, "lr": 1e-12}  # one epoch that leaves the weights as they start


pytestmark = pytest.mark.usefixtures("one_thread")  # networks this small gain nothing from threads


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return [synthesise(t, rng) for t in TRANSCRIPTS], list(TRANSCRIPTS)


@pytest.fixture(scope="module")
def source_dir(data, tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        model = tiny(epochs=40).fit(*data)
    return e2elab.save(model, tmp_path_factory.mktemp("models") / "tones")


def _quiet_fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        return model.fit(X, y)


def test_a_fine_tuned_recogniser_starts_from_the_source_weights(data, source_dir):
    rng = np.random.default_rng(1)
    X = [synthesise(t, rng) for t in TRANSCRIPTS]  # other clips of the same words
    started = _quiet_fit(tiny(**NO_LEARNING, init_from=str(source_dir)), X, TRANSCRIPTS).history_[0]["train_loss"]
    random = _quiet_fit(tiny(**NO_LEARNING), X, TRANSCRIPTS).history_[0]["train_loss"]
    assert started < 0.5 * random


def test_a_source_of_another_task_or_architecture_is_refused(data, source_dir, tmp_path):
    images = [np.full((16, 16), 40 * i, dtype=np.uint8) for i in range(4)]
    image_model = EndToEndImageClassifier(backbone=Backbone(width=4), epochs=1, progress=False, validation=0, device="cpu")
    image_dir = e2elab.save(_quiet_fit(image_model, images, ["a", "a", "b", "b"]), tmp_path / "image")
    with pytest.raises(ParameterError, match=r"image.*pipeline; fine-tuning the end-to-end speech pipeline"):
        tiny(**NO_LEARNING, init_from=str(image_dir)).fit(*data)
    with pytest.raises(ParameterError, match=r"width=32 there, 16 here"):
        tiny(**NO_LEARNING, width=16, init_from=str(source_dir)).fit(*data)


def test_a_small_corpus_gets_at_least_min_updates_and_a_warning(data):
    # 8 clips in batches of 4: 2 updates an epoch, so a floor of 40 updates takes 20 epochs.
    with pytest.warns(SmallDataWarning, match="8 training clips"):
        model = tiny(epochs=None, min_updates=40).fit(*data)
    assert len(model.history_) == 20
    assert len(_quiet_fit(tiny(epochs=3), *data).history_) == 3  # a stated number of epochs is kept


def test_working_rate_is_the_clips_native_rate(tmp_path):
    clip = np.sin(np.linspace(0, 200, 4000)).astype(np.float32) * 0.3
    paths = []
    for i, rate in enumerate((8000, 8000, 16000)):
        paths.append(tmp_path / f"clip{i}.wav")
        sf.write(paths[-1], clip, rate)
    (tmp_path / "broken.wav").write_bytes(b"RIFF....not audio")
    assert working_rate([*paths, tmp_path / "broken.wav"]) == 8000
    assert working_rate([(clip, 44_100), (clip, 48_000)]) == 16_000  # capped
    assert working_rate([(clip, 8000), (clip, 11_025)]) == 8000  # a tie: the lower rate
    assert working_rate([clip, clip]) == 16_000  # bare arrays are at 16 kHz by contract


def test_traditional_recogniser_analyses_8khz_clips_at_8khz(corpus, tmp_path):  # noqa: F811
    X, y = corpus
    narrowband = [(x[::2].copy(), 8000) for x in X[:12]]  # the toy phones sit below 2.5 kHz
    model = _model().fit(narrowband, y[:12])
    assert model.sample_rate == "auto" and model.sample_rate_ == 8000
    assert "8000 Hz" in model.stages[0].output
    assert e2elab.load(e2elab.save(model, tmp_path / "model")).sample_rate_ == 8000
