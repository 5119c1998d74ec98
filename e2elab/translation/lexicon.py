"""Word translation probabilities w(t | s) and w(s | t), counted over an aligned corpus.

They weigh the words inside phrase pairs (lexical weights, :mod:`.phrase_table`) and, kept with a
trained model, link the words of any sentence pair for a report (:meth:`Lexicon.align`).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from .symmetrise import symmetrise

NULL = -1  # the empty word that unaligned words are counted against


class Lexicon:
    """Both conditional word tables, keyed by (source id, target id); NULL stands for no word."""

    def __init__(self, target_given_source: dict, source_given_target: dict):
        self.target_given_source = target_given_source
        self.source_given_target = source_given_target

    @classmethod
    def fit(cls, sources: list[np.ndarray], targets: list[np.ndarray], alignments: list[np.ndarray]) -> Lexicon:
        """Relative frequencies of linked word pairs; unaligned words count as linked to NULL."""
        pair_counts, source_counts, target_counts = Counter(), Counter(), Counter()
        for source, target, links in zip(sources, targets, alignments):
            source_aligned, target_aligned = set(links[:, 0].tolist()), set(links[:, 1].tolist())
            pairs = [(int(source[s]), int(target[t])) for s, t in links]
            pairs += [(int(source[s]), NULL) for s in range(len(source)) if s not in source_aligned]
            pairs += [(NULL, int(target[t])) for t in range(len(target)) if t not in target_aligned]
            pair_counts.update(pairs)
        for (s, t), count in pair_counts.items():
            source_counts[s] += count
            target_counts[t] += count
        return cls({(s, t): c / source_counts[s] for (s, t), c in pair_counts.items()},
                   {(s, t): c / target_counts[t] for (s, t), c in pair_counts.items()})

    def align(self, source: np.ndarray, target: np.ndarray) -> np.ndarray:
        """(source position, target position) links of one pair of word-id sentences: each word's
        likeliest partner in each direction (none when NULL is likelier), then grow-diag-final-and."""
        def best_links(words, partners, table, key):
            links = set()
            for i, word in enumerate(words):
                scores = [table.get(key(word, p), 0.0) for p in partners]
                if scores and max(scores) > table.get(key(word, NULL), 0.0):
                    links.add((i, int(np.argmax(scores))))
            return links

        source, target = [int(w) for w in source], [int(w) for w in target]
        forward = {(s, t) for t, s in best_links(target, source, self.target_given_source, lambda w, p: (p, w))}
        backward = best_links(source, target, self.source_given_target, lambda w, p: (w, p))
        return np.array(sorted(symmetrise(forward, backward)), dtype=np.int64).reshape(-1, 2)

    def to_arrays(self) -> dict[str, np.ndarray]:
        pairs = sorted(self.target_given_source)
        return {"pairs": np.array(pairs, dtype=np.int64).reshape(-1, 2),
                "target_given_source": np.array([self.target_given_source[p] for p in pairs]),
                "source_given_target": np.array([self.source_given_target[p] for p in pairs])}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Lexicon:
        pairs = [tuple(p) for p in arrays["pairs"].tolist()]
        return cls(dict(zip(pairs, arrays["target_given_source"].tolist())),
                   dict(zip(pairs, arrays["source_given_target"].tolist())))
