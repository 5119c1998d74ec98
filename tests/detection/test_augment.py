import numpy as np

from e2elab.detection.augment import (FILL, BoxAugment, fit_long_side, flip_horizontal, keep_visible, pad_to_multiple,
                                      photometric_jitter)

RED = (250, 20, 20)


def planted(height=120, width=160, box=(30, 40, 24, 18)):
    """A dark photo with one red rectangle, and its box."""
    image = np.full((height, width, 3), 40, np.uint8)
    x, y, w, h = box
    image[y:y + h, x:x + w] = RED
    return image, np.array([box], float)


def inside(image, box):
    x, y, w, h = np.round(box).astype(int)
    return image[y:y + h, x:x + w]


def test_flip_moves_the_box_with_the_object():
    image, boxes = planted()
    flipped, moved = flip_horizontal(image, boxes)
    np.testing.assert_array_equal(moved, [[160 - 30 - 24, 40, 24, 18]])
    assert (inside(flipped, moved[0]) == RED).all()
    assert (flipped == RED).all(axis=2).sum() == 24 * 18


def test_random_zoom_crop_flip_keeps_every_box_on_its_object():
    image, boxes = planted()
    augment = BoxAugment(size=96, scale=(0.5, 2.0), jitter=0.0)
    rng = np.random.default_rng(0)
    kept = 0
    for _ in range(40):
        out, moved = augment(image, boxes, rng)
        assert out.shape == (96, 96, 3) and out.dtype == np.uint8
        assert np.all(moved[:, :2] >= 0) and np.all(moved[:, :2] + moved[:, 2:] <= 96)
        for box in moved:
            # Interpolation blurs the border pixels only: the box interior is the object.
            core = inside(out, box + [1, 1, -2, -2])
            assert core.size == 0 or (np.abs(core.astype(int) - RED).max(axis=2) < 40).mean() > 0.95
            kept += 1
        red = (np.abs(out.astype(int) - RED).max(axis=2) < 40).sum()
        if not len(moved):
            assert red < 0.4 * 24 * 18 * 4  # a dropped box left at most a sliver of its object in view
    assert kept > 10


def test_augmentation_is_determined_by_the_generator():
    image, boxes = planted()
    augment = BoxAugment(size=64)
    a = augment(image, boxes, np.random.default_rng(7))
    b = augment(image, boxes, np.random.default_rng(7))
    c = augment(image, boxes, np.random.default_rng(8))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_a_zoomed_out_photo_is_padded_with_the_mean_colour():
    image, boxes = planted(height=40, width=40, box=(10, 10, 10, 10))
    out, moved = BoxAugment(size=128, scale=(1.0, 1.0), flip=False, jitter=0.0)(image, boxes, np.random.default_rng(0))
    assert (out == FILL).all(axis=2).sum() == 128 * 128 - 40 * 40
    assert (inside(out, moved[0]) == RED).all()


def test_keep_visible_clips_and_drops_consistently():
    boxes = np.array([[-5.0, 0.0, 10.0, 10.0], [-8.0, 0.0, 10.0, 10.0], [90.0, 90.0, 20.0, 20.0], [10.0, 10.0, 5.0, 5.0]])
    kept = keep_visible(boxes, 100, 100, min_visible=0.4)
    # Half of the first box is visible (kept, clipped); a fifth of the second and a quarter of the
    # third are not enough; the fourth is wholly inside.
    np.testing.assert_array_equal(kept, [[0, 0, 5, 10], [10, 10, 5, 5]])


def test_photometric_jitter_changes_colours_not_geometry():
    image, _ = planted()
    rng = np.random.default_rng(0)
    jittered = photometric_jitter(image, 0.3, rng)
    assert jittered.shape == image.shape and jittered.dtype == np.uint8
    assert not np.array_equal(jittered, image)
    np.testing.assert_array_equal(photometric_jitter(image, 0.0, rng), image)
    red = jittered[40:58, 30:54]
    assert (red[..., 0].astype(int) - red[..., 1] > 100).all()  # still the red object, in the same place


def test_prepared_sizes():
    image = np.zeros((300, 400, 3), np.uint8)
    resized, scale = fit_long_side(image, 512)
    assert resized.shape == (384, 512, 3) and scale == 512 / 400
    padded = pad_to_multiple(np.zeros((100, 70, 3), np.uint8), 32)
    assert padded.shape == (128, 96, 3)
    assert (padded[:100, :70] == 0).all() and (padded[100:] == FILL).all() and (padded[:, 70:] == FILL).all()
