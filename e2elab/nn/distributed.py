"""Training on several processes with PyTorch DistributedDataParallel (DDP).

Under ``torchrun`` (``python -m e2elab`` joins the process group itself) or in a program that has
called ``torch.distributed.init_process_group``, the training loop runs one replica of the network
per process and averages the gradients after every backward pass. What this module decides:

- which process group: gloo for tensors on the CPU, NCCL for tensors on a GPU (one GPU per
  process, the one numbered LOCAL_RANK);
- which items each rank trains on: every rank draws the same global batches from the same seed
  and takes its share. Plain batches are sliced (rank r takes items r, r + W, ... of each batch
  of `batch_size`), so W processes see the batches one process would, `batch_size` being the
  global batch; length buckets (speech, translation) stay whole and are dealt out, so a rank
  never pads a short clip to a long one;
- who writes: rank 0 alone writes checkpoints, metrics and models; a resumed run reads rank 0's
  checkpoint and sends it to the others over the process group, so the ranks need no shared disk.

Outside a process group every function here is a no-op, and the loop is the one-process loop.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from ..errors import E2elabError

JOIN_TIMEOUT_VARIABLE = "E2ELAB_JOIN_TIMEOUT"  # seconds the ranks wait for each other to join
DEFAULT_JOIN_TIMEOUT = 300.0

BatchSampler = Callable[[int], Iterable[list[int]]]


class ProcessGroupError(E2elabError):
    """The processes of a distributed run could not form their group (a rank did not join in time)."""


def launched_by_torchrun() -> bool:
    """Whether torchrun (or another launcher that sets its variables) started this process as a rank.

    One process under torchrun is a group of one: it draws its batches as the ranks of a larger
    group do, so a run on one process and on N give the same global batches.
    """
    return all(name in os.environ for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"))


def join_process_group(timeout: float | None = None) -> None:
    """Join the process group described by torchrun's variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT).

    timeout: seconds to wait for every rank (None: $E2ELAB_JOIN_TIMEOUT, else DEFAULT_JOIN_TIMEOUT);
    it also bounds every later collective, so a rank that dies mid-run stops the others.
    """
    if timeout is None:
        timeout = float(os.environ.get(JOIN_TIMEOUT_VARIABLE, DEFAULT_JOIN_TIMEOUT))
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
    try:
        dist.init_process_group(backend, timeout=timedelta(seconds=timeout))
    except dist.DistError as err:
        where = f"{os.environ.get('MASTER_ADDR', '?')}:{os.environ.get('MASTER_PORT', '?')}"
        raise ProcessGroupError(
            f"rank {rank} of {world}: the other ranks did not join within {timeout:g} s at {where} "
            f"({' '.join(str(err).split()[:16])}); check that every node runs the same torchrun command with the "
            f"same --nnodes and --rdzv-endpoint, or raise ${JOIN_TIMEOUT_VARIABLE}") from None


def leave_process_group() -> None:
    if active():
        dist.destroy_process_group()


def active() -> bool:
    """Whether this process trains as one rank of an initialised process group."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_main_process() -> bool:
    """Rank 0, or the only process: the one that writes files."""
    return rank() == 0


def rank_device(device: torch.device) -> torch.device:
    """`device`, with "cuda" made this rank's own GPU (LOCAL_RANK) in a process group."""
    if active() and device.type == "cuda" and device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    return device


def rank_batches(batch_sampler: BatchSampler | None, n_items: int, batch_size: int, drop_last: bool,
                 seed: int) -> BatchSampler:
    """This rank's batches for each epoch (a batch sampler for the training loop).

    batch_sampler: the run's length buckets, dealt out whole; None: batches of `batch_size` drawn
    from a seeded shuffle and sliced across the ranks. Every rank gets as many batches as the
    others (collectives need every rank at every step), so leftovers are dropped.
    """
    this, ranks = rank(), world_size()

    def buckets(epoch: int) -> list[list[int]]:
        whole = [list(b) for b in batch_sampler(epoch)]
        whole = whole[:len(whole) - len(whole) % ranks]
        return whole[this::ranks]

    def slices(epoch: int) -> list[list[int]]:
        order = np.random.default_rng([seed, epoch]).permutation(n_items).tolist()
        batches = [order[i:i + batch_size] for i in range(0, n_items, batch_size)]
        if drop_last and len(batches) > 1 and len(batches[-1]) < batch_size:
            batches.pop()
        return [batch[this::ranks] for batch in batches if len(batch) >= ranks]

    return buckets if batch_sampler is not None else slices


def replicate(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """`module` wrapped for DDP (gradients averaged over the ranks) in a process group, else `module`.

    DDP copies rank 0's weights to every rank here, so wrap after restoring a checkpoint.
    """
    if not active():
        return module
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(module, device_ids=[device] if device.type == "cuda" else None)


def mean_over_ranks(value: torch.Tensor) -> torch.Tensor:
    """The mean of a scalar tensor over the ranks (each rank's own value outside a process group)."""
    if not active():
        return value
    total = value.detach().clone()
    dist.all_reduce(total)
    return total / world_size()


def from_main_process(read: Callable[[], Any]) -> Any:
    """`read()` on rank 0, sent to every rank (tensors, numbers, strings, lists, dicts, None).

    Sent as torch.save bytes and read back with weights_only=True, so a rank runs no code it receives.
    """
    if not active():
        return read()
    device = _collective_device()
    payload, failure = torch.zeros(0, dtype=torch.uint8), None
    if is_main_process():
        try:
            value = read()
        except Exception as err:  # tell the others before raising, or they would wait for the timeout
            failure = err
        else:
            buffer = io.BytesIO()
            torch.save(value, buffer)
            payload = torch.frombuffer(bytearray(buffer.getvalue()), dtype=torch.uint8)
    size = torch.tensor([-1 if failure else payload.numel()], dtype=torch.int64, device=device)
    dist.broadcast(size, src=0)
    if failure is not None:
        raise failure
    if size.item() < 0:
        raise ProcessGroupError(f"rank {rank()}: rank 0 failed to read the checkpoint the ranks resume from; "
                                "rank 0's error says why")
    if not is_main_process():
        payload = torch.empty(int(size.item()), dtype=torch.uint8)
    payload = payload.to(device)
    dist.broadcast(payload, src=0)
    return torch.load(io.BytesIO(payload.cpu().numpy().tobytes()), map_location="cpu", weights_only=True)


def _collective_device() -> torch.device:
    """Where tensors must be for the group's collectives: the GPU for an NCCL-only group, else the CPU."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")
