"""Phrase extraction and phrase-table scoring on Koehn's "michael geht davon aus" example."""

import numpy as np
import pytest

from e2elab.translation.lexicon import Lexicon
from e2elab.translation.phrase_table import FEATURES, PhraseTable, build_phrase_table
from e2elab.translation.phrases import extract_phrase_pairs

GERMAN = "michael geht davon aus , dass er im haus bleibt".split()
ENGLISH = "michael assumes that he will stay in the house".split()
LINKS = np.array([(0, 0), (1, 1), (2, 1), (3, 1), (5, 2), (6, 3), (7, 6), (7, 7), (8, 8), (9, 4), (9, 5)])

# Koehn, "Statistical Machine Translation" (2010), figure 5.5: every consistent pair.
KOEHN_PAIRS = {
    ("michael", "michael"), ("michael geht davon aus", "michael assumes"),
    ("michael geht davon aus ,", "michael assumes"), ("michael geht davon aus , dass", "michael assumes that"),
    ("michael geht davon aus , dass er", "michael assumes that he"),
    ("michael geht davon aus , dass er im haus bleibt", "michael assumes that he will stay in the house"),
    ("geht davon aus", "assumes"), ("geht davon aus ,", "assumes"), ("geht davon aus , dass", "assumes that"),
    ("geht davon aus , dass er", "assumes that he"),
    ("geht davon aus , dass er im haus bleibt", "assumes that he will stay in the house"),
    ("dass", "that"), (", dass", "that"), ("dass er", "that he"), (", dass er", "that he"),
    ("dass er im haus bleibt", "that he will stay in the house"),
    (", dass er im haus bleibt", "that he will stay in the house"), ("er", "he"),
    ("er im haus bleibt", "he will stay in the house"), ("bleibt", "will stay"),
    ("im haus bleibt", "will stay in the house"), ("im", "in the"), ("im haus", "in the house"), ("haus", "house"),
}


def as_text(pairs):
    return {(" ".join(GERMAN[a:b + 1]), " ".join(ENGLISH[c:d + 1])) for (a, b), (c, d) in pairs}


def test_extraction_matches_koehns_example():
    pairs = extract_phrase_pairs(len(GERMAN), len(ENGLISH), LINKS, max_length=10)
    assert len(pairs) == len(KOEHN_PAIRS) and as_text(pairs) == KOEHN_PAIRS


def test_extraction_respects_the_length_limit():
    pairs = as_text(extract_phrase_pairs(len(GERMAN), len(ENGLISH), LINKS, max_length=3))
    assert pairs == {(g, e) for g, e in KOEHN_PAIRS if len(g.split()) <= 3 and len(e.split()) <= 3}


def test_unaligned_target_words_extend_a_phrase_both_ways():
    # "haus" -> "the house .", where only "haus"-"house" is linked.
    pairs = extract_phrase_pairs(1, 3, np.array([(0, 1)]), max_length=3)
    assert sorted(t for _, t in pairs) == [(0, 1), (0, 2), (1, 1), (1, 2)]


@pytest.fixture
def table():
    # Two sentence pairs: "haus" is "house" twice and "home" once.
    sources = [np.array([0, 1]), np.array([0, 1]), np.array([1])]  # 0 "das", 1 "haus"
    targets = [np.array([0, 1]), np.array([0, 2]), np.array([1])]  # 0 "the", 1 "house", 2 "home"
    alignments = [np.array([(0, 0), (1, 1)])] * 2 + [np.array([(0, 0)])]
    lexicon = Lexicon.fit(sources, targets, alignments)
    return build_phrase_table(sources, targets, alignments, lexicon, max_length=2, top_k=5), lexicon


def test_phrase_scores_are_relative_frequencies_and_lexical_weights(table):
    table, lexicon = table
    rows = {table.targets[r]: r for r in table.rows((1,))}
    assert set(rows) == {(1,), (2,)}
    p_t_given_s = np.exp(table.features[[rows[(1,)], rows[(2,)]], FEATURES.index("log p(t|s)")])
    np.testing.assert_allclose(p_t_given_s, [2 / 3, 1 / 3])
    assert lexicon.target_given_source[(1, 1)] == pytest.approx(2 / 3)
    # lex(the house | das haus) = w(the|das) * w(house|haus) = 1 * 2/3.
    pair = table.rows((0, 1))
    both = [r for r in pair if table.targets[r] == (0, 1)][0]
    assert np.exp(table.features[both, FEATURES.index("log lex(t|s)")]) == pytest.approx(2 / 3)
    assert np.exp(table.features[both, FEATURES.index("log p(s|t)")]) == pytest.approx(1.0)
    assert table.alignments[both] == ((0, 0), (1, 1)) and table.counts[both] == 1


def test_pruning_keeps_the_most_frequent_translations(table):
    _, lexicon = table
    sources = [np.array([1])] * 6
    targets = [np.array([1])] * 3 + [np.array([2])] * 2 + [np.array([0])]
    alignments = [np.array([(0, 0)])] * 6
    pruned = build_phrase_table(sources, targets, alignments, Lexicon.fit(sources, targets, alignments), top_k=2)
    assert [pruned.targets[r] for r in pruned.rows((1,))] == [(1,), (2,)]


def test_table_round_trips_through_arrays(table):
    table, _ = table
    again = PhraseTable.from_arrays(table.to_arrays())
    assert again.sources == table.sources and again.targets == table.targets
    assert again.alignments == table.alignments
    np.testing.assert_array_equal(again.features, table.features)
