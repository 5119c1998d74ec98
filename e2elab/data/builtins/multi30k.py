"""`multi30k`: Multi30k task 1, image captions in German, English, French and Czech.

Its own splits are kept: ``train`` (29,000 pairs) to train on, ``val`` (1,014) for the pipelines'
own validation, ``test_2016_flickr`` (1,000) to score on. Any two of its languages form a pair;
German -> English is the default. The files are read by the translation task's folder reader,
found through the task registry (this layer sits below it).
"""

from __future__ import annotations

from pathlib import Path

from ...tasks import get_task, resolve
from ..builtin import Builtin
from ..dataset import Dataset

SOURCE, TARGET = "de", "en"
SPLITS = ["train", "val", "test_2016_flickr"]


def read_multi30k(folder: Path, source: str = SOURCE, target: str = TARGET, on_error: str = "raise") -> Dataset:
    """`source` sentences and their `target` references (two of de, en, fr, cs), split as the data set splits them."""
    read_folder = resolve(get_task("translation").readers["folder"])
    return read_folder(folder, source=source, target=target, splits=SPLITS, on_error=on_error)


MULTI30K = Builtin(
    "multi30k", "translation", "Multi30k task 1: 31,014 image captions in German, English, French and Czech "
    f"(any two as a pair; default {SOURCE} -> {TARGET})",
    "research use (Elliott et al. 2016)", "local", read_multi30k, "multi30k",
    tuple(f"{split}.{language}.gz" for split in SPLITS for language in (SOURCE, TARGET)))
