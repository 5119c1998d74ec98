"""Tuning the decoder's feature weights for BLEU on held-out sentences (Och, 2003, simplified).

The decoder ranks translations by a weighted sum of features; the weights that rank well by
BLEU are found on a development sample: decode it, keep each sentence's n-best list with its
feature vectors, then search the weights (one coordinate at a time, over a shrinking grid) that
make the pooled n-best lists' top choices score the best corpus BLEU. Decoding again with the new
weights adds new candidates to the pools; a few rounds are enough. The weights that gave the best
BLEU *when actually decoding* are kept.

BLEU here is computed from n-gram statistics of tokenised sentences, so that one weight setting
costs a few array operations; final scores use sacreBLEU (:mod:`e2elab.translation.metrics`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .progress import progress_bar

MAX_ORDER = 4
STATISTICS = 2 * MAX_ORDER + 2  # matches and totals per order, hypothesis and reference length


def bleu_statistics(hypothesis: list[str], reference: list[str]) -> np.ndarray:
    """(matches_1..4, totals_1..4, hypothesis length, reference length) of one sentence."""
    stats = np.zeros(STATISTICS)
    for n in range(1, MAX_ORDER + 1):
        hyp = Counter(tuple(hypothesis[i:i + n]) for i in range(len(hypothesis) - n + 1))
        ref = Counter(tuple(reference[i:i + n]) for i in range(len(reference) - n + 1))
        stats[n - 1] = sum(min(count, ref[gram]) for gram, count in hyp.items())
        stats[MAX_ORDER + n - 1] = max(len(hypothesis) - n + 1, 0)
    stats[-2:] = len(hypothesis), len(reference)
    return stats


def corpus_bleu(stats: np.ndarray) -> np.ndarray:
    """Corpus BLEU (0..100) from summed statistics (..., STATISTICS); a zero count of matches is
    floored at a tiny value so that the search still sees which setting is closer."""
    matches, totals = stats[..., :MAX_ORDER], stats[..., MAX_ORDER:2 * MAX_ORDER]
    log_precision = np.log(np.maximum(matches, 1e-3) / np.maximum(totals, 1)).mean(axis=-1)
    hyp_length, ref_length = stats[..., -2], stats[..., -1]
    brevity = np.minimum(0.0, 1.0 - ref_length / np.maximum(hyp_length, 1))
    return 100 * np.exp(log_precision + brevity)


@dataclass
class _Pools:
    """Every distinct candidate seen so far per sentence: feature vectors and BLEU statistics."""

    features: list[list[np.ndarray]]
    stats: list[list[np.ndarray]]
    seen: list[set] = field(default_factory=list)

    def add(self, sentence: int, candidates, reference: list[str]) -> int:
        added = 0
        for features, tokens in candidates:
            if tuple(tokens) not in self.seen[sentence]:
                self.seen[sentence].add(tuple(tokens))
                self.features[sentence].append(np.asarray(features, np.float64))
                self.stats[sentence].append(bleu_statistics(tokens, reference))
                added += 1
        return added

    def padded(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Features (S, K, F), statistics (S, K, STATISTICS) and a validity mask (S, K)."""
        k = max(len(f) for f in self.features)
        n_features = len(self.features[0][0])
        features = np.zeros((len(self.features), k, n_features))
        stats = np.zeros((len(self.features), k, STATISTICS))
        valid = np.zeros((len(self.features), k), bool)
        for s, (f, st) in enumerate(zip(self.features, self.stats)):
            features[s, :len(f)], stats[s, :len(st)], valid[s, :len(f)] = f, st, True
        return features, stats, valid


def pooled_bleu(weights: np.ndarray, features, stats, valid) -> np.ndarray:
    """BLEU of the top candidates under each row of `weights` (G, F): shape (G,)."""
    scores = np.einsum("skf,gf->gsk", features, weights)  # (G, S, K)
    scores[:, ~valid] = -np.inf
    best = scores.argmax(axis=2)  # (G, S)
    chosen = stats[np.arange(stats.shape[0])[None, :], best]  # (G, S, STATISTICS)
    return corpus_bleu(chosen.sum(axis=1))


def coordinate_search(weights: np.ndarray, features, stats, valid, sweeps: int = 5,
                      grid: int = 41) -> tuple[np.ndarray, float]:
    """Weights maximising pooled BLEU, one coordinate at a time over a grid that halves each sweep.
    The overall scale of the weights does not change the ranking, so it is kept fixed."""
    weights = np.array(weights, dtype=np.float64)
    scale = np.abs(weights).sum() or 1.0
    best_bleu = float(pooled_bleu(weights[None], features, stats, valid)[0])
    step = scale  # the first sweep may move a weight across the whole range, the later ones refine
    for _ in range(sweeps):
        for d in range(len(weights)):
            candidates = np.repeat(weights[None], grid, axis=0)
            candidates[:, d] += np.linspace(-step, step, grid)
            bleus = pooled_bleu(candidates, features, stats, valid)
            # Ties keep the current value: a grid point that changes nothing is no improvement.
            if bleus.max() > best_bleu + 1e-9:
                weights, best_bleu = candidates[int(bleus.argmax())], float(bleus.max())
        step /= 2
    return weights * scale / (np.abs(weights).sum() or 1.0), best_bleu


@dataclass
class TuningResult:
    weights: np.ndarray
    bleu: float  # development BLEU (tokenised) of decoding with `weights`
    history: list[dict]  # per round: the weights decoded with and the BLEU they gave


def tune(decode: Callable[[np.ndarray], list[list[tuple[np.ndarray, list[str]]]]], references: list[list[str]],
         initial_weights, rounds: int = 3, progress=None) -> TuningResult:
    """Alternate decoding (`decode(weights)` returns each sentence's n-best list of (features,
    tokens)) with coordinate search over the pooled lists; `rounds` searches, `rounds` + 1 decodings."""
    n = len(references)
    pools = _Pools([[] for _ in range(n)], [[] for _ in range(n)], [set() for _ in range(n)])
    weights = np.asarray(initial_weights, dtype=np.float64)
    history, best = [], None
    with progress_bar(rounds + 1, "tuning weights", progress, unit="round") as bar:
        for round_ in range(rounds + 1):
            nbest = decode(weights)
            one_best = np.sum([bleu_statistics(candidates[0][1], ref) if candidates else np.zeros(STATISTICS)
                               for candidates, ref in zip(nbest, references)], axis=0)
            bleu = float(corpus_bleu(one_best))
            history.append({"round": round_, "bleu": bleu, "weights": weights.tolist()})
            if best is None or bleu > best.bleu:
                best = TuningResult(weights, bleu, history)
            bar.update()
            added = sum(pools.add(s, candidates, ref) for s, (candidates, ref) in enumerate(zip(nbest, references)))
            if round_ == rounds or (round_ and added == 0):  # nothing new to learn from
                break
            weights, _ = coordinate_search(weights, *pools.padded())
    return best
