"""The traditional image explanations: patch occlusion, word occlusion, weight x count."""

import numpy as np
import pytest

import e2elab
from e2elab.explain.image_traditional import explain_image_traditional, weight_x_count, word_occlusion


def test_whole_image_descriptor_model_gets_an_occlusion_map(blobs16, tmp_path):
    images, labels = blobs16
    model = e2elab.make_pipeline("image", "traditional", seed=0).fit(images, labels)
    records = explain_image_traditional(model, images[:2], ["a", "b"], out_dir=tmp_path)
    assert [r["method"] for r in records] == ["occlusion", "occlusion"]
    for record in records:
        assert record["map"].shape == (16, 16)
        assert record["scores"]["randomisation_spearman"] is not None
        assert (tmp_path / f"{record['input']}.occlusion.png").exists()
    with pytest.raises(ValueError, match="does not apply"):
        explain_image_traditional(model, images[:1], ["a"], methods=["word_occlusion"])


@pytest.fixture(scope="module")
def bovw(blobs64):
    images, labels = blobs64
    model = e2elab.make_pipeline("image", "traditional", descriptor="sift", classifier="logistic", codebook_size=8,
                                 pyramid=(1, 2), step=8, sizes=(16,), seed=0)
    return model.fit(images, labels)


def test_weight_x_count_adds_up_to_the_linear_score_of_the_words(bovw, blobs64):
    images, _ = blobs64
    steps = bovw.pipeline_.named_steps
    features = steps["extract"].transform([images[0]])[0]
    contributions = weight_x_count(bovw, features, target=1)
    assert contributions.shape == (len(features["points"]),)
    encoded = steps["encode"].encode_one(features)
    weights = np.zeros(steps["encode"].n_features_out_)
    weights[steps["select"].get_support(indices=True)] = steps["classify"].coef_[0]
    block = steps["encode"].block_of("sift")
    assert contributions.sum() == pytest.approx(float(weights[block] @ encoded[block]), rel=1e-5, abs=1e-8)


def test_word_occlusion_and_figures(bovw, blobs64, tmp_path):
    images, _ = blobs64
    features = bovw.pipeline_.named_steps["extract"].transform([images[1]])[0]
    assert word_occlusion(bovw, features, 0).shape == (len(features["points"]),)
    records = explain_image_traditional(bovw, images[:1], ["x"], methods=["word_occlusion", "weight_x_count"],
                                        out_dir=tmp_path)
    assert [r["method"] for r in records] == ["word_occlusion", "weight_x_count"]
    assert records[0]["keypoints"].shape == (len(features["points"]), 2)
    assert (tmp_path / "x.weight_x_count.png").exists()
