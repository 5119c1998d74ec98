"""Errors that e2elab raises on bad input: each names the file or line and says what is wrong."""

from __future__ import annotations

from pathlib import Path


class E2elabError(Exception):
    """Base class of every error e2elab raises on purpose."""


class DataError(E2elabError, ValueError):
    """An input item (file, array, manifest row) that cannot be used.

    `source` names the file or row; `reason` says what is wrong with it.
    """

    def __init__(self, source: str | Path | None, reason: str):
        self.source = None if source is None else str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}" if self.source else reason)


class AudioError(DataError):
    """An audio clip that cannot be read or used (corrupt, empty, silent, non-finite, ...)."""


class ImageError(DataError):
    """An image that cannot be read or used (corrupt, truncated, too large, ...)."""


class ManifestError(DataError):
    """A manifest, Kaldi data directory or dataset folder that is malformed."""


class UnsafeModelError(E2elabError):
    """A model file that would need pickle (or other code execution) to load."""


class ModelIntegrityError(E2elabError):
    """A saved model folder whose files are missing or do not match their checksums."""


class ParameterError(E2elabError, ValueError):
    """A pipeline parameter or command-line setting of the wrong type or out of range."""


class RunFolderError(E2elabError):
    """An output folder that cannot be used: not writable, not empty, or holding another run."""
