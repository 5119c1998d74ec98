"""Hand-crafted descriptors, and their extraction over many images: parallel, cached, counted."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from e2elab.errors import ImageError
from e2elab.image.descriptors import (GLOBAL_DESCRIPTORS, LOCAL_DESCRIPTORS, ExtractionParams, descriptor_patches,
                                      extract, local_dimension, parse_descriptors)
from e2elab.image.extraction import DescriptorCache, DescriptorExtractor, describe_all, item_key


def colour_image(size=48, seed=0):
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (size // 8, size // 8, 3)).astype(np.uint8)
    return cv2.GaussianBlur(np.kron(blocks, np.ones((8, 8, 1), np.uint8)), (3, 3), 0)


@pytest.mark.parametrize("name", LOCAL_DESCRIPTORS)
def test_every_local_descriptor_has_one_row_per_point(name):
    features = extract(colour_image(), ExtractionParams(descriptors=(name,)))
    values = features["local"][name]
    assert values.shape == (len(features["points"]), local_dimension(name))
    assert np.isfinite(values.astype(np.float32)).all() and values.astype(np.float32).max() > 0
    assert features["upsampled"] and features["shape"] == (64, 64)  # a 48-pixel image is upsampled to 64


def test_rootsift_is_the_square_root_of_l1_normalised_sift():
    params = ExtractionParams(descriptors=("sift", "rootsift"))
    features = extract(colour_image(), params)
    sift = features["local"]["sift"].astype(np.float64)
    root = features["local"]["rootsift"].astype(np.float64)
    np.testing.assert_allclose(root**2, sift / sift.sum(axis=1, keepdims=True), atol=2e-3)


def test_patch_histograms_are_distributions():
    features = extract(colour_image(), ExtractionParams(descriptors=("hsv", "lbp")))
    for name in ("hsv", "lbp"):
        np.testing.assert_allclose(features["local"][name].astype(np.float64).sum(axis=1), 1.0, atol=1e-2)


def test_orb_bits_are_binary_and_no_border_point_is_dropped():
    features = extract(colour_image(), ExtractionParams(descriptors=("orb",), sizes=(8,), step=4))
    bits = features["local"]["orb"]
    assert set(np.unique(bits)) <= {0, 1} and len(bits) == len(features["points"])


@pytest.mark.parametrize("name", GLOBAL_DESCRIPTORS)
def test_global_descriptors_have_a_fixed_length_whatever_the_image_size(name):
    params = ExtractionParams(descriptors=(name,), global_size=32)
    small = extract(colour_image(16), params)["global"][name]
    large = extract(colour_image(96), params)["global"][name]
    assert small.shape == large.shape and small.ndim == 1 and len(small) > 8
    assert extract(colour_image(16), params)["points"].shape == (0, 4)  # no keypoints for whole-image descriptors


def test_hog_global_of_a_digit_sized_image_has_the_classic_size():
    # 32x32, 8x8-pixel cells, 2x2-cell blocks, 9 orientations: 3 * 3 blocks * 36 = 324
    hog = extract(np.zeros((16, 16), np.uint8), ExtractionParams(descriptors=("hog-global",), global_size=32))
    assert hog["global"]["hog-global"].shape == (324,)


def test_parse_descriptors_combines_and_checks_names():
    assert parse_descriptors("SIFT + hsv-global") == ("sift", "hsv-global")
    with pytest.raises(ValueError, match="unknown descriptor surf"):
        parse_descriptors("sift+surf")
    with pytest.raises(ValueError, match="twice"):
        parse_descriptors("sift+sift")


def test_descriptor_patches_show_the_described_regions():
    image = colour_image()
    features = extract(image, ExtractionParams(descriptors=("sift",)))
    patches = descriptor_patches(image, features, count=8)
    assert patches.shape == (8, 32, 32) and patches.dtype == np.uint8 and patches.max() > 0


def test_parallel_extraction_matches_serial_and_is_cached():
    images = [colour_image(seed=i) for i in range(6)]
    params = ExtractionParams(descriptors=("sift", "hsv-global"))
    serial, _ = describe_all(images, params, n_jobs=1, cache=None)
    cache = DescriptorCache()
    parallel, _ = describe_all(images, params, n_jobs=2, cache=cache)
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a["local"]["sift"], b["local"]["sift"])
        np.testing.assert_array_equal(a["global"]["hsv-global"], b["global"]["hsv-global"])
    assert len(cache) == 6 and cache.misses == 6
    again, _ = describe_all(images, params, n_jobs=1, cache=cache)
    assert cache.hits == 6 and again[0] is parallel[0]
    # other parameters are another cache entry
    describe_all(images[:1], ExtractionParams(descriptors=("sift",), step=4), cache=cache)
    assert len(cache) == 7


def test_cache_evicts_the_least_recently_used_beyond_its_budget():
    params = ExtractionParams(descriptors=("sift",))
    features = extract(colour_image(), params)
    cache = DescriptorCache(max_bytes=int(2.5 * (features["local"]["sift"].nbytes + 1000)))
    for i in range(4):
        cache.put(("k", i), features)
    assert len(cache) == 2 and cache.get(("k", 0)) is None and cache.get(("k", 3)) is not None


def test_item_key_tells_arrays_and_files_apart(tmp_path):
    a, b = colour_image(seed=0), colour_image(seed=1)
    assert item_key(a) == item_key(a.copy()) and item_key(a) != item_key(b)
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), a)
    assert item_key(path) == item_key(str(path))


def test_bad_files_raise_naming_the_file_or_are_skipped_and_counted(tmp_path):
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), colour_image())
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:60])
    params = ExtractionParams(descriptors=("sift",))
    for bad in (empty, truncated, tmp_path / "missing.png"):
        with pytest.raises(ImageError, match=bad.name):
            describe_all([good, bad], params, cache=None)
    features, skipped = describe_all([good, empty, truncated], params, on_error="skip", cache=None)
    assert features[0] is not None and features[1] is None and features[2] is None
    assert [Path(s[0]).name for s in skipped] == ["empty.png", "truncated.png"]


def test_extractor_is_a_stateless_transformer():
    extractor = DescriptorExtractor(descriptors="sift+lbp-global", cache=False)
    out = extractor.fit([colour_image()]).transform([colour_image(), colour_image(seed=2)])
    assert len(out) == 2 and set(out[0]["local"]) == {"sift"} and set(out[0]["global"]) == {"lbp-global"}
    with pytest.raises(ValueError, match="detector must be one of"):
        DescriptorExtractor(detector="surf").fit([colour_image()])
