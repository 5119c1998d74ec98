"""Raw image loading on every mode the loader promises, and on the bad files it must refuse."""

import numpy as np
import pytest
from PIL import Image

from e2elab.data.image import MAX_PIXELS, as_image, load_image
from e2elab.errors import ImageError


def gradient(height=12, width=10):
    return (np.arange(height * width).reshape(height, width) * 2 % 256).astype(np.uint8)


def test_grayscale_stays_2d(tmp_path):
    Image.fromarray(gradient(), "L").save(tmp_path / "g.png")
    array = load_image(tmp_path / "g.png")
    assert array.shape == (12, 10) and array.dtype == np.uint8
    assert np.array_equal(array, gradient())
    assert load_image(tmp_path / "g.png", channels=3).shape == (12, 10, 3)


def test_rgb_and_channel_conversion(tmp_path):
    rgb = np.zeros((6, 8, 3), np.uint8)
    rgb[..., 0] = 255
    Image.fromarray(rgb, "RGB").save(tmp_path / "r.png")
    assert np.array_equal(load_image(tmp_path / "r.png"), rgb)
    gray = load_image(tmp_path / "r.png", channels=1)
    assert gray.shape == (6, 8) and int(gray[0, 0]) == 76  # ITU-R 601 luma of pure red
    with pytest.raises(ImageError, match="channels"):
        load_image(tmp_path / "r.png", channels=2)


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:2, :, 3] = 255  # top half opaque red, bottom half fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    array = load_image(tmp_path / "a.png")
    assert array.shape == (4, 4, 3)
    assert array[0, 0].tolist() == [255, 0, 0] and array[3, 3].tolist() == [255, 255, 255]


def test_palette_images_with_and_without_transparency(tmp_path):
    image = Image.fromarray(gradient(), "L").convert("P")
    image.save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png").shape == (12, 10, 3)
    palette = Image.new("P", (4, 4), 0)
    palette.putpalette([0, 0, 255] + [0, 255, 0] * 255)
    palette.info["transparency"] = 0
    palette.save(tmp_path / "pt.png", transparency=0)
    array = load_image(tmp_path / "pt.png")
    assert array[0, 0].tolist() == [255, 255, 255]  # the transparent index becomes the white background


def test_16_bit_images_are_scaled_to_8_bits(tmp_path):
    deep = np.array([[0, 32768], [65535, 1000]], dtype=np.uint16)
    Image.fromarray(deep).save(tmp_path / "d.png")
    array = load_image(tmp_path / "d.png")
    assert array.dtype == np.uint8 and array.shape == (2, 2)
    assert array.tolist() == [[0, 128], [255, 4]]


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "c.jpg")  # red in CMYK
    array = load_image(tmp_path / "c.jpg")
    assert array.shape == (8, 8, 3)
    assert array[4, 4, 0] > 200 and array[4, 4, 1] < 60


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_files_are_refused(tmp_path, suffix):
    rng = np.random.default_rng(0)
    path = tmp_path / f"t{suffix}"
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated or corrupt") as err:
        load_image(path)
    assert err.value.source == str(path)


def test_zero_byte_and_non_image_files(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError, match="zero bytes"):
        load_image(tmp_path / "empty.png")
    (tmp_path / "text.jpg").write_text("definitely not a jpeg")
    with pytest.raises(ImageError, match="not an image: the file looks like a text file"):
        load_image(tmp_path / "text.jpg")
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "missing.png")


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    # A 1-bit PNG of 60 Mpx compresses to a few kB but would need 180 MB as RGB.
    width, height = 10_000, 6_000
    assert width * height > MAX_PIXELS
    Image.new("1", (width, height), 0).save(tmp_path / "bomb.png")
    with pytest.raises(ImageError, match="decompression bomb"):
        load_image(tmp_path / "bomb.png")
    Image.new("L", (20, 20), 0).save(tmp_path / "small.png")
    with pytest.raises(ImageError, match="over the limit"):
        load_image(tmp_path / "small.png", max_pixels=100)


def test_as_image_on_arrays():
    assert as_image(np.full((3, 4), 0.5)).tolist() == [[128] * 4] * 3  # float in [0, 1]
    assert as_image(np.full((3, 4), -1.0)).max() == 0  # float in [-1, 1]
    assert as_image(np.zeros((3, 5, 6))).shape == (5, 6, 3)  # (C, H, W) -> (H, W, C)
    assert as_image(np.zeros((5, 6, 1), np.uint8)).shape == (5, 6)
    assert as_image(np.zeros((5, 6, 4), np.uint8)).shape == (5, 6, 3)
    assert as_image(np.zeros((5, 6), np.uint8), channels=3).shape == (5, 6, 3)
    assert as_image(np.zeros((5, 6, 3), np.uint8), channels=1).shape == (5, 6)
    with pytest.raises(ImageError, match="NaN"):
        as_image(np.array([[np.nan, 0.0]]))
    with pytest.raises(ImageError, match="shape"):
        as_image(np.zeros(10))
    with pytest.raises(ImageError, match="empty"):
        as_image(np.zeros((0, 4)))


def test_as_image_reads_paths(tmp_path):
    Image.fromarray(gradient(), "L").save(tmp_path / "g.bmp")
    assert np.array_equal(as_image(str(tmp_path / "g.bmp")), gradient())


def test_as_image_enforces_max_pixels_on_arrays_and_paths(tmp_path):
    with pytest.raises(ImageError, match="over the limit"):
        as_image(np.zeros((100, 101), np.uint8), max_pixels=10_000)
    assert as_image(np.zeros((100, 100), np.uint8), max_pixels=10_000).shape == (100, 100)
    Image.new("L", (20, 20)).save(tmp_path / "s.png")
    with pytest.raises(ImageError, match="over the limit"):
        as_image(tmp_path / "s.png", max_pixels=100)


def test_as_image_refuses_arrays_of_non_numbers():
    for array in (np.array([["a", "b"]]), np.zeros((2, 2), complex), np.array([[None, 1]], dtype=object)):
        with pytest.raises(ImageError, match="must hold numbers"):
            as_image(array)
    assert as_image(np.ones((2, 2), bool)).tolist() == [[255, 255], [255, 255]]


def test_large_jpeg_is_decoded_at_reduced_scale_when_a_target_size_is_given(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (800, 1200, 3), dtype=np.uint8)).save(tmp_path / "big.jpg")
    assert load_image(tmp_path / "big.jpg").shape == (800, 1200, 3)
    assert load_image(tmp_path / "big.jpg", target_size=(100, 100)).shape == (100, 150, 3)  # 1/8 scale covers 100x100
    assert load_image(tmp_path / "big.jpg", target_size=(300, 300)).shape == (400, 600, 3)  # 1/4 gives 200 rows: too few
    assert load_image(tmp_path / "big.jpg", channels=1, target_size=(100, 100)).shape == (100, 150)
    # The limit applies to what is decoded, so the reduced decode of a large photo passes.
    assert load_image(tmp_path / "big.jpg", max_pixels=20_000, target_size=(100, 100)).shape == (100, 150, 3)
    with pytest.raises(ImageError, match="target_size"):
        load_image(tmp_path / "big.jpg", target_size=(0, 10))
    Image.fromarray(rng.integers(0, 256, (80, 120), dtype=np.uint8)).save(tmp_path / "big.png")
    assert load_image(tmp_path / "big.png", target_size=(10, 10)).shape == (80, 120)  # only JPEG has reduced decoding


def test_strip_conversion_matches_whole_image_conversion(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 256, (37, 23, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    deep = rng.integers(0, 65536, (37, 23), dtype=np.uint16)
    Image.fromarray(deep).save(tmp_path / "d.png")
    whole = [load_image(tmp_path / "a.png"), load_image(tmp_path / "d.png")]
    monkeypatch.setattr("e2elab.data.image.STRIP_PIXELS", 50)  # two rows of 23 pixels at a time
    strips = [load_image(tmp_path / "a.png"), load_image(tmp_path / "d.png")]
    assert all(np.array_equal(a, b) for a, b in zip(whole, strips))


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animated_images_give_their_first_frame(tmp_path, fmt):
    colors = [(250, 0, 0), (0, 250, 0), (0, 0, 250)]
    frames = [Image.new("RGB", (8, 8), c) for c in colors]
    path = tmp_path / f"anim.{fmt.lower()}"
    frames[0].save(path, format=fmt, save_all=True, append_images=frames[1:], duration=100, loop=0,
                   **({"lossless": True} if fmt == "WEBP" else {}))
    with Image.open(path) as check:
        assert check.n_frames == 3
    first = load_image(path)
    assert first.shape == (8, 8, 3)
    assert first[4, 4].argmax() == 0 and first[4, 4, 0] > 200
    assert np.array_equal(first, load_image(path))  # deterministic
