"""The traditional recogniser's features of a whole corpus, in memory up to a bound and on disk beyond.

Embedded re-estimation passes over every utterance's MFCCs about twenty times, so they are
computed once and kept. A corpus larger than memory would not fit as a list of arrays; a
`FeatureStore` holds them in memory until they pass `memory_limit` bytes, then moves them to a
temporary file and appends the rest there. Reading an utterance back from the file reads only
its rows, so a pass over the corpus holds one batch of utterances at a time (besides the
statistics it accumulates) however long the corpus.

CMVN is applied as utterances are read: `normalise` measures each speaker's (or utterance's)
mean and deviation in one or two streaming passes and keeps only those. In memory or on disk the
same arithmetic runs on the same float64 values, so a model trained either way is the same.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence

import numpy as np

from .features import cmvn_statistics

DTYPE = np.float64


class FeatureStore(Sequence):
    """Per-utterance (T_i, D) feature arrays, in memory up to `memory_limit` bytes (None: no limit),
    beyond it in a temporary file under `directory` (None: the system's temporary folder).

    Use as a context manager, or call `close`, to remove the file.
    """

    def __init__(self, memory_limit: int | None = None, directory: str | os.PathLike | None = None):
        self.memory_limit = memory_limit
        self.directory = directory
        self._arrays: list[np.ndarray] | None = []  # None once the features live in the file
        self._folder: str | None = None
        self._path: str | None = None
        self._starts: list[int] = []  # first row of each utterance in the file
        self._lengths: list[int] = []
        self._dim: int | None = None
        self._rows = 0
        self._bytes = 0
        self._statistics: dict | None = None
        self._keys: list | None = None

    # ---- writing ------------------------------------------------------------------------
    def append(self, features: np.ndarray) -> None:
        features = np.ascontiguousarray(features, dtype=DTYPE)
        if features.ndim != 2 or (self._dim is not None and features.shape[1] != self._dim):
            raise ValueError(f"features must be (frames, {self._dim or 'D'}), not {features.shape}")
        self._dim = features.shape[1]
        self._bytes += features.nbytes
        if self._arrays is not None and self.memory_limit is not None and self._bytes > self.memory_limit:
            self._spill()
        if self._arrays is not None:
            self._arrays.append(features)
        else:
            with open(self._path, "ab") as file:
                file.write(features.tobytes())
        self._starts.append(self._rows)
        self._lengths.append(features.shape[0])
        self._rows += features.shape[0]

    def _spill(self) -> None:
        """Move the features held so far into a new temporary file; later ones are appended to it."""
        try:
            self._folder = tempfile.mkdtemp(prefix="e2elab-features-", dir=self.directory)
            self._path = os.path.join(self._folder, "features.f64")
            with open(self._path, "wb") as file:
                for array in self._arrays:
                    file.write(array.tobytes())
        except OSError as err:
            self.close()
            raise OSError(f"the features pass the memory limit of {self.memory_limit / 2**20:.3g} MB and could not "
                          f"be written to a temporary file in {self.directory or tempfile.gettempdir()}: {err}; "
                          "give a folder with room (TMPDIR) or a higher limit") from err
        self._arrays = None

    # ---- reading ------------------------------------------------------------------------
    @property
    def on_disk(self) -> bool:
        return self._arrays is None

    @property
    def lengths(self) -> np.ndarray:
        """Frames per utterance, known without reading them."""
        return np.asarray(self._lengths, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._lengths)

    def raw(self, index: int) -> np.ndarray:
        """Utterance `index` as stored, without CMVN."""
        if self._arrays is not None:
            return self._arrays[index]
        length, dim = self._lengths[index], self._dim
        return np.fromfile(self._path, dtype=DTYPE, count=length * dim,
                           offset=self._starts[index] * dim * DTYPE().itemsize).reshape(length, dim)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        index = range(len(self))[index]  # negative indices, and IndexError past the end
        features = self.raw(index)
        if self._statistics is None:
            return features
        mean, std = self._statistics[self._keys[index]]
        normed = features - mean
        return normed / std if std is not None else normed

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # ---- normalisation ------------------------------------------------------------------
    def normalise(self, keys: Sequence | None, variance: bool = False) -> "FeatureStore":
        """Apply CMVN pooled over the utterances sharing a key (a speaker) from now on; keys None:
        per utterance."""
        keys = list(range(len(self))) if keys is None else list(keys)
        if len(keys) != len(self):
            raise ValueError(f"got {len(keys)} groups for {len(self)} utterances")
        raw = _RawView(self)
        self._statistics = cmvn_statistics(raw, keys, variance=variance)
        self._keys = keys
        return self

    # ---- clean-up -----------------------------------------------------------------------
    def close(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = self._path = None
            self._arrays = []
            self._starts, self._lengths, self._rows, self._bytes = [], [], 0, 0

    def __enter__(self) -> "FeatureStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _RawView(Sequence):
    """The store's utterances without CMVN, for measuring it."""

    def __init__(self, store: FeatureStore):
        self.store = store

    def __len__(self) -> int:
        return len(self.store)

    def __getitem__(self, index):
        return self.store.raw(index)
