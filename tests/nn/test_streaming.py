"""Streamed training data: unreadable items mid-epoch, and a DataLoader worker killed mid-run."""

from __future__ import annotations

import os
import signal

import pytest
import torch

from e2elab.errors import DataError
from e2elab.nn import TrainConfig, load_checkpoint, train
from e2elab.nn.streaming import (
    LoaderWorkerDied,
    SkipLedger,
    StreamedItems,
    Unreadable,
    readable_collate,
)


def _read(item, name):
    if item < 0:
        raise DataError(name, "cannot decode")
    return torch.tensor([float(item)])


def _items(n=8, broken=()):
    values = [-1 if i in broken else i for i in range(n)]
    return StreamedItems(values, [f"clip{i}.wav" for i in range(n)], [i % 2 for i in range(n)], _read)


def _stack(pairs):
    return torch.stack([x for x, _ in pairs]), torch.tensor([y for _, y in pairs])


def test_an_unreadable_item_becomes_a_marker_that_collate_sets_aside():
    data = _items(broken={2})
    assert data[2][0] == Unreadable("clip2.wav", "cannot decode")
    batch, unreadable = readable_collate(_stack)([data[i] for i in range(4)])
    assert batch[0].flatten().tolist() == [0.0, 1.0, 3.0]
    assert unreadable == [Unreadable("clip2.wav", "cannot decode")]
    assert readable_collate(_stack)([data[2]]) == (None, [Unreadable("clip2.wav", "cannot decode")])


def test_the_ledger_raises_naming_the_file_or_counts_each_file_once():
    marker = Unreadable("clip2.wav", "cannot decode")
    with pytest.raises(DataError, match="clip2.wav: cannot decode"):
        SkipLedger("raise").note([marker])
    ledger = SkipLedger("skip")
    ledger.note([marker])
    ledger.note([marker])  # the same file fails again next epoch
    assert ledger.skipped == [("clip2.wav", "cannot decode")]


def test_a_batch_of_only_unreadable_items_gives_a_zero_loss_with_gradients():
    module = torch.nn.Linear(1, 2)
    step = SkipLedger("skip").step(lambda *_: pytest.fail("the inner step must not see an empty batch"))
    loss = step(module, (None, [Unreadable("a.wav", "bad")]), torch.device("cpu"))
    loss.backward()
    assert float(loss.detach()) == 0.0 and all(p.grad is not None for p in module.parameters())


class _PidRecordingItems(torch.utils.data.Dataset):
    """Items that write the pid of the process reading them into `folder`, so a test can kill it."""

    def __init__(self, folder, n=32):
        self.folder, self.n = folder, n

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        (self.folder / f"{os.getpid()}.pid").touch()
        x = torch.tensor([index / self.n, 1.0 - index / self.n])
        return x, torch.tensor(index % 2)


def _step(module, batch, device):
    x, y = (t.to(device) for t in batch)
    return torch.nn.functional.cross_entropy(module(x), y)


def test_a_killed_worker_is_a_clear_error_and_the_run_resumes_from_its_checkpoint(tmp_path):
    pids = tmp_path / "pids"
    pids.mkdir()
    config = TrainConfig(epochs=3, batch_size=8, num_workers=1, device="cpu", checkpoint_dir=str(tmp_path / "run"),
                         progress=False)
    data = _PidRecordingItems(pids)

    def kill_the_worker_after_epoch_1(row):
        if row["epoch"] == 1:
            for pid_file in pids.iterdir():
                os.kill(int(pid_file.stem), signal.SIGKILL)

    torch.manual_seed(0)
    with pytest.raises(LoaderWorkerDied, match=r"worker process died.*checkpoint in .*run.* is intact"):
        train(torch.nn.Linear(2, 2), data, _step, config, on_epoch_end=kill_the_worker_after_epoch_1)
    checkpoint = load_checkpoint(config.checkpoint_dir)
    assert checkpoint["next_epoch"] == 1

    torch.manual_seed(0)
    resumed = train(torch.nn.Linear(2, 2), data, _step, config)
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3]
    assert resumed.history[0] == checkpoint["history"][0]  # epoch 1 came from the checkpoint, not a rerun
