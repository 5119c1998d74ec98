"""Codebooks, bag-of-words / VLAD / Fisher encodings, the spatial pyramid and normalisation."""

import numpy as np
import pytest

from e2elab.image.encoding import (FeatureEncoder, assign, encode_bovw, encode_fisher, encode_vlad, fit_codebook,
                                   normalise, pyramid_cells, sample_descriptors)


def blobs(n=300, dims=8, seed=0):
    """Descriptors around three well separated centres."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0] * dims, [10.0] * dims, [-10.0] * dims])
    return (centres[rng.integers(0, 3, n)] + rng.normal(0, 0.5, (n, dims))).astype(np.float32)


def features(n_points, seed=0, with_global=True):
    """One image's feature dict as the extractor makes it."""
    rng = np.random.default_rng(seed)
    out = {"positions": rng.random((n_points, 2)).astype(np.float32), "points": np.zeros((n_points, 4), np.float32),
           "local": {"sift": blobs(n_points, seed=seed) if n_points else np.zeros((0, 8), np.float32)},
           "global": {"hsv-global": np.full(5, 0.2, np.float32)} if with_global else {}}
    return out


def test_a_codebook_trained_twice_with_one_seed_is_identical():
    data = blobs(2000, seed=1)
    first = fit_codebook(data, 3, seed=7)["centres"]
    second = fit_codebook(data, 3, seed=7)["centres"]
    np.testing.assert_array_equal(first, second)
    # and it found the three clusters
    assert sorted(np.round(first[:, 0]).tolist()) == [-10.0, 0.0, 10.0]


def test_codebook_size_is_capped_by_the_distinct_descriptors():
    assert len(fit_codebook(np.repeat(blobs(3), 5, axis=0), 10)["centres"]) == 3


def test_gaussian_mixture_codebook_for_fisher_vectors():
    book = fit_codebook(blobs(600), 3, kind="gmm")
    assert book["means"].shape == (3, 8) and book["variances"].shape == (3, 8)
    assert book["weights"].sum() == pytest.approx(1.0, abs=1e-5)


def test_assign_picks_the_nearest_centre():
    centres = np.array([[0.0, 0.0], [5.0, 5.0]], np.float32)
    np.testing.assert_array_equal(assign(np.array([[4, 4], [1, 0], [6, 5]], np.float32), centres), [1, 0, 1])


def test_bovw_counts_words_and_empty_images_give_zeros():
    book = {"centres": np.array([[0.0] * 8, [10.0] * 8, [-10.0] * 8], np.float32)}
    counts = encode_bovw(blobs(90), book)
    assert counts.sum() == 90 and (counts > 10).all()
    assert encode_bovw(np.zeros((0, 8), np.float32), book).tolist() == [0, 0, 0]


def test_vlad_and_fisher_dimensions_and_empty_images():
    data = blobs(200)
    kmeans = fit_codebook(data, 3)
    assert encode_vlad(data, kmeans).shape == (3 * 8,)
    assert not encode_vlad(np.zeros((0, 8), np.float32), kmeans).any()
    gmm = fit_codebook(data, 3, kind="gmm")
    fisher = encode_fisher(data, gmm)
    assert fisher.shape == (2 * 3 * 8,) and np.isfinite(fisher).all()
    assert not encode_fisher(np.zeros((0, 8), np.float32), gmm).any()


def test_pyramid_cells_partition_the_points_at_every_level():
    positions = np.array([[0.1, 0.1], [0.9, 0.1], [0.1, 0.9], [0.6, 0.6]], np.float32)
    cells = pyramid_cells(positions, (1, 2))
    assert len(cells) == 1 + 4
    assert cells[0][1].all()
    quadrants = [np.flatnonzero(mask).tolist() for level, mask in cells[1:]]
    assert quadrants == [[0], [1], [2], [3]]


def test_normalisations():
    vector = np.array([4.0, 0.0, -9.0])
    assert np.abs(normalise(vector, "l1")).sum() == pytest.approx(1.0)
    assert np.linalg.norm(normalise(vector, "l2")) == pytest.approx(1.0)
    power = normalise(vector, "power-l2")
    np.testing.assert_allclose(power, np.array([2.0, 0.0, -3.0]) / np.sqrt(13))
    assert not normalise(np.zeros(3), "l2").any()
    np.testing.assert_array_equal(normalise(vector, "none"), vector)


@pytest.mark.parametrize("encoding,width", [("bovw", 3), ("vlad", 24), ("fisher", 48)])
def test_encoder_output_layout_with_a_pyramid(encoding, width):
    train = [features(60, seed=i) for i in range(5)]
    encoder = FeatureEncoder(encoding=encoding, codebook_size=3, pyramid=(1, 2), normalisation="power-l2").fit(train)
    out = encoder.transform(train + [features(0)])  # the last image has no keypoints
    assert out.shape == (6, 5 * width + 5) == (6, encoder.n_features_out_)
    assert encoder.block_of("sift") == slice(0, 5 * width) and encoder.block_of("hsv-global") == slice(5 * width, 5 * width + 5)
    assert not out[-1, : 5 * width].any()  # empty histogram, but still a row
    np.testing.assert_allclose(out[-1, 5 * width:], 0.2)


def test_l1_bovw_levels_are_weighted_equally():
    train = [features(60, seed=i, with_global=False) for i in range(3)]
    encoder = FeatureEncoder(codebook_size=3, pyramid=(1, 2, 4), normalisation="l1").fit(train)
    row = encoder.transform(train[:1])[0]
    assert row[:3].sum() == pytest.approx(1 / 3) and row[3:15].sum() == pytest.approx(1 / 3)
    assert row.sum() == pytest.approx(1.0)


def test_sampling_is_seeded_and_bounded():
    per_image = [blobs(100, seed=i) for i in range(4)]
    a, b = sample_descriptors(per_image, 40, seed=3), sample_descriptors(per_image, 40, seed=3)
    assert len(a) == 40
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="no local descriptors"):
        sample_descriptors([np.zeros((0, 8))], 10, 0)


def test_encoder_rejects_bad_parameters():
    with pytest.raises(ValueError, match="encoding must be one of"):
        FeatureEncoder(encoding="sparse").fit([features(10)])
    with pytest.raises(ValueError, match="pyramid"):
        FeatureEncoder(pyramid=(0,)).fit([features(10)])
