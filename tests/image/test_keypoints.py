"""Interest points: dense grids, OpenCV detectors, upsampling and the dense fallback."""

import cv2
import numpy as np
import pytest

from e2elab.image.keypoints import dense_grid, detect, draw_keypoints, prepare_image, to_gray


def textured(size=96, seed=0):
    """A grey image of random blocks, full of corners and blobs for the detectors to find."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (size // 8, size // 8)).astype(np.uint8)
    return cv2.GaussianBlur(np.kron(blocks, np.ones((8, 8), np.uint8)), (3, 3), 0)


def test_dense_grid_covers_the_image_at_every_size():
    points = dense_grid((64, 96), step=8, sizes=(16, 32))
    assert points.shape[1] == 4 and points.dtype == np.float32
    for size in (16, 32):
        layer = points[points[:, 2] == size]
        assert len(layer) > 1
        # every patch stays inside the image
        assert layer[:, 0].min() >= size / 2 - 1e-6 and layer[:, 0].max() <= 96 - size / 2 + 1e-6
        assert layer[:, 1].min() >= size / 2 - 1e-6 and layer[:, 1].max() <= 64 - size / 2 + 1e-6
    assert len(points[points[:, 2] == 16]) == 7 * 11


def test_dense_grid_gives_a_point_even_when_the_patch_is_larger_than_the_image():
    points = dense_grid((10, 10), step=8, sizes=(32,))
    assert len(points) == 1 and tuple(points[0, :2]) == (4.5, 4.5)


def test_prepare_upsamples_small_and_shrinks_large_images():
    small, scale = prepare_image(np.zeros((16, 16), np.uint8), min_side=64)
    assert small.shape == (64, 64) and scale == 4.0
    large, scale = prepare_image(np.zeros((1000, 2000, 3), np.uint8), min_side=64, max_side=512)
    assert large.shape == (256, 512, 3) and scale == pytest.approx(0.256)
    same, scale = prepare_image(np.zeros((100, 120), np.uint8))
    assert same.shape == (100, 120) and scale == 1.0


@pytest.mark.parametrize("detector", ["sift", "orb", "fast"])
def test_detectors_find_points_on_a_textured_image(detector):
    found = detect(textured(), detector, max_points=50)
    assert found.detector == detector and not found.fallback
    assert 5 <= len(found) <= 50
    assert (found.points[:, 2] >= 8).all()


@pytest.mark.parametrize("detector", ["sift", "orb", "fast"])
def test_a_blank_image_falls_back_to_the_dense_grid(detector):
    found = detect(np.full((64, 64), 128, np.uint8), detector)
    assert found.fallback and found.detector == "dense"
    assert len(found) == len(dense_grid((64, 64)))


def test_min_points_zero_never_falls_back():
    found = detect(np.full((64, 64), 128, np.uint8), "sift", min_points=0)
    assert len(found) == 0 and not found.fallback


def test_unknown_detector_is_refused():
    with pytest.raises(ValueError, match="detector must be one of"):
        detect(textured(), "harris")


def test_draw_keypoints_returns_an_rgb_picture_of_the_prepared_image():
    image = textured(32)
    prepared, scale = prepare_image(image)
    features = {"points": dense_grid(prepared.shape), "scale": scale, "detector": "dense"}
    picture = draw_keypoints(image, features)
    assert picture.shape == (64, 64, 3) and picture.dtype == np.uint8
    assert (picture != np.repeat(prepared[:, :, None], 3, axis=2)).any()


def test_to_gray_keeps_grey_and_converts_rgb():
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert to_gray(grey) is grey
    assert to_gray(np.repeat(grey[:, :, None], 3, axis=2)).shape == (3, 4)
