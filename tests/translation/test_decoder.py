"""The stack decoder finds the model's best translation: compared with brute force on a tiny table."""

import numpy as np
import pytest

from e2elab.translation.decoder import (DEFAULT_WEIGHTS, FEATURES, PASS_THROUGH, StackDecoder, derivation_features,
                                        translation_options)
from e2elab.translation.language_model import KneserNeyLM
from e2elab.translation.phrase_table import PhraseTable

# Source words 0..4; target words 0..6. Several segmentations and orders compete.
PHRASES = [((0,), (0,)), ((0,), (1,)), ((1,), (2,)), ((1,), (3,)), ((2,), (4,)), ((1, 2), (4, 2)),
           ((2, 3), (5,)), ((3,), (5, 6)), ((3,), (6,)), ((0, 1), (1, 3))]


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    features = np.log(rng.uniform(0.05, 1.0, size=(len(PHRASES), 4)))
    return PhraseTable([s for s, _ in PHRASES], [t for _, t in PHRASES], features,
                       np.ones(len(PHRASES), dtype=np.int64), [((0, 0),)] * len(PHRASES))


@pytest.fixture(scope="module")
def lm():
    sentences = [np.array(s) for s in ([0, 4, 2, 5], [1, 3, 4, 6], [0, 2, 4, 5, 6], [1, 4, 2], [3, 5, 6, 0])]
    return KneserNeyLM.fit(sentences, vocabulary_size=7, order=3)


def brute_force(decoder, n, options):
    """Every complete derivation the decoder's reordering rule allows, scored from scratch."""
    best = (-np.inf, None)

    def extend(steps, coverage, last_end):
        nonlocal best
        if coverage == (1 << n) - 1:
            score = float(decoder.weights @ derivation_features(steps, decoder.lm))
            best = max(best, (score, steps), key=lambda b: b[0])
            return
        for (start, end), opts in options.items():
            span = (1 << (end + 1)) - (1 << start)
            if coverage & span or not decoder.allowed(coverage, last_end, start, end):
                continue
            for option in opts:
                extend(steps + [option], coverage | span, end)

    extend([], 0, -1)
    return best


@pytest.mark.parametrize("distortion_limit", [None, 0, 2])
@pytest.mark.parametrize("source", [[0, 1, 2, 3], [3, 2, 1, 0], [1, 2, 4, 0, 3], [2, 3, 0, 1, 2]])
def test_decoder_finds_the_best_derivation(table, lm, distortion_limit, source):
    # A heavy language model: which words end a partial translation matters for what follows.
    weights = np.array(DEFAULT_WEIGHTS) + np.array([0.1, -0.1, 0.3, 0.0, 1.5, -0.1, 0.5, 0.1])
    decoder = StackDecoder(lm, weights, stack_size=10_000, distortion_limit=distortion_limit, max_seconds=60)
    options = translation_options(source, table)
    best = decoder.decode(len(source), options, n_best=5)
    expected_score, expected_steps = brute_force(decoder, len(source), options)
    assert best[0].score == pytest.approx(expected_score)
    assert [w for s in best[0].steps for w in s.target] == [w for s in expected_steps for w in s.target]
    for derivation in best:  # the search's running sums agree with the features computed afresh
        assert derivation.score == pytest.approx(float(weights @ derivation.features))
    assert [d.score for d in best] == sorted((d.score for d in best), reverse=True)


def test_monotone_decoding_keeps_source_order(table, lm):
    decoder = StackDecoder(lm, DEFAULT_WEIGHTS, distortion_limit=0)
    best = decoder.decode(4, translation_options([3, 2, 1, 0], table))[0]
    starts = [step.start for step in best.steps]
    assert starts == sorted(starts) and best.features[FEATURES.index("distortion")] == 0


def test_unknown_words_pass_through_and_a_spent_time_budget_still_finishes(table, lm):
    source = [0, -1, 1, 2, 3]  # -1: a word the phrase table has never seen
    options = translation_options(source, table)
    assert [o.target for o in options[(1, 1)]] == [(PASS_THROUGH,)]
    rushed = StackDecoder(lm, DEFAULT_WEIGHTS, stack_size=50, max_seconds=1e-9).decode(5, options)[0]
    assert sorted(p for s in rushed.steps for p in range(s.start, s.end + 1)) == [0, 1, 2, 3, 4]
    assert (1, 1) in {(s.start, s.end) for s in rushed.steps}


def test_empty_input_translates_to_nothing(lm):
    assert StackDecoder(lm, DEFAULT_WEIGHTS).decode(0, {})[0].steps == []
