"""Deletion / insertion scores on models whose behaviour is known."""

import numpy as np
import pytest

from e2elab.explain.scores import deletion_insertion, image_score_fn, masked_inputs, patch_units, pool_to_units


def one_pixel_model(pixel):
    """A 'model' that answers class 0 with probability 1 exactly when image pixel `pixel` is bright."""
    def predict_proba(batch):  # (N, 1, H, W)
        p = (batch[:, 0, pixel[0], pixel[1]] > 0.5).astype(float)
        return np.stack([p, 1 - p], axis=1)
    return predict_proba


def test_deletion_of_the_one_pixel_a_model_looks_at_drops_at_once():
    x = np.ones((1, 6, 6))
    units, n_units = patch_units((6, 6), 1)
    score = image_score_fn(one_pixel_model((2, 3)), x, 0, units, np.zeros_like(x))
    relevance = np.zeros((6, 6))
    relevance[2, 3] = 1.0
    result = deletion_insertion(score, pool_to_units(relevance, units, n_units), n_steps=36)
    curve = np.array(result["deletion_curve"])
    assert curve[0, 1] == 1.0 and np.all(curve[1:, 1] == 0.0)  # gone after the first removal
    assert result["deletion_auc"] < 0.03 < result["deletion_auc_random"]
    assert result["insertion_auc"] > 0.97 > result["insertion_auc_random"]


def test_a_map_pointing_elsewhere_does_worse_than_the_right_one():
    x = np.ones((1, 6, 6))
    units, n_units = patch_units((6, 6), 1)
    score = image_score_fn(one_pixel_model((0, 0)), x, 0, units, np.zeros_like(x))
    wrong = np.ones(n_units)
    wrong[0] = -1.0  # the one pixel that matters is ranked last
    result = deletion_insertion(score, wrong, n_steps=36)
    assert result["deletion_auc"] > result["deletion_auc_random"]


def test_patch_units_cover_the_image_and_masking_replaces_dropped_patches():
    units, n_units = patch_units((5, 4), 2)
    assert n_units == 6 and units.shape == (5, 4)
    x = np.ones((1, 5, 4))
    keep = np.ones((1, n_units), dtype=bool)
    keep[0, 0] = False
    out = masked_inputs(x, np.zeros_like(x), units, keep)
    assert out.shape == (1, 1, 5, 4)
    assert out[0, 0, :2, :2].sum() == 0 and out[0, 0].sum() == 20 - 4


def test_non_finite_relevance_is_rejected():
    with pytest.raises(ValueError, match="NaN"):
        deletion_insertion(lambda keep: np.zeros(len(keep)), np.array([1.0, np.nan]))
