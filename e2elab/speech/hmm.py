"""Phone HMMs and the composite HMM of an utterance, with log-space forward-backward and Viterbi.

Every phone (silence included) is a left-to-right HMM of `n_states` emitting states with a
self-loop and an exit transition; its emissions are a row of a :class:`DiagGMMBank`. An
utterance's composite HMM chains the states of its phones (its words through the lexicon) with
optional silences, which are units that a skip arc can jump over. The composite is banded:
a state is reached only from itself, from the state before it, or over a skipped silence, so a
forward or backward step is a handful of vectorised operations over all states of a whole
batch of utterances (B, L), and Python loops over time only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEG_INF = -np.inf


@dataclass
class Composite:
    """One utterance's chain of HMM states.

    state_ids: global state of each position, (L,).
    next_logp: log probability of the arc from position j-1 into j ((L,), -inf at j=0).
    skip_src, skip_dst, skip_logp: arcs that jump over an optional unit.
    init_logp, final_logp: where a path may start and end, (L,).
    min_frames: frames needed by the shortest path (every state visited once, options skipped).
    """

    state_ids: np.ndarray
    next_logp: np.ndarray
    skip_src: np.ndarray
    skip_dst: np.ndarray
    skip_logp: np.ndarray
    init_logp: np.ndarray
    final_logp: np.ndarray
    min_frames: int

    def __len__(self) -> int:
        return len(self.state_ids)


def build_composite(units: list[tuple[int, bool]], n_states: int, log_exit: np.ndarray, skip_prob: float = 0.5) -> Composite:
    """Chain the phone `units` ((phone index, optional?) pairs) into one composite HMM.

    Entering an optional unit has probability 1 - `skip_prob`; jumping over it `skip_prob`.
    Two optional units must not be adjacent.
    """
    ids = np.concatenate([np.arange(p * n_states, (p + 1) * n_states) for p, _ in units])
    length = len(ids)
    starts = np.cumsum([0] + [n_states] * len(units))[:-1]
    next_logp = np.full(length, NEG_INF)
    next_logp[1:] = log_exit[ids[:-1]]
    init = np.full(length, NEG_INF)
    init[0] = 0.0
    final = np.full(length, NEG_INF)
    final[-1] = 0.0
    skip_src, skip_dst, skip_logp = [], [], []
    log_in, log_skip = np.log(1.0 - skip_prob), np.log(skip_prob)
    optional_frames = 0
    for index, ((_, optional), start) in enumerate(zip(units, starts)):
        if not optional:
            continue
        if index > 0 and units[index - 1][1]:
            raise ValueError("two optional units may not be adjacent")
        optional_frames += n_states
        end = start + n_states  # first position after the unit
        if start == 0:
            init[0], init[end] = log_in, log_skip
        else:
            next_logp[start] += log_in
            if end < length:
                skip_src.append(start - 1)
                skip_dst.append(end)
                skip_logp.append(log_exit[ids[start - 1]] + log_skip)
        if end == length:
            final[start - 1] = 0.0
    return Composite(ids, next_logp, np.array(skip_src, dtype=np.int64), np.array(skip_dst, dtype=np.int64),
                     np.array(skip_logp), init, final, length - optional_frames)


@dataclass
class Batch:
    """Composites of B utterances padded to a common length L; padded positions are unreachable."""

    state_ids: np.ndarray  # (B, L)
    self_logp: np.ndarray  # (B, L)
    next_logp: np.ndarray  # (B, L)
    skip_b: np.ndarray
    skip_src: np.ndarray
    skip_dst: np.ndarray
    skip_logp: np.ndarray
    init_logp: np.ndarray  # (B, L)
    final_logp: np.ndarray  # (B, L)
    lengths: np.ndarray  # (B,) frames per utterance


def make_batch(composites: list[Composite], log_self: np.ndarray, n_frames) -> Batch:
    n = len(composites)
    width = max(len(c) for c in composites)
    ids = np.zeros((n, width), dtype=np.int64)
    self_logp = np.full((n, width), NEG_INF)
    next_logp = np.full((n, width), NEG_INF)
    init = np.full((n, width), NEG_INF)
    final = np.full((n, width), NEG_INF)
    skip = [[], [], [], []]
    for b, comp in enumerate(composites):
        size = len(comp)
        ids[b, :size] = comp.state_ids
        self_logp[b, :size] = log_self[comp.state_ids]
        next_logp[b, :size] = comp.next_logp
        init[b, :size] = comp.init_logp
        final[b, :size] = comp.final_logp
        skip[0].extend([b] * len(comp.skip_src))
        skip[1].extend(comp.skip_src)
        skip[2].extend(comp.skip_dst)
        skip[3].extend(comp.skip_logp)
    return Batch(ids, self_logp, next_logp, np.array(skip[0], dtype=np.int64), np.array(skip[1], dtype=np.int64),
                 np.array(skip[2], dtype=np.int64), np.array(skip[3], dtype=np.float64), init, final,
                 np.asarray(n_frames, dtype=np.int64))


def forward(batch: Batch, emissions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log forward variables (B, T, L) and each utterance's log-likelihood (B,).

    `emissions` (B, T, L) holds log p(x_t | state of position j); frames past an utterance's
    length are ignored.
    """
    n, n_frames, width = emissions.shape
    alpha = np.full((n, n_frames, width), NEG_INF)
    alpha[:, 0] = batch.init_logp + emissions[:, 0]
    has_skip = batch.skip_b.size > 0
    with np.errstate(invalid="ignore"):
        for t in range(1, n_frames):
            prev = alpha[:, t - 1]
            step = prev + batch.self_logp
            moved = np.full_like(step, NEG_INF)
            moved[:, 1:] = prev[:, :-1] + batch.next_logp[:, 1:]
            step = np.logaddexp(step, moved)
            if has_skip:
                jumped = prev[batch.skip_b, batch.skip_src] + batch.skip_logp
                step[batch.skip_b, batch.skip_dst] = np.logaddexp(step[batch.skip_b, batch.skip_dst], jumped)
            alpha[:, t] = step + emissions[:, t]
    last = alpha[np.arange(n), batch.lengths - 1]  # (B, L)
    total = np.logaddexp.reduce(last + batch.final_logp, axis=1)
    return alpha, total


def backward(batch: Batch, emissions: np.ndarray) -> np.ndarray:
    """Log backward variables (B, T, L); -inf past each utterance's last frame."""
    n, n_frames, width = emissions.shape
    beta = np.full((n, n_frames, width), NEG_INF)
    ends = batch.lengths - 1
    has_skip = batch.skip_b.size > 0
    with np.errstate(invalid="ignore"):
        for t in range(n_frames - 1, -1, -1):
            if t < n_frames - 1:
                ahead = emissions[:, t + 1] + beta[:, t + 1]  # (B, L)
                step = ahead + batch.self_logp
                moved = np.full_like(step, NEG_INF)
                moved[:, :-1] = ahead[:, 1:] + batch.next_logp[:, 1:]
                step = np.logaddexp(step, moved)
                if has_skip:
                    jumped = ahead[batch.skip_b, batch.skip_dst] + batch.skip_logp
                    step[batch.skip_b, batch.skip_src] = np.logaddexp(step[batch.skip_b, batch.skip_src], jumped)
            else:
                step = np.full((n, width), NEG_INF)
            at_end = (ends == t)[:, None]
            beta[:, t] = np.where(at_end, batch.final_logp, np.where((ends > t)[:, None], step, NEG_INF))
    return beta


def viterbi(batch: Batch, emissions: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Best position path of each utterance ([(T_b,)]) and its log score (B,)."""
    n, n_frames, width = emissions.shape
    delta = batch.init_logp + emissions[:, 0]  # (B, L)
    back = np.zeros((n, n_frames, width), dtype=np.int64)
    cols = np.broadcast_to(np.arange(width), (n, width))
    scores = np.full(n, NEG_INF)
    ends = batch.lengths - 1
    best_end = np.zeros(n, dtype=np.int64)
    for t in range(n_frames):
        if t > 0:
            step = delta + batch.self_logp
            source = cols.copy()
            moved = np.full_like(step, NEG_INF)
            moved[:, 1:] = delta[:, :-1] + batch.next_logp[:, 1:]
            better = moved > step
            step = np.where(better, moved, step)
            source = np.where(better, cols - 1, source)
            if batch.skip_b.size:
                jumped = delta[batch.skip_b, batch.skip_src] + batch.skip_logp
                win = jumped > step[batch.skip_b, batch.skip_dst]
                step[batch.skip_b[win], batch.skip_dst[win]] = jumped[win]
                source[batch.skip_b[win], batch.skip_dst[win]] = batch.skip_src[win]
            delta = step + emissions[:, t]
            back[:, t] = source
        finishing = ends == t
        if finishing.any():
            closing = delta[finishing] + batch.final_logp[finishing]
            scores[finishing] = closing.max(1)
            best_end[finishing] = closing.argmax(1)
    paths = []
    for b in range(n):
        path = np.empty(batch.lengths[b], dtype=np.int64)
        path[-1] = best_end[b]
        for t in range(batch.lengths[b] - 1, 0, -1):
            path[t - 1] = back[b, t, path[t]]
        paths.append(path)
    return paths, scores
