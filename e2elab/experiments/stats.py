"""Summaries of repeated runs: mean with a t-based 95% interval, and paired tests between pipelines.

Runs of two pipelines are *matched* when they share a split and a seed (the same training and
test items), so the honest comparison is paired: the differences run by run, tested with a paired
t-test and, without assuming normal differences, a Wilcoxon signed-rank test.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats as _stats


def mean_ci(values, confidence: float = 0.95, bounds: tuple[float | None, float | None] = (None, None)) -> dict:
    """`{"mean", "ci95", "runs"}` of `values`; the interval is mean ± t * sd / sqrt(n), clipped to
    `bounds` (an error rate cannot go below 0, however few and spread the runs).

    With fewer than two runs there is no spread to estimate, so `ci95` is None.
    """
    runs = [float(v) for v in values]
    if not runs:
        return {"mean": None, "ci95": None, "runs": []}
    array = np.asarray(runs, dtype=float)
    mean = float(array.mean())
    if len(array) < 2:
        return {"mean": mean, "ci95": None, "runs": runs}
    sem = float(array.std(ddof=1)) / math.sqrt(len(array))
    half = float(_stats.t.ppf(0.5 + confidence / 2, df=len(array) - 1)) * sem
    low, high = mean - half, mean + half
    if bounds[0] is not None:
        low = max(low, bounds[0])
    if bounds[1] is not None:
        high = min(high, bounds[1])
    return {"mean": mean, "ci95": [low, high], "runs": runs}


def paired_test(a, b, names: tuple[str, str] = ("a", "b")) -> dict:
    """Compare matched runs `a[i]` and `b[i]`: mean difference a - b with its 95% interval,
    the paired t-test and the Wilcoxon signed-rank test (two-sided p-values).

    p-values are None where a test is undefined (fewer than two pairs, or all differences zero
    for Wilcoxon, or zero variance of the differences for the t-test).
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired test needs matched runs; got {a.shape[0]} and {b.shape[0]}")
    diff = a - b
    summary = mean_ci(diff)
    result = {
        "a": names[0],
        "b": names[1],
        "n_pairs": int(len(diff)),
        "mean_difference": summary["mean"],
        "ci95": summary["ci95"],
        "t": None,
        "p_t": None,
        "wilcoxon": None,
        "p_wilcoxon": None,
    }
    if len(diff) < 2:
        return result
    if np.std(diff, ddof=1) > 0:
        t = _stats.ttest_rel(a, b)
        result["t"] = float(t.statistic)
        result["p_t"] = float(t.pvalue)
    elif np.any(diff != 0):
        # every pair differs by the same non-zero amount: the difference is certain
        result["t"] = math.copysign(math.inf, float(diff[0]))
        result["p_t"] = 0.0
    if np.any(diff != 0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # small-sample and tie warnings; the p-value is still right
            w = _stats.wilcoxon(a, b, zero_method="wilcox")
        result["wilcoxon"] = float(w.statistic)
        result["p_wilcoxon"] = float(w.pvalue)
    return result
