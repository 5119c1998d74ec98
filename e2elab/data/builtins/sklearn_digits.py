"""`digits`: scikit-learn's bundled 8x8 handwritten digits, so an image task works offline."""

from __future__ import annotations

import numpy as np

from ..builtin import Builtin
from ..dataset import Dataset


def read_sklearn_digits() -> Dataset:
    """scikit-learn's 8x8 digits (grey levels 0..16) as uint8 images 0..255; no split."""
    from sklearn.datasets import load_digits  # deferred: it loads scikit-learn's data files

    bunch = load_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)  # (1797, 8, 8)
    return Dataset(X=images, y=bunch.target.astype(str), task="image", source="sklearn.datasets.load_digits")


DIGITS = Builtin("digits", "image", "scikit-learn's 8x8 handwritten digits (1,797 images)", "BSD (scikit-learn)",
                 "bundled", read_sklearn_digits, supplied_by="bundled with scikit-learn")
