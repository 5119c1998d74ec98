"""Training phone HMMs from transcripts only: flat start, then embedded re-estimation.

Flat start gives every state the global mean and variance of the training frames, measured
streaming (never stacking the corpus into one array). Each re-estimation pass builds every utterance's composite HMM (its words' phones, optional
silences), aligns it to the frames softly (Baum-Welch: forward-backward posteriors) or hardly
(Viterbi: best path), and re-estimates all Gaussians and self-loop probabilities from the
pooled statistics. Between rounds of passes, mixtures are split until they reach the target.
Utterances go through in batches of similar length so that the E-step is vectorised over
utterances and states, with Python looping over frames only. `features` is any sequence of
arrays: a FeatureStore (feature_store.py) reads each batch from disk when the corpus is larger
than the memory allowed it, so a pass holds one batch at a time.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .features import pooled_moments
from .gmm import DiagGMMBank, GMMStats, split_log_likelihoods
from .hmm import Composite, backward, build_composite, forward, make_batch, viterbi
from .lexicon import SILENCE

MIN_SELF, MAX_SELF = 0.05, 0.95


@dataclass
class PhoneModel:
    """The trained acoustic model: phone list, HMM topology, GMMs, self-loop log probabilities."""

    phones: list[str]
    n_states: int
    gmm: DiagGMMBank
    log_self: np.ndarray  # (S,)
    var_floor: np.ndarray  # (D,)
    history: list[dict] = field(default_factory=list)

    @property
    def log_exit(self) -> np.ndarray:
        return np.log1p(-np.exp(self.log_self))

    def composite(self, units: list[tuple[int, bool]], skip_prob: float = 0.5) -> Composite:
        return build_composite(units, self.n_states, self.log_exit, skip_prob)


def utterance_units(pronunciations: list[list[str]], phone_index: dict[str, int], silence: str = "optional") -> list[tuple[int, bool]]:
    """(phone index, optional) units of an utterance: its words' phones, with optional silences.

    `silence`: "optional" (before, between and after words), "edges" (before and after only)
    or "none".
    """
    sil = phone_index[SILENCE]
    units: list[tuple[int, bool]] = []
    for number, phones in enumerate(pronunciations):
        if silence == "optional" or (silence == "edges" and number == 0):
            units.append((sil, True))
        units.extend((phone_index[p], False) for p in phones)
    if silence in ("optional", "edges"):
        units.append((sil, True))
    return units


def feature_lengths(features: Sequence[np.ndarray]) -> np.ndarray:
    """Frames per utterance: a FeatureStore knows them without reading its utterances back."""
    known = getattr(features, "lengths", None)
    return np.asarray(known if known is not None else [f.shape[0] for f in features], dtype=np.int64)


def flat_start(features: Sequence[np.ndarray], phones: list[str], n_states: int, var_floor_ratio: float = 0.01,
               self_prob: float = 0.6) -> PhoneModel:
    """Every state gets the global mean and variance of all frames; variances are floored at a
    fraction of it."""
    mean, variance = pooled_moments(features, itertools.repeat(0), variance=True)[0]  # of every frame, streamed
    floor = np.maximum(var_floor_ratio * variance, 1e-8)
    n_total = len(phones) * n_states
    gmm = DiagGMMBank.flat(n_total, mean, np.maximum(variance, floor))
    return PhoneModel(list(phones), n_states, gmm, np.full(n_total, np.log(self_prob)), floor)


def _batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    order = np.argsort(lengths, kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def emission_matrix(state_ll: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, state_ids: np.ndarray) -> np.ndarray:
    """Gather log p(x_t | state of position j) for a padded batch, (B, T, L), from (N, S)."""
    n_frames = int(lengths.max())
    t = np.arange(n_frames)[None, :]
    frame_index = offsets[:, None] + np.minimum(t, lengths[:, None] - 1)  # (B, T)
    return state_ll[frame_index[:, :, None], state_ids[:, None, :]]


def e_step(model: PhoneModel, features: Sequence[np.ndarray], composites: list[Composite], mode: str = "baum-welch",
           batch_size: int = 64, n_jobs: int | None = 1):
    """One pass of statistics: (GMMStats, self-loop counts (S,), occupancy (S,), log-likelihood, frames).

    Batches of similar-length utterances are independent; with `n_jobs` other than 1 they run in
    joblib threads (NumPy releases the GIL in its large operations).
    """
    if mode not in ("baum-welch", "viterbi"):
        raise ValueError(f"training must be 'baum-welch' or 'viterbi', not {mode!r}")
    batches = _batches(feature_lengths(features), batch_size)
    if n_jobs == 1:
        parts = [_batch_statistics(model, [features[i] for i in m], [composites[i] for i in m], mode) for m in batches]
    else:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(_batch_statistics)(model, [features[i] for i in m], [composites[i] for i in m], mode) for m in batches)
    stats = parts[0][0]
    for other in parts[1:]:
        stats.occ += other[0].occ
        stats.first += other[0].first
        stats.second += other[0].second
    return (stats, sum(p[1] for p in parts), sum(p[2] for p in parts), float(sum(p[3] for p in parts)),
            int(sum(p[4] for p in parts)))


def _batch_statistics(model: PhoneModel, features: list[np.ndarray], composites: list[Composite], mode: str):
    """Statistics of one batch of utterances, aligned to their composite HMMs."""
    gmm = model.gmm
    n_total = gmm.n_states
    stats = GMMStats.zeros(n_total, gmm.n_mix, gmm.dim)
    self_counts, occupancy = np.zeros(n_total), np.zeros(n_total)
    frames = np.concatenate(features, axis=0)  # (N, D)
    comp_ll = gmm.component_log_likelihoods(frames)  # (N, S, M)
    state_ll, resp = split_log_likelihoods(comp_ll)  # (N, S), (N, S, M)
    batch_lengths = np.array([f.shape[0] for f in features])
    offsets = np.concatenate([[0], np.cumsum(batch_lengths)[:-1]])
    batch = make_batch(composites, model.log_self, batch_lengths)
    emissions = emission_matrix(state_ll, offsets, batch_lengths, batch.state_ids)  # (B, T, L)
    posts = np.zeros((frames.shape[0], n_total))  # (N, S) frame-state posteriors
    if mode == "baum-welch":
        alpha, log_lik = forward(batch, emissions)
        beta = backward(batch, emissions)
        ok = np.isfinite(log_lik)
        with np.errstate(invalid="ignore"):
            gamma = np.exp(alpha + beta - log_lik[:, None, None])  # (B, T, L)
            xi_self = np.exp(alpha[:, :-1] + batch.self_logp[:, None, :] + emissions[:, 1:] + beta[:, 1:]
                             - log_lik[:, None, None])  # (B, T-1, L)
        gamma = np.nan_to_num(gamma * ok[:, None, None])
        xi_self = np.nan_to_num(xi_self * ok[:, None, None])
        valid = np.arange(gamma.shape[1])[None, :] < batch_lengths[:, None]  # (B, T)
        b_idx, t_idx = np.nonzero(valid)
        frame_rows = offsets[b_idx] + t_idx  # (V,)
        flat = (frame_rows[:, None] * n_total + batch.state_ids[b_idx]).ravel()
        posts = np.bincount(flat, weights=gamma[b_idx, t_idx].ravel(), minlength=posts.size).reshape(posts.shape)
        self_counts += np.bincount(batch.state_ids.ravel(), weights=xi_self.sum(1).ravel(), minlength=n_total)
        occupancy += np.bincount(batch.state_ids.ravel(), weights=gamma.sum(1).ravel(), minlength=n_total)
    else:
        paths, log_lik = viterbi(batch, emissions)
        ok = np.isfinite(log_lik)
        for b in np.flatnonzero(ok):
            states = batch.state_ids[b, paths[b]]  # (T_b,)
            posts[offsets[b] + np.arange(len(states)), states] = 1.0
            stays = paths[b][1:] == paths[b][:-1]
            self_counts += np.bincount(states[:-1][stays], minlength=n_total)
            occupancy += np.bincount(states, minlength=n_total)
    gmm.accumulate(frames, posts, stats, resp)
    return stats, self_counts, occupancy, float(log_lik[ok].sum()), int(batch_lengths[ok].sum())


def m_step(model: PhoneModel, stats: GMMStats, self_counts: np.ndarray, occupancy: np.ndarray) -> None:
    """Re-estimate GMMs (variance-floored) and self-loop probabilities of states that were seen."""
    model.gmm.update(stats, model.var_floor)
    seen = occupancy > 1e-3
    ratio = np.clip(self_counts / np.where(seen, occupancy, 1.0), MIN_SELF, MAX_SELF)
    model.log_self = np.where(seen, np.log(ratio), model.log_self)


def reestimate(model: PhoneModel, features, composites, mode: str = "baum-welch", batch_size: int = 64,
               n_jobs: int | None = 1) -> float:
    """One embedded re-estimation pass; returns the log-likelihood per frame before the update."""
    stats, self_counts, occupancy, total_ll, total_frames = e_step(model, features, composites, mode, batch_size, n_jobs)
    m_step(model, stats, self_counts, occupancy)
    return total_ll / max(total_frames, 1)


def train(features: Sequence[np.ndarray], units: list[list[tuple[int, bool]]], phones: list[str], n_states: int = 3,
          n_mixtures: int = 8, flat_passes: int = 4, passes_per_split: int = 2, mode: str = "baum-welch",
          var_floor_ratio: float = 0.01, batch_size: int = 64, skip_prob: float = 0.5, n_jobs: int | None = 1,
          log=None) -> PhoneModel:
    """Flat start, `flat_passes` passes at one Gaussian, then split and re-estimate up to `n_mixtures`.

    Viterbi training from a flat start has nothing to prefer one alignment over another, so the
    flat-start passes always use Baum-Welch; `mode` applies to the passes after the first split.
    """
    model = flat_start(features, phones, n_states, var_floor_ratio)
    composites = [model.composite(u, skip_prob) for u in units]

    def run_pass(pass_mode):
        nonlocal composites
        per_frame = reestimate(model, features, composites, pass_mode, batch_size, n_jobs)
        model.history.append({"pass": len(model.history) + 1, "mixtures": model.gmm.n_mix, "mode": pass_mode,
                              "log_likelihood_per_frame": per_frame})
        composites = [model.composite(u, skip_prob) for u in units]  # exit probabilities changed
        if log:
            log(f"pass {len(model.history)}: {model.gmm.n_mix} mixture(s), {pass_mode}, log-likelihood/frame {per_frame:.3f}")

    for _ in range(flat_passes):
        run_pass("baum-welch")
    while model.gmm.n_mix < n_mixtures:
        model.gmm.split(n_mixtures)
        for _ in range(passes_per_split):
            run_pass(mode)
    return model
