"""A grid of independent trainings run through joblib, resumable cell by cell.

Every cell (one pipeline, one split or size, one seed) is described by a JSON `spec` that fixes
its result. When a cell finishes, its result is written to ``RUN/cells/<key>.json`` together with
its spec; a later run over the same folder reuses every cell whose file holds the same spec, so an
interrupted experiment resumes where it stopped. A cell file holding another spec, or a folder
whose recorded configuration (``RUN/experiment.json``) differs, is an error: results computed
under other settings are never silently replaced (the user discards them with ``--overwrite``).

The cells run through ``joblib.Parallel``, one task each, under the backend that
:mod:`e2elab.experiments.backends` configures: local processes (the default), or a Dask or Ray
cluster. Results come back in the main process, which alone writes the cell files, so workers need
no shared file system, and a grid interrupted on a cluster resumes from the cells on disk.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..atomic import atomic_write_json
from ..errors import RunFolderError
from .backends import GridBackend, grid_backend

CELLS_DIR = "cells"
CONFIGURATION_FILE = "experiment.json"


@dataclass(frozen=True)
class Cell:
    """One training of the grid: `key` names it (and its file); `spec` determines its result."""

    key: str
    spec: dict


def cell_path(run_dir: Path, key: str) -> Path:
    """The file that holds cell `key`'s result, with the key made safe as a file name."""
    return Path(run_dir) / CELLS_DIR / (re.sub(r"[^A-Za-z0-9._=-]+", "_", key) + ".json")


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def load_finished(run_dir: Path, cell: Cell) -> dict | None:
    """The saved result of `cell`, or None if it has not finished (or its file is unreadable).

    A file holding another spec for the same key is a RunFolderError: the folder holds a run with
    other settings, and running on would mix the two or overwrite its results.
    """
    path = cell_path(run_dir, cell.key)
    try:
        saved = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    spec = saved.get("spec") or {}
    if _canonical(spec) != _canonical(cell.spec):
        differing = sorted(k for k in spec.keys() | cell.spec.keys() if _canonical(spec.get(k)) != _canonical(cell.spec.get(k)))
        raise RunFolderError(f"{path} holds a result computed with other settings ({', '.join(differing)} differ); "
                             "use a new --out, or --overwrite to discard it")
    return saved.get("result")


def record_configuration(run_dir, configuration: dict) -> None:
    """Record what an experiment in `run_dir` measures, or refuse a folder that holds another.

    configuration: the settings that shape the experiment's results (task, data, pipelines,
    seeds, sizes, parameters...). A rerun with the same settings resumes; with others it would
    overwrite the results, so it is refused instead.
    """
    path = Path(run_dir) / CONFIGURATION_FILE
    configuration = json.loads(_canonical(configuration))  # as it reads back from the file
    if path.exists():
        try:
            saved = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise RunFolderError(f"{path}: not valid JSON ({err}); use --overwrite to discard the run") from None
        differing = sorted(k for k in saved.keys() | configuration.keys()
                           if _canonical(saved.get(k)) != _canonical(configuration.get(k)))
        if differing:
            raise RunFolderError(f"{run_dir} holds a {saved.get('experiment', 'run')} run with other settings "
                                 f"({', '.join(differing)} differ); use a new --out, or --overwrite to discard it")
        return
    _write(path, configuration)


def _save(run_dir: Path, cell: Cell, result: dict, seconds: float) -> None:
    _write(cell_path(run_dir, cell.key), {"key": cell.key, "spec": cell.spec, "result": result, "seconds": seconds})


def _write(path: Path, payload: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, payload, indent=1)
    except OSError as err:
        raise RunFolderError(f"{path}: cannot write it ({err.strerror or err})") from None


def _call(function: Callable, key: str, spec: dict, shared: tuple) -> tuple[str, dict, float]:
    start = time.perf_counter()
    result = function(spec, *shared)
    return key, result, time.perf_counter() - start


def run_grid(cells: list[Cell], function: Callable[..., dict], run_dir, shared: tuple = (), *, jobs: int = 1,
             backend: str | GridBackend = "loky", progress: bool = True, desc: str = "grid") -> dict[str, dict]:
    """Run `function(cell.spec, *shared)` for every cell not already finished in `run_dir`.

    `function` must be importable at module level (process backends send it to workers) and
    return a JSON-serialisable dict. Returns {key: result} for all cells, reused and new.
    A failing cell stops the grid; the cells finished before it stay saved. backend: a name
    ("local", "dask", "ray"...) or a GridBackend with the address of a cluster.
    """
    from tqdm.auto import tqdm

    backend = GridBackend.of(backend)  # an unknown name fails before any cell runs
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
        # every backend dispatches in order, so the cells in flight are the first unfinished ones
        running = pending[:width]
        bar.set_postfix_str(("training " + ", ".join(running)) if running else "done", refresh=True)

    try:
        if todo:
            show_running()
            with grid_backend(backend, jobs) as run:
                for key, result, seconds in run(_call, [(function, cell.key, cell.spec) for cell in todo], (shared,)):
                    _save(run_dir, by_key[key], result, seconds)
                    results[key] = result
                    pending.remove(key)
                    bar.update(1)
                    show_running()
    finally:
        bar.close()
    return {key: results[key] for key in keys}
