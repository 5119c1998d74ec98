"""Distributed training: how batches are shared out, a group of one process running the real DDP
code path (resume included), and a rank whose partners never join."""

from __future__ import annotations

import socket

import pytest
import torch
import torch.distributed as dist
from torch.utils.data import TensorDataset

from e2elab.nn import TrainConfig, distributed, train
from e2elab.nn.batching import length_bucketed_batches


def as_rank(monkeypatch, this: int, ranks: int) -> None:
    monkeypatch.setattr(distributed, "rank", lambda: this)
    monkeypatch.setattr(distributed, "world_size", lambda: ranks)


def test_plain_batches_are_sliced_so_the_ranks_together_train_on_the_global_batch(monkeypatch):
    shares = []
    for this in range(3):
        as_rank(monkeypatch, this, 3)
        shares.append(distributed.rank_batches(None, 50, 12, drop_last=True, seed=4)(epoch=2))
    as_rank(monkeypatch, 0, 1)
    global_batches = distributed.rank_batches(None, 50, 12, drop_last=True, seed=4)(epoch=2)
    assert [len(b) for b in global_batches] == [12, 12, 12, 12]  # the ragged batch of 2 is dropped
    assert all(len(share) == 4 for share in shares)  # every rank steps as often as the others
    for step, batch in enumerate(global_batches):
        assert sorted(sum((share[step] for share in shares), [])) == sorted(batch)
    assert distributed.rank_batches(None, 50, 12, True, seed=4)(epoch=3) != global_batches  # reshuffled each epoch


def test_length_buckets_are_dealt_out_whole_and_evenly(monkeypatch):
    lengths = [5, 9, 3, 40, 41, 8, 7, 39, 12, 2, 6, 44, 10]
    buckets = length_bucketed_batches(lengths, max_frames=50, max_batch_size=4, seed=1)
    every = [sorted(b) for b in buckets(0)]
    shares = []
    for this in range(2):
        as_rank(monkeypatch, this, 2)
        shares.append(distributed.rank_batches(buckets, len(lengths), 4, drop_last=True, seed=1)(0))
    assert len(shares[0]) == len(shares[1]) == len(every) // 2
    dealt = [sorted(b) for share in shares for b in share]
    assert all(bucket in every for bucket in dealt)  # never split, never mixed
    assert len(dealt) == len(every) - len(every) % 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def group_of_one(monkeypatch):
    """This process as the only rank of a gloo process group, as `torchrun --nproc_per_node 1` makes it."""
    for name, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                        "MASTER_PORT": str(_free_port())}.items():
        monkeypatch.setenv(name, value)
    assert distributed.launched_by_torchrun()
    distributed.join_process_group(timeout=30)
    yield
    distributed.leave_process_group()


def _regression():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, generator=generator)
    return TensorDataset(x, x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(64, generator=generator))


def _step(module, batch, device):
    x, y = batch
    return torch.nn.functional.mse_loss(module(x.to(device)).squeeze(1), y.to(device))


class _Stop(Exception):
    pass


def _fit(checkpoint_dir, stop_after=None, epochs_run=None):
    torch.manual_seed(0)
    module = torch.nn.Linear(3, 1)
    config = TrainConfig(epochs=3, batch_size=16, device="cpu", progress=False, checkpoint_dir=str(checkpoint_dir))

    def after_epoch(row):
        if epochs_run is not None:
            epochs_run.append(row["epoch"])
        if row["epoch"] == stop_after:
            raise _Stop

    try:
        result = train(module, _regression(), _step, config, on_epoch_end=after_epoch, resume_key="regression")
    except _Stop:
        return None, None
    return module, result


def test_a_group_of_one_trains_replicas_and_resumes_from_its_checkpoint(group_of_one, tmp_path):
    assert distributed.active() and distributed.is_main_process() and dist.get_backend() == "gloo"
    module, result = _fit(tmp_path / "whole")
    assert [row["epoch"] for row in result.history] == [1, 2, 3]
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]

    assert _fit(tmp_path / "interrupted", stop_after=1) == (None, None)  # killed after epoch 1's checkpoint
    epochs_run = []
    resumed, resumed_result = _fit(tmp_path / "interrupted", epochs_run=epochs_run)  # rank 0 reads it, sends it
    assert epochs_run == [2, 3]
    assert [row["train_loss"] for row in resumed_result.history] == [row["train_loss"] for row in result.history]
    assert torch.equal(resumed.weight, module.weight)


def test_a_rank_whose_partners_never_join_times_out_with_a_clear_error(monkeypatch):
    for name, value in {"RANK": "0", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port())}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(distributed.JOIN_TIMEOUT_VARIABLE, "1")
    with pytest.raises(distributed.ProcessGroupError,
                       match=r"rank 0 of 2: the other ranks did not join within 1 s at 127.0.0.1:\d+ .*--rdzv-endpoint"):
        distributed.join_process_group()
    assert not distributed.active()
