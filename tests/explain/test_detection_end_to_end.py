"""The CNN detector's explanations: RISE saliency per detection, scored by deletion and randomisation."""

import json

import numpy as np
import pytest
import torch

from e2elab.detection.end_to_end import CNNDetector
from e2elab.detection.saliency import rise_saliency
from e2elab.detection.synthetic import face_photos
from e2elab.errors import ParameterError
from e2elab.explain import explain
from e2elab.explain.detection_records import MAX_BOXES


def colour_faces(n, seed):
    photos, boxes = face_photos(n, seed=seed)
    return [np.repeat(p[:, :, None], 3, axis=2) for p in photos], boxes


@pytest.fixture(scope="module")
def detector():
    photos, boxes = colour_faces(6, seed=0)
    model = CNNDetector(width=8, neck_channels=16, input_size=96, train_size=96, epochs=30, batch_size=6,
                        scale=(0.9, 1.1), jitter=0.1, lr=5e-3, progress=False, seed=0)
    return model.fit(photos, boxes)


@pytest.fixture(scope="module")
def explained(detector, tmp_path_factory):
    out = tmp_path_factory.mktemp("explained")
    photos, _ = colour_faces(6, seed=0)
    return explain(detector, photos[:2], out_dir=out), out, photos


def test_rise_ignores_what_every_mask_shares():
    # A score that does not look at the pixels has nothing to explain: its map is zero, not the
    # masks' coverage pattern scaled by the score.
    pixels = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(0)) * 255
    constant = rise_saliency(lambda batch: torch.full((len(batch),), 0.7), pixels, torch.zeros(3, 1, 1), n_masks=32)
    np.testing.assert_allclose(constant, 0.0, atol=1e-5)
    # Two scores at once give the two maps each would give alone.
    left = lambda batch: batch[:, 0, :, :16].mean((1, 2))
    both = rise_saliency(lambda batch: torch.stack([left(batch), 2 * left(batch)], 1), pixels, torch.zeros(3, 1, 1),
                         n_masks=32)
    single = rise_saliency(left, pixels, torch.zeros(3, 1, 1), n_masks=32)
    np.testing.assert_allclose(both, np.stack([single, 2 * single]), atol=1e-4 * np.abs(single).max())
    assert single[:, :16].mean() > single[:, 16:].mean()


def test_each_detection_rests_on_its_face(detector, explained):
    records, out, photos = explained
    assert {r["input"] for r in records} == {"input-0", "input-1"}
    for name, photo in zip(("input-0", "input-1"), photos):
        mine = [r for r in records if r["input"] == name]
        predicted = detector.predict([photo])[0]
        assert len(mine) == min(MAX_BOXES, len(predicted["boxes"]))
        best = mine[0]
        np.testing.assert_allclose(best["box"], predicted["boxes"][0], atol=0.01)
        assert best["map"].shape == photo.shape[:2]
        x, y, w, h = (round(v) for v in best["box"])
        assert best["map"][y:y + h, x:x + w].mean() > best["map"].mean() + best["map"].std()
        scores = best["scores"]
        assert scores["deletion_auc"] < scores["deletion_auc_random"]
        assert scores["insertion_auc"] > scores["insertion_auc_random"]
        assert (out / f"{name}.box0.rise.png").stat().st_size > 0


def test_the_randomisation_check_compares_with_a_random_network(explained):
    records, out, _ = explained
    for record in (r for r in records if r["detection"] == 0):
        # The same network would give a correlation of 1: the maps follow the learned weights.
        assert record["scores"]["randomisation_spearman"] < 0.8
        assert record["scores"]["randomisation_cascade"][-1]["layers_randomised"] > 1
    saved = json.loads((out / "explanations.json").read_text())
    assert saved["pipeline"] == "end-to-end" and saved["methods"] == ["rise"]
    assert saved["summary"]["rise"]["n"] == len(records)


def test_target_is_refused(detector):
    photos, _ = colour_faces(1, seed=3)
    with pytest.raises(ParameterError, match="no target"):
        explain(detector, photos, target="face")
