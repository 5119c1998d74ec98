"""The end-to-end image classifier: learning, probabilities, saving, determinism, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone

import e2elab
from e2elab.errors import DataError, ImageError
from e2elab.image.backbones import Backbone
from e2elab.image.end_to_end import EndToEndImageClassifier
from e2elab.image.transforms import ImageAugmentation

FAST = dict(backbone=Backbone(width=8), epochs=6, batch_size=8, lr=1e-2, device="cpu", progress=False)


pytestmark = pytest.mark.usefixtures("one_thread")  # networks this small gain nothing from threads


def _bars(n_per_class=6, size=16, colour=False, seed=0):
    """Three classes of noisy pictures: horizontal bars, vertical bars, a blob in the middle."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for label in ("horizontal", "vertical", "blob"):
        for _ in range(n_per_class):
            image = rng.integers(0, 40, (size, size)).astype(np.uint8)
            if label == "horizontal":
                image[::4] = 220
            elif label == "vertical":
                image[:, ::4] = 220
            else:
                image[size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 220
            if colour:
                image = np.stack([image, image // 2, 255 - image], axis=2)
            X.append(image)
            y.append(label)
    return X, np.array(y)


def test_overfits_a_few_images():
    X, y = _bars(4)
    model = EndToEndImageClassifier(**{**FAST, "epochs": 25}, augment="none", validation=0).fit(X, y)
    assert model.score(X, y) == 1.0
    assert list(model.classes_) == ["blob", "horizontal", "vertical"]
    assert model.history_[-1]["train_loss"] < model.history_[0]["train_loss"]


def test_predict_proba_rows_sum_to_one_and_details():
    X, y = _bars(6)
    model = EndToEndImageClassifier(**FAST).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert np.array_equal(model.classes_[proba.argmax(1)], model.predict(X))
    details = model.predict_details(X[:2], top_k=2)
    assert details[0]["label"] == details[0]["top"][0]["label"] and len(details[0]["top"]) == 2
    assert model.temperature_ > 0 and model.calibration_["n"] >= 3
    report = model.calibration_error(X, y)
    assert 0.0 <= report["ece_after"] <= 1.0


def test_save_load_round_trip_gives_identical_probabilities(tmp_path):
    X, y = _bars(6, colour=True)
    model = EndToEndImageClassifier(**FAST, tta=True).fit(X, y)
    e2elab.save(model, tmp_path / "model")
    loaded = e2elab.load(tmp_path / "model")
    assert type(loaded) is EndToEndImageClassifier and loaded.channels_ == 3
    np.testing.assert_array_equal(model.predict_proba(X), loaded.predict_proba(X))
    assert loaded.get_params() == model.get_params()


def test_same_seed_same_model_and_clone_works():
    X, y = _bars(5)
    params = {**FAST, "epochs": 3}
    a = EndToEndImageClassifier(**params, seed=3).fit(X, y).predict_proba(X)
    b = clone(EndToEndImageClassifier(**params, seed=3)).fit(X, y).predict_proba(X)
    c = EndToEndImageClassifier(**params, seed=4).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_grayscale_and_colour_and_odd_sizes():
    X, y = _bars(5, size=20)
    X[0] = np.zeros((30, 12), np.uint8)  # a tall image among squares, padded to a square
    gray = EndToEndImageClassifier(**{**FAST, "epochs": 2}).fit(X, y)
    assert gray.channels_ == 1 and gray.policy_ == ImageAugmentation.preset("glyph") and not gray.policy_.flip
    Xc, yc = _bars(5, colour=True)
    colour = EndToEndImageClassifier(**{**FAST, "epochs": 2}, resize="crop").fit(Xc, yc)
    assert colour.channels_ == 3 and colour.policy_.flip and colour.policy_.mix == "cutmix"
    assert colour.predict([Xc[0][:, :, 0]]).shape == (1,)  # a gray image given to a colour model
    assert colour.predict([np.zeros((1500, 1000, 3), np.uint8)]).shape == (1,)  # far larger than the input
    assert colour.predict_proba([]).shape == (0, 3)


def test_stages_and_stage_outputs():
    X, y = _bars(5)
    model = EndToEndImageClassifier(**{**FAST, "epochs": 2}).fit(X, y)
    names = [s.name for s in model.stages]
    out = model.stage_outputs(X[0], layers=["stage1"])
    assert set(out) == set(names)
    assert list(out["feature_maps"]) == ["stage1"] and out["feature_maps"]["stage1"].shape[0] == 8
    assert out["resized"].shape == (16, 16)
    assert out["pooled"].shape == (model.network_.n_features,) and out["scores"].shape == (3,)
    assert abs(sum(out["output"]["probabilities"].values()) - 1) < 1e-6


def test_one_class_and_single_image_classes():
    X, y = _bars(3)
    with pytest.raises(DataError, match="at least two classes"):
        EndToEndImageClassifier(**FAST).fit(X, np.array(["a"] * len(X)))
    y = y.copy()
    y[0] = "lonely"
    with pytest.raises(DataError, match="'lonely' has a single image"):
        EndToEndImageClassifier(**FAST).fit(X, y)
    model = EndToEndImageClassifier(**{**FAST, "epochs": 1}, on_error="skip").fit(X, y)
    assert model.n_skipped_ == 1 and "lonely" not in model.classes_


def test_unreadable_images_raise_or_are_skipped(tmp_path):
    from PIL import Image

    X, y = _bars(4)
    paths = []
    for i, image in enumerate(X):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(image).save(paths[-1])
    (tmp_path / "0.png").write_bytes(b"")
    (tmp_path / "1.png").write_bytes(paths[2].read_bytes()[:40])  # truncated
    with pytest.raises(ImageError, match="0.png"):
        EndToEndImageClassifier(**FAST).fit([str(p) for p in paths], y)
    model = EndToEndImageClassifier(**{**FAST, "epochs": 1}, on_error="skip").fit([str(p) for p in paths], y)
    assert model.n_skipped_ == 2 and any("1.png" in item for item, _ in model.skipped_)


def test_images_over_max_pixels_are_refused_or_skipped():
    X, y = _bars(4)
    big = np.zeros((40, 40), np.uint8)  # 1,600 pixels; the bars have 256
    big[::4] = 220
    with pytest.raises(ImageError, match="item 12: .*over the limit"):
        EndToEndImageClassifier(**FAST, max_pixels=1000).fit(list(X) + [big], list(y) + ["horizontal"])
    model = EndToEndImageClassifier(**{**FAST, "epochs": 1}, max_pixels=1000, on_error="skip").fit(
        list(X) + [big], list(y) + ["horizontal"])
    assert model.n_skipped_ == 1 and model.skipped_[0][0] == "item 12"
    with pytest.raises(ImageError, match="over the limit"):
        model.predict([big])


def test_bad_parameters_are_refused():
    X, y = _bars(3)
    with pytest.raises(ValueError, match="resize"):
        EndToEndImageClassifier(**FAST, resize="stretch").fit(X, y)
    with pytest.raises(ValueError, match="too small"):
        EndToEndImageClassifier(**{**FAST, "backbone": Backbone(width=8, depth=4)}, input_size=8).fit(X, y)
    with pytest.raises(ValueError, match="optimizer"):
        EndToEndImageClassifier(**FAST, optimizer="adam").fit(X, y)


def test_both_optimizers_train():
    X, y = _bars(4)
    params = {**FAST, "lr": None, "epochs": 25, "augment": "none", "validation": 0}
    for optimizer in ("sgd", "adamw"):
        model = EndToEndImageClassifier(**params, optimizer=optimizer).fit(X, y)
        assert model.score(X, y) == 1.0, optimizer


def test_registered_as_end_to_end_image_pipeline():
    model = e2elab.make_pipeline("image", "end-to-end", seed=1)
    assert isinstance(model, EndToEndImageClassifier) and model.seed == 1


def _epochs_run(monkeypatch) -> list[int]:
    """The epochs the training loop runs from now on, in order, whatever a checkpoint lets it skip."""
    import e2elab.nn

    epochs, real_train = [], e2elab.nn.train

    def counting_train(*args, on_epoch_end=None, **kwargs):
        def count(row):
            epochs.append(row["epoch"])
            if on_epoch_end is not None:
                on_epoch_end(row)

        return real_train(*args, **kwargs, on_epoch_end=count)

    monkeypatch.setattr(e2elab.nn, "train", counting_train)
    return epochs


def test_checkpoints_and_metrics_are_written(tmp_path, monkeypatch):
    from e2elab.nn import read_metrics

    X, y = _bars(5)
    model = EndToEndImageClassifier(**{**FAST, "epochs": 2}, checkpoint_dir=str(tmp_path)).fit(X, y)
    rows = read_metrics(tmp_path)
    assert [r["epoch"] for r in rows] == [1, 2] and "val_error" in rows[0]
    epochs = _epochs_run(monkeypatch)
    again = EndToEndImageClassifier(**{**FAST, "epochs": 2}, checkpoint_dir=str(tmp_path)).fit(X, y)
    assert epochs == []  # every epoch is in the checkpoint: nothing left to run
    np.testing.assert_array_equal(model.predict_proba(X), again.predict_proba(X))


def test_resume_runs_only_the_remaining_epochs_and_ends_as_an_uninterrupted_run(tmp_path, monkeypatch):
    import e2elab.nn.trainer as trainer

    X, y = _bars(5)
    params = {**FAST, "epochs": 4}
    straight = EndToEndImageClassifier(**params).fit(X, y)

    real_write = trainer.write_metrics

    def interrupt_after_two(directory, history):
        real_write(directory, history)
        if len(history) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "write_metrics", interrupt_after_two)
    with pytest.raises(KeyboardInterrupt):
        EndToEndImageClassifier(**params, checkpoint_dir=str(tmp_path)).fit(X, y)
    monkeypatch.setattr(trainer, "write_metrics", real_write)
    epochs = _epochs_run(monkeypatch)
    resumed = EndToEndImageClassifier(**params, checkpoint_dir=str(tmp_path)).fit(X, y)

    assert epochs == [3, 4]  # a run that started afresh would count 1 to 4
    assert [h["epoch"] for h in resumed.history_] == [1, 2, 3, 4]
    for (name, a), b in zip(straight.network_.state_dict().items(), resumed.network_.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), name
    np.testing.assert_allclose(resumed.predict_proba(X), straight.predict_proba(X), atol=1e-6)


def test_amp_switches_cpu_bfloat16_training(monkeypatch):
    import e2elab.nn.device as device_module

    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: True)  # emulated where not native
    X, y = _bars(4)
    params = {**FAST, "epochs": 2}
    mixed = EndToEndImageClassifier(**params).fit(X, y).predict_proba(X)
    full = EndToEndImageClassifier(**params, amp=False).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(mixed.sum(1), 1.0, rtol=1e-5)
    assert not np.array_equal(mixed, full)  # bfloat16 rounding changed the training


def test_cpu_preset_pools_after_the_stem_adapts_the_depth_and_saves(tmp_path):
    X, y = _bars(4, size=32)
    model = EndToEndImageClassifier(**{**FAST, "epochs": 2}, preset="cpu").fit(X, y)
    assert model.input_size_ == 32 and model.depth_ == 3  # 32 px: halved by the stem, then 3 stages to 2 px
    e2elab.save(model, tmp_path / "model")
    np.testing.assert_array_equal(e2elab.load(tmp_path / "model").predict_proba(X), model.predict_proba(X))
    with pytest.raises(ValueError, match="with preset 'cpu'"):
        EndToEndImageClassifier(**{**FAST, "backbone": Backbone(width=8, depth=4)}, preset="cpu", input_size=16).fit(X, y)
