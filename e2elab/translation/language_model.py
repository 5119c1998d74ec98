"""An n-gram language model of the target language: interpolated modified Kneser-Ney.

The decoder asks it how fluent each candidate output is. Kneser-Ney (Chen and Goodman, 1998)
subtracts a discount from every seen n-gram count (three discounts: for counts 1, 2 and 3+,
estimated from the counts of counts) and gives the mass to the next lower order, whose counts are
*continuation* counts: how many different words precede an n-gram, not how often it occurs. So
"Francisco", frequent but only after "San", gets a small unigram probability.

Probabilities are interpolated at every order and then stored in back-off form (as in an ARPA
file): the full probability of every seen n-gram plus a back-off weight per context, so that a
query is a few dict look-ups. Word ids are 0..V-1; the model adds </s> (V), <s> (V + 1) and
<unk> (V + 2). Scores are natural logarithms.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from ..errors import ParameterError


class KneserNeyLM:
    """Fit with :meth:`fit`; query with :meth:`log_prob` or :meth:`score` (the decoder's call)."""

    def __init__(self, order: int, vocabulary_size: int, log_probs: dict, log_backoffs: dict):
        self.order, self.vocabulary_size = order, vocabulary_size
        self.eos, self.bos, self.unk = vocabulary_size, vocabulary_size + 1, vocabulary_size + 2
        self.log_probs, self.log_backoffs = log_probs, log_backoffs

    # ---- training ------------------------------------------------------------------------------

    @classmethod
    def fit(cls, sentences: list[np.ndarray], vocabulary_size: int, order: int = 3) -> KneserNeyLM:
        if not isinstance(order, int) or order < 1:
            raise ParameterError(f"language model order must be a positive integer, not {order!r}")
        eos, bos = vocabulary_size, vocabulary_size + 1
        counts = [Counter() for _ in range(order + 1)]  # counts[n][n-gram]: raw counts
        for sentence in sentences:
            words = (bos, *(int(w) for w in sentence), eos)
            for n in range(1, order + 1):
                for i in range(len(words) - n + 1):
                    counts[n][words[i:i + n]] += 1
        adjusted = _adjusted_counts(counts, order, bos)
        log_probs, log_backoffs = _interpolate(adjusted, order, vocabulary_size)
        return cls(order, vocabulary_size, log_probs, log_backoffs)

    # ---- queries -------------------------------------------------------------------------------

    def start(self) -> tuple[int, ...]:
        """The state before the first word."""
        return (self.bos,)

    def log_prob(self, context: tuple[int, ...], word: int) -> float:
        """log p(word | context); words outside the vocabulary count as <unk>."""
        if not 0 <= word <= self.eos:
            word = self.unk
        context = context[len(context) - self.order + 1:] if self.order > 1 else ()
        backoff = 0.0
        for start in range(len(context) + 1):
            history = context[start:]
            value = self.log_probs.get(history + (word,))
            if value is not None:
                return backoff + value
            backoff += self.log_backoffs.get(history, 0.0)
        raise AssertionError("every word of the vocabulary has a unigram probability")

    def score(self, state: tuple[int, ...], words) -> tuple[float, tuple[int, ...]]:
        """log p of `words` following `state`, and the state after them (the last order-1 words)."""
        total = 0.0
        for word in words:
            word = word if 0 <= word <= self.eos else self.unk
            total += self.log_prob(state, word)
            state = (state + (word,))[-(self.order - 1):] if self.order > 1 else ()
        return total, state

    def sentence_log_prob(self, words) -> float:
        """log p of a whole sentence, </s> included."""
        total, state = self.score(self.start(), list(words))
        return total + self.log_prob(state, self.eos)

    # ---- saving --------------------------------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Per order n: the n-grams with their log-probabilities, and the n-word histories with
        their log back-off weights (<s> is a history without a probability of its own)."""
        arrays = {}
        for n in range(1, self.order + 1):
            grams = [g for g in self.log_probs if len(g) == n]
            histories = [h for h in self.log_backoffs if len(h) == n]
            arrays[f"ngrams_{n}"] = np.array(grams, dtype=np.int64).reshape(-1, n)
            arrays[f"log_probs_{n}"] = np.array([self.log_probs[g] for g in grams], dtype=np.float64)
            arrays[f"histories_{n}"] = np.array(histories, dtype=np.int64).reshape(-1, n)
            arrays[f"log_backoffs_{n}"] = np.array([self.log_backoffs[h] for h in histories], dtype=np.float64)
        return arrays

    @classmethod
    def from_arrays(cls, order: int, vocabulary_size: int, arrays: dict[str, np.ndarray]) -> KneserNeyLM:
        log_probs, log_backoffs = {}, {}
        for n in range(1, order + 1):
            log_probs.update(zip(map(tuple, arrays[f"ngrams_{n}"].tolist()), arrays[f"log_probs_{n}"].tolist()))
            log_backoffs.update(zip(map(tuple, arrays[f"histories_{n}"].tolist()), arrays[f"log_backoffs_{n}"].tolist()))
        return cls(order, vocabulary_size, log_probs, log_backoffs)


def _adjusted_counts(counts: list[Counter], order: int, bos: int) -> list[Counter]:
    """Raw counts at the top order and for n-grams starting with <s> (nothing can precede them);
    continuation counts (distinct left neighbours) everywhere else."""
    adjusted = [Counter() for _ in range(order + 1)]
    adjusted[order] = Counter(counts[order])
    for n in range(order - 1, 0, -1):
        for gram in counts[n + 1]:
            adjusted[n][gram[1:]] += 1
        for gram, count in counts[n].items():
            if gram[0] == bos:
                adjusted[n][gram] = count
    adjusted[1].pop((bos,), None)  # <s> is never predicted
    return adjusted


def _discounts(counts: Counter) -> tuple[float, float, float]:
    """Chen and Goodman's estimates of D1, D2, D3+ from the counts of counts."""
    n = Counter(min(c, 4) for c in counts.values())
    n1, n2, n3, n4 = (n[k] for k in (1, 2, 3, 4))
    if min(n1, n2, n3, n4) == 0:  # too little data to estimate: the usual values
        return 0.5, 1.0, 1.5
    y = n1 / (n1 + 2 * n2)
    values = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
    # Odd counts of counts can push an estimate to zero or below; some discount must remain, or
    # the lower orders (and every unseen word) would get no probability at all.
    return tuple(float(np.clip(d, 0.1, k)) for d, k in zip(values, (1, 2, 3)))


def _interpolate(adjusted: list[Counter], order: int, vocabulary_size: int) -> tuple[dict, dict]:
    log_probs, log_backoffs = {}, {}
    probabilities: dict = {}
    predicted = vocabulary_size + 2  # the words, </s> and <unk>
    for n in range(1, order + 1):
        d1, d2, d3 = _discounts(adjusted[n])
        totals, shares = defaultdict(float), defaultdict(float)
        for gram, count in adjusted[n].items():
            totals[gram[:-1]] += count
            shares[gram[:-1]] += d1 if count == 1 else d2 if count == 2 else d3
        discount = {1: d1, 2: d2}
        for gram, count in adjusted[n].items():
            history = gram[:-1]
            lower = probabilities[gram[1:]] if n > 1 else 1.0 / predicted
            gamma = shares[history] / totals[history]
            probabilities[gram] = max(count - discount.get(count, d3), 0.0) / totals[history] + gamma * lower
        for history, total in totals.items():
            if n == 1:
                # The empty history spreads its share uniformly: every word gets at least that.
                gamma = shares[history] / total
                for word in range(vocabulary_size + 3):
                    if word != vocabulary_size + 1 and (word,) not in probabilities:
                        probabilities[(word,)] = gamma / predicted
            else:
                log_backoffs[history] = float(np.log(shares[history] / total))
    for gram, probability in probabilities.items():
        log_probs[gram] = float(np.log(probability))
    return log_probs, log_backoffs
