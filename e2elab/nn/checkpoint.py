"""Training checkpoints and the per-epoch metrics log.

A checkpoint is written with ``torch.save`` but holds only tensors, numbers, strings, lists and
dicts, so it is read back with ``torch.load(..., weights_only=True)``: no arbitrary code runs when
a run is resumed. Writes are atomic (a temporary file, then a rename), so a run killed while
saving leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_path, atomic_write_text
from ..errors import RunFolderError

CHECKPOINT_FILE = "checkpoint.pt"
METRICS_FILE = "metrics.jsonl"


def save_checkpoint(directory: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write `state` to `directory`/checkpoint.pt atomically.

    A write that fails (a full disk) is a RunFolderError naming the file; the previous
    checkpoint stays as it was.
    """
    directory = Path(directory)
    path = directory / CHECKPOINT_FILE
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
    except (OSError, RuntimeError) as err:  # torch.save reports a failed write as a RuntimeError
        raise RunFolderError(f"{path}: cannot write the checkpoint ({err})") from None
    return path


def load_checkpoint(directory: str | os.PathLike) -> dict[str, Any] | None:
    """The checkpoint saved in `directory`, or None when there is none (a fresh run)."""
    path = Path(directory) / CHECKPOINT_FILE
    if not path.exists():
        return None
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated file, or one holding more than plain tensors
        raise RunFolderError(f"{path}: cannot resume from this checkpoint, it is corrupt or truncated ({err}); "
                             "use a new --out, or --overwrite to discard it") from None
    if not isinstance(checkpoint, dict) or "next_epoch" not in checkpoint:
        raise RunFolderError(f"{path}: not a checkpoint of the e2elab training loop; "
                             "use a new --out, or --overwrite to discard it")
    return checkpoint


def write_metrics(directory: str | os.PathLike, history: list[dict[str, Any]]) -> Path:
    """Rewrite `directory`/metrics.jsonl with one JSON line per epoch of `history`.

    Rewritten whole (atomically) rather than appended, so a resumed run never repeats or loses
    the lines of epochs that were redone.
    """
    path = Path(directory) / METRICS_FILE
    text = "".join(json.dumps({k: _plain(v) for k, v in row.items()}) + "\n" for row in history)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)
    except OSError as err:
        raise RunFolderError(f"{path}: cannot write the metrics ({err})") from None
    return path


def read_metrics(directory: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of `directory`/metrics.jsonl (empty when absent)."""
    path = Path(directory) / METRICS_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _plain(value):
    """A JSON-safe number: NaN and infinities become None (JSON has no literal for them)."""
    if isinstance(value, torch.Tensor):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
