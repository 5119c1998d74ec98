"""Corpus BLEU and chrF, computed by sacreBLEU with its default settings.

Every translation figure e2elab reports comes from here, so that the two pipelines (and any
published result) are scored identically. sacreBLEU's signature string records the settings
(tokeniser, smoothing, casing, version) and is stored next to each score.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import DataError


def _check(hypotheses: Sequence[str], references: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references):
        raise DataError(None, f"{len(hypotheses)} hypotheses but {len(references)} references: "
                              "each hypothesis needs exactly one reference")
    if not references:
        raise DataError(None, "no sentences to score")
    for i, sentence in enumerate(hypotheses + references):
        if not isinstance(sentence, str):
            which = "hypothesis" if i < len(hypotheses) else "reference"
            raise DataError(None, f"{which} {i % len(hypotheses)} is a {type(sentence).__name__}, not a string")
    return hypotheses, [references]


def bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU (0..100) of detokenised `hypotheses` against one reference each (13a tokens)."""
    from sacrebleu.metrics import BLEU

    hyps, refs = _check(hypotheses, references)
    return float(BLEU().corpus_score(hyps, refs).score)


def chrf(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus chrF (0..100): character n-gram F-score, kinder than BLEU to inflected words."""
    from sacrebleu.metrics import CHRF

    hyps, refs = _check(hypotheses, references)
    return float(CHRF().corpus_score(hyps, refs).score)


def signature(metric: str = "bleu") -> str:
    """sacreBLEU's signature of the default `metric` ("bleu" or "chrf"), e.g. ``nrefs:1|case:mixed|...``."""
    from sacrebleu.metrics import BLEU, CHRF

    metrics = {"bleu": BLEU, "chrf": CHRF}
    if metric not in metrics:
        raise ValueError(f"metric must be one of {sorted(metrics)}, not {metric!r}")
    # A signature needs the reference count, which is fixed at one for every e2elab corpus.
    scorer = metrics[metric]()
    scorer.corpus_score(["a"], [["a"]])
    return str(scorer.get_signature())


def scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict:
    """BLEU and chrF with their signatures, as the JSON results store them."""
    return {"bleu": bleu(hypotheses, references), "chrf": chrf(hypotheses, references),
            "bleu_signature": signature("bleu"), "chrf_signature": signature("chrf")}
