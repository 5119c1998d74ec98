"""`mnist` and `fashion-mnist`: 28x28 images in the IDX format, with their own train/test split."""

from __future__ import annotations

import gzip
from functools import partial
from pathlib import Path

import numpy as np

from ...errors import ManifestError
from ..builtin import Builtin
from ..dataset import Dataset
from ..download import RemoteFile

DIGIT_LABELS = tuple(str(d) for d in range(10))
FASHION_LABELS = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
FASHION_MIRRORS = ("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
                   "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/")
# The MD5 digests their distributors publish (no SHA-256 is published for these files).
MNIST_MD5 = ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
             "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c")
FASHION_MD5 = ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
               "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310")


def read_idx(path: Path, dims: int) -> np.ndarray:
    """An IDX file (gzip-compressed) as a uint8 array with `dims` dimensions."""
    try:
        with gzip.open(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as err:
        raise ManifestError(path, f"cannot read gzip file: {err}") from None
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] != 0x08 or data[3] != dims:
        raise ManifestError(path, f"not an IDX file of unsigned bytes with {dims} dimensions")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise ManifestError(path, f"header says shape {shape} but the file holds {body.size} values (truncated?)")
    return body.reshape(shape)


def read_idx_set(folder: Path, names: tuple[str, ...]) -> Dataset:
    """The four IDX files of an MNIST-like set; label k is `names[k]`."""
    images, labels, split = [], [], []
    for part, prefix in (("train", "train"), ("test", "t10k")):
        x = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz", 3)  # (N, 28, 28)
        t = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", 1)  # (N,)
        if len(x) != len(t) or (t.size and t.max() >= len(names)):
            raise ManifestError(folder, f"{part} images and labels do not match")
        images.append(x)
        labels.append(np.asarray(names)[t])
        split += [part] * len(t)
    return Dataset(X=np.concatenate(images), y=np.concatenate(labels), task="image", split=split, source=str(folder))


def _remote_files(mirrors: tuple[str, ...], digests: tuple[str, ...]) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(name, tuple(m + name for m in mirrors), md5=d) for name, d in zip(FILES, digests))


MNIST = Builtin(
    "mnist", "image", "MNIST handwritten digits, 28x28, 60,000 train / 10,000 test", "CC BY-SA 3.0",
    "download", partial(read_idx_set, names=DIGIT_LABELS), "mnist", FILES, _remote_files(MNIST_MIRRORS, MNIST_MD5))

FASHION_MNIST = Builtin(
    "fashion-mnist", "image", "Zalando Fashion-MNIST, 28x28, 10 clothing classes, 60,000 / 10,000", "MIT",
    "download", partial(read_idx_set, names=FASHION_LABELS), "fashion-mnist", FILES,
    _remote_files(FASHION_MIRRORS, FASHION_MD5))
