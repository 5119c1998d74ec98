"""Weight tuning: BLEU statistics as sacreBLEU counts them, and a search that finds better weights."""

import numpy as np
import pytest
from sacrebleu.metrics import BLEU

from e2elab.translation.tuning import bleu_statistics, coordinate_search, corpus_bleu, pooled_bleu, tune

HYPOTHESES = ["the dog runs on the green grass .", "two men play chess in a park .", "a woman is singing a song ."]
REFERENCES = ["the dog is running on the green grass .", "two men play chess in the park .", "a woman sings a song ."]


def test_corpus_bleu_from_statistics_matches_sacrebleu():
    stats = sum(bleu_statistics(h.split(), r.split()) for h, r in zip(HYPOTHESES, REFERENCES))
    expected = BLEU(tokenize="none", smooth_method="none").corpus_score(HYPOTHESES, [REFERENCES]).score
    assert float(corpus_bleu(stats)) == pytest.approx(expected)
    short = bleu_statistics("the dog".split(), "the dog runs".split())
    assert short.tolist()[:4] == [2, 1, 0, 0] and short.tolist()[-2:] == [2, 3]


def candidates_for(reference: list[str], rng) -> list[tuple[np.ndarray, list[str]]]:
    """Candidates whose feature 0 rises with quality, feature 1 falls with it, feature 2 is noise."""
    out = []
    for kept in range(len(reference), 0, -1):
        tokens = reference[:kept] + ["x"] * (len(reference) - kept)
        quality = kept / len(reference)
        out.append((np.array([quality, -quality + rng.normal(0, 0.05), rng.normal()]), tokens))
    return out


@pytest.fixture
def pools():
    rng = np.random.default_rng(0)
    references = [f"sentence number {i} has some words in it".split() for i in range(20)]
    return references, [candidates_for(r, rng) for r in references]


def test_coordinate_search_finds_the_informative_feature(pools):
    references, candidates = pools
    k, f = len(candidates[0]), 3
    features = np.array([[c[0] for c in cands] for cands in candidates])  # (S, K, F)
    stats = np.array([[bleu_statistics(c[1], ref) for c in cands] for cands, ref in zip(candidates, references)])
    valid = np.ones(features.shape[:2], bool)
    start = np.array([0.1, 1.0, 0.5])  # trusts the misleading feature
    weights, best = coordinate_search(start, features, stats, valid)
    assert best == pytest.approx(100.0) and best > pooled_bleu(start[None], features, stats, valid)[0]
    assert np.abs(weights).sum() == pytest.approx(np.abs(start).sum())  # the scale is kept
    assert (k, f) == features.shape[1:]


def test_tune_keeps_the_weights_that_decoded_best(pools):
    references, candidates = pools
    calls = []

    def decode(weights):  # a "decoder" that ranks a fixed pool by the weights
        calls.append(weights)
        return [sorted(cands, key=lambda c: -float(weights @ c[0])) for cands in candidates]

    result = tune(decode, references, np.array([0.1, 1.0, 0.5]), rounds=2, progress=False)
    assert result.history[0]["bleu"] < result.bleu == pytest.approx(100.0)
    assert len(calls) == 2  # the second decoding found nothing new: the search stops
