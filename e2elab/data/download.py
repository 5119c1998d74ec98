"""Downloading a built-in data set's files: streamed, checksummed, renamed into place atomically.

A file is streamed to a temporary name beside its destination while its digest is computed; it
is renamed to the destination only when the digest matches the one published for it, so an
interrupted or tampered download never looks like a finished one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_path
from ..errors import DataError

CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 60


class DownloadError(DataError):
    """A file that could not be downloaded, or whose checksum does not match."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a built-in data set and where to fetch it.

    urls: mirrors, tried in order. sha256 (preferred) or md5: the digest its distributor
    publishes, or None where no digest is known (the file is then used unverified, and the
    registry says so).
    """

    filename: str
    urls: tuple[str, ...]
    sha256: str | None = None
    md5: str | None = None

    @property
    def verified(self) -> bool:
        return bool(self.sha256 or self.md5)


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """The hex digest of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, destination: str | os.PathLike, sha256: str | None = None, md5: str | None = None,
             progress=None, timeout: float = TIMEOUT_SECONDS) -> Path:
    """Fetch `url` to `destination`, verifying its digest; return the destination.

    `progress(done_bytes, total_bytes_or_None)` is called after each chunk when given.
    Raises DownloadError when the network cannot be reached, the server refuses, or the digest
    does not match (the partial file is removed in every case).
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    algorithm, expected = ("sha256", sha256) if sha256 else ("md5", md5) if md5 else ("sha256", None)
    digest = hashlib.new(algorithm)
    with atomic_path(destination) as temporary:
        with open(temporary, "wb") as out:
            try:
                request = urllib.request.Request(url, headers={"User-Agent": "e2elab"})
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    total = response.headers.get("Content-Length")
                    total = int(total) if total and total.isdigit() else None
                    done = 0
                    for block in iter(lambda: response.read(CHUNK_BYTES), b""):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress is not None:
                            progress(done, total)
            except urllib.error.HTTPError as err:
                raise DownloadError(url, f"server answered {err.code} {err.reason}") from None
            except (urllib.error.URLError, OSError) as err:
                reason = getattr(err, "reason", err)
                raise DownloadError(url, f"cannot download ({reason}); are you offline? Put the files under "
                                    "$E2ELAB_DATA_DIR or the e2elab cache by hand") from None
            if total is not None and done != total:
                raise DownloadError(url, f"download ended early: {done} of {total} bytes")
        if expected is not None and digest.hexdigest() != expected.lower():
            raise DownloadError(url, f"{algorithm} checksum mismatch: expected {expected}, got {digest.hexdigest()} "
                                "(a changed or corrupted file; it was not kept)")
    return destination


def fetch(remote: RemoteFile, folder: str | os.PathLike, progress=None) -> Path:
    """Download `remote` into `folder` from the first mirror that works."""
    errors = []
    for url in remote.urls:
        try:
            return download(url, Path(folder) / remote.filename, sha256=remote.sha256, md5=remote.md5, progress=progress)
        except DownloadError as err:
            if "checksum" in err.reason:
                raise
            errors.append(str(err))
    raise DownloadError(remote.filename, "every mirror failed:\n  " + "\n  ".join(errors))


def extract_zip(archive: str | os.PathLike, destination: str | os.PathLike, member_filter=None) -> Path:
    """Unpack `archive` into `destination` atomically (a temporary folder, then a rename).

    `member_filter(name) -> relative path or None` picks and renames members; members whose
    path would leave the destination (``../``, absolute paths) are refused.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                name = member_filter(info.filename) if member_filter else info.filename
                if not name:
                    continue
                target = (staging / name).resolve()
                if not target.is_relative_to(staging.resolve()):
                    raise DownloadError(archive, f"archive member {info.filename!r} would be written outside the data folder")
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, CHUNK_BYTES)
        if destination.exists():
            shutil.rmtree(destination)
        os.replace(staging, destination)
    except zipfile.BadZipFile as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise DownloadError(archive, f"not a valid zip archive: {err}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination
