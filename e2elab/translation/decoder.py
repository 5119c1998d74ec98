"""Stack decoding: the best-scoring translation under the log-linear model (Koehn, 2004).

A translation is built left to right, one phrase at a time, each phrase translating a span of
source words not yet covered, in any order within the distortion limit. Hypotheses that cover
the same number of source words compete in one stack. The model score is a weighted sum of
FEATURES; since it is a sum over steps, two hypotheses with the same coverage, the same last
source position and the same language-model history can never be told apart by what follows, so
only the better one is kept (recombination: this makes the search exact when nothing is pruned).
Each stack keeps its `stack_size` best hypotheses (histogram pruning), ranked by their score plus
an estimate of the cost of the words still to translate (future cost), so that a hypothesis that
did the easy words first does not crowd out the others.

Time per sentence is bounded: once `max_seconds` have passed, every remaining stack keeps a
single hypothesis, which finishes the translation greedily.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .language_model import KneserNeyLM
from .phrase_table import FEATURES as PHRASE_FEATURES
from .phrase_table import PhraseTable

FEATURES = (*PHRASE_FEATURES, "language model", "distortion", "words", "phrases")
# A reasonable start before tuning: Moses' defaults, with natural-log scores.
DEFAULT_WEIGHTS = (0.2, 0.2, 0.2, 0.2, 0.5, 0.3, 0.3, -0.2)
PASS_THROUGH = -1  # target id of a source word copied to the output as it is


@dataclass(frozen=True)
class TranslationOption:
    """One way to translate source span [start, end]: target word ids and phrase-table log-scores.

    `row` is the phrase-table row, or -1 for an unknown word passed through (target PASS_THROUGH).
    """

    start: int
    end: int
    target: tuple[int, ...]
    scores: tuple[float, ...]
    row: int


@dataclass
class Derivation:
    """A full translation: its steps in output order, model score and FEATURES vector."""

    steps: list[TranslationOption]
    score: float
    features: np.ndarray = field(repr=False)


@dataclass
class _Hypothesis:
    score: float
    coverage: int  # bit i set: source word i is translated
    last_end: int  # source position of the last word translated (-1 at the start)
    lm_state: tuple[int, ...]
    previous: _Hypothesis | None = None
    option: TranslationOption | None = None
    estimate: float = 0.0  # score + future cost, for pruning


def translation_options(source: list[int], table: PhraseTable, max_options: int = 20,
                        max_length: int | None = None) -> dict[tuple[int, int], list[TranslationOption]]:
    """The phrase-table translations of every source span (best p(t|s) first, at most
    `max_options`), plus a pass-through option for each word that has no translation of its own."""
    max_length = max_length or max(1, table.max_source_length)
    options = {}
    for start in range(len(source)):
        for end in range(start, min(len(source), start + max_length)):
            rows = table.rows(tuple(source[start:end + 1]))[:max_options]
            if rows:
                options[(start, end)] = [TranslationOption(start, end, table.targets[r], tuple(table.features[r]), r)
                                         for r in rows]
        if (start, start) not in options:
            options[(start, start)] = [TranslationOption(start, start, (PASS_THROUGH,), (0.0,) * len(PHRASE_FEATURES), -1)]
    return options


def derivation_features(steps: list[TranslationOption], lm: KneserNeyLM) -> np.ndarray:
    """The FEATURES of a complete translation, computed from scratch (the decoder sums the same
    values step by step)."""
    phrase_scores = np.sum([step.scores for step in steps], axis=0) if steps else np.zeros(len(PHRASE_FEATURES))
    words = [w for step in steps for w in step.target]
    distortion, last_end = 0, -1
    for step in steps:
        distortion += abs(step.start - last_end - 1)
        last_end = step.end
    return np.array([*phrase_scores, lm.sentence_log_prob(words), -distortion, len(words), len(steps)])


def _runs(coverage: int, n: int):
    """The maximal runs [start, end] of uncovered positions."""
    start = None
    for i in range(n + 1):
        free = i < n and not coverage >> i & 1
        if free and start is None:
            start = i
        elif not free and start is not None:
            yield start, i - 1
            start = None


class StackDecoder:
    """Beam search over phrase segmentations and orders; see the module docstring."""

    def __init__(self, lm: KneserNeyLM, weights, stack_size: int = 50, distortion_limit: int | None = 6,
                 max_seconds: float = 5.0):
        self.lm, self.weights = lm, np.asarray(weights, dtype=np.float64)
        if self.weights.shape != (len(FEATURES),):
            raise ValueError(f"weights must have {len(FEATURES)} values ({', '.join(FEATURES)})")
        self.stack_size, self.distortion_limit, self.max_seconds = stack_size, distortion_limit, max_seconds

    def allowed(self, coverage: int, last_end: int, start: int, end: int) -> bool:
        """Whether span [start, end] may come next: the jump is within the distortion limit, and the
        first word left behind can still be reached from the end of the span."""
        if self.distortion_limit is None:
            return True
        if abs(start - last_end - 1) > self.distortion_limit:
            return False
        covered = coverage | ((1 << (end + 1)) - (1 << start))
        first_gap = (~covered & (covered + 1)).bit_length() - 1
        return first_gap > end or end + 1 - first_gap <= self.distortion_limit

    def decode(self, n_source: int, options: dict[tuple[int, int], list[TranslationOption]],
               n_best: int = 1) -> list[Derivation]:
        """The `n_best` best distinct translations found (best first) of a sentence of `n_source` words."""
        if n_source == 0:
            features = derivation_features([], self.lm)
            return [Derivation([], float(self.weights @ features), features)]
        w = self.weights
        static = {span: [(float(np.dot(w[:4], o.scores)) + w[6] * len(o.target) + w[7], o) for o in opts]
                  for span, opts in options.items()}
        future = self._future_costs(n_source, static)
        lm_cache: dict = {}
        full = (1 << n_source) - 1
        stacks: list[dict] = [dict() for _ in range(n_source + 1)]
        stacks[0][(0, -1, self.lm.start())] = _Hypothesis(0.0, 0, -1, self.lm.start(), estimate=future[0][n_source - 1])
        deadline = time.monotonic() + self.max_seconds
        for covered in range(n_source):
            keep = self.stack_size if time.monotonic() < deadline else 1
            for hypothesis in sorted(stacks[covered].values(), key=lambda h: -h.estimate)[:keep]:
                self._expand(hypothesis, n_source, static, future, lm_cache, stacks, full)
        finished = sorted(stacks[n_source].values(), key=lambda h: -h.score)
        return self._distinct(finished, n_best)

    def _expand(self, hypothesis, n_source, static, future, lm_cache, stacks, full):
        w_lm, w_distortion = self.weights[4], self.weights[5]
        longest = max(b - a for a, b in static) + 1
        for start in range(n_source):
            if hypothesis.coverage >> start & 1:
                continue
            for end in range(start, min(n_source, start + longest)):
                if hypothesis.coverage >> end & 1:
                    break
                if (start, end) not in static or not self.allowed(hypothesis.coverage, hypothesis.last_end, start, end):
                    continue
                coverage = hypothesis.coverage | ((1 << (end + 1)) - (1 << start))
                remaining = sum(future[a][b] for a, b in _runs(coverage, n_source))
                base = hypothesis.score - w_distortion * abs(start - hypothesis.last_end - 1)
                for static_score, option in static[(start, end)]:
                    key = (hypothesis.lm_state, option.target, coverage == full)
                    cached = lm_cache.get(key)
                    if cached is None:
                        log_prob, state = self.lm.score(hypothesis.lm_state, option.target)
                        if coverage == full:
                            log_prob += self.lm.log_prob(state, self.lm.eos)
                        cached = lm_cache[key] = (log_prob, state)
                    score = base + static_score + w_lm * cached[0]
                    stack = stacks[coverage.bit_count()]
                    recombination = (coverage, end, cached[1])
                    incumbent = stack.get(recombination)
                    if incumbent is None or score > incumbent.score:
                        stack[recombination] = _Hypothesis(score, coverage, end, cached[1], hypothesis, option,
                                                           score + remaining)

    def _future_costs(self, n: int, static) -> list[list[float]]:
        """future[a][b]: the best score estimate of translating span [a, b] on its own (the best
        option's phrase score and context-free language-model score, or the best split)."""
        w_lm = self.weights[4]
        future = [[-np.inf] * n for _ in range(n)]
        for (a, b), options in static.items():
            future[a][b] = max(s + w_lm * self.lm.score((), o.target)[0] for s, o in options)
        for length in range(2, n + 1):
            for a in range(n - length + 1):
                b = a + length - 1
                for split in range(a, b):
                    future[a][b] = max(future[a][b], future[a][split] + future[split + 1][b])
        return future

    def _distinct(self, finished: list[_Hypothesis], n_best: int) -> list[Derivation]:
        out, seen = [], set()
        for final in finished:
            steps, hypothesis = [], final
            while hypothesis.previous is not None:
                steps.append(hypothesis.option)
                hypothesis = hypothesis.previous
            steps.reverse()
            output = tuple((s.start, s.target) if s.target == (PASS_THROUGH,) else s.target for s in steps)
            if output in seen:
                continue
            seen.add(output)
            out.append(Derivation(steps, final.score, derivation_features(steps, self.lm)))
            if len(out) == n_best:
                break
        return out
