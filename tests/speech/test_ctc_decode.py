"""CTC beam searches against a brute-force reference that enumerates every alignment."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest

from e2elab.speech.ctc import CharVocabulary, collapse, greedy_decode
from e2elab.speech.ctc_decode import EOS, LexiconTrie, WordNgramLM, lexicon_beam_search, prefix_beam_search

# A toy vocabulary: blank 0, "a" 1, "b" 2, space 3.
TOY = "ab "
SPACE = 3


def toy_encode(word):
    return [TOY.index(ch) + 1 for ch in word]


def random_log_probs(rng, T, V, sharpness=2.0):
    logits = rng.normal(scale=sharpness, size=(T, V))
    return logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)


def sequence_probabilities(log_probs):
    """log P(labels) for every label sequence, summed over all V**T alignments."""
    T, V = log_probs.shape
    totals = defaultdict(lambda: -np.inf)
    for path in itertools.product(range(V), repeat=T):
        score = float(sum(log_probs[t, c] for t, c in enumerate(path)))
        key = tuple(collapse(path))
        totals[key] = np.logaddexp(totals[key], score)
    return dict(totals)


def words_of(labels):
    """The words of a toy label sequence, or None when spaces are misplaced."""
    text = "".join(TOY[i - 1] for i in labels)
    if not text:
        return []
    words = text.split(" ")
    return None if any(w == "" for w in words) else words


@pytest.mark.parametrize("seed", range(6))
def test_prefix_beam_search_finds_the_most_probable_sequence(seed):
    rng = np.random.default_rng(seed)
    log_probs = random_log_probs(rng, T=5, V=4)
    exact = sequence_probabilities(log_probs)
    best = max(exact, key=exact.get)
    found = prefix_beam_search(log_probs, beam_width=10_000, token_threshold=None)
    assert found[0][0] == best
    assert found[0][1] == pytest.approx(exact[best], abs=1e-9)
    # Every returned score is the exact total probability of its sequence.
    for labels, score in found[:10]:
        assert score == pytest.approx(exact[labels], abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_greedy_is_the_collapsed_best_path(seed):
    rng = np.random.default_rng(seed)
    log_probs = random_log_probs(rng, T=5, V=4)
    best_path = max(itertools.product(range(4), repeat=5), key=lambda p: sum(log_probs[t, c] for t, c in enumerate(p)))
    assert greedy_decode(log_probs) == collapse(best_path)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("with_lm", [False, True])
def test_lexicon_search_matches_brute_force(seed, with_lm):
    rng = np.random.default_rng(100 + seed)
    log_probs = random_log_probs(rng, T=5, V=4, sharpness=1.5)
    lexicon = ["a", "ab", "ba"]
    trie = LexiconTrie(lexicon, toy_encode)
    lm = WordNgramLM.fit(["a ab", "ab ba", "a", "ba a a"], order=2) if with_lm else None
    lm_weight, bonus = 0.7, 0.3

    def score(labels, logp):
        words = words_of(labels)
        if words is None or any(w not in lexicon for w in words):
            return None
        total = logp + bonus * len(words)
        if lm is not None:
            history = lm.start()
            for word in words + [EOS]:
                total += lm_weight * lm.log_prob(history, word)
                history = history + (word,)
        return total

    reference = {}
    for labels, logp in sequence_probabilities(log_probs).items():
        value = score(labels, logp)
        if value is not None:
            reference[labels] = value
    best = max(reference, key=reference.get)
    found = lexicon_beam_search(log_probs, trie, SPACE, lm, lm_weight, bonus, beam_width=10_000, token_threshold=None)
    assert found[0][0] == best
    assert found[0][1] == pytest.approx(reference[best], abs=1e-9)
    assert {labels for labels, _ in found} <= set(reference)


def test_lexicon_search_only_emits_listed_words():
    vocabulary = CharVocabulary()
    lexicon = ["one", "two", "three", "oh", "eight"]
    trie = LexiconTrie(lexicon, vocabulary.encode)
    lm = WordNgramLM.fit(["one two", "three oh eight"], order=2)
    rng = np.random.default_rng(7)
    for _ in range(5):
        log_probs = random_log_probs(rng, T=40, V=len(vocabulary), sharpness=3.0)
        for labels, _ in lexicon_beam_search(log_probs, trie, vocabulary.space, lm, beam_width=12):
            text = vocabulary.decode(labels)
            assert text == text.strip() and "  " not in text
            assert all(word in lexicon for word in text.split())


def test_lexicon_search_corrects_a_misspelling():
    """Posteriors that spell "thre" greedily decode wrong; the lexicon forces "three"."""
    vocabulary = CharVocabulary()
    frames = []
    for ch, p in [("t", 0.9), ("h", 0.9), ("r", 0.9), ("e", 0.9), ("", 0.9), ("e", 0.4)]:
        row = np.full(len(vocabulary), 0.01)
        row[vocabulary.encode(ch)[0] if ch else 0] = p
        if ch == "e" and p < 0.5:
            row[0] = 0.5  # blank is likelier than the second e
        frames.append(row / row.sum())
    log_probs = np.log(np.array(frames))
    assert vocabulary.decode(greedy_decode(log_probs)) == "thre"
    trie = LexiconTrie(["three", "two"], vocabulary.encode)
    best = lexicon_beam_search(log_probs, trie, vocabulary.space)[0][0]
    assert vocabulary.decode(best) == "three"


def test_ngram_lm_is_normalised():
    lm = WordNgramLM.fit(["one two", "two two three", "one"], order=3)
    lm.add_words(["four"])
    words = ["one", "two", "three", "four", EOS]
    for history in [lm.start(), ("<s>", "one"), ("two", "two"), ("three", "four")]:
        total = sum(np.exp(lm.log_prob(history, w)) for w in words)
        assert total == pytest.approx(1.0, abs=1e-9)
    # Seen continuations are likelier than unseen ones.
    assert lm.log_prob(("<s>", "one"), "two") > lm.log_prob(("<s>", "one"), "three")
    restored = WordNgramLM.from_json(lm.to_json())
    assert restored.log_prob(("one",), "two") == pytest.approx(WordNgramLM.fit(["one two", "two two three", "one"], order=3).log_prob(("one",), "two"))
