"""Descriptor extraction over a whole set of images: in parallel, cached, counted, and in chunks.

`DescriptorExtractor` is the first step of the traditional pipeline's scikit-learn Pipeline.
It learns nothing; `transform` turns raw items (paths or arrays) into one feature dict per
image (see :func:`e2elab.image.descriptors.extract`).

The cache is an in-process dictionary keyed by (the item's identity, the extraction
parameters), with a byte budget and least-recently-used eviction. An in-process dictionary and
not ``joblib.Memory`` because joblib.Memory persists results as pickle files, which e2elab never
writes or reads, and because the reuse that matters happens inside one process:
``cross_validate`` and ``learning_curve`` clone the pipeline for every fold and size, and every
clone describes the same images with the same parameters. A path is identified by its absolute
name, size and modification time (no need to read it); an array by a hash of its bytes.

A large set is described `chunk_size` images at a time (:func:`describe_in_chunks`), so that
memory holds one chunk's descriptors beside the bounded cache; a caller that needs the
descriptors twice (a codebook sample, then the encoding) describes the chunks again, which costs
nothing while the cache holds them.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..data.image import MAX_PIXELS, as_image
from ..errors import ImageError
from ..nn.item_cache import item_key
from .descriptors import ExtractionParams, extract

CACHE_BYTES = int(os.environ.get("E2ELAB_DESCRIPTOR_CACHE_MB", "1024")) * 2**20


class DescriptorCache:
    """A least-recently-used dict of feature dicts, bounded by their total size in bytes."""

    def __init__(self, max_bytes: int = CACHE_BYTES):
        self.max_bytes = max_bytes
        self._items: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key, value: dict):
        size = _nbytes(value)
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self._bytes -= _nbytes(old)

    def clear(self):
        with self._lock:
            self._items.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)


CACHE = DescriptorCache()


def _nbytes(features: dict) -> int:
    total = features["points"].nbytes + features["positions"].nbytes
    total += sum(v.nbytes for v in features["local"].values()) + sum(v.nbytes for v in features["global"].values())
    return total + 256


def describe_item(item, params: ExtractionParams, on_error: str = "raise", max_pixels: int = MAX_PIXELS):
    """Feature dict of one raw item, or (None, reason) when it cannot be read (or is over `max_pixels`)
    and on_error="skip"."""
    try:
        image = as_image(item, max_pixels=max_pixels)
    except ImageError as err:
        if on_error == "skip":
            return None, err.reason
        raise
    if image.ndim == 3 and image.shape[2] != 3:
        image = image[:, :, :3]
    return extract(image, params), None


def _describe_batch(items, params, on_error, max_pixels):
    import cv2

    cv2.setNumThreads(1)  # parallelism is over images; OpenCV's own threads would only compete
    return [describe_item(item, params, on_error, max_pixels) for item in items]


def describe_all(items, params: ExtractionParams, n_jobs: int | None = 1, on_error: str = "raise",
                 cache: DescriptorCache | None = CACHE, max_pixels: int = MAX_PIXELS,
                 first_index: int = 0) -> tuple[list, list]:
    """Feature dicts of all `items` (None where an item was skipped) and the skipped (item, reason) list.

    Items not in the cache are described by `n_jobs` joblib workers (loky processes), in batches
    so that each worker reads and describes many images per message. A skipped array is named by
    its position, counted from `first_index`.
    """
    from joblib import Parallel, delayed, effective_n_jobs

    items = list(items)
    results: list = [None] * len(items)
    keys = [(item_key(item), params) for item in items] if cache is not None else [None] * len(items)
    todo = []
    for i, key in enumerate(keys):
        hit = cache.get(key) if cache is not None else None
        if hit is None:
            todo.append(i)
        else:
            results[i] = hit
    workers = effective_n_jobs(n_jobs) if len(todo) > 1 else 1
    if workers == 1:
        described = _describe_batch([items[i] for i in todo], params, on_error, max_pixels)
    else:
        chunks = np.array_split(np.array(todo, dtype=int), min(len(todo), workers * 4))
        batches = Parallel(n_jobs=workers)(
            delayed(_describe_batch)([items[i] for i in chunk], params, on_error, max_pixels) for chunk in chunks if len(chunk))
        described = [result for batch in batches for result in batch]
    skipped = []
    for i, (features, reason) in zip(todo, described):
        if features is None:
            skipped.append((str(items[i]) if isinstance(items[i], (str, Path)) else f"item {first_index + i}", reason))
            continue
        results[i] = features
        if cache is not None:
            cache.put(keys[i], features)
    return results, skipped


def describe_in_chunks(items: list, params: ExtractionParams, chunk_size: int, n_jobs: int | None = 1,
                       on_error: str = "raise", max_pixels: int = MAX_PIXELS):
    """:func:`describe_all` over `chunk_size` items at a time: yields (positions, features, skipped) per chunk."""
    for start in range(0, len(items), chunk_size):
        chunk = items[start:start + chunk_size]
        features, skipped = describe_all(chunk, params, n_jobs, on_error, max_pixels=max_pixels, first_index=start)
        yield range(start, start + len(chunk)), features, skipped


def summary(features: dict) -> dict:
    """What reports count about one image's features, without its descriptors: points, local
    descriptors per kind, and whether the detector fell back to the grid or the image was upsampled."""
    return {"points": len(features["points"]), "local": {name: len(d) for name, d in features["local"].items()},
            "fallback": bool(features["fallback"]), "upsampled": bool(features["upsampled"])}


class DescriptorExtractor(TransformerMixin, BaseEstimator):
    """Raw images -> one feature dict per image (interest points, local and global descriptors).

    Stateless: `fit` only checks the parameters. Unreadable items raise an ImageError naming the
    file, or are skipped (and counted in ``skipped_``) with on_error="skip" during `fit_transform`;
    `transform` always raises, since every item must get a prediction.
    """

    def __init__(self, descriptors="sift", detector="dense", step=8, sizes=(16, 32), min_side=64, max_side=512,
                 max_points=500, min_points=5, global_size=64, n_jobs=1, cache=True, max_pixels=MAX_PIXELS):
        self.descriptors = descriptors
        self.detector = detector
        self.step = step
        self.sizes = sizes
        self.min_side = min_side
        self.max_side = max_side
        self.max_points = max_points
        self.min_points = min_points
        self.global_size = global_size
        self.n_jobs = n_jobs
        self.cache = cache
        self.max_pixels = max_pixels

    def params(self) -> ExtractionParams:
        from .descriptors import parse_descriptors
        from .keypoints import DETECTORS

        if self.detector not in DETECTORS:
            raise ValueError(f"detector must be one of {DETECTORS}, not {self.detector!r}")
        return ExtractionParams(descriptors=parse_descriptors(self.descriptors), detector=self.detector,
                                step=int(self.step), sizes=tuple(int(s) for s in self.sizes),
                                min_side=int(self.min_side), max_side=int(self.max_side),
                                max_points=int(self.max_points), min_points=int(self.min_points),
                                global_size=int(self.global_size))

    def fit(self, X, y=None):
        self.params()
        return self

    def transform(self, X) -> list[dict]:
        features, _ = describe_all(X, self.params(), self.n_jobs, "raise", CACHE if self.cache else None,
                                   self.max_pixels)
        return features
