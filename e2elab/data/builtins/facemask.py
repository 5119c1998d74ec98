"""`facemask`: 640 photos with 2,942 face boxes (CC0), most faces small and masked; a local copy only.

The folder holds the photos under images/ and boxes.tsv (path, x, y, w, h, label); every box is
a face, the mask label is extra. It is read by the detection task's own box-table reader. The
data set has no split of its own: a run holds out a random quarter of the photos with its seed.
"""

from __future__ import annotations

from pathlib import Path

from ...tasks import get_task
from ..builtin import Builtin
from ..dataset import Dataset


def read_facemask(folder: Path) -> Dataset:
    return get_task("detection").read_source(folder / "boxes.tsv")


FACEMASK = Builtin("facemask", "detection", "640 photos with 2,942 face boxes, most faces small (local copy only)",
                   "CC0", "local", read_facemask, "facemask", ("boxes.tsv", "images"))
