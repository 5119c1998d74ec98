import numpy as np
import pytest

from e2elab.detection.hog import (block_contributions_to_cells, cell_histograms, hog_blocks, score_map,
                                  window_features)


def test_a_vertical_edge_votes_into_the_horizontal_gradient_bin():
    image = np.zeros((16, 16), np.float32)
    image[:, 8:] = 1.0  # dark left, bright right: gradient along x, orientation 0
    cells = cell_histograms(image, cell_size=4, n_bins=9)
    assert cells.shape == (4, 4, 9)
    # Orientation 0 lies between the centres of bins 8 (170 deg) and 0 (10 deg): equal votes.
    edge = cells[:, 1]  # the cells whose last column holds the edge
    np.testing.assert_allclose(edge[:, 0], edge[:, 8])
    assert edge[:, 1:8].sum() == 0 and edge[:, 0].sum() > 0
    assert cells[:, 3].sum() == 0  # flat region


def test_blocks_are_l2_hys_normalised():
    rng = np.random.default_rng(0)
    image = rng.random((40, 36))
    blocks = hog_blocks(image, cell_size=4)
    assert blocks.shape == (9, 8, 36)
    np.testing.assert_allclose(np.linalg.norm(blocks, axis=2), 1.0, atol=1e-3)
    cells = cell_histograms(image, cell_size=4)
    block = np.concatenate([cells[2, 3], cells[2, 4], cells[3, 3], cells[3, 4]])
    block = np.minimum(block / np.linalg.norm(block), 0.2)  # L2, clipped at 0.2, ...
    np.testing.assert_allclose(blocks[2, 3], block / np.linalg.norm(block), atol=1e-5)  # ... L2 again


def test_score_map_equals_the_dot_product_of_each_windows_descriptor():
    rng = np.random.default_rng(1)
    blocks = rng.random((12, 10, 36)).astype(np.float32)
    weights = rng.normal(size=(3, 3, 36)).astype(np.float32)
    scores = score_map(blocks, weights, bias=-0.5)
    assert scores.shape == (10, 8)
    rows, cols = np.indices(scores.shape).reshape(2, -1)
    expected = window_features(blocks, rows, cols, 3) @ weights.reshape(-1) - 0.5
    np.testing.assert_allclose(scores.ravel(), expected, atol=1e-4)


def test_cell_contributions_keep_the_total():
    contributions = np.arange(9.0).reshape(3, 3)
    cells = block_contributions_to_cells(contributions)
    assert cells.shape == (4, 4) and cells.sum() == pytest.approx(contributions.sum())
    assert cells[0, 0] == pytest.approx(contributions[0, 0] / 4)
