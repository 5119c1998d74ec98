"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Every write goes to a temporary file in the target's own folder (so the final rename stays on one
file system), is flushed and fsynced, then renamed over the target with :func:`os.replace`. If
anything fails on the way (a full disk, an exception in the writer, an interrupt) the temporary
file is removed and the previous version of the target is left as it was.

    atomic_write_json(run / "results.json", results)
    with atomic_path(run / "model.pt") as temporary:
        torch.save(state, temporary)     # any writer that takes a path
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside `path`; when the block ends without error it replaces `path`.

    The temporary file already exists (empty) when the block starts, created with the usual
    permissions (0666 less the umask), so a writer may open it by name or replace its content.
    """
    path = Path(path)
    temporary = _create_temporary(path)
    try:
        yield temporary
        _fsync_file(temporary)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_folder(path.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically; returns `path`."""
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        handle.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` atomically; returns `path`."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: str | os.PathLike, obj: Any, **dumps_options) -> Path:
    """Write `obj` as JSON (indent=2 unless given) to `path` atomically; returns `path`."""
    dumps_options.setdefault("indent", 2)
    return atomic_write_text(path, json.dumps(obj, **dumps_options) + "\n")


def _create_temporary(path: Path) -> Path:
    """A new, empty file named after `path` in its folder; a random part keeps writers apart."""
    while True:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(descriptor)
        return temporary


def _fsync_file(path: Path) -> None:
    # A rename is only durable once the data it points to has reached the disk; without this a
    # crash right after the rename can leave an empty file where the old one was.
    descriptor = os.open(path, os.O_RDWR)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable, where the platform lets a folder be fsynced."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    except OSError:  # some file systems refuse fsync on a folder; the data itself is safe
        pass
    finally:
        os.close(descriptor)
