"""Batches of similar length, to spend little compute on padding.

`length_bucketed_batches` returns a batch sampler for :func:`e2elab.nn.train`: a callable
``epoch -> list of index lists``. Items are sorted by length (with a little seeded jitter so
that batches differ between epochs), cut into batches whose padded size (longest item times
batch size) stays under `max_frames` and whose count stays under `max_batch_size`, and the
order of the batches is shuffled each epoch. The same seed and epoch always give the same
batches, so a resumed run sees what the uninterrupted one would have seen.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def length_bucketed_batches(lengths: Sequence[int], max_frames: int, max_batch_size: int = 64, seed: int = 0,
                            shuffle: bool = True, jitter: float = 0.1) -> Callable[[int], list[list[int]]]:
    """A batch sampler over items of the given `lengths` (any unit: samples, frames).

    max_frames: cap on (longest item in the batch) x (items in the batch); an item longer than
    the cap gets a batch of its own. jitter: relative noise added to lengths before sorting.
    """
    lengths = np.asarray(lengths, dtype=np.float64)
    if lengths.ndim != 1 or lengths.size == 0:
        raise ValueError("lengths must be a non-empty 1-D sequence")
    if max_frames <= 0 or max_batch_size <= 0:
        raise ValueError("max_frames and max_batch_size must be positive")

    def batches(epoch: int) -> list[list[int]]:
        rng = np.random.default_rng([seed, epoch])
        keys = lengths * (1 + jitter * rng.uniform(-1, 1, size=lengths.size)) if shuffle else lengths
        order = np.argsort(keys, kind="stable")
        out: list[list[int]] = []
        current: list[int] = []
        longest = 0.0
        for index in order:
            grown = max(longest, lengths[index])
            if current and (grown * (len(current) + 1) > max_frames or len(current) >= max_batch_size):
                out.append(current)
                current, grown = [], lengths[index]
            current.append(int(index))
            longest = grown
        if current:
            out.append(current)
        if shuffle:
            out = [out[i] for i in rng.permutation(len(out))]
        return out

    return batches
