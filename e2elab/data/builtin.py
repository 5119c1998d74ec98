"""What a built-in data set is: where it is found, how it is fetched, and the loader it owns.

A built-in is looked up, in order, under ``$E2ELAB_DATA_DIR/<folder>`` and the e2elab cache
(:mod:`e2elab.data.paths`); only when it is in neither is it downloaded into the cache, each file
checked against the digest its distributor publishes. The data sets themselves are declared in
:mod:`e2elab.data.builtins`, one module each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, ParameterError
from . import paths
from .dataset import Dataset
from .download import RemoteFile, extract_zip, fetch

ORIGINS = ("download", "local", "bundled", "generated")


@dataclass(frozen=True)
class Builtin:
    """One built-in data set and its loader.

    origin: "download" (fetched when missing), "local" (only where someone put it),
    "bundled" (ships with a dependency) or "generated" (synthesised on first use).
    read: builds the Dataset; called as ``read(folder)`` for data sets kept in a folder, and as
    ``read(**options)`` for bundled and generated ones, which have no folder but may take
    `options` (the names it accepts).
    markers: paths inside the data set's folder that must exist for it to count as present.
    unpack: for a data set downloaded as one zip archive, maps each archive member to its path
    in the folder (None leaves the member out); without it each file is downloaded as it is.
    supplied_by: for a data set without a folder, where its data come from (``e2elab data list``).
    """

    name: str
    task: str
    description: str
    licence: str
    origin: str
    read: Callable[..., Dataset]
    folder: str = ""
    markers: tuple[str, ...] = ()
    files: tuple[RemoteFile, ...] = ()
    options: tuple[str, ...] = ()
    unpack: Callable[[str], str | None] | None = None
    supplied_by: str = ""

    def __post_init__(self):
        if self.origin not in ORIGINS:
            raise ValueError(f"built-in {self.name!r}: origin must be one of {ORIGINS}, not {self.origin!r}")

    @property
    def has_folder(self) -> bool:
        return self.origin in ("download", "local")

    def locate(self) -> Path | None:
        """The folder that holds this data set, or None when it is not on this machine."""
        if not self.has_folder:
            return None
        for root in paths.search_dirs():
            folder = root / self.folder
            if all((folder / marker).exists() for marker in self.markers):
                return folder
        return None

    def status(self) -> dict:
        """Whether the data set is here and where, for ``e2elab data list``."""
        folder = self.locate()
        if not self.has_folder:
            where, present = self.supplied_by, True
        elif folder is not None:
            where, present = str(folder), True
        elif self.origin == "download":
            where, present = f"downloaded on first use into {paths.cache_dir() / self.folder}", False
        else:
            where, present = f"not found; put it at $E2ELAB_DATA_DIR/{self.folder}", False
        return {"name": self.name, "task": self.task, "present": present, "where": where, "origin": self.origin,
                "description": self.description, "licence": self.licence,
                "checksums": "verified" if self.files and all(f.verified for f in self.files)
                else ("none published" if self.files else None)}

    def ensure(self, download: bool = True, progress=None) -> Path | None:
        """The data set's folder, downloading it into the cache when it is missing (None: no folder)."""
        if not self.has_folder:
            return None
        folder = self.locate()
        if folder is not None:
            return folder
        if self.origin != "download":
            raise DataError(self.name, f"built-in data set not found; it cannot be downloaded, so put it at "
                            f"$E2ELAB_DATA_DIR/{self.folder} ({self.description})")
        if not download:
            raise DataError(self.name, f"built-in data set not found under $E2ELAB_DATA_DIR or {paths.cache_dir()}, "
                            "and downloading is off")
        target = paths.cache_dir() / self.folder
        if self.unpack is not None:
            archive = fetch(self.files[0], paths.cache_dir() / ".downloads", progress)
            extract_zip(archive, target, self.unpack)
            archive.unlink(missing_ok=True)
        else:
            for remote in self.files:
                fetch(remote, target, progress)
        return target

    def load(self, download: bool = True, **options) -> Dataset:
        """The whole data set (all its splits); `options` go to generated data sets only."""
        unknown = set(options) - set(self.options)
        if unknown:
            raise ParameterError(f"built-in data set {self.name!r} takes no option(s) {', '.join(sorted(unknown))}"
                                 + (f"; it takes: {', '.join(self.options)}" if self.options else ""))
        ds = self.read(self.ensure(download)) if self.has_folder else self.read(**options)
        ds.name = self.name
        return ds
