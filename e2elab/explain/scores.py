"""Faithfulness of a relevance map: deletion and insertion area under the curve.

Petsiuk et al. 2018 ("RISE"): remove the input's most relevant units first and watch the
model's probability for the explained class fall (deletion: a faithful map makes it fall fast,
so a LOW area is good); or start from an uninformative input and add the most relevant units
first (insertion: a HIGH area is good). Each area is set against the same curve for units taken
in random order (the mean over a few seeded orders), so a map is faithful only when it beats chance.

The core is model-agnostic: a *unit* is whatever can be removed (an image patch, a time frame
of a clip, a keypoint of a bag of visual words) and the caller's ``score(keep)`` says how
probable the explained answer is with only the units flagged in ``keep`` present. Helpers below
build that function for images and for 1-D signals.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

ScoreFn = Callable[[np.ndarray], np.ndarray]  # keep: (K, U) bool -> (K,) probabilities


def perturbation_curve(score: ScoreFn, order: np.ndarray, mode: str, n_steps: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """The deletion or insertion curve: (fractions of units changed, scores), both (n_steps + 1,).

    order: unit indices, most relevant first. mode: "deletion" or "insertion".
    """
    if mode not in ("deletion", "insertion"):
        raise ValueError(f"mode must be 'deletion' or 'insertion', not {mode!r}")
    n_units = len(order)
    counts = np.unique(np.round(np.linspace(0, n_units, min(n_steps, n_units) + 1)).astype(int))
    keep = np.zeros((len(counts), n_units), dtype=bool)  # (K, U)
    for row, count in enumerate(counts):
        changed = order[:count]
        if mode == "deletion":
            keep[row] = True
            keep[row, changed] = False
        else:
            keep[row, changed] = True
    values = np.asarray(score(keep), dtype=np.float64).reshape(-1)
    return counts / max(1, n_units), values


def area_under_curve(fractions: np.ndarray, values: np.ndarray) -> float:
    """Trapezoidal area under a curve on [0, 1]."""
    return float(np.trapezoid(values, fractions)) if hasattr(np, "trapezoid") else float(np.trapz(values, fractions))


def deletion_insertion(score: ScoreFn, relevance: np.ndarray, n_steps: int = 20, n_random: int = 3,
                       seed: int = 0) -> dict:
    """Deletion and insertion AUC of `relevance` (one value per unit) and of random orders.

    Returns {"deletion_auc", "deletion_auc_random", "insertion_auc", "insertion_auc_random",
    "deletion_curve", "insertion_curve"} (curves as lists of [fraction, score]).
    """
    relevance = np.asarray(relevance, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(relevance)):
        raise ValueError("relevance map contains NaN or infinite values")
    # Most relevant first; ties (e.g. an all-zero map) broken by position so the result is repeatable.
    order = np.argsort(-relevance, kind="stable")
    result: dict = {}
    rng = np.random.default_rng(seed)
    random_orders = [rng.permutation(len(relevance)) for _ in range(n_random)]
    for mode in ("deletion", "insertion"):
        fractions, values = perturbation_curve(score, order, mode, n_steps)
        result[f"{mode}_auc"] = area_under_curve(fractions, values)
        result[f"{mode}_curve"] = np.column_stack([fractions, values]).round(5).tolist()
        randoms = [area_under_curve(*perturbation_curve(score, o, mode, n_steps)) for o in random_orders]
        result[f"{mode}_auc_random"] = float(np.mean(randoms))
    return result


def patch_units(shape: tuple[int, int], patch: int) -> tuple[np.ndarray, int]:
    """Split an (H, W) image into square patches: a (H, W) map of unit ids, and their number."""
    height, width = shape
    patch = max(1, int(patch))
    rows = np.arange(height) // patch
    cols = np.arange(width) // patch
    n_cols = (width + patch - 1) // patch
    units = rows[:, None] * n_cols + cols[None, :]
    return units, int(units.max()) + 1


def pool_to_units(relevance: np.ndarray, units: np.ndarray, n_units: int) -> np.ndarray:
    """The mean of a (H, W) (or any-shaped) map over each unit's positions.  # (U,)"""
    sums = np.bincount(units.reshape(-1), weights=np.asarray(relevance, dtype=np.float64).reshape(-1), minlength=n_units)
    sizes = np.bincount(units.reshape(-1), minlength=n_units)
    return sums / np.maximum(sizes, 1)


def masked_inputs(x: np.ndarray, replacement: np.ndarray, units: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Copies of `x` with the units not in `keep` taken from `replacement`.

    x, replacement: (C, H, W) or (T,) arrays; units: ids over the trailing axes of x;
    keep: (K, U) bool. Returns (K, *x.shape).
    """
    present = keep[:, units]  # (K, *units.shape)
    present = present.reshape((len(keep),) + (1,) * (x.ndim - units.ndim) + units.shape)
    return np.where(present, x[None], replacement[None])


def blurred(x: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of a (C, H, W) image over its two spatial axes (the insertion start point)."""
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(np.asarray(x, dtype=np.float64), sigma=(0, sigma, sigma), mode="nearest").astype(x.dtype)


def image_score_fn(predict_proba: Callable[[np.ndarray], np.ndarray], x: np.ndarray, target: int,
                   units: np.ndarray, replacement: np.ndarray, batch_size: int = 64) -> ScoreFn:
    """`score(keep)` for an image: the probability of `target` with the other patches replaced.

    predict_proba: (N, C, H, W) -> (N, K) class probabilities, in the model's input space.
    """

    def score(keep: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(keep), batch_size):
            batch = masked_inputs(x, replacement, units, keep[start:start + batch_size])
            out.append(np.asarray(predict_proba(batch))[:, target])
        return np.concatenate(out)

    return score


def summarise(faithfulness: dict | None, spearman: float | None, threshold: float = 0.5) -> dict:
    """The scores of one map as ``explanations.json`` stores them, with a verdict.

    A map is ``trustworthy`` when it passes the randomisation check (Spearman <= threshold, where
    the check was run) AND beats random order in deletion or in insertion (where those were run).
    ``reason`` says in words which test failed.
    """
    out: dict = {"deletion_auc": None, "deletion_auc_random": None, "insertion_auc": None,
                 "insertion_auc_random": None, "randomisation_spearman": None, "threshold": threshold}
    reasons = []
    if faithfulness:
        out.update({k: float(f"{faithfulness[k]:.5g}") for k in
                    ("deletion_auc", "deletion_auc_random", "insertion_auc", "insertion_auc_random")})
        out["deletion_curve"] = faithfulness.get("deletion_curve")
        out["insertion_curve"] = faithfulness.get("insertion_curve")
        beats_deletion = faithfulness["deletion_auc"] < faithfulness["deletion_auc_random"]
        beats_insertion = faithfulness["insertion_auc"] > faithfulness["insertion_auc_random"]
        if not (beats_deletion or beats_insertion):
            reasons.append("no better than a random order at deletion and insertion")
    if spearman is not None:
        out["randomisation_spearman"] = round(float(spearman), 4)
        if spearman > threshold:
            reasons.append(f"barely changes when the model's weights are randomised (Spearman {spearman:.2f} > {threshold})")
    out["trustworthy"] = not reasons
    out["reason"] = "; ".join(reasons) if reasons else ""
    return out
