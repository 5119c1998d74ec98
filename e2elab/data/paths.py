"""Where e2elab looks for data and keeps what it generates or downloads."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path | None:
    """$E2ELAB_DATA_DIR, where built-in data sets are looked up first (None when unset)."""
    value = os.environ.get("E2ELAB_DATA_DIR")
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """$E2ELAB_CACHE_DIR, else $XDG_CACHE_HOME/e2elab, else ~/.cache/e2elab (created on demand)."""
    value = os.environ.get("E2ELAB_CACHE_DIR")
    if value:
        path = Path(value).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(base) / "e2elab"
    path.mkdir(parents=True, exist_ok=True)
    return path


def search_dirs() -> list[Path]:
    """The folders a built-in data set is looked for in, in order."""
    dirs = [d for d in (data_dir(),) if d is not None]
    return dirs + [cache_dir()]
