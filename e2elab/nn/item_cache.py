"""An on-disk cache of decoded items, shared by processes that may write it at the same time.

Decoding a compressed clip and resampling it costs more than reading the result back, and a
corpus larger than memory is decoded again every epoch. `ItemCache` keeps each decoded item as
one file named by a digest of the item's identity (path, size, modification time) and of the
settings that shape the decoded result (e.g. the working sample rate), so an edited file or other
settings miss the cache instead of reading a stale entry.

Concurrent writers (DataLoader workers, several runs on one corpus) are safe: an entry is written
to a temporary name and renamed over the final one (:mod:`e2elab.atomic`), so a reader sees a
whole entry or none, and two writers of the same entry write the same bytes. An entry starts with
a digest of its content; one that does not match (a disk that lost data, a copy cut short, any
tampering) is logged and rebuilt. Entries hold plain ``.npy`` arrays, read with
``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write_bytes
from ..errors import RunFolderError

log = logging.getLogger(__name__)

MAGIC = b"e2elab-item\x01"
DIGEST_BYTES = 32


def item_key(item) -> tuple:
    """A cheap, stable identity for a raw item: path + size + mtime, or a hash of an array's bytes."""
    if isinstance(item, (str, Path)):
        path = Path(item)
        try:
            stat = path.stat()
            return ("path", str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        except OSError:
            return ("path", str(path), -1, -1)
    array = np.ascontiguousarray(item)
    return ("array", array.shape, str(array.dtype), hashlib.sha1(array.tobytes()).hexdigest())


class ItemCache:
    """Decoded arrays in `folder`, one file per (item, `settings`).

    The folder is created if missing; one that cannot be created or written is a RunFolderError
    at once, not a failure deep inside a worker process mid-epoch.
    """

    def __init__(self, folder: str | os.PathLike, settings: dict[str, Any]):
        self.folder = Path(folder)
        self.settings = settings
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RunFolderError(f"{self.folder}: cannot create the cache folder ({err.strerror})") from None
        if not os.access(self.folder, os.W_OK | os.X_OK):
            raise RunFolderError(f"{self.folder}: the cache folder is read-only; give a writable cache_dir "
                                 "or none (items are then decoded every epoch)")

    def entry_path(self, item) -> Path:
        identity = json.dumps([item_key(item), self.settings], sort_keys=True, default=str)
        return self.folder / f"{hashlib.sha256(identity.encode()).hexdigest()}.npy"

    def get(self, item, build: Callable[[], np.ndarray]) -> np.ndarray:
        """The cached array of `item`, or `build()`'s, stored for next time."""
        path = self.entry_path(item)
        cached = self._read(path)
        if cached is not None:
            return cached
        array = np.ascontiguousarray(build())
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        payload = buffer.getvalue()
        try:
            atomic_write_bytes(path, MAGIC + hashlib.sha256(payload).digest() + payload)
        except OSError as err:
            raise RunFolderError(f"{path}: cannot write a cache entry ({err.strerror})") from None
        return array

    def _read(self, path: Path) -> np.ndarray | None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise RunFolderError(f"{path}: cannot read a cache entry ({err.strerror})") from None
        header = len(MAGIC) + DIGEST_BYTES
        payload = data[header:]
        if data[:len(MAGIC)] == MAGIC and hashlib.sha256(payload).digest() == data[len(MAGIC):header]:
            try:
                return np.load(io.BytesIO(payload), allow_pickle=False)
            except ValueError:  # a well-formed digest over a malformed array: written by something else
                pass
        log.warning("%s: cache entry is damaged (cut short or altered); decoding the item again", path)
        return None
