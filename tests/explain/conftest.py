"""Small synthetic image sets: the class is where the bright blob is (left or right half)."""

import numpy as np
import pytest


def blob_images(n: int, side: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for i in range(n):
        label = i % 2
        image = rng.integers(0, 40, (side, side)).astype(np.uint8)
        r = rng.integers(side // 4, 3 * side // 4)
        c = rng.integers(side // 8, 3 * side // 8) + (side // 2 if label else 0)
        rr, cc = np.ogrid[:side, :side]
        image[(rr - r) ** 2 + (cc - c) ** 2 <= (side // 6) ** 2] = 230
        images.append(image)
        labels.append("right" if label else "left")
    return images, np.array(labels)


@pytest.fixture(scope="session")
def blobs16():
    return blob_images(40, 16)


@pytest.fixture(scope="session")
def blobs64():
    return blob_images(24, 64, seed=1)
