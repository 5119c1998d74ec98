import json

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file
from sklearn.base import clone

from e2elab.base import ModelState
from e2elab.detection.end_to_end import CNNDetector
from e2elab.errors import DataError, ParameterError

SIZE = 128


def planted_photos(n, seed=0):
    """n noisy photos with 1-3 bright squares or discs of 14-28 px, and their boxes."""
    rng = np.random.default_rng(seed)
    rows, cols = np.indices((SIZE, SIZE))
    photos, targets = [], []
    for _ in range(n):
        image = rng.normal(90, 20, (SIZE, SIZE, 3)).clip(0, 255).astype(np.uint8)
        boxes = []
        while len(boxes) < rng.integers(1, 4):
            side = int(rng.integers(14, 29))
            x, y = (int(v) for v in rng.integers(0, SIZE - side, 2))
            if any(x < bx + bw + 4 and bx < x + side + 4 and y < by + bh + 4 and by < y + side + 4 for bx, by, bw, bh in boxes):
                continue
            colour = rng.integers(170, 256, 3)
            if len(boxes) % 2:
                image[y:y + side, x:x + side] = colour
            else:
                image[(cols + 0.5 - x - side / 2) ** 2 + (rows + 0.5 - y - side / 2) ** 2 <= (side / 2) ** 2] = colour
            boxes.append((x, y, side, side))
        photos.append(image)
        targets.append(np.array(boxes, float))
    return photos, targets


def tiny_detector(**params):
    options = dict(width=16, neck_channels=32, input_size=SIZE, train_size=SIZE, epochs=60, batch_size=4,
                   scale=(0.8, 1.25), jitter=0.1, lr=3e-3, progress=False, seed=0)
    return CNNDetector(**{**options, **params})


@pytest.fixture(scope="module")
def photos():
    return planted_photos(4)


@pytest.fixture(scope="module")
def fitted(photos):
    return tiny_detector().fit(*photos)


def test_the_cnn_overfits_a_few_planted_photos(fitted, photos):
    assert fitted.score(*photos) > 0.9
    predictions = fitted.predict(photos[0])
    assert [set(p) for p in predictions] == [{"boxes", "scores"}] * 4
    assert all(np.all(np.diff(p["scores"]) <= 0) for p in predictions)  # best first


def test_boxes_come_back_in_the_photo_s_own_pixels(fitted, photos):
    # The same photo at twice the size: the detector sees the same input, so the boxes double.
    image = photos[0][0]
    large = np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)
    small_boxes, large_boxes = fitted.predict([image, large])
    np.testing.assert_allclose(large_boxes["boxes"][:3], 2 * small_boxes["boxes"][:3], rtol=0.1, atol=2)


def test_state_round_trip_through_safetensors_and_json_gives_identical_boxes(fitted, photos, tmp_path):
    state = fitted._get_state()
    save_file(state.arrays, tmp_path / "weights.safetensors")
    (tmp_path / "meta.json").write_text(json.dumps({"params": fitted.get_params(), "meta": state.meta}))
    saved = json.loads((tmp_path / "meta.json").read_text())
    loaded = CNNDetector._from_state(saved["params"], ModelState(meta=saved["meta"],
                                                                 arrays=load_file(tmp_path / "weights.safetensors")))
    for before, after in zip(fitted.predict(photos[0]), loaded.predict(photos[0])):
        np.testing.assert_array_equal(before["boxes"], after["boxes"])
        np.testing.assert_array_equal(before["scores"], after["scores"])


def test_stage_outputs_follow_the_stages(fitted, photos):
    outputs = fitted.stage_outputs(photos[0][0])
    assert list(outputs) == [stage.name for stage in fitted.stages]
    assert outputs["heat_map"].shape == (SIZE // 4, SIZE // 4)
    assert set(outputs["feature_maps"]) == {"stride4", "stride8", "stride16", "stride32", "neck"}
    assert len(outputs["raw_boxes"]["scores"]) >= len(outputs["boxes"]["scores"])
    final = fitted.predict([photos[0][0]])[0]
    np.testing.assert_array_equal(outputs["boxes"]["boxes"], final["boxes"])
    # The strongest cell of the heat map is where the best box's centre lies.
    row, col = np.unravel_index(outputs["heat_map"].argmax(), outputs["heat_map"].shape)
    x, y, w, h = final["boxes"][0]
    assert abs((x + w / 2) / 4 - col - 0.5) <= 1.5 and abs((y + h / 2) / 4 - row - 0.5) <= 1.5


def test_saliency_of_a_detection_lies_on_its_object(fitted, photos):
    image = photos[0][0]
    box = fitted.predict([image])[0]["boxes"][0]
    saliency = fitted.saliency(image, 0, n_masks=96, seed=0)
    assert saliency.shape == image.shape[:2]
    x, y, w, h = np.round(box).astype(int)
    on_object = saliency[y:y + h, x:x + w].mean()
    assert on_object > saliency.mean() + saliency.std() * 0.5
    np.testing.assert_array_equal(saliency, fitted.saliency(image, 0, n_masks=96, seed=0))
    with pytest.raises(ParameterError, match="box_index 500 is out of range"):
        fitted.saliency(image, 500)


def test_training_is_reproducible_and_clone_keeps_the_parameters(photos):
    model = tiny_detector(epochs=2)
    assert clone(model).get_params() == model.get_params()
    first = model.fit(*photos).predict(photos[0][:1])[0]
    second = clone(model).fit(*photos).predict(photos[0][:1])[0]
    np.testing.assert_array_equal(first["scores"], second["scores"])


def test_unreadable_photo_is_named_or_skipped(photos, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    X, y = [*photos[0][:2], str(broken)], [*photos[1][:2], np.zeros((0, 4))]
    with pytest.raises(DataError, match="broken.jpg"):
        tiny_detector(epochs=1).fit(X, y)
    model = tiny_detector(epochs=1, on_error="skip").fit(X, y)
    assert model.n_skipped_ == 1 and "broken.jpg" in model.skipped_[0][0]


def test_bad_targets_and_parameters_are_refused(photos):
    X, y = photos
    with pytest.raises(DataError, match="4 images but 3 box lists"):
        tiny_detector().fit(X, y[:3])
    with pytest.raises(DataError, match="boxes must be an"):
        tiny_detector().fit(X[:1], [np.zeros((2, 3))])
    with pytest.raises(DataError, match="none of the 2 training images holds a box"):
        tiny_detector().fit(X[:2], [np.zeros((0, 4))] * 2)
    with pytest.raises(ParameterError, match="'input_size' parameter .* must be a positive multiple of 32"):
        tiny_detector(input_size=100).fit(X, y)
    with pytest.raises(ParameterError, match="'backbone' parameter .* must be one of"):
        tiny_detector(backbone="vgg").fit(X, y)
