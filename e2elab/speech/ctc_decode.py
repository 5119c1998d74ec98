"""CTC beam search in NumPy: open-vocabulary prefix search, and search constrained to a word list.

Both searches score a label sequence by the total probability of all the alignments that
collapse to it (the CTC prefix recursion with separate blank / non-blank ending scores), so with
an unbounded beam they return the exact most probable transcript. The constrained search walks
a character trie of the allowed words, so it can only emit listed words separated by single
spaces, and adds a word n-gram language model score (weight `lm_weight`) and a per-word bonus
each time a word is completed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from .ctc import BLANK

NEG_INF = -np.inf
BOS, EOS = "<s>", "</s>"


def _logadd(a: float, b: float) -> float:
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    m = max(a, b)
    return m + float(np.log1p(np.exp(-abs(a - b))))


def _candidates(frame: np.ndarray, token_threshold: float | None) -> np.ndarray:
    """Labels worth extending with at one frame: all, or those above a log-probability floor."""
    if token_threshold is None:
        return np.arange(frame.shape[0])
    keep = np.flatnonzero(frame >= token_threshold)
    return keep if keep.size else np.array([int(np.argmax(frame))])


def prefix_beam_search(log_probs: np.ndarray, beam_width: int = 8, token_threshold: float | None = -12.0) -> list[tuple[tuple[int, ...], float]]:
    """Open-vocabulary CTC prefix beam search. log_probs: (T, V), blank at index 0.

    Returns up to `beam_width` (labels, log probability) pairs, best first. `token_threshold`
    skips labels whose frame log-probability is below it (None keeps every label: exact search
    when the beam is unbounded).
    """
    beams: dict[tuple[int, ...], list[float]] = {(): [0.0, NEG_INF]}  # prefix -> [ends in blank, ends in label]
    for frame in log_probs:
        nxt: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [NEG_INF, NEG_INF])
        labels = _candidates(frame, token_threshold)
        for prefix, (p_b, p_nb) in beams.items():
            total = _logadd(p_b, p_nb)
            for c in labels:
                p = float(frame[c])
                if c == BLANK:
                    entry = nxt[prefix]
                    entry[0] = _logadd(entry[0], total + p)
                    continue
                extended = prefix + (int(c),)
                entry = nxt[extended]
                if prefix and prefix[-1] == c:
                    # A repeat needs a blank in between; without it the label merges into the prefix.
                    entry[1] = _logadd(entry[1], p_b + p)
                    same = nxt[prefix]
                    same[1] = _logadd(same[1], p_nb + p)
                else:
                    entry[1] = _logadd(entry[1], total + p)
        ranked = sorted(nxt.items(), key=lambda kv: _logadd(*kv[1]), reverse=True)
        beams = dict(ranked[:beam_width])
    return sorted(((k, _logadd(*v)) for k, v in beams.items()), key=lambda kv: kv[1], reverse=True)


class LexiconTrie:
    """A character trie of the allowed words; node 0 is the root."""

    def __init__(self, words, encode):
        self.children: list[dict[int, int]] = [{}]
        self.word_at: list[str | None] = [None]
        for word in sorted(set(words)):
            if not word:
                continue
            node = 0
            for label in encode(word):
                nxt = self.children[node].get(label)
                if nxt is None:
                    nxt = len(self.children)
                    self.children[node][label] = nxt
                    self.children.append({})
                    self.word_at.append(None)
                node = nxt
            self.word_at[node] = word

    def __len__(self) -> int:
        return sum(w is not None for w in self.word_at)


@dataclass
class WordNgramLM:
    """A word n-gram model with interpolated absolute discounting, estimated from transcripts.

    P(w | h) = max(c(h, w) - d, 0) / c(h) + d * N1+(h .) / c(h) * P(w | shorter h), down to an
    add-one unigram over the vocabulary plus the end-of-sentence symbol. It is normalised over
    that vocabulary, so scores of different hypotheses are comparable.
    """

    order: int = 2
    discount: float = 0.5
    counts: dict[tuple[str, ...], int] = field(default_factory=dict)

    @classmethod
    def fit(cls, transcripts, order: int = 2, discount: float = 0.5) -> "WordNgramLM":
        counts: Counter = Counter()
        for text in transcripts:
            words = [BOS] * (order - 1) + text.split() + [EOS]
            for n in range(1, order + 1):
                # Start where the n-gram's first word is at most the last <s> of the padding.
                for i in range(order - n, len(words) - n + 1):
                    counts[tuple(words[i : i + n])] += 1
        return cls(order=order, discount=discount, counts=dict(counts))

    def __post_init__(self):
        self._context_total: Counter = Counter()
        self._context_types: Counter = Counter()
        self._vocab = {g[0] for g in self.counts if len(g) == 1}
        for gram, count in self.counts.items():
            if len(gram) > 1:
                self._context_total[gram[:-1]] += count
                self._context_types[gram[:-1]] += 1
        self._unigram_total = sum(c for g, c in self.counts.items() if len(g) == 1)
        self._cache: dict[tuple[str, ...], float] = {}

    def add_words(self, words) -> None:
        """Make `words` known to the unigram floor (a lexicon may list words never seen in text)."""
        self._vocab |= set(words)
        self._cache.clear()

    def _prob(self, history: tuple[str, ...], word: str) -> float:
        if not history:
            return (self.counts.get((word,), 0) + 1.0) / (self._unigram_total + len(self._vocab | {EOS}))
        lower = self._prob(history[1:], word)
        total = self._context_total.get(history, 0)
        if total == 0:
            return lower
        count = self.counts.get(history + (word,), 0)
        backoff = self.discount * self._context_types[history] / total
        return max(count - self.discount, 0.0) / total + backoff * lower

    def log_prob(self, history: tuple[str, ...], word: str) -> float:
        """log P(word | the last order-1 words of history); history starts with <s> padding."""
        key = tuple(history[-(self.order - 1):]) + (word,) if self.order > 1 else (word,)
        if key not in self._cache:
            self._cache[key] = float(np.log(self._prob(key[:-1], word)))
        return self._cache[key]

    def start(self) -> tuple[str, ...]:
        return (BOS,) * (self.order - 1)

    def to_json(self) -> dict:
        return {"order": self.order, "discount": self.discount, "counts": [[list(g), c] for g, c in sorted(self.counts.items())]}

    @classmethod
    def from_json(cls, data: dict) -> "WordNgramLM":
        return cls(order=int(data["order"]), discount=float(data["discount"]), counts={tuple(g): int(c) for g, c in data["counts"]})


@dataclass
class _Hyp:
    p_b: float
    p_nb: float
    node: int  # trie node of the word being spelled (0 = between words)
    history: tuple[str, ...]
    lm: float  # weighted LM score + word bonuses of the completed words


def lexicon_beam_search(
    log_probs: np.ndarray,
    trie: LexiconTrie,
    space: int,
    lm: WordNgramLM | None = None,
    lm_weight: float = 0.5,
    word_bonus: float = 0.0,
    beam_width: int = 16,
    token_threshold: float | None = -12.0,
) -> list[tuple[tuple[int, ...], float]]:
    """CTC beam search that only spells words of `trie`, joined by single spaces.

    A hypothesis scores log P_ctc(labels) + lm_weight * log P_lm(words, </s>) + word_bonus * words;
    hypotheses that end inside an unfinished word are dropped. Returns (labels, score) pairs,
    best first (an empty list when no listed word fits the clip).
    """

    def word_score(hyp: _Hyp, word: str) -> float:
        return (lm_weight * lm.log_prob(hyp.history, word) if lm is not None else 0.0) + word_bonus

    start = lm.start() if lm is not None else ()
    beams: dict[tuple[int, ...], _Hyp] = {(): _Hyp(0.0, NEG_INF, 0, start, 0.0)}
    for frame in log_probs:
        nxt: dict[tuple[int, ...], _Hyp] = {}

        def slot(prefix, like: _Hyp, node=None, history=None, lm_score=None) -> _Hyp:
            if prefix not in nxt:
                nxt[prefix] = _Hyp(NEG_INF, NEG_INF, like.node if node is None else node,
                                   like.history if history is None else history, like.lm if lm_score is None else lm_score)
            return nxt[prefix]

        labels = _candidates(frame, token_threshold)
        for prefix, hyp in beams.items():
            total = _logadd(hyp.p_b, hyp.p_nb)
            for c in labels:
                c = int(c)
                p = float(frame[c])
                if c == BLANK:
                    entry = slot(prefix, hyp)
                    entry.p_b = _logadd(entry.p_b, total + p)
                    continue
                if prefix and prefix[-1] == c:
                    same = slot(prefix, hyp)
                    same.p_nb = _logadd(same.p_nb, hyp.p_nb + p)
                    from_score = hyp.p_b
                else:
                    from_score = total
                if c == space:
                    word = trie.word_at[hyp.node]
                    if not prefix or prefix[-1] == space or word is None:
                        continue  # a space must end a listed word
                    entry = slot(prefix + (c,), hyp, node=0, history=hyp.history + (word,), lm_score=hyp.lm + word_score(hyp, word))
                else:
                    child = trie.children[hyp.node].get(c)
                    if child is None:
                        continue
                    entry = slot(prefix + (c,), hyp, node=child)
                entry.p_nb = _logadd(entry.p_nb, from_score + p)
        ranked = sorted(nxt.items(), key=lambda kv: _logadd(kv[1].p_b, kv[1].p_nb) + kv[1].lm, reverse=True)
        beams = dict(ranked[:beam_width])

    finished = []
    for prefix, hyp in beams.items():
        if prefix and prefix[-1] == space:
            continue  # no trailing space: the same words without it are scored instead
        score = _logadd(hyp.p_b, hyp.p_nb) + hyp.lm
        history = hyp.history
        if hyp.node != 0:
            word = trie.word_at[hyp.node]
            if word is None:
                continue
            score += word_score(hyp, word)
            history = history + (word,)
        if lm is not None:
            score += lm_weight * lm.log_prob(history, EOS)
        finished.append((prefix, score))
    return sorted(finished, key=lambda kv: kv[1], reverse=True)
