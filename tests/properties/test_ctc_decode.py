"""CTC decoders on arbitrary frame scores: vocabulary characters only; greedy is argmax collapsed;
the exhaustive beam search finds the most probable transcript."""

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import log_softmax, logsumexp

from e2elab.data.text import ALPHABET
from e2elab.speech.ctc import CharVocabulary, greedy_decode
from e2elab.speech.ctc_decode import prefix_beam_search


def log_probs(max_frames: int, labels: st.SearchStrategy):
    shapes = st.tuples(st.integers(1, max_frames), labels)
    logits = shapes.flatmap(lambda shape: hnp.arrays(np.float64, shape, elements=st.floats(-8, 8)))
    return logits.map(lambda x: log_softmax(x, axis=1))


def argmax_collapse(scores):
    best = [int(k) for k, _ in itertools.groupby(np.argmax(scores, axis=1))]
    return [k for k in best if k != 0]


@settings(max_examples=100, deadline=None)
@given(log_probs(30, st.just(len(CharVocabulary()))))
def test_greedy_is_argmax_collapsed_and_spells_vocabulary_characters(scores):
    labels = greedy_decode(scores)
    assert labels == argmax_collapse(scores)
    assert set(CharVocabulary().decode(labels)) <= set(ALPHABET)


@settings(max_examples=50, deadline=None)
@given(log_probs(12, st.just(len(CharVocabulary()))), st.integers(1, 8))
def test_beam_search_emits_only_vocabulary_labels_best_first(scores, beam_width):
    found = prefix_beam_search(scores, beam_width=beam_width)
    assert 1 <= len(found) <= beam_width
    assert all(0 < label < len(CharVocabulary()) for labels, _ in found for label in labels)
    values = [score for _, score in found]
    assert values == sorted(values, reverse=True) and all(v <= 1e-9 for v in values)


def exact_best(scores):
    """The most probable transcript, by summing every alignment path (tiny T and V only)."""
    totals = {}
    for path in itertools.product(range(scores.shape[1]), repeat=scores.shape[0]):
        labels = tuple(k for k, _ in itertools.groupby(path) if k != 0)
        totals.setdefault(labels, []).append(sum(scores[t, k] for t, k in enumerate(path)))
    return {labels: logsumexp(parts) for labels, parts in totals.items()}


@settings(max_examples=40, deadline=None)
@given(log_probs(5, st.integers(2, 3)))
def test_unbounded_beam_search_finds_the_most_probable_transcript(scores):
    totals = exact_best(scores)
    labels, score = prefix_beam_search(scores, beam_width=10_000, token_threshold=None)[0]
    assert np.isclose(score, totals[labels])
    assert score >= max(totals.values()) - 1e-9
