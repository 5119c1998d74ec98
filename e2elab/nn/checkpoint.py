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
import tempfile
from pathlib import Path
from typing import Any

import torch

CHECKPOINT_FILE = "checkpoint.pt"
METRICS_FILE = "metrics.jsonl"


def save_checkpoint(directory: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write `state` to `directory`/checkpoint.pt atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CHECKPOINT_FILE
    handle, tmp = tempfile.mkstemp(prefix=f".{CHECKPOINT_FILE}.", dir=directory)
    os.close(handle)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(directory: str | os.PathLike) -> dict[str, Any] | None:
    """The checkpoint saved in `directory`, or None when there is none (a fresh run)."""
    path = Path(directory) / CHECKPOINT_FILE
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated file, or one holding more than plain tensors
        raise RuntimeError(f"{path}: cannot resume from this checkpoint ({err}); delete it to start afresh") from None


def write_metrics(directory: str | os.PathLike, history: list[dict[str, Any]]) -> Path:
    """Rewrite `directory`/metrics.jsonl with one JSON line per epoch of `history`.

    Rewritten whole (atomically) rather than appended, so a resumed run never repeats or loses
    the lines of epochs that were redone.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / METRICS_FILE
    text = "".join(json.dumps({k: _plain(v) for k, v in row.items()}) + "\n" for row in history)
    handle, tmp = tempfile.mkstemp(prefix=f".{METRICS_FILE}.", dir=directory)
    with os.fdopen(handle, "w") as out:
        out.write(text)
    os.replace(tmp, path)
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
