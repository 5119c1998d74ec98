"""Shared fixtures. Tests that need the real data sets skip when E2ELAB_DATA_DIR does not hold them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep every test's downloads and generated corpora out of the user's cache, shared per session."""
    cache = tmp_path_factory.getbasetemp() / "e2elab-cache"
    monkeypatch.setenv("E2ELAB_CACHE_DIR", str(cache))


@pytest.fixture
def one_thread():
    """Torch on one thread for the test: networks this small gain nothing from threads, and lose
    much on a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def shared_data():
    """A function: the folder of real data set `name` under $E2ELAB_DATA_DIR, or skip the test."""

    def find(name: str) -> Path:
        root = os.environ.get("E2ELAB_DATA_DIR")
        if not root or not (Path(root) / name).exists():
            pytest.skip(f"real data set {name!r} not found (set E2ELAB_DATA_DIR)")
        return Path(root) / name

    return find
