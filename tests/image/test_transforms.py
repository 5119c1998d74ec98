"""Resizing to a square, normalisation, batch augmentation and mixing."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from e2elab.image.transforms import Augment, channel_stats, fit_square, is_colour, mix_batch, normalise, tta_views


@pytest.mark.parametrize("shape", [(30, 12), (12, 30, 3), (16, 16)])
def test_fit_square_pad_and_crop(shape):
    image = np.random.default_rng(0).integers(0, 255, shape).astype(np.uint8)
    for mode in ("pad", "crop"):
        out = fit_square(image, 16, mode)
        assert out.shape == (16, 16) + shape[2:] and out.dtype == np.uint8
    with pytest.raises(ValueError):
        fit_square(image, 16, "stretch")


def test_pad_keeps_the_whole_image_crop_fills():
    image = np.full((20, 40), 200, np.uint8)
    image[:, :2] = 0  # a dark left edge survives padding (edge-padded) but not cropping's centre
    assert fit_square(image, 20, "pad")[10, 0] == 0
    assert fit_square(image, 20, "crop")[10, 0] == 200


def test_normalise_uses_channel_stats():
    images = torch.randint(0, 256, (10, 3, 8, 8), dtype=torch.uint8)
    mean, std = channel_stats(images)
    x = normalise(images, mean, std)
    assert torch.allclose(x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(x.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-2)


def test_augment_and_mix_keep_shapes():
    torch.manual_seed(0)
    x, y = torch.randn(6, 3, 16, 16), torch.arange(6)
    assert Augment(rotate=10)(x).shape == x.shape
    identity = Augment(scale=(1, 1), translate=0, flip=False, jitter=0)(x)
    torch.testing.assert_close(identity, x, atol=1e-4, rtol=0)
    for kind in ("mixup", "cutmix"):
        mixed, ya, yb, lam = mix_batch(x, y, kind, prob=1.0)
        assert mixed.shape == x.shape and 0 <= lam <= 1 and torch.equal(ya, y)
    assert mix_batch(x, y, None)[3] == 1.0
    assert len(tta_views(x, flip=True)) == 4 and len(tta_views(x, flip=False)) == 3


def test_a_larger_source_is_area_averaged_down_to_the_output_size():
    x = torch.randn(2, 3, 32, 32)
    identity = Augment(scale=(1, 1), translate=0, flip=False, jitter=0, out_size=16)(x)
    assert identity.shape == (2, 3, 16, 16)
    torch.testing.assert_close(identity, F.avg_pool2d(x, 2), atol=1e-4, rtol=0)
    # Zoomed in on the centre half of the side, the output is that crop of the source at its own
    # resolution (a smooth ramp, so sampling between pixels changes little).
    ramp = torch.linspace(0, 1, 32)
    smooth = (ramp[:, None] * ramp[None, :]).expand(2, 3, 32, 32)
    centre = Augment(scale=(0.5, 0.5), translate=0, flip=False, jitter=0, out_size=16)(smooth)
    torch.testing.assert_close(centre, smooth[:, :, 8:24, 8:24], atol=0.02, rtol=0)


def test_is_colour():
    gray = np.zeros((4, 4, 3), np.uint8)
    assert not is_colour(gray) and not is_colour(gray[:, :, 0])
    gray[0, 0, 1] = 9
    assert is_colour(gray)


# ---- the augmentation policy: one immutable value with named presets ----------------------------


def test_presets_are_the_policies_the_figures_were_measured_with():
    from e2elab.image.transforms import ImageAugmentation

    photo, glyph = ImageAugmentation.preset("photo"), ImageAugmentation.preset("glyph")
    assert (photo.scale, photo.translate, photo.rotate, photo.flip, photo.jitter, photo.mix, photo.padding_mode) == (
        (0.6, 1.0), 0.1, 0.0, True, 0.25, "cutmix", "reflection")
    assert (glyph.scale, glyph.translate, glyph.rotate, glyph.flip, glyph.jitter, glyph.mix, glyph.padding_mode) == (
        (0.9, 1.1), 0.1, 10.0, False, 0.1, None, "zeros")
    assert ImageAugmentation.preset("none") == ImageAugmentation()


@pytest.mark.parametrize("augment, channels, expected", [("auto", 3, "photo"), ("auto", 1, "glyph"), ("photo", 1, "photo"),
                                                         ("none", 3, "none")])
def test_auto_picks_the_preset_by_colour(augment, channels, expected):
    from e2elab.image.transforms import ImageAugmentation

    assert ImageAugmentation.of(augment, channels) == ImageAugmentation.preset(expected)


def test_the_default_policy_leaves_images_as_they_are():
    from e2elab.image.transforms import ImageAugmentation

    x = torch.randn(4, 1, 16, 16)
    torch.testing.assert_close(ImageAugmentation().transform(out_size=None)(x), x, atol=1e-5, rtol=0)
    flipped = ImageAugmentation(flip=True).transform(out_size=None)
    torch.manual_seed(0)
    assert not torch.allclose(flipped(x), x)
