"""Fine-tuning the end-to-end image classifier from a saved model (`init_from`), and the schedule
it chooses from the data (`min_updates`, the small-data warning)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import e2elab
from e2elab.errors import ModelIntegrityError, ParameterError, UnsafeModelError
from e2elab.image.backbones import Backbone
from e2elab.image.end_to_end import EndToEndImageClassifier
from e2elab.nn.fine_tuning import FineTuning
from e2elab.nn.schedule import SmallDataWarning

FAST = {"backbone": Backbone(width=8), "batch_size": 8, "lr": 1e-2, "device": "cpu", "progress": False,
        "augment": "none", "validation": 0}
NO_LEARNING = {"epochs": 1, "lr": 1e-12}  # one epoch that leaves the weights as they start


pytestmark = pytest.mark.usefixtures("one_thread")  # networks this small gain nothing from threads


def _pictures(labels=("horizontal", "vertical", "blob"), n_per_class=6, size=16, seed=0):
    rng = np.random.default_rng(seed)
    X, y = [], []
    for label in labels:
        for _ in range(n_per_class):
            image = rng.integers(0, 40, (size, size)).astype(np.uint8)
            if label == "horizontal":
                image[::4] = 220
            elif label == "vertical":
                image[:, ::4] = 220
            else:
                image[size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 220
            X.append(image)
            y.append(label)
    return X, np.array(y)


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory):
    X, y = _pictures()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        model = EndToEndImageClassifier(**FAST, epochs=15, seed=0).fit(X, y)
    return e2elab.save(model, tmp_path_factory.mktemp("models") / "bars")


def _first_epoch_loss(**params) -> float:
    X, y = _pictures(seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        return EndToEndImageClassifier(**{**FAST, **NO_LEARNING, **params}).fit(X, y).history_[0]["train_loss"]


def test_a_fine_tuned_model_starts_from_the_source_weights(source_dir):
    assert _first_epoch_loss(init_from=str(source_dir)) < 0.5 * _first_epoch_loss()


def test_the_head_is_rebuilt_when_the_classes_differ(source_dir):
    source = e2elab.load(source_dir)
    X, y = _pictures(labels=("blob", "dots"), seed=2)
    model = EndToEndImageClassifier(**{**FAST, **NO_LEARNING}, init_from=str(source_dir)).fit(X, y)
    assert model.classes_.tolist() == ["blob", "dots"] and model.network_.head.weight.shape[0] == 2
    blob = source.classes_.tolist().index("blob")
    assert torch.allclose(model.network_.head.weight[0], source.network_.head.weight[blob], atol=1e-6)
    assert not any(torch.allclose(model.network_.head.weight[1], row, atol=1e-3) for row in source.network_.head.weight)
    assert torch.allclose(model.network_.stem[0].weight, source.network_.stem[0].weight, atol=1e-6)



def test_fine_tuning_settings_freeze_all_but_the_output_layer(source_dir):
    source = e2elab.load(source_dir)
    X, y = _pictures(seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        model = EndToEndImageClassifier(**FAST, epochs=1, init_from=FineTuning(source_dir, freeze_epochs=1)).fit(X, y)
    assert torch.equal(model.network_.stem[0].weight, source.network_.stem[0].weight)
    assert not torch.allclose(model.network_.head.weight, source.network_.head.weight)
    assert e2elab.load(e2elab.save(model, source_dir.parent / "frozen")).init_from == FineTuning(str(source_dir), 1)

def test_bad_sources_are_refused_naming_the_folder(source_dir, tmp_path):
    X, y = _pictures()
    fit = lambda **p: EndToEndImageClassifier(**{**FAST, **NO_LEARNING, **p}).fit(X, y)
    with pytest.raises(ParameterError, match="no such model folder"):
        fit(init_from=str(tmp_path / "missing"))
    with pytest.raises(ParameterError, match=r"width=8 there, 16 here"):
        fit(init_from=str(source_dir), backbone=Backbone(width=16))

    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "model.pkl").write_bytes(b"\x80\x04N.")
    with pytest.raises(UnsafeModelError, match="pickle"):
        fit(init_from=str(pickled))

    truncated = tmp_path / "truncated"
    truncated.mkdir()
    for name in ("e2elab.json", "weights.safetensors"):
        (truncated / name).write_bytes((source_dir / name).read_bytes())
    data = (truncated / "weights.safetensors").read_bytes()
    (truncated / "weights.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelIntegrityError, match=r"weights\.safetensors"):
        fit(init_from=str(truncated))


def test_small_data_gets_at_least_min_updates_and_a_warning():
    X, y = _pictures(n_per_class=4)  # 12 images: one batch of 8 an epoch (the ragged rest dropped)
    with pytest.warns(SmallDataWarning, match="4 images in the smallest class"):
        model = EndToEndImageClassifier(**{**FAST, "lr": 1e-3}, min_updates=30).fit(X, y)
    assert len(model.history_) == 30  # 20 default epochs raised to 30 one-batch epochs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        assert len(EndToEndImageClassifier(**FAST, epochs=3).fit(X, y).history_) == 3  # stated epochs are kept
