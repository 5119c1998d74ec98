"""Learning-curve laws: error(n) = a + b * n**-c, fitted by least squares, with bootstrap intervals.

`a` is the error the pipeline tends to with unlimited data, `b` and `c` how fast it gets there.
From two fitted laws follow the crossover (the training-set size where the end-to-end curve goes
below the traditional one) and, for a target error, the size each pipeline needs.

The fit uses every run (not only the means per size). It is done in n / n0 with n0 the geometric
mean of the sizes, so that b stays of the order of the errors whatever the unit of n. Intervals
come from a bootstrap: runs are resampled within each size (so every size stays present); where
each size has a single run, residuals of the fit are resampled instead.

A law can fit badly (a curve that bends, a plateau), and then its crossover and the sizes it
predicts mean little. So every fit is judged three ways: its goodness of fit in log space (R² and
the residuals of the mean errors, since errors spanning decades are compared by ratio); an
extrapolation check (the law refitted without the largest size must predict it within the
refit's bootstrap interval and within a factor); and the crossover measured between the points
themselves, beside the fitted one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, least_squares

FORM = "a + b * n**-c"
C_BOUNDS = (0.01, 4.0)
_STARTS_C = (0.3, 0.7, 1.5)
# A three-parameter law through fewer sizes than this has too few degrees of freedom left to be judged.
MIN_SIZES_FOR_A_FIT = 5
# An extrapolation off by more than this factor (either way) fails, whatever the intervals say.
EXTRAPOLATION_FACTOR = 2.0
# Errors are clipped here before their logarithm is taken, unless the size of the test set tells the
# smallest error it can tell from zero (test_floor).
LOG_FLOOR = 1e-4


@dataclass(frozen=True)
class Law:
    """error(n) = a + b * (n / n0)**-c; `b` in `to_dict` is given for n itself (b * n0**c)."""

    a: float
    b_scaled: float
    c: float
    n0: float = 1.0

    @property
    def b(self) -> float:
        return self.b_scaled * self.n0**self.c

    def __call__(self, n):
        n = np.asarray(n, dtype=float)
        return self.a + self.b_scaled * (n / self.n0) ** -self.c

    def n_for(self, target: float) -> float | None:
        """The size at which the law reaches `target` error; None if `target` is at or below its floor `a`."""
        if target <= self.a or self.b_scaled <= 0:
            return None
        n = self.n0 * (self.b_scaled / (target - self.a)) ** (1.0 / self.c)
        return float(n) if math.isfinite(n) else None

    def to_dict(self) -> dict:
        return {"form": FORM, "a": float(self.a), "b": float(self.b), "c": float(self.c)}


def fit_law(n, error) -> Law:
    """Least-squares fit of a + b n^-c to points (n[i], error[i]), with a >= 0, b >= 0, c in C_BOUNDS.

    Needs at least three distinct sizes; several starting exponents guard against a local minimum.
    """
    n = np.asarray(n, dtype=float)
    error = np.asarray(error, dtype=float)
    keep = np.isfinite(n) & np.isfinite(error) & (n > 0)
    n, error = n[keep], error[keep]
    if len(np.unique(n)) < 3:
        raise ValueError(f"fitting {FORM} needs at least 3 distinct sizes, got {len(np.unique(n))}")
    n0 = float(np.exp(np.mean(np.log(np.unique(n)))))
    x = n / n0
    best = None
    for c0 in _STARTS_C:
        start = _start(x, error, c0)
        fit = least_squares(
            lambda p: p[0] + p[1] * x ** -p[2] - error,
            start,
            bounds=([0.0, 0.0, C_BOUNDS[0]], [np.inf, np.inf, C_BOUNDS[1]]),
            method="trf",
        )
        if best is None or fit.cost < best.cost:
            best = fit
    a, b_scaled, c = (float(v) for v in best.x)
    return Law(a, b_scaled, c, n0)


def _start(x, error, c0):
    """A feasible starting point: floor at half the smallest error, b matching the smallest size."""
    a0 = 0.5 * max(float(error.min()), 0.0)
    at_smallest = float(error[x == x.min()].mean())
    b0 = max(at_smallest - a0, 1e-6) * float(x.min()) ** c0
    return np.array([a0, b0, c0])


def bootstrap_laws(n, error, n_boot: int = 500, seed: int = 0) -> list[Law]:
    """Laws fitted to `n_boot` bootstrap resamples of the points (see the module docstring)."""
    n = np.asarray(n, dtype=float)
    error = np.asarray(error, dtype=float)
    rng = np.random.default_rng(seed)
    sizes = np.unique(n)
    by_size = [np.flatnonzero(n == s) for s in sizes]
    resample_runs = all(len(idx) >= 2 for idx in by_size)
    if not resample_runs:
        base = fit_law(n, error)
        fitted = base(n)
        residuals = error - fitted
    laws = []
    for _ in range(n_boot):
        if resample_runs:
            pick = np.concatenate([rng.choice(idx, size=len(idx), replace=True) for idx in by_size])
            sample_n, sample_e = n[pick], error[pick]
        else:
            sample_n, sample_e = n, fitted + rng.choice(residuals, size=len(residuals), replace=True)
        try:
            laws.append(fit_law(sample_n, sample_e))
        except ValueError:
            continue
    return laws


def percentile_ci(values, confidence: float = 0.95) -> list[float] | None:
    """The central `confidence` interval of the finite `values`, or None if there are none."""
    values = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if len(values) == 0:
        return None
    tail = 100 * (1 - confidence) / 2
    return [float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))]


def crossover_between(end_to_end: Law, traditional: Law, low: float, high: float, points: int = 4000) -> float | None:
    """The size in [low, high] from which on the end-to-end law stays at or below the traditional one
    (its last crossing from above: fitted laws can touch twice); None if it ends the range above
    the traditional law, or is never above it."""
    grid = np.geomspace(low, high, points)
    diff = end_to_end(grid) - traditional(grid)
    above = np.flatnonzero(diff > 0)
    if len(above) == 0 or above[-1] == len(grid) - 1:
        return None
    i = int(above[-1]) + 1  # the first size of the final stretch at or below
    if diff[i] == 0:
        return float(grid[i])

    def gap(log_n):
        return float(end_to_end(math.exp(log_n)) - traditional(math.exp(log_n)))

    return float(math.exp(brentq(gap, math.log(grid[i - 1]), math.log(grid[i]))))


def measured_crossings(sizes, end_to_end_means, traditional_means) -> list[dict]:
    """Every pair of consecutive sizes between which the order of the two measured mean curves
    changes: {"between": [n_i, n_i+1], "n", "end_to_end": "below" or "above"} (where the end-to-end
    mean goes). `n` interpolates the difference of the means linearly in log n."""
    sizes = np.asarray(sizes, dtype=float)
    diff = np.asarray(end_to_end_means, dtype=float) - np.asarray(traditional_means, dtype=float)
    changes = []
    for i in range(len(sizes) - 1):
        if (diff[i] > 0) == (diff[i + 1] > 0):
            continue
        t = diff[i] / (diff[i] - diff[i + 1])
        n = math.exp(math.log(sizes[i]) + t * (math.log(sizes[i + 1]) - math.log(sizes[i])))
        changes.append({"between": [float(sizes[i]), float(sizes[i + 1])], "n": float(n),
                        "end_to_end": "below" if diff[i] > 0 else "above"})
    return changes


def observed_crossover(sizes, end_to_end_means, traditional_means) -> dict | None:
    """The measured crossover: where the end-to-end mean goes at or below the traditional one for
    good (its last such change, when it ends at or below); None if it never does."""
    changes = measured_crossings(sizes, end_to_end_means, traditional_means)
    if not changes or changes[-1]["end_to_end"] != "below":
        return None
    return {"between": changes[-1]["between"], "n": changes[-1]["n"]}


def test_floor(test_items: int | None) -> float:
    """The smallest error told apart from zero on a test set of `test_items` items: half an item of it."""
    return 0.5 / test_items if test_items else LOG_FLOOR


def goodness_of_fit(law, sizes, means, floor: float = LOG_FLOOR) -> dict:
    """How well `law` follows the mean error at each size, in log space.

    Returns {"r2_log": R² of log(mean) against log(law(n)) (None when the means do not vary),
    "residuals_log": log(mean / law(n)) per size, "max_factor": the largest ratio between a mean and
    the law, "n_sizes", "too_few_points": fewer than MIN_SIZES_FOR_A_FIT sizes}. Errors below `floor`
    count as `floor`: a perfect score has no logarithm.
    """
    sizes = np.asarray(sizes, dtype=float)
    observed = np.log(np.maximum(np.asarray(means, dtype=float), floor))
    residuals = observed - np.log(np.maximum(law(sizes), floor))
    spread = float(np.sum((observed - observed.mean()) ** 2))
    return {"r2_log": None if spread == 0 else float(1 - np.sum(residuals**2) / spread),
            "residuals_log": [float(r) for r in residuals], "max_factor": float(np.exp(np.max(np.abs(residuals)))),
            "n_sizes": int(len(sizes)), "too_few_points": bool(len(sizes) < MIN_SIZES_FOR_A_FIT)}


def crossover_report(end_to_end: Law, traditional: Law, low: float, high: float,
                     boot_pairs: list[tuple[Law, Law]] = (), extrapolate_factor: float = 1e4) -> dict:
    """The crossover of two fitted laws over the measured range [low, high], with a bootstrap interval.

    Returns {"crossover": {"n", "ci95", "fraction_found"} or None, "extrapolated": the same for the
    range (high, high * extrapolate_factor] when there is no crossover in range, or None,
    "explanation": one sentence}.
    """
    found = crossover_between(end_to_end, traditional, low, high)
    result = {"crossover": None, "extrapolated": None, "explanation": ""}
    if found is not None:
        boot = [crossover_between(e, t, low, high) for e, t in boot_pairs]
        result["crossover"] = {"n": found, "ci95": percentile_ci(boot), "fraction_found": _fraction(boot)}
        result["explanation"] = f"the fitted end-to-end law goes below the traditional one at n = {found:.4g}"
        return result
    far = high * extrapolate_factor
    grid = np.geomspace(low, high, 4000)
    if np.all(end_to_end(grid) <= traditional(grid)):
        result["explanation"] = "the fitted laws do not cross in the measured range: the end-to-end law is as good or better throughout"
        return result
    beyond = crossover_between(end_to_end, traditional, high, far)
    if beyond is not None:
        boot = [crossover_between(e, t, high, far) for e, t in boot_pairs]
        result["extrapolated"] = {"n": beyond, "ci95": percentile_ci(boot), "fraction_found": _fraction(boot)}
        result["explanation"] = f"the fitted laws do not cross in the measured range; extrapolated, they cross at n = {beyond:.4g}"
    else:
        result["explanation"] = (f"the fitted laws do not cross in the measured range, nor up to n = {far:.4g}: the "
                                 "end-to-end law stays above the traditional one")
    return result


def _fraction(values) -> float | None:
    values = list(values)
    return None if not values else sum(v is not None for v in values) / len(values)


def extrapolation_check(n, error, n_boot: int = 200, seed: int = 0, test_items: int | None = None,
                        factor: float = EXTRAPOLATION_FACTOR) -> dict | None:
    """Refit without the largest size and predict it; say whether the prediction failed.

    Returns {"n", "predicted", "predicted_ci95", "observed", "observed_ci95" (of the runs at that
    size), "abs_error", "factor" (the ratio of the larger to the smaller of predicted and observed,
    both at least `floor`), "failed", "why", "law"}. `predicted_ci95` is a prediction interval for
    what is observed: each of `n_boot` bootstrap refits' value, scattered as one run scatters about
    the refit at the smaller sizes (in log space, so the scatter scales with the error; one run,
    since runs at the whole pool share their training items and average out no noise), widened by
    the binomial standard error of an error measured on `test_items` items: the one test set all
    sizes share cannot tell the two apart more finely. The check fails when the observed mean is
    outside that interval, or off by more than `factor` (errors below half a test item, or
    LOG_FLOOR, counting as that). None when fewer than four distinct sizes are measured (the refit
    needs three).
    """
    from .stats import mean_ci

    n = np.asarray(n, dtype=float)
    error = np.asarray(error, dtype=float)
    sizes = np.unique(n)
    if len(sizes) < 4:
        return None
    largest = sizes[-1]
    earlier = n < largest
    law = fit_law(n[earlier], error[earlier])
    predicted = float(law(largest))
    scatter = np.log(np.maximum(error[earlier], test_floor(test_items))) - np.log(np.maximum(law(n[earlier]), test_floor(test_items)))
    rng = np.random.default_rng(seed)
    refits = bootstrap_laws(n[earlier], error[earlier], n_boot, seed)
    predicted_ci = percentile_ci([float(b(largest)) * math.exp(rng.choice(scatter)) for b in refits])
    at_largest = mean_ci(error[n == largest], bounds=(0.0, None))
    observed = at_largest["mean"]
    floor = test_floor(test_items)
    if predicted_ci is not None and test_items:
        rate = min(max(observed, 0.0), 1.0)
        margin = 1.96 * math.sqrt(rate * (1 - rate) / test_items)
        predicted_ci = [predicted_ci[0] - margin, predicted_ci[1] + margin]
    off_by = max(predicted, observed, floor) / max(min(predicted, observed), floor)
    why = []
    if predicted_ci is not None and not predicted_ci[0] <= observed <= predicted_ci[1]:
        why.append(f"the observed {observed:.4g} is outside the predicted interval [{predicted_ci[0]:.4g}, {predicted_ci[1]:.4g}]")
    if off_by > factor:
        why.append(f"predicted {predicted:.4g} against {observed:.4g} observed, a factor {off_by:.3g} (over {factor:g})")
    return {"n": float(largest), "predicted": predicted, "predicted_ci95": predicted_ci, "observed": observed,
            "observed_ci95": at_largest["ci95"], "abs_error": abs(predicted - observed), "factor": float(off_by),
            "failed": bool(why), "why": "; ".join(why) or None, "law": law.to_dict()}
