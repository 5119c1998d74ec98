"""`usps`: the USPS handwritten digits as the ESL book's data page serves them."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np

from ...errors import ManifestError
from ..builtin import Builtin
from ..dataset import Dataset
from ..download import RemoteFile

COMMIT = "2c13a4818379451bcce802bcd7917f4878e12977"
BASE_URL = f"https://raw.githubusercontent.com/dgkim5360/the-elements-of-statistical-learning-notebooks/{COMMIT}/data/zipcode/"


def read_usps(folder: Path) -> Dataset:
    """USPS as (N, 16, 16) uint8 images with its own train/test split."""
    parts = [read_zipcode_file(folder / f"zip.{split}.gz") for split in ("train", "test")]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    split = np.repeat(["train", "test"], [len(parts[0][1]), len(parts[1][1])])
    return Dataset(X=images, y=labels, task="image", split=split, source=str(folder))


def read_zipcode_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One ESL zip-code file: per line a label, then 256 grey values in [-1, 1] (16x16, row-major)."""
    try:
        with gzip.open(path, "rt") as handle:
            text = handle.read()
    except (OSError, EOFError) as err:
        raise ManifestError(path, f"cannot read gzip text: {err}") from None
    lines = [line for line in text.splitlines() if line.strip()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            values = np.fromstring(text, dtype=np.float64, sep=" ")  # the fast path for a well-formed file
        except ValueError:
            values = np.empty(0)
    if values.size != 257 * len(lines):  # find the line at fault
        for number, line in enumerate(lines, 1):
            fields = line.split()
            if len(fields) != 257:
                raise ManifestError(f"{path}:{number}", f"expected a label and 256 values, found {len(fields)} fields")
            try:
                [float(f) for f in fields]
            except ValueError as err:
                raise ManifestError(f"{path}:{number}", f"non-numeric value: {err}") from None
        raise ManifestError(path, "cannot parse the file as numbers")
    values = values.reshape(len(lines), 257)  # (N, 1 + 256)
    labels = values[:, 0].astype(int).astype(str)
    grey = np.clip(values[:, 1:], -1.0, 1.0)
    # [-1, 1] with -1 the background -> uint8 0..255 with a dark background.
    images = np.round((grey + 1.0) * 127.5).astype(np.uint8).reshape(-1, 16, 16)  # (N, 16, 16)
    return images, labels


USPS = Builtin(
    "usps", "image", "USPS handwritten digits, 16x16, 7,291 train / 2,007 test", "not stated (ESL data page)",
    "download", read_usps, "usps", ("zip.train.gz", "zip.test.gz"),
    (RemoteFile("zip.train.gz", (BASE_URL + "zip.train.gz",),
                sha256="66ebf231ab51f2cf6ac1a892d0f98ccffee1079d7a5db638c1f11f366046ca16"),
     RemoteFile("zip.test.gz", (BASE_URL + "zip.test.gz",),
                sha256="8dacc3c6e136af6c3488de9e5113a7daf140c8c2f1f0b61c54ee02f03f1a962f")))
