"""Learning-curve laws: error(n) = a + b * n**-c, fitted by least squares, with bootstrap intervals.

`a` is the error the pipeline tends to with unlimited data, `b` and `c` how fast it gets there.
From two fitted laws follow the crossover (the training-set size where the end-to-end curve goes
below the traditional one) and, for a target error, the size each pipeline needs.

The fit uses every run (not only the means per size). It is done in n / n0 with n0 the geometric
mean of the sizes, so that b stays of the order of the errors whatever the unit of n. Intervals
come from a bootstrap: runs are resampled within each size (so every size stays present); where
each size has a single run, residuals of the fit are resampled instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, least_squares

FORM = "a + b * n**-c"
C_BOUNDS = (0.01, 4.0)
_STARTS_C = (0.3, 0.7, 1.5)


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


def observed_crossover(sizes, end_to_end_means, traditional_means) -> dict | None:
    """Where the measured mean curves cross: the pair of sizes between which the end-to-end mean
    goes from above to at or below the traditional one, with log-linear interpolation."""
    sizes = np.asarray(sizes, dtype=float)
    diff = np.asarray(end_to_end_means, dtype=float) - np.asarray(traditional_means, dtype=float)
    for i in range(len(sizes) - 1):
        if diff[i] > 0 and diff[i + 1] <= 0:
            t = diff[i] / (diff[i] - diff[i + 1])
            n = math.exp(math.log(sizes[i]) + t * (math.log(sizes[i + 1]) - math.log(sizes[i])))
            return {"between": [float(sizes[i]), float(sizes[i + 1])], "n": float(n)}
    return None


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
        result["explanation"] = f"the end-to-end curve goes below the traditional one at n = {found:.4g}"
        return result
    far = high * extrapolate_factor
    grid = np.geomspace(low, high, 4000)
    if np.all(end_to_end(grid) <= traditional(grid)):
        result["explanation"] = "no crossover in range: the end-to-end pipeline is as good or better over the whole range"
        return result
    beyond = crossover_between(end_to_end, traditional, high, far)
    if beyond is not None:
        boot = [crossover_between(e, t, high, far) for e, t in boot_pairs]
        result["extrapolated"] = {"n": beyond, "ci95": percentile_ci(boot), "fraction_found": _fraction(boot)}
        result["explanation"] = f"no crossover in range; the fitted laws cross at n = {beyond:.4g} (extrapolated)"
    else:
        result["explanation"] = (f"no crossover in range, nor up to n = {far:.4g}: the end-to-end curve stays above "
                                 "the traditional one")
    return result


def _fraction(values) -> float | None:
    values = list(values)
    return None if not values else sum(v is not None for v in values) / len(values)


def extrapolation_check(n, error) -> dict | None:
    """Refit without the largest size and predict it: {"n", "predicted", "observed", "abs_error"}.

    None when fewer than four distinct sizes are measured (the refit needs three).
    """
    n = np.asarray(n, dtype=float)
    error = np.asarray(error, dtype=float)
    sizes = np.unique(n)
    if len(sizes) < 4:
        return None
    largest = sizes[-1]
    law = fit_law(n[n < largest], error[n < largest])
    predicted = float(law(largest))
    observed = float(error[n == largest].mean())
    return {"n": float(largest), "predicted": predicted, "observed": observed, "abs_error": abs(predicted - observed),
            "law": law.to_dict()}
