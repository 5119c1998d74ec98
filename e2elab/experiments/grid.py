"""A grid of independent trainings run through joblib, resumable cell by cell.

Every cell (one pipeline, one split or size, one seed) is described by a JSON `spec` that fixes
its result. When a cell finishes, its result is written to ``RUN/cells/<key>.json`` together with
its spec; a later run over the same folder reuses every cell whose file holds the same spec, so an
interrupted experiment resumes where it stopped and a changed setting recomputes only what it
changes.

The cells run through ``joblib.Parallel`` under ``joblib.parallel_config(backend=...)``: "loky"
(processes, the default), "threading", "sequential", or "dask" / "ray" to spread the same grid over
a cluster (these need the `distributed` extra). Results come back in the main process, which alone
writes the cell files, so workers need no shared file system.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

BACKENDS = ("loky", "threading", "sequential", "dask", "ray")
CELLS_DIR = "cells"


@dataclass(frozen=True)
class Cell:
    """One training of the grid: `key` names it (and its file); `spec` determines its result."""

    key: str
    spec: dict


def cell_path(run_dir: Path, key: str) -> Path:
    """The file that holds cell `key`'s result, with the key made safe as a file name."""
    return Path(run_dir) / CELLS_DIR / (re.sub(r"[^A-Za-z0-9._=-]+", "_", key) + ".json")


def _canonical(spec: dict) -> str:
    return json.dumps(spec, sort_keys=True, default=str)


def load_finished(run_dir: Path, cell: Cell) -> dict | None:
    """The saved result of `cell`, or None if it has not finished (or was run with another spec)."""
    path = cell_path(run_dir, cell.key)
    try:
        saved = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if _canonical(saved.get("spec")) != _canonical(cell.spec):
        return None
    return saved.get("result")


def _save(run_dir: Path, cell: Cell, result: dict, seconds: float) -> None:
    path = cell_path(run_dir, cell.key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"key": cell.key, "spec": cell.spec, "result": result, "seconds": seconds}, indent=1))
    tmp.replace(path)


def _call(function: Callable, key: str, spec: dict, shared: tuple) -> tuple[str, dict, float]:
    start = time.perf_counter()
    result = function(spec, *shared)
    return key, result, time.perf_counter() - start


@contextlib.contextmanager
def backend_config(backend: str, jobs: int):
    """joblib's parallel_config for `backend`, connecting to a Dask or Ray cluster where asked.

    Dask: an existing `distributed.Client`, or one to the scheduler named by the Dask config
    (e.g. DASK_SCHEDULER_ADDRESS), or a local cluster. Ray: `ray.init()`'s usual discovery
    (RAY_ADDRESS, or a local instance).
    """
    from joblib import parallel_config

    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if backend == "dask":
        try:
            from distributed import Client, get_client
        except ImportError:
            raise ImportError("the dask backend needs `pip install e2elab[distributed]`") from None
        try:
            get_client()
            client = None
        except ValueError:
            client = Client()
        try:
            with parallel_config(backend="dask", n_jobs=jobs):
                yield
        finally:
            if client is not None:
                client.close()
        return
    if backend == "ray":
        try:
            from ray.util.joblib import register_ray
        except ImportError:
            raise ImportError("the ray backend needs `pip install e2elab[distributed]`") from None
        register_ray()
        with parallel_config(backend="ray", n_jobs=jobs):
            yield
        return
    with parallel_config(backend=backend, n_jobs=jobs):
        yield


def run_grid(cells: list[Cell], function: Callable[..., dict], run_dir, shared: tuple = (), *, jobs: int = 1,
             backend: str = "loky", progress: bool = True, desc: str = "grid") -> dict[str, dict]:
    """Run `function(cell.spec, *shared)` for every cell not already finished in `run_dir`.

    `function` must be importable at module level (process backends send it to workers) and
    return a JSON-serialisable dict. Returns {key: result} for all cells, reused and new.
    A failing cell stops the grid; the cells finished before it stay saved.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    keys = [cell.key for cell in cells]
    if len(set(keys)) != len(keys):
        raise ValueError("grid cells must have distinct keys")
    run_dir = Path(run_dir)
    results: dict[str, Any] = {}
    todo = []
    for cell in cells:
        saved = load_finished(run_dir, cell)
        if saved is None:
            todo.append(cell)
        else:
            results[cell.key] = saved
    by_key = {cell.key: cell for cell in todo}
    pending = [cell.key for cell in todo]  # in dispatch order
    bar = tqdm(total=len(cells), initial=len(results), desc=desc, unit="cell", disable=not progress, dynamic_ncols=True)
    width = max(1, jobs if jobs > 0 else os.cpu_count() or 1)

    def show_running():
        # joblib dispatches in order, so the cells in flight are the first unfinished ones
        running = pending[:width]
        bar.set_postfix_str(("training " + ", ".join(running)) if running else "done", refresh=True)

    try:
        if todo:
            show_running()
            with backend_config(backend, jobs):
                stream = Parallel(n_jobs=jobs, return_as="generator_unordered")(
                    delayed(_call)(function, cell.key, cell.spec, shared) for cell in todo)
                for key, result, seconds in stream:
                    _save(run_dir, by_key[key], result, seconds)
                    results[key] = result
                    pending.remove(key)
                    bar.update(1)
                    show_running()
    finally:
        bar.close()
    return {key: results[key] for key in keys}
