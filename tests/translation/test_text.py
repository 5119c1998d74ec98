"""Tokenisation, true-casing and detokenisation."""

import pytest

from e2elab.translation.text import TrueCaser, capitalise_first, detokenize, tokenize


@pytest.mark.parametrize("sentence, tokens", [
    ("Two young, White males are outside.", ["Two", "young", ",", "White", "males", "are", "outside", "."]),
    ("A man's dog doesn't run (fast)!", ["A", "man", "'s", "dog", "does", "n't", "run", "(", "fast", ")", "!"]),
    ('He wears a "t-shirt" for 3.50 dollars...', ["He", "wears", "a", '"', "t-shirt", '"', "for", "3.50", "dollars",
                                                  ".", ".", "."]),
    ("Ein Mädchen klettert: schön!", ["Ein", "Mädchen", "klettert", ":", "schön", "!"]),
])
def test_tokenize_and_detokenize_round_trip(sentence, tokens):
    assert tokenize(sentence) == tokens
    assert detokenize(tokens) == sentence


def test_tokenize_normalises_unicode():
    assert tokenize("Mädchen") == tokenize("Ma\u0308dchen") == ["Mädchen"]


def test_truecaser_keeps_names_and_nouns_and_lowers_sentence_starts():
    training = [tokenize(s) for s in ["Der Hund sieht den Mann.", "Ein Mann und der Hund.", "Anna sieht Anna."]]
    truecaser = TrueCaser.fit(training)
    assert truecaser.apply(tokenize("Der Mann sieht Anna.")) == ["der", "Mann", "sieht", "Anna", "."]
    assert truecaser.apply(tokenize("Hund. Der Hund.")) == ["Hund", ".", "der", "Hund", "."]
    assert truecaser.apply(["Unbekannt", "NASA"]) == ["unbekannt", "NASA"]  # unseen: lower-case unless an acronym


def test_capitalise_first_raises_the_first_letter_only():
    assert capitalise_first(['"', "the", "dog"]) == ['"', "The", "dog"]
    assert capitalise_first([]) == []
