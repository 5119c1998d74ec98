"""A bank of diagonal-covariance Gaussian mixtures, one per HMM state, in log space.

All S states x M components are scored at once with two matrix products (BLAS), so the
emission matrix of a whole batch of frames costs one pass; sufficient statistics are
accumulated the same way from frame-state posteriors. Re-estimation floors variances at a
fraction of the global variance, and mixtures grow by splitting their heaviest components.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass
class GMMStats:
    """Zeroth, first and second order statistics per component: (S, M), (S, M, D), (S, M, D)."""

    occ: np.ndarray
    first: np.ndarray
    second: np.ndarray

    @classmethod
    def zeros(cls, n_states: int, n_mix: int, dim: int) -> GMMStats:
        return cls(np.zeros((n_states, n_mix)), np.zeros((n_states, n_mix, dim)), np.zeros((n_states, n_mix, dim)))


def split_log_likelihoods(component_ll: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """State log-likelihoods (N, S) and component responsibilities (N, S, M) from (N, S, M)."""
    peak = component_ll.max(axis=2, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    scaled = np.exp(component_ll - peak)
    total = scaled.sum(axis=2, keepdims=True)
    with np.errstate(divide="ignore"):
        state_ll = (np.log(total) + peak)[:, :, 0]
    return state_ll, scaled / np.where(total > 0, total, 1.0)


class DiagGMMBank:
    """S diagonal GMMs of M components each over D-dimensional frames."""

    def __init__(self, means: np.ndarray, variances: np.ndarray, log_weights: np.ndarray):
        self.means = np.asarray(means, dtype=np.float64)  # (S, M, D)
        self.variances = np.asarray(variances, dtype=np.float64)  # (S, M, D)
        self.log_weights = np.asarray(log_weights, dtype=np.float64)  # (S, M)

    @property
    def n_states(self) -> int:
        return self.means.shape[0]

    @property
    def n_mix(self) -> int:
        return self.means.shape[1]

    @property
    def dim(self) -> int:
        return self.means.shape[2]

    @classmethod
    def flat(cls, n_states: int, mean: np.ndarray, variance: np.ndarray) -> DiagGMMBank:
        """Every state a single Gaussian with the global mean and variance (flat start)."""
        dim = mean.shape[0]
        means = np.broadcast_to(mean, (n_states, 1, dim)).copy()
        variances = np.broadcast_to(variance, (n_states, 1, dim)).copy()
        return cls(means, variances, np.zeros((n_states, 1)))

    def component_log_likelihoods(self, frames: np.ndarray) -> np.ndarray:
        """log w_m N(x_t; mu_sm, diag var_sm) for every frame and component, (N, S, M)."""
        n_states, n_mix, dim = self.means.shape
        precision = 1.0 / self.variances.reshape(-1, dim)  # (K, D)
        means = self.means.reshape(-1, dim)  # (K, D)
        const = -0.5 * (dim * LOG_2PI + np.log(self.variances.reshape(-1, dim)).sum(1) + (means ** 2 * precision).sum(1))  # (K,)
        scores = frames @ (means * precision).T - 0.5 * (frames ** 2) @ precision.T + const  # (N, K)
        return scores.reshape(-1, n_states, n_mix) + self.log_weights[None]

    def log_likelihoods(self, frames: np.ndarray) -> np.ndarray:
        """log p(x_t | state s), (N, S)."""
        return split_log_likelihoods(self.component_log_likelihoods(frames))[0]

    def accumulate(self, frames: np.ndarray, state_posteriors: np.ndarray, stats: GMMStats,
                   responsibilities: np.ndarray | None = None) -> None:
        """Add the statistics of `frames` (N, D) weighted by `state_posteriors` (N, S) to `stats`.

        `responsibilities` (N, S, M), the component posteriors within each state, are computed
        when not given.
        """
        if responsibilities is None:
            responsibilities = split_log_likelihoods(self.component_log_likelihoods(frames))[1]
        active = np.flatnonzero(state_posteriors.sum(0) > 0)  # only states seen in these frames
        resp = responsibilities[:, active] * state_posteriors[:, active, None]  # (N, A, M)
        resp = resp.reshape(frames.shape[0], -1)  # (N, A*M)
        dim = frames.shape[1]
        stats.occ[active] += resp.sum(0).reshape(len(active), -1)
        stats.first[active] += (resp.T @ frames).reshape(len(active), -1, dim)
        stats.second[active] += (resp.T @ frames ** 2).reshape(len(active), -1, dim)

    def update(self, stats: GMMStats, var_floor: np.ndarray, min_occ: float = 1e-3) -> None:
        """Maximum-likelihood means, floored variances and weights; unseen components keep theirs."""
        occ = stats.occ  # (S, M)
        seen = occ > min_occ
        safe = np.where(seen, occ, 1.0)[:, :, None]
        means = stats.first / safe
        variances = np.maximum(stats.second / safe - means ** 2, var_floor[None, None, :])
        self.means = np.where(seen[:, :, None], means, self.means)
        self.variances = np.where(seen[:, :, None], variances, self.variances)
        state_occ = occ.sum(1, keepdims=True)  # (S, 1)
        has_data = state_occ[:, 0] > min_occ
        weights = np.maximum(occ / np.where(has_data[:, None], state_occ, 1.0), 1e-5)
        weights /= weights.sum(1, keepdims=True)
        self.log_weights = np.where(has_data[:, None], np.log(weights), self.log_weights)

    def split(self, target: int, perturbation: float = 0.2) -> None:
        """Grow every state to min(2M, target) components by splitting its heaviest ones.

        A split component becomes two with half the weight and means moved +-`perturbation`
        standard deviations, as HTK's HHEd MU does.
        """
        n_states, n_mix, dim = self.means.shape
        new_mix = min(2 * n_mix, target)
        n_split = new_mix - n_mix
        if n_split <= 0:
            return
        order = np.argsort(-self.log_weights, axis=1)[:, :n_split]  # (S, n_split) heaviest first
        rows = np.arange(n_states)[:, None]
        offset = perturbation * np.sqrt(self.variances[rows, order])  # (S, n_split, D)
        means = self.means.copy()
        means[rows, order] += offset
        extra_means = self.means[rows, order] - offset
        log_weights = self.log_weights.copy()
        log_weights[rows, order] -= np.log(2.0)
        self.means = np.concatenate([means, extra_means], axis=1)
        self.variances = np.concatenate([self.variances, self.variances[rows, order]], axis=1)
        self.log_weights = np.concatenate([log_weights, log_weights[rows, order]], axis=1)
