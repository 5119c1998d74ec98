"""Reading a model folder's files without following anything out of it.

A file entry in ``e2elab.json`` is a plain file name: no absolute path, no ``..``, no sub-folder.
The file it names must be a regular file in the folder itself (a symbolic link is refused even
when it points inside: the checksum would then vouch for whatever the link points to next), and
its size is checked before a single byte is read, so a link to ``/dev/zero``, a FIFO or a huge
file is refused at once instead of hanging or filling memory.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

from ..errors import ModelIntegrityError, UnsafeModelError

# Size limits, checked with lstat before reading. Generous: the largest network e2elab trains has
# a few million parameters (tens of MB), so 4 GiB leaves room for any backbone while stopping a
# file that would exhaust memory. A skops file holds a scikit-learn pipeline (support vectors,
# codebooks travel in the weights file), and e2elab.json holds parameters and a vocabulary.
MAX_WEIGHTS_BYTES = 4 * 2**30
MAX_SKOPS_BYTES = 512 * 2**20
MAX_META_BYTES = 16 * 2**20

# os.open flags: never follow a link swapped in after the lstat, and never block opening a FIFO.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def check_entry_name(name: str, source: str | os.PathLike) -> None:
    """Refuse a file entry of `source` (an e2elab.json) that is not a plain file name in the folder."""
    if not name or "\x00" in name:
        reason = "is empty or holds a NUL character"
    elif PurePosixPath(name).is_absolute() or PureWindowsPath(name).anchor:
        reason = "is an absolute path"
    elif ".." in PurePosixPath(name.replace("\\", "/")).parts:
        reason = "climbs out of the model folder with '..'"
    elif "/" in name or "\\" in name or name == ".":
        reason = "is a path, not a plain file name in the model folder"
    else:
        return
    raise UnsafeModelError(f"{source}: file entry {name!r} {reason}; refusing the model")


def read_model_file(path: Path, limit: int) -> bytes:
    """The bytes of `path`, a regular file (not a link) of at most `limit` bytes."""
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        raise ModelIntegrityError(f"{path.parent}: {path.name} is missing") from None
    _check_kind_and_size(path, before, limit)
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except OSError as err:  # ELOOP: the file became a link since the lstat
        raise UnsafeModelError(f"{path}: cannot be opened as a plain file ({err.strerror})") from None
    with os.fdopen(descriptor, "rb") as handle:
        after = os.fstat(handle.fileno())
        if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
            raise UnsafeModelError(f"{path}: was replaced while it was being read; refusing it")
        _check_kind_and_size(path, after, limit)
        data = handle.read(limit + 1)
    if len(data) > limit:  # grew since the fstat
        raise ModelIntegrityError(f"{path}: larger than the {_size(limit)} limit for this kind of file")
    return data


def _check_kind_and_size(path: Path, status: os.stat_result, limit: int) -> None:
    if stat.S_ISLNK(status.st_mode):
        raise UnsafeModelError(f"{path}: is a symbolic link; a model folder must hold its files itself")
    if not stat.S_ISREG(status.st_mode):
        raise UnsafeModelError(f"{path}: is not a regular file (a folder, FIFO or device); refusing to read it")
    if status.st_size > limit:
        raise ModelIntegrityError(f"{path}: is {_size(status.st_size)}, over the {_size(limit)} limit "
                                  "for this kind of file")


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:.1f} MiB" if n_bytes < 2**30 else f"{n_bytes / 2**30:.1f} GiB"
