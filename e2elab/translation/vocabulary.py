"""Word <-> integer id maps, so that counts and tables are NumPy arrays rather than string dicts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np


class Vocabulary:
    """Words in a fixed order; `ids` maps unknown words to -1 (callers pass them through)."""

    def __init__(self, words: Iterable[str]):
        self.words = list(words)
        self.index = {word: i for i, word in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise ValueError("a vocabulary cannot list a word twice")

    @classmethod
    def build(cls, sentences: Iterable[list[str]]) -> Vocabulary:
        """Every word of `sentences`, most frequent first (ties alphabetical, so the order is stable)."""
        counts = Counter(word for tokens in sentences for word in tokens)
        return cls(sorted(counts, key=lambda word: (-counts[word], word)))

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def ids(self, tokens: list[str]) -> np.ndarray:
        return np.array([self.index.get(token, -1) for token in tokens], dtype=np.int64)
