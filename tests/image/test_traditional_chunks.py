"""The traditional image classifier describes images a chunk at a time: the same model, bounded memory."""

import numpy as np
import pytest

from e2elab.image import extraction
from e2elab.image.descriptors import ExtractionParams
from e2elab.image.encoding import FeatureEncoder
from e2elab.image.extraction import describe_all
from e2elab.image.traditional import TraditionalImageClassifier

from .test_traditional import FAST, shapes


@pytest.fixture(scope="module")
def data():
    return shapes(18)


@pytest.mark.parametrize("options", [{}, {"detector": "orb", "min_points": 0, "encoding": "vlad", "classifier": "linear"}])
def test_chunks_give_the_model_of_one_chunk(data, options):
    X, y = data
    whole = TraditionalImageClassifier(**FAST, **options, chunk_size=len(X)).fit(X, y)
    chunked = TraditionalImageClassifier(**FAST, **options, chunk_size=4).fit(X, y)
    for name, codebook in whole.pipeline_.named_steps["encode"].codebooks_.items():
        np.testing.assert_array_equal(codebook["centres"], chunked.pipeline_.named_steps["encode"].codebooks_[name]["centres"])
    np.testing.assert_allclose(whole.predict_proba(X), chunked.predict_proba(X), atol=1e-12)
    assert whole.fit_report_ == chunked.fit_report_ and whole.prediction_report_ == chunked.prediction_report_


def test_no_more_than_a_chunk_of_images_is_described_at_once(data, monkeypatch):
    X, y = data
    sizes = []

    def counting(items, *args, **kwargs):
        sizes.append(len(items))
        return describe_all(items, *args, **kwargs)

    monkeypatch.setattr(extraction, "describe_all", counting)
    model = TraditionalImageClassifier(**FAST, chunk_size=5).fit(X, y)
    model.predict(X)
    assert sizes and max(sizes) == 5 and sum(sizes) == 4 * len(X)  # three passes in fit, one in predict


def test_the_chunked_codebook_sample_is_the_one_drawn_from_all_descriptors(data):
    X, _ = data
    features, _ = describe_all(X, ExtractionParams(descriptors=("sift",), step=12, sizes=(16,)), cache=None)
    empty = features[2]  # an image without descriptors
    features[2] = {**empty, "points": empty["points"][:0], "positions": empty["positions"][:0],
                   "local": {"sift": empty["local"]["sift"][:0]}}
    encoder = {"codebook_size": 6, "max_descriptors": 50, "seed": 4}
    whole = FeatureEncoder(**encoder).fit(features)
    chunked = FeatureEncoder(**encoder).fit_chunks([features[:7], features[7:]], {"sift": len(features) - 1})
    np.testing.assert_array_equal(whole.codebooks_["sift"]["centres"], chunked.codebooks_["sift"]["centres"])
    np.testing.assert_array_equal(whole.transform(features), chunked.transform(features))


def test_unreadable_images_in_a_later_chunk_are_named_by_their_position(data):
    X, y = data
    X = list(X[:12]) + [np.zeros((0, 4))] + list(X[12:])
    y = np.concatenate([y[:12], ["disc"], y[12:]])
    model = TraditionalImageClassifier(**FAST, chunk_size=5, on_error="skip").fit(X, y)
    assert model.skipped_ == [("item 12", "image array is empty")]
