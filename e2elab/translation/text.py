"""Tokenisation, true-casing and detokenisation for the phrase-based pipeline.

Phrase-based translation counts words, so a sentence is cut into tokens first: words (with their
inner hyphens, "t-shirt"), numbers ("3.5"), clitics ("'s", "n't" stay apart from their word, as in
Moses' English tokeniser) and punctuation marks. True-casing then undoes the capital letter that
only marks the start of a sentence ("A dog runs" -> "a dog runs") while keeping names and German
nouns capitalised, so that "Hund" at the start and "Hund" in the middle are one word. Both are
undone on output: the first letter is raised again and tokens are joined back into text.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict

# A word before "n't", a clitic, a number, a word (with inner hyphens), or any one other
# non-space character.
_TOKEN = re.compile(r"\w+(?=n't\b)|n't\b|'(?:s|re|ve|ll|d|m)\b|\d+(?:[.,:]\d+)+|\w+(?:-\w+)*|[^\w\s]",
                    re.IGNORECASE)
_NO_SPACE_BEFORE = set(".,;:!?)]}%") | {"...", "n't", "'s", "'re", "'ve", "'ll", "'d", "'m"}
_NO_SPACE_AFTER = set("([{")
_SENTENCE_END = set(".!?:")
_QUOTES = {'"', "„", "“", "”"}


def tokenize(text: str) -> list[str]:
    """Split one sentence into tokens (NFC-normalised; whitespace is dropped)."""
    return _TOKEN.findall(unicodedata.normalize("NFC", text))


def detokenize(tokens: list[str]) -> str:
    """Join tokens into text: no space before closing punctuation and clitics, none after opening
    brackets, and straight double quotes hugging the words they enclose (alternately opening and
    closing)."""
    out, glue_next, quote_open = [], True, False
    for token in tokens:
        attach = glue_next or token.lower() in _NO_SPACE_BEFORE
        glue_next = token in _NO_SPACE_AFTER
        if token in _QUOTES:
            if quote_open:
                attach = True
            else:
                glue_next = True
            quote_open = not quote_open
        out.append(token if attach or not out else " " + token)
    return "".join(out)


def _case_positions(tokens: list[str]):
    """(token, sentence-initial?) for each token: the first word and the word after a colon or
    full stop carry a capital that says nothing about the word itself."""
    initial = True
    for token in tokens:
        yield token, initial
        if token in _SENTENCE_END:
            initial = True
        elif any(ch.isalnum() for ch in token):
            initial = False


class TrueCaser:
    """Maps every word to its most frequent spelling in the middle of a sentence."""

    def __init__(self, best: dict[str, str] | None = None):
        self.best = dict(best or {})

    @classmethod
    def fit(cls, sentences: list[list[str]]) -> TrueCaser:
        spellings = defaultdict(Counter)
        for tokens in sentences:
            for token, initial in _case_positions(tokens):
                if not initial:
                    spellings[token.lower()][token] += 1
        # Ties go to the lower-case spelling, the safe default.
        return cls({key: max(counts.items(), key=lambda kv: (kv[1], kv[0] == key))[0]
                    for key, counts in spellings.items()})

    def apply(self, tokens: list[str]) -> list[str]:
        """Recase the sentence-initial words; words never seen mid-sentence become lower-case
        unless they are all capitals (acronyms)."""
        out = []
        for token, initial in _case_positions(tokens):
            if initial:
                known = self.best.get(token.lower())
                token = known if known is not None else (token if token.isupper() and len(token) > 1 else token.lower())
            out.append(token)
        return out


def capitalise_first(tokens: list[str]) -> list[str]:
    """Raise the first letter of the sentence (the inverse of true-casing on output)."""
    for i, token in enumerate(tokens):
        if any(ch.isalpha() for ch in token):
            return tokens[:i] + [token[:1].upper() + token[1:]] + tokens[i + 1:]
    return list(tokens)
