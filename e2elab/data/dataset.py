"""`Dataset`: raw items, their targets and groups, and the task they belong to."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..tasks import get_task


@dataclass
class Dataset:
    """Raw items with targets, loaded lazily.

    X: a NumPy object array of file paths (loaded when a pipeline reads them), or an array of
       images (N, H, W[, 3]) uint8 / waveforms already in memory.
    y: the targets: class labels (image) or transcripts (speech) as strings; array targets (an
       image's face boxes) as an object array of arrays.
    task: the name of a registered task (:mod:`e2elab.tasks`).
    groups: the speaker (speech) or other grouping of each item; splits never cut a group.
    split: the data set's own split of each item ("train", "val", "test"), or None.
    skipped: (item, reason) for every item that was left out while loading.
    """

    X: np.ndarray
    y: np.ndarray
    task: str
    groups: np.ndarray | None = None
    split: np.ndarray | None = None
    name: str = ""
    source: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self):
        declared = get_task(self.task)  # ParameterError for a task nobody registered
        if not isinstance(self.X, np.ndarray):
            self.X = _object_array(self.X)
        self.y = _targets(self.y)
        if len(self.X) != len(self.y):
            raise ValueError(f"{len(self.X)} items but {len(self.y)} targets")
        if self.groups is None:
            # Where whole groups are held out, an item with no group is its own; otherwise all share one.
            self.groups = (np.array([f"item{i}" for i in range(len(self.y))]) if declared.holdout == "groups"
                           else np.zeros(len(self.y), dtype=str))
        self.groups = np.asarray(self.groups).astype(str)
        if self.split is not None:
            self.split = np.asarray(self.split).astype(str)

    def __len__(self) -> int:
        return len(self.y)

    def __repr__(self) -> str:
        return f"Dataset({self.name or self.source!r}, task={self.task!r}, items={len(self)}, groups={len(np.unique(self.groups))})"

    @property
    def classes(self) -> list[str]:
        """Sorted class labels (image) or transcripts' distinct values; none for array targets."""
        if self.y.dtype == object:
            return []
        return sorted(np.unique(self.y).tolist())

    @property
    def vocabulary(self) -> list[str]:
        """Sorted distinct words of the transcripts."""
        return sorted({word for text in self.y for word in text.split()})

    @property
    def splits(self) -> list[str]:
        """The names of the data set's own splits, in order train, val, test."""
        if self.split is None:
            return []
        present = set(self.split.tolist())
        return [name for name in ("train", "val", "test") if name in present]

    def subset(self, indices) -> "Dataset":
        """The items at `indices` (an index array or boolean mask), as a new Dataset."""
        indices = np.asarray(indices)
        return replace(
            self,
            X=self.X[indices],
            y=self.y[indices],
            groups=self.groups[indices],
            split=None if self.split is None else self.split[indices],
            skipped=list(self.skipped),
        )

    def take_split(self, name: str) -> "Dataset":
        """The items of the data set's own split `name` ("train", "val" or "test")."""
        if name not in self.splits:
            have = ", ".join(self.splits) or "none"
            raise DataError(self.name or self.source, f"has no {name!r} split (it has: {have})")
        return self.subset(self.split == name)

    def counts(self) -> Counter:
        """How many items each class has, or (transcripts) how often each word occurs."""
        if get_task(self.task).target_kind == "class":
            return Counter(self.y.tolist())
        return Counter(word for text in self.y for word in text.split())


def _object_array(items) -> np.ndarray:
    """A list of paths (or other items) as a 1-D object array that scikit-learn can index."""
    array = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        array[i] = str(item) if isinstance(item, Path) else item
    return array


def _targets(y) -> np.ndarray:
    """Targets that are arrays (boxes per image) as an object array of them; any other as strings."""
    if len(y) and all(isinstance(target, np.ndarray) for target in y):
        return _object_array(list(y))
    return np.asarray(y).astype(str)
