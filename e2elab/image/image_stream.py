"""How the end-to-end image classifier's `fit` feeds images to the network: decoded once into
memory, or streamed from disk while it trains.

In memory, every training image is decoded once into uint8 tensors: the source copies
(N, C, S_src, S_src) that training crops are cut from, and (N, C, S, S) at the input size for
statistics and validation; epochs then cost no decoding. Streamed, each image is decoded when a
batch needs it (in `num_workers` DataLoader processes, or in the training process with 0), so
memory holds the batches in flight, never the decoded set. Streaming is on when the user asks for
loader workers or a `cache_dir`, and on its own when the decoded set would take more than
STREAM_ABOVE_BYTES: below that, decoding once is faster and memory is not the limit.

A streamed fit does not decode every image before training, so the colour decision (3 channels
when any image has differing channels) and the normalisation statistics come from a sample of at
most STATS_SAMPLE images spread evenly over the training set. On a set no larger than the sample
they are the in-memory fit's own, and both fits train the same model. An image of the sample
that cannot be read is raised or skipped before training; any other that fails mid-epoch is
raised or skipped by :class:`~e2elab.nn.streaming.SkipLedger`, as `on_error` says. With
`cache_dir`, decoded squares are kept on disk (:class:`~e2elab.nn.item_cache.ItemCache`) for the
next epochs and runs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from ..nn.item_cache import ItemCache, item_key
from ..nn.streaming import STREAM_ABOVE_BYTES, SkipLedger, StreamedItems, readable_collate
from ..nn.tensor_batches import TensorBatches, whole_batch
from .transforms import channel_stats, decode_squares, fit_square, is_colour, to_chw

# Images a streamed fit decodes before training for its colour decision and normalisation
# statistics: at 128 px colour sources, 49 MB.
STATS_SAMPLE = 1000


def _item_name(item, index: int) -> str:
    return str(item) if isinstance(item, (str, Path)) else f"item {index}"


def _stack_pairs(pairs: list) -> tuple[torch.Tensor, torch.Tensor]:
    """[(image (C, S, S), target ())] -> images (B, C, S, S), targets (B,): the batch TensorBatches serves."""
    return torch.stack([image for image, _ in pairs]), torch.stack([target for _, target in pairs])


class SquareReader:
    """Decodes one image for a batch: a `source_size` square (through the cache when there is
    one), brought to `out_size` by area averaging like the in-memory copies, as uint8 (C, S, S).
    Runs in the DataLoader's worker processes."""

    def __init__(self, source_size: int, out_size: int, resize: str, channels: int, max_pixels: int,
                 cache: ItemCache | None):
        self.source_size, self.out_size, self.resize = source_size, out_size, resize
        self.channels, self.max_pixels, self.cache = channels, max_pixels, cache

    def square(self, item, name: str) -> np.ndarray:
        """The `source_size` square (S, S[, 3]) uint8 of one item; an unreadable one raises a DataError naming it."""
        if self.cache is not None and isinstance(item, (str, Path)):
            return self.cache.get(item, lambda: self._decode(item, name))
        return self._decode(item, name)

    def _decode(self, item, name: str) -> np.ndarray:
        try:
            squares, _, _ = decode_squares([item], self.source_size, self.resize, max_pixels=self.max_pixels)
        except DataError as err:
            raise type(err)(name, err.reason) from None
        return squares[0]

    def __call__(self, item, name: str) -> torch.Tensor:
        square = self.square(item, name)
        if self.out_size != self.source_size:
            square = fit_square(square, self.out_size, self.resize)
        return to_chw([square], self.channels)[0]  # (C, S, S) uint8


class ImageFeed:
    """The training images of one `fit`, in memory or streamed (see the module docstring).

    `read` decodes every image (in memory) or the statistics sample (streamed); `keep` narrows
    the set to the images trained on; then `channels`, `statistics` and `datasets` build what the
    training loop takes. In memory, the step, validation and collate function are the pipeline's
    own; streamed, they skip or raise on images that fail to decode mid-epoch.
    """

    def __init__(self, estimator, X, source_size: int):
        self.estimator, self.X, self.source_size = estimator, list(X), source_size
        self.input_size = estimator.input_size_
        self.ledger = SkipLedger(estimator.on_error)
        copies = source_size**2 + (self.input_size**2 if source_size != self.input_size else 0)
        self.streaming = bool(estimator.num_workers or estimator.cache_dir
                              or len(self.X) * 3 * copies > STREAM_ABOVE_BYTES)
        settings = {"image_square": source_size, "resize": estimator.resize, "max_pixels": estimator.max_pixels}
        self.cache = ItemCache(estimator.cache_dir, settings) if self.streaming and estimator.cache_dir else None
        self.items: list[int] = []  # positions in X of the images trained on
        self._decoded: dict[int, np.ndarray] = {}  # position -> source square: every image, or the sample
        self._tensors: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """Images that failed to decode while training (on_error="skip")."""
        return self.ledger.skipped

    def read(self, y: np.ndarray) -> tuple[np.ndarray, list[tuple[str, str]]]:
        """Decode the images (in memory) or the statistics sample (streamed): -> labels of the
        readable images, and the skipped (item, reason) pairs."""
        estimator = self.estimator
        if not self.streaming:
            squares, kept, skipped = decode_squares(self.X, self.source_size, estimator.resize, estimator.on_error,
                                                    estimator._show_progress(), "decoding training images",
                                                    estimator.max_pixels)
            self._decoded = dict(zip(kept, squares))
            self.items = list(kept)
            return y[kept], skipped
        reader = self._reader(self.source_size, channels=0)  # only its squares: the channels are decided from them
        unreadable, skipped = set(), []
        for index in range(0, len(self.X), math.ceil(len(self.X) / STATS_SAMPLE) or 1):
            name = _item_name(self.X[index], index)
            try:
                self._decoded[index] = reader.square(self.X[index], name)
            except DataError as err:
                estimator._skip_or_raise(err, skipped, name)
                unreadable.add(index)
        self.items = [i for i in range(len(self.X)) if i not in unreadable]
        return y[self.items], skipped

    def keep(self, indices) -> None:
        """Train on these images only (positions among those `read` returned labels for)."""
        self.items = [self.items[i] for i in indices]
        kept = set(self.items)
        self._decoded = {i: square for i, square in self._decoded.items() if i in kept}

    def channels(self) -> int:
        """3 when any decoded image (all, or the sample) has differing channels, else 1."""
        return 3 if any(is_colour(square) for square in self._decoded.values()) else 1

    def statistics(self, channels: int) -> tuple[list[float], list[float]]:
        """Per-channel mean and standard deviation of the decoded images at the input size."""
        return channel_stats(self._decoded_tensors(channels)[1])

    def datasets(self, targets: torch.Tensor, fit_idx, val_idx, channels: int):
        """Training and validation datasets (None without validation images) over the kept images."""
        if not self.streaming:
            sources, images = self._decoded_tensors(channels)
            return (TensorBatches(sources[fit_idx], targets[fit_idx]),
                    TensorBatches(images[val_idx], targets[val_idx]) if len(val_idx) else None)
        self._decoded, self._tensors = {}, None  # the sample has served its purpose

        def dataset(indices, size: int) -> StreamedItems:
            positions = [self.items[i] for i in indices]
            return StreamedItems([self.X[p] for p in positions], [_item_name(self.X[p], p) for p in positions],
                                 targets[indices], self._reader(size, channels))

        return dataset(fit_idx, self.source_size), dataset(val_idx, self.input_size) if len(val_idx) else None

    def fingerprint(self) -> np.ndarray:
        """What the run key hashes: the decoded images, or for a streamed set the items' identities
        (path, size, modification time), so that resuming never decodes the set to hash it."""
        if not self.streaming:
            return self._tensors[0].numpy()
        identities = [item_key(self.X[i]) for i in self.items]
        return np.frombuffer(json.dumps(identities, default=str).encode(), dtype=np.uint8)

    @property
    def collate(self) -> Callable:
        return readable_collate(_stack_pairs) if self.streaming else whole_batch

    def step(self, step: Callable) -> Callable:
        return self.ledger.step(step) if self.streaming else step

    def validate(self, validate: Callable) -> Callable:
        return self.ledger.validate(validate) if self.streaming else validate

    def _reader(self, out_size: int, channels: int) -> SquareReader:
        estimator = self.estimator
        return SquareReader(self.source_size, out_size, estimator.resize, channels, estimator.max_pixels, self.cache)

    def _decoded_tensors(self, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(sources (N, C, S_src, S_src), images (N, C, S, S)) uint8 of the decoded images."""
        if self._tensors is None:
            squares = list(self._decoded.values())
            sources = to_chw(squares, channels)
            images = sources if self.source_size == self.input_size else to_chw(
                [fit_square(square, self.input_size, self.estimator.resize) for square in squares], channels)
            self._tensors = sources, images
        return self._tensors
