"""The Kneser-Ney language model: a probability distribution in every context."""

import numpy as np
import pytest

from e2elab.errors import ParameterError
from e2elab.translation.language_model import KneserNeyLM


@pytest.fixture(scope="module")
def sentences():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 8, size=rng.integers(1, 9)) for _ in range(300)]


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_probabilities_sum_to_one_over_the_vocabulary(sentences, order):
    lm = KneserNeyLM.fit(sentences, vocabulary_size=10, order=order)  # words 8 and 9 never seen
    predicted = list(range(10)) + [lm.eos, lm.unk]
    for context in [(), (lm.bos,), (3,), (1, 2), (9, 9, 9), (lm.bos, 4, 5)]:
        total = sum(np.exp(lm.log_prob(context, word)) for word in predicted)
        assert total == pytest.approx(1.0, abs=1e-9)
    assert lm.log_prob((), 9) < lm.log_prob((), 0)  # unseen words keep a little mass


def test_continuation_counts_favour_words_seen_after_many_words():
    # "francisco" (2) is frequent but only follows "san" (1); "glasses" (3) follows many words.
    sentences = [np.array([1, 2])] * 20 + [np.array([w, 3]) for w in (4, 5, 6, 7)] * 2
    lm = KneserNeyLM.fit(sentences, vocabulary_size=8, order=2)
    assert lm.log_prob((5,), 3) > lm.log_prob((5,), 2)
    assert lm.log_prob((1,), 2) > np.log(0.9)


def test_scoring_a_sentence_adds_up_its_words(sentences):
    lm = KneserNeyLM.fit(sentences, vocabulary_size=10, order=3)
    total, state = lm.score(lm.start(), [1, 2, 3])
    expected = lm.log_prob((lm.bos,), 1) + lm.log_prob((lm.bos, 1), 2) + lm.log_prob((1, 2), 3)
    assert total == pytest.approx(expected) and state == (2, 3)
    assert lm.sentence_log_prob([1, 2, 3]) == pytest.approx(expected + lm.log_prob((2, 3), lm.eos))
    assert lm.log_prob((1,), 12345) == lm.log_prob((1,), lm.unk)


def test_arrays_round_trip(sentences):
    lm = KneserNeyLM.fit(sentences, vocabulary_size=10, order=3)
    again = KneserNeyLM.from_arrays(3, 10, lm.to_arrays())
    assert again.log_probs == lm.log_probs and again.log_backoffs == lm.log_backoffs


def test_order_must_be_positive(sentences):
    with pytest.raises(ParameterError, match="order"):
        KneserNeyLM.fit(sentences, 10, order=0)
