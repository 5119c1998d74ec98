"""Length-bucketed batches: every item once, the padding cap kept, reproducible per (seed, epoch)."""

from __future__ import annotations

import numpy as np
import pytest

from e2elab.nn.batching import length_bucketed_batches


@pytest.fixture
def lengths():
    return np.random.default_rng(0).integers(100, 2000, size=300)


def test_each_item_once_and_cap_kept(lengths):
    sampler = length_bucketed_batches(lengths, max_frames=8000, max_batch_size=16, seed=1)
    batches = sampler(0)
    flat = sorted(i for batch in batches for i in batch)
    assert flat == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 16
        assert max(lengths[batch]) * len(batch) <= 8000


def test_batches_hold_similar_lengths(lengths):
    batches = length_bucketed_batches(lengths, max_frames=8000, max_batch_size=16, seed=1)(0)
    padded = sum(max(lengths[b]) * len(b) for b in batches)
    assert padded < 1.25 * lengths.sum()  # random batches would pad far more
    random_batches = np.array_split(np.random.default_rng(0).permutation(len(lengths)), len(batches))
    assert padded < sum(max(lengths[b]) * len(b) for b in random_batches)


def test_same_seed_and_epoch_same_batches(lengths):
    a = length_bucketed_batches(lengths, 8000, 16, seed=3)
    b = length_bucketed_batches(lengths, 8000, 16, seed=3)
    assert a(2) == b(2)
    assert a(2) != a(3)  # reshuffled every epoch
    assert a(0) != length_bucketed_batches(lengths, 8000, 16, seed=4)(0)


def test_an_item_over_the_cap_gets_its_own_batch():
    batches = length_bucketed_batches([10, 10, 500, 10], max_frames=100, max_batch_size=8, shuffle=False)(0)
    assert [2] in batches
    assert sorted(i for b in batches for i in b) == [0, 1, 2, 3]


def test_bad_arguments():
    with pytest.raises(ValueError):
        length_bucketed_batches([], 100)
    with pytest.raises(ValueError):
        length_bucketed_batches([1, 2], 0)
