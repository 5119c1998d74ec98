import numpy as np
import pytest

from e2elab.detection.hog import hog_blocks, window_features
from e2elab.detection.windows import Level, WindowGeometry, face_descriptors, pyramid_scales, window_boxes

GEOMETRY = WindowGeometry(window=32, cell_size=4, face_fraction=0.75)  # 24-px faces


def test_pyramid_runs_from_the_smallest_face_to_the_image_size():
    scales = pyramid_scales(300, 400, GEOMETRY, min_face=12, step=1.2)
    assert scales[0] == pytest.approx(2.0)  # 12-px faces upsampled to 24 px
    assert scales[-1] * 300 >= 32 > scales[-1] / 1.2 * 300  # the coarsest level still holds a window
    np.testing.assert_allclose(np.diff(np.log(scales)), -np.log(1.2))
    capped = pyramid_scales(300, 400, GEOMETRY, min_face=12, step=1.2, max_face=48)
    assert capped[-1] >= 24 / 48 > capped[-1] / 1.2  # the coarsest level finds faces up to 48 px


def test_window_boxes_map_back_to_photo_pixels():
    level = Level(scale_x=2.0, scale_y=2.0, blocks=np.zeros((20, 20, 36)))
    box = window_boxes([3], [5], level, GEOMETRY)[0]
    # The window's top-left is at (20, 12) level px; its face is the central 24 px, i.e. 12 photo px.
    np.testing.assert_allclose(box, [(20 + 4) / 2, (12 + 4) / 2, 12, 12])
    tall = window_boxes([3], [5], level, GEOMETRY, aspect=1.21)[0]
    assert tall[3] / tall[2] == pytest.approx(1.21) and tall[2] * tall[3] == pytest.approx(144)


def test_a_face_crop_has_the_descriptor_the_sliding_window_sees():
    rng = np.random.default_rng(0)
    gray = rng.random((64, 80)).astype(np.float32)
    # A 24-px face whose window (4 px of context) starts on cell (row 3, column 5): scale 1.
    face = np.array([[5 * 4 + 4, 3 * 4 + 4, 24, 24]])
    crop = face_descriptors(gray, face, GEOMETRY, flip=False)
    window = window_features(hog_blocks(gray, 4), [3], [5], GEOMETRY.blocks)
    np.testing.assert_allclose(crop, window, atol=1e-6)
    flipped = face_descriptors(gray, face, GEOMETRY, flip=True)
    assert flipped.shape == (2, GEOMETRY.n_features) and not np.allclose(flipped[0], flipped[1])
