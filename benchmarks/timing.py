"""What several benchmarks time the same way: the best rate over repeats, and a plain PyTorch
training loop (the reference e2elab's shared loop is measured against)."""

from __future__ import annotations

import contextlib
import time

import torch
from torch.utils.data import DataLoader


def best_rate(fn, n_items: int, repeats: int) -> float:
    """Items per second of the fastest of `repeats` calls of `fn`, each handling `n_items`."""
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        rates.append(n_items / (time.perf_counter() - started))
    return max(rates)


def plain_training_rate(module, data, step, optimizer, *, batch_size: int, epochs: int, device: str, bf16: bool,
                        collate_fn) -> float:
    """Items per second of a bare loop: shuffled batches (sampler seed 0), forward under bfloat16
    autocast when `bf16`, backward, optimizer step; nothing else."""
    device = torch.device(device)
    module.to(device).train()
    loader = DataLoader(data, batch_size=batch_size, shuffle=True, drop_last=True, collate_fn=collate_fn,
                        generator=torch.Generator().manual_seed(0))
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext
    started = time.perf_counter()
    for _ in range(epochs):
        for batch in loader:
            with autocast():
                loss = step(module, batch, device)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return epochs * len(loader) * batch_size / (time.perf_counter() - started)
