"""Output folders of the commands that train: checked before any data is read.

A run that would fail at its last step (the folder is read-only, the disk is nearly full, the
folder holds another run's work) should fail at its first, before minutes or hours of training.
So every training command first claims its folder: it refuses one that holds results unless the
user said what to do with them (`--overwrite` discards them; `--resume`, or a grid's own cell
files, continue them), writes and removes a probe file, and compares the free space with a
conservative estimate of what the run writes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..errors import RunFolderError
from ..io import META_FILE

# What a run may write at most, when nothing better is known before the data are read: a model
# folder plus a checkpoint holding the weights, the best weights and the optimizer's moments.
# The networks of e2elab are a few million parameters (tens of MB); the floor leaves room for them.
MIN_FREE_BYTES = 50 * 2**20


def claim_run_folder(folder: str | os.PathLike, outputs: tuple[str, ...], *, overwrite: bool = False,
                     reuse: bool = False, needed_bytes: int = MIN_FREE_BYTES) -> Path:
    """Make `folder` ready for a run, or raise RunFolderError saying why it cannot be used.

    outputs: glob patterns of what the command writes there; `overwrite` removes them (and only
    them: files e2elab did not write are never deleted). A folder that is not empty is refused
    unless `overwrite`, or `reuse` (the run continues what is there).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise RunFolderError(f"{folder} is a file, not a folder; use another --out")
    if overwrite:
        discard_outputs(folder, outputs)
    elif not reuse and folder.is_dir() and any(folder.iterdir()):
        raise RunFolderError(f"{folder} is not empty; use a new --out, --resume to continue the run there, "
                             "or --overwrite to discard it")
    check_writable(folder)
    check_free_space(folder, needed_bytes)
    return folder


def check_model_folder(folder: str | os.PathLike) -> None:
    """Refuse a `folder` that exists but is not an e2elab model folder (it would not be replaced)."""
    folder = Path(folder)
    if not folder.exists():
        return
    if not folder.is_dir() or (any(folder.iterdir()) and not (folder / META_FILE).is_file()):
        raise RunFolderError(f"{folder} exists and is not an e2elab model folder (no {META_FILE}); "
                             "move it away or use another --out")


def discard_outputs(folder: Path, outputs: tuple[str, ...]) -> None:
    """Remove what a previous run of the command wrote into `folder`."""
    if not folder.is_dir():
        return
    for pattern in outputs:
        for path in folder.glob(pattern):
            try:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            except OSError as err:
                raise RunFolderError(f"{path}: cannot discard it ({err.strerror or err})") from None


def check_writable(folder: Path) -> None:
    """Create `folder` and write and remove a probe file in it.

    A real write, not os.access: access() says yes to root on a read-only mount, and knows
    nothing of quotas or of a file system that went read-only after an error.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".e2elab-probe-") as probe:
            probe.write(b"e2elab")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as err:
        raise RunFolderError(f"{folder}: cannot write there ({err.strerror or err}); use another --out") from None


def check_free_space(folder: Path, needed_bytes: int) -> None:
    """Refuse to start a run that would fill the disk before it could save its results."""
    free = shutil.disk_usage(folder).free
    if free < needed_bytes:
        raise RunFolderError(f"{folder}: only {free / 2**20:.1f} MB free, and the run may write up to "
                             f"{needed_bytes / 2**20:.0f} MB (model and checkpoints); free some space or use another --out")
