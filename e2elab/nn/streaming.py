"""Training on items read from disk while the network trains, never all held in memory.

A streamed dataset reads (decodes, resamples) each item when a batch needs it, in DataLoader
worker processes when `num_workers` > 0. Two things can go wrong there that the training loop
must turn into clear errors:

* **An item fails to decode mid-epoch** (a file that passed the header check but whose data is
  damaged). A worker cannot raise an e2elab error usefully (DataLoader re-raises it as a bare
  RuntimeError) nor record a skip (its memory is its own), so :class:`StreamedItems` returns an
  :class:`Unreadable` marker in the item's place; :func:`readable_collate` carries the markers
  beside the batch, and :class:`SkipLedger` acts on them in the training process, as `on_error`
  says: a DataError naming the file, or a skip that is counted in the fit's record.
* **A worker process dies** (killed by the out-of-memory killer or by hand): DataLoader raises a
  RuntimeError from wherever the training process is when it notices. :func:`explain_dead_workers`
  turns it into a :class:`LoaderWorkerDied` that says what happened and that the last checkpoint
  is intact (checkpoints are written atomically, once per finished epoch), so rerunning the same
  fit resumes from it.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import DataError, E2elabError

# A decoded training set larger than this is streamed from disk even when the user asked for
# neither loader workers nor a cache (1 GiB: 9 hours of audio at 8 kHz, or 87,000 colour images
# at 64 px kept at twice the size for crops).
STREAM_ABOVE_BYTES = 1 << 30

log = logging.getLogger(__name__)


class LoaderWorkerDied(E2elabError, RuntimeError):
    """A DataLoader worker process died mid-epoch; the run stopped with its last checkpoint intact."""


@dataclass(frozen=True)
class Unreadable:
    """Stands for an item that could not be read: its name (a path) and what went wrong."""

    name: str
    reason: str


class StreamedItems(torch.utils.data.Dataset):
    """(item read by `read`, target) pairs; an item `read` rejects with a DataError becomes Unreadable.

    `read(item, name)` runs on every access, in the worker process that builds the batch, so the
    dataset holds only the items' sources (paths) and targets.
    """

    def __init__(self, items: Sequence[Any], names: Sequence[str], targets: Sequence[Any],
                 read: Callable[[Any, str], Any]):
        if not len(items) == len(names) == len(targets):
            raise ValueError(f"{len(items)} items, {len(names)} names and {len(targets)} targets")
        self.items, self.names, self.targets, self.read = items, names, targets, read

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        try:
            return self.read(self.items[index], self.names[index]), self.targets[index]
        except DataError as err:
            return Unreadable(err.source or self.names[index], err.reason), self.targets[index]


def readable_collate(collate: Callable[[list], Any]) -> Callable[[list], tuple[Any, list[Unreadable]]]:
    """A collate function that sets Unreadable items aside: -> (collate(readable) or None, unreadable)."""

    def collate_readable(pairs: list) -> tuple[Any, list[Unreadable]]:
        readable = [pair for pair in pairs if not isinstance(pair[0], Unreadable)]
        unreadable = [pair[0] for pair in pairs if isinstance(pair[0], Unreadable)]
        return (collate(readable) if readable else None), unreadable

    return collate_readable


class SkipLedger:
    """Acts on the Unreadable items of each batch in the training process, as `on_error` says.

    "raise": a DataError naming the item. "skip": the item is logged once and kept in `skipped`
    as (name, reason); a file that cannot be read fails again every epoch but is counted once.
    """

    def __init__(self, on_error: str):
        self.on_error = on_error
        self.skipped: list[tuple[str, str]] = []
        self._seen: set[str] = set()

    def note(self, unreadable: list[Unreadable]) -> None:
        for item in unreadable:
            if self.on_error != "skip":
                raise DataError(item.name, f"{item.reason} (while training)")
            if item.name not in self._seen:
                self._seen.add(item.name)
                self.skipped.append((item.name, item.reason))
                log.warning("skipped %s while training (on_error='skip'): %s", item.name, item.reason)

    def step(self, step: Callable) -> Callable:
        """The training loop's step on batches from :func:`readable_collate`."""

        def step_on_readable(module, batch, device):
            inner, unreadable = batch
            self.note(unreadable)
            if inner is None:  # every item failed: a zero loss that still touches every weight (DDP expects it)
                return sum(p.sum() for p in module.parameters() if p.requires_grad) * 0.0
            return step(module, inner, device)

        return step_on_readable

    def validate(self, validate: Callable) -> Callable:
        """The training loop's validate on batches from :func:`readable_collate`."""

        def validate_on_readable(module, loader, device):
            return validate(module, self._readable(loader), device)

        return validate_on_readable

    def _readable(self, loader):
        for inner, unreadable in loader:
            self.note(unreadable)
            if inner is not None:
                yield inner


def explain_dead_workers(train: Callable) -> Callable:
    """Wrap the training loop so that a dead DataLoader worker becomes a LoaderWorkerDied."""
    signature = inspect.signature(train)

    @functools.wraps(train)
    def train_explaining_dead_workers(*args, **kwargs):
        try:
            return train(*args, **kwargs)
        except RuntimeError as err:
            if "DataLoader worker" not in str(err):
                raise
            folder = signature.bind(*args, **kwargs).arguments["config"].checkpoint_dir
            after = (f"the checkpoint in {folder} (written after every finished epoch) is intact: run the same fit "
                     "again to resume from it" if folder else "without checkpoint_dir the run must start over")
            raise LoaderWorkerDied(f"a data-loading worker process died mid-epoch ({err}); it may have been killed, "
                                   f"e.g. for lack of memory (fewer num_workers need less); {after}") from err

    return train_explaining_dead_workers
