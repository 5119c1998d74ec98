"""The phrase table: every extracted phrase pair with its four translation scores.

For a pair (s, t) extracted c(s, t) times:

* phrase translation probabilities in both directions, p(t | s) = c(s, t) / c(s) and
  p(s | t) = c(s, t) / c(t), by relative frequency;
* lexical weights lex(t | s) and lex(s | t) (Koehn et al., 2003): how well the words inside the
  pair translate each other under word-level probabilities w(t | s) learned from the whole aligned
  corpus. They stay informative for rare pairs, where relative frequencies are 1.0 by chance.

Each pair keeps its most frequent internal word alignment (which `explain` shows); the lexical
weights are those of that alignment.
The table is pruned to the `top_k` best translations of each source phrase by p(t | s).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from .lexicon import NULL, Lexicon
from .phrases import extract_phrase_pairs
from .progress import progress_bar

FEATURES = ("log p(t|s)", "log lex(t|s)", "log p(s|t)", "log lex(s|t)")

Phrase = tuple[int, ...]


@dataclass
class PhraseTable:
    """Rows of phrase pairs (word ids) with `features` (N, 4) log-scores in FEATURES order."""

    sources: list[Phrase]
    targets: list[Phrase]
    features: np.ndarray  # (N, 4)
    counts: np.ndarray  # (N,) times the pair was extracted
    alignments: list[tuple[tuple[int, int], ...]]  # (source offset, target offset) links inside each pair

    def __post_init__(self):
        self.index: dict[Phrase, list[int]] = defaultdict(list)
        for row, source in enumerate(self.sources):
            self.index[source].append(row)

    def __len__(self) -> int:
        return len(self.sources)

    def rows(self, source: Phrase) -> list[int]:
        """Rows translating `source`, best p(t|s) first (empty when it was never seen)."""
        return self.index.get(source, [])

    @property
    def max_source_length(self) -> int:
        return max((len(s) for s in self.sources), default=0)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat arrays (tokens + offsets per side) that safetensors can store."""
        return {"source_tokens": _flat(self.sources), "source_offsets": _offsets(self.sources),
                "target_tokens": _flat(self.targets), "target_offsets": _offsets(self.targets),
                "features": self.features.astype(np.float64), "counts": self.counts.astype(np.int64),
                "alignment_links": _flat(link for links in self.alignments for link in links).reshape(-1, 2),
                "alignment_offsets": _offsets(self.alignments)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> PhraseTable:
        links = arrays["alignment_links"].reshape(-1, 2)
        alignment_offsets = arrays["alignment_offsets"]
        alignments = [tuple((int(s), int(t)) for s, t in links[a:b])
                      for a, b in zip(alignment_offsets[:-1], alignment_offsets[1:])]
        return cls(_unflat(arrays["source_tokens"], arrays["source_offsets"]),
                   _unflat(arrays["target_tokens"], arrays["target_offsets"]),
                   np.asarray(arrays["features"], np.float64), np.asarray(arrays["counts"], np.int64), alignments)


def _flat(items) -> np.ndarray:
    return np.array([x for item in items for x in item], dtype=np.int32)


def _offsets(items) -> np.ndarray:
    return np.concatenate([[0], np.cumsum([len(item) for item in items])]).astype(np.int64)


def _unflat(tokens: np.ndarray, offsets: np.ndarray) -> list[Phrase]:
    tokens = tokens.tolist()
    return [tuple(tokens[a:b]) for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]


def lexical_weights(source: Phrase, target: Phrase, links, target_given_source: dict,
                    source_given_target: dict) -> tuple[float, float]:
    """lex(t | s) and lex(s | t) of one pair under its internal `links` (offsets): over the words
    of one side, the product of each word's mean w over the words it links to, or of
    w(word | NULL) when it links to none."""
    partners_of_target = [[] for _ in target]
    partners_of_source = [[] for _ in source]
    for s, t in links:
        partners_of_target[t].append(source[s])
        partners_of_source[s].append(target[t])
    target_weight = 1.0
    for word, partners in zip(target, partners_of_target):
        target_weight *= (sum(target_given_source.get((p, word), 0.0) for p in partners) / len(partners)
                          if partners else target_given_source.get((NULL, word), 0.0))
    source_weight = 1.0
    for word, partners in zip(source, partners_of_source):
        source_weight *= (sum(source_given_target.get((word, p), 0.0) for p in partners) / len(partners)
                          if partners else source_given_target.get((word, NULL), 0.0))
    return target_weight, source_weight


def build_phrase_table(sources: list[np.ndarray], targets: list[np.ndarray], alignments: list[np.ndarray],
                       lexicon: Lexicon, max_length: int = 5, top_k: int = 20, progress=None) -> PhraseTable:
    """Extract, count, score and prune the phrase pairs of an aligned corpus of word ids;
    `lexicon` holds the word translation probabilities of the same corpus."""
    # Counted per (pair, internal alignment), the alignment packed into one int (a bit per link),
    # so that each pair can keep its most frequent alignment without a dict per pair.
    occurrences: Counter = Counter()
    with progress_bar(len(sources), "extracting phrases", progress, unit="pair") as bar:
        for source, target, links in zip(sources, targets, alignments):
            source_words, target_words = source.tolist(), target.tolist()
            targets_of = [[] for _ in source_words]
            for s, t in links.tolist():
                targets_of[s].append(t)
            for (s0, s1), (t0, t1) in extract_phrase_pairs(len(source_words), len(target_words), links, max_length):
                mask = 0
                for s in range(s0, s1 + 1):
                    for t in targets_of[s]:
                        mask |= 1 << ((s - s0) * max_length + t - t0)
                occurrences[(tuple(source_words[s0:s1 + 1]), tuple(target_words[t0:t1 + 1])), mask] += 1
            bar.update()
    counts: Counter = Counter()
    usual_alignment: dict = {}
    for (key, mask), count in occurrences.items():
        counts[key] += count
        if count > usual_alignment.get(key, (0, 0))[0]:
            usual_alignment[key] = (count, mask)
    del occurrences
    rows = _prune(counts, top_k)
    features, alignments_kept = np.zeros((len(rows), len(FEATURES))), []
    source_totals, target_totals = Counter(), Counter()
    for (source, target), count in counts.items():
        source_totals[source] += count
        target_totals[target] += count
    for row, (source, target) in enumerate(rows):
        mask = usual_alignment[(source, target)][1]
        inside = tuple(divmod(bit, max_length) for bit in range(mask.bit_length()) if mask >> bit & 1)
        lexical = lexical_weights(source, target, inside, lexicon.target_given_source, lexicon.source_given_target)
        count = counts[(source, target)]
        features[row] = (np.log(count / source_totals[source]), np.log(max(lexical[0], 1e-30)),
                         np.log(count / target_totals[target]), np.log(max(lexical[1], 1e-30)))
        alignments_kept.append(inside)
    return PhraseTable([s for s, _ in rows], [t for _, t in rows], features,
                       np.array([counts[key] for key in rows], dtype=np.int64), alignments_kept)


def _prune(counts: Counter, top_k: int) -> list[tuple[Phrase, Phrase]]:
    """The `top_k` most frequent translations of each source phrase (the best by p(t|s))."""
    by_source = defaultdict(list)
    for key, count in counts.items():
        by_source[key[0]].append((-count, key[1]))
    rows = []
    for source, options in by_source.items():
        options.sort()
        rows.extend((source, target) for _, target in options[:top_k])
    return rows
