"""`flowers5`: flower photos in five class folders; there is no download, only a local copy."""

from __future__ import annotations

from pathlib import Path

from ..builtin import Builtin
from ..dataset import Dataset
from ..folders import load_folder


def read_flowers5(folder: Path) -> Dataset:
    return load_folder(folder / "flowers", task="image")


FLOWERS5 = Builtin("flowers5", "image", "4,317 flower photos, 5 classes, 128x128 (local copy only)",
                   "not stated (Flickr photos, CC BY 2.0)", "local", read_flowers5, "flowers5", ("flowers",))
