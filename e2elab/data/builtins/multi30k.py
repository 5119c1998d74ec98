"""`multi30k`: Multi30k task 1, image captions translated German -> English.

Its own splits are kept: ``train`` (29,000 pairs) to train on, ``val`` (1,014) left to the
pipelines' own validation, ``test_2016_flickr`` (1,000) to score on. The files are read by the
translation task's folder reader, found through the task registry (this layer sits below it).
"""

from __future__ import annotations

from pathlib import Path

from ...tasks import get_task, resolve
from ..builtin import Builtin
from ..dataset import Dataset

SOURCE, TARGET = "de", "en"
SPLITS = ["train", "val", "test_2016_flickr"]


def read_multi30k(folder: Path) -> Dataset:
    """German sources, English references, split as the data set splits them."""
    read_folder = resolve(get_task("translation").readers["folder"])
    return read_folder(folder, source=SOURCE, target=TARGET, splits=SPLITS)


MULTI30K = Builtin(
    "multi30k", "translation", "Multi30k task 1: 31,014 image captions, German -> English (also French, Czech)",
    "research use (Elliott et al. 2016)", "local", read_multi30k, "multi30k",
    tuple(f"{split}.{language}.gz" for split in SPLITS for language in (SOURCE, TARGET)))
