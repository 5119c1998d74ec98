"""How the end-to-end recogniser's `fit` feeds clips to the network: decoded once into memory, or
streamed from disk while it trains.

Streaming reads each clip when a batch needs it (in `num_workers` DataLoader processes, or in the
training process with 0), so memory holds the batches in flight, never the decoded corpus. It is
on when the user asks for loader workers or a `cache_dir`, and on its own when the decoded corpus
would take more than STREAM_ABOVE_BYTES: below that, decoding once is faster (a clip is decoded
one time instead of once per epoch) and memory is not the limit.

Batches are bucketed by length either way, so a streamed run needs every clip's length before its
first batch: it is read from the file's header, without decoding (:func:`e2elab.data.audio.audio_duration`).
The header check also refuses a clip over `max_seconds` before training starts; no clip is ever
cut. A clip whose header is fine but whose data fails to decode mid-epoch is raised or skipped by
:class:`~e2elab.nn.streaming.SkipLedger`. With `cache_dir`, decoded and resampled clips are kept
on disk (:class:`~e2elab.nn.item_cache.ItemCache`) for the next epochs and runs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.audio import audio_duration
from ..errors import AudioError
from ..nn.batching import length_bucketed_batches
from ..nn.item_cache import ItemCache, item_key
from ..nn.streaming import STREAM_ABOVE_BYTES, SkipLedger, StreamedItems, readable_collate
from .augment import SpeechAugmentation
from .clips import read_clip
from .ctc_batches import ClipDataset



@dataclass(frozen=True)
class ClipRef:
    """A training clip not decoded yet: its source (a path, or the decoded array of an in-memory
    item), its name, and its length in samples at the working rate, padded up to the minimum."""

    source: Any
    name: str
    samples: int

    def __len__(self) -> int:
        return self.samples


class ClipReader:
    """Reads one clip for a batch: decoded (through the cache when there is one), padded to
    `min_samples`, augmented when `augment` is set. Runs in the DataLoader's worker processes."""

    def __init__(self, sample_rate: int, max_seconds: float | None, min_samples: int, cache: ItemCache | None,
                 augment: SpeechAugmentation | None = None):
        self.sample_rate, self.max_seconds, self.min_samples = sample_rate, max_seconds, min_samples
        self.cache, self.augment = cache, augment

    def __call__(self, source, name: str) -> np.ndarray:
        if isinstance(source, np.ndarray):
            wave = source
        elif self.cache is not None:
            wave = self.cache.get(source, lambda: read_clip(source, self.sample_rate, self.max_seconds, name))
        else:
            wave = read_clip(source, self.sample_rate, self.max_seconds, name)
        if len(wave) < self.min_samples:
            wave = np.pad(wave, (0, self.min_samples - len(wave)))
        if self.augment is not None:
            # Drawn from torch's generator, which the training loop (or DataLoader, in a worker) seeds.
            wave = self.augment(wave, np.random.default_rng(int(torch.randint(0, 2**62, ()))))
        return wave


class ClipFeed:
    """The clips of one `fit`, in memory or streamed (see the module docstring).

    In memory, every method hands its argument back or builds what `fit` always built; streamed,
    the clips are ClipRefs and the training loop's step, validation and collate function skip or
    raise on clips that fail to decode mid-epoch, as `on_error` says.
    """

    def __init__(self, estimator, X):
        self.estimator = estimator
        self.sample_rate, self.max_seconds = estimator.sample_rate, estimator.max_seconds
        self.min_samples = len(estimator._padded(np.zeros(0, np.float32)))
        self.ledger = SkipLedger(estimator.on_error)
        self._durations = self._probe(X) if any(isinstance(item, (str, Path)) for item in X) else {}
        decoded_bytes = 4 * self.sample_rate * sum(d for d in self._durations.values() if isinstance(d, float))
        self.streaming = bool(estimator.num_workers or estimator.cache_dir or decoded_bytes > STREAM_ABOVE_BYTES)
        self.cache = (ItemCache(estimator.cache_dir, {"clip_sample_rate": self.sample_rate})
                      if self.streaming and estimator.cache_dir else None)

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """Clips that failed to decode while training (on_error="skip")."""
        return self.ledger.skipped

    def read(self, X, name_of: Callable[[Any, int], str]) -> tuple[list, list[tuple[str, str]]]:
        """The training clips (decoded, or ClipRefs when streaming; None where unusable) and the skipped ones."""
        if not self.streaming:
            return self.estimator._read(X, "training")
        refs, skipped = [], []
        for index, item in enumerate(X):
            name = name_of(item, index)
            try:
                refs.append(self._reference(item, name, index))
            except AudioError as err:
                self.estimator._skip_or_raise(err, skipped, name)
                refs.append(None)
        return refs, skipped

    def datasets(self, clips: list, targets: list, fit_idx, val_idx):
        """Training and validation datasets (None without validation clips) and the length-bucketed batch sampler."""
        estimator = self.estimator
        augment = SpeechAugmentation.of(estimator.augment)
        if self.streaming:
            def dataset(indices, policy=None):
                return StreamedItems([clips[i].source for i in indices], [clips[i].name for i in indices],
                                     [targets[i] for i in indices],
                                     ClipReader(self.sample_rate, self.max_seconds, self.min_samples, self.cache, policy))
        else:
            def dataset(indices, policy=None):
                return ClipDataset([clips[i] for i in indices], [targets[i] for i in indices], policy)
        lengths = [len(clips[i]) for i in fit_idx]
        batch_samples = int(estimator._batch_seconds() * self.sample_rate)
        sampler = length_bucketed_batches(lengths, max(batch_samples, max(lengths)), estimator.batch_size, seed=estimator.seed)
        return dataset(fit_idx, augment), dataset(val_idx) if len(val_idx) else None, sampler

    def fingerprinted(self, clips: list) -> list[np.ndarray]:
        """What the run key hashes for each clip: its samples, or for a streamed file its identity
        (path, size, modification time), so that resuming never decodes the corpus to hash it."""
        if not self.streaming:
            return clips
        return [clip.source if isinstance(clip.source, np.ndarray)
                else np.frombuffer(json.dumps(item_key(clip.source)).encode(), dtype=np.uint8) for clip in clips]

    def step(self, step: Callable) -> Callable:
        return self.ledger.step(step) if self.streaming else step

    def validate(self, validate: Callable) -> Callable:
        return self.ledger.validate(validate) if self.streaming else validate

    def collate(self, collate: Callable) -> Callable:
        return readable_collate(collate) if self.streaming else collate

    def _probe(self, X) -> dict[int, float | AudioError]:
        """Each path item's duration in seconds from its header, or the error reading it gave."""
        durations: dict[int, float | AudioError] = {}
        for index, item in enumerate(X):
            if isinstance(item, (str, Path)):
                try:
                    durations[index] = float(audio_duration(item))
                except AudioError as err:
                    durations[index] = err
        return durations

    def _reference(self, item, name: str, index: int) -> ClipRef:
        """A ClipRef for `item`: a file by its header, an in-memory item decoded now (it is in memory already)."""
        if not isinstance(item, (str, Path)):
            wave = read_clip(item, self.sample_rate, self.max_seconds, name)
            return ClipRef(wave, name, max(len(wave), self.min_samples))
        duration = self._durations[index]
        if isinstance(duration, AudioError):
            raise duration
        if self.max_seconds is not None and duration > self.max_seconds:
            raise AudioError(name, f"clip is {duration:.1f} s long, over the limit of {self.max_seconds:g} s")
        return ClipRef(str(item), name, max(math.ceil(duration * self.sample_rate), self.min_samples))
