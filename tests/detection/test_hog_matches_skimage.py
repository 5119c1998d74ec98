"""e2elab's HOG gives scikit-image's `hog` values where the two should agree.

They differ by design in the orientation vote: e2elab splits a pixel's vote between the two nearest
bins, scikit-image gives it to one. On windows of horizontal stripes every gradient is vertical,
at the centre of a bin, where both votes are the same: there gradients, cells, block layout and
L2-Hys normalisation must all match (benchmarks/bench_hog.py measures the rest and the speed).
"""

import numpy as np
import pytest
from skimage.feature import hog

from e2elab.detection.hog import hog_blocks


def stripes(rng: np.random.Generator, height: int, width: int, cell: int) -> np.ndarray:
    """Horizontal stripes, their contrast changing by orders of magnitude from one band of cells to the next,
    so that the normalised blocks hold more than the few values that equal cells would give."""
    contrast = np.repeat(10 ** rng.uniform(-2, 0, height // cell + 1), cell)[:height]
    return np.repeat((rng.random(height) * contrast)[:, None], width, axis=1).astype(np.float32)


def _both(window: np.ndarray, cell: int = 4, bins: int = 9) -> tuple[np.ndarray, np.ndarray]:
    ours = hog_blocks(window, cell, bins)
    reference = hog(window, orientations=bins, pixels_per_cell=(cell, cell), cells_per_block=(2, 2),
                    block_norm="L2-Hys", feature_vector=False)
    return ours.reshape(reference.shape), reference


@pytest.mark.parametrize("seed", range(4))
def test_values_equal_where_every_gradient_is_at_a_bin_centre(seed):
    rng = np.random.default_rng(seed)
    ours, reference = _both(stripes(rng, 32, 32, cell=4))
    assert ours.shape == (7, 7, 2, 2, 9)
    assert len(np.unique(reference.round(3))) > 4  # not a trivial descriptor (0 and 0.5 everywhere)
    np.testing.assert_allclose(ours, reference, atol=1e-5)


def test_an_odd_window_and_other_cells_keep_the_same_layout():
    rng = np.random.default_rng(7)
    ours, reference = _both(stripes(rng, 42, 30, cell=6), cell=6, bins=5)  # rows and columns differ  # 5 bins: 90 degrees is again a bin centre
    assert ours.shape == (6, 4, 2, 2, 5)
    np.testing.assert_allclose(ours, reference, atol=1e-5)
