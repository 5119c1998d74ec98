"""Train/test splits that never cut a group, and subsets for learning curves.

Every function is deterministic given its seed and returns sorted int64 index arrays.

* each task declares how it holds data out (:attr:`e2elab.tasks.Task.holdout`): speech holds
  speakers (groups) out, since a model that has heard the test speaker proves little; images are
  split stratified by class (or by group, where the data set names real groups);
* a data set's own split wins whenever it has one (``kind="auto"``): train on its train part,
  score on its test part, or on its val part when it has no test part. With all three, val is
  used for neither (a pipeline takes its own validation items out of training data).

Splitting that cannot be done (one group to hold out, one class to train on) raises DataError.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..errors import DataError, ParameterError
from ..tasks import get_task
from .dataset import Dataset

KINDS = ("auto", "predefined", "group", "stratified", "random")


def _rng(seed) -> np.random.Generator:
    return np.random.default_rng(seed)


def _sorted(indices) -> np.ndarray:
    return np.sort(np.asarray(indices, dtype=np.int64))


def has_real_groups(groups) -> bool:
    """True when `groups` names more than one group and at least one group holds several items."""
    groups = np.asarray(groups)
    n_groups = len(np.unique(groups))
    return 1 < n_groups < len(groups)


def group_holdout(groups, test_size: float = 0.25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Hold out whole groups: round(test_size * n_groups) of them, or test_size groups when it
    is 1 or more; at least one and never all."""
    groups = np.asarray(groups)
    unique = np.unique(groups)
    if len(unique) < 2:
        raise DataError(None, f"cannot hold a group out: the data has only {len(unique)} group")
    n_test = _n_test(test_size, len(unique))
    test_groups = _rng(seed).permutation(unique)[:n_test]
    test = np.isin(groups, test_groups)
    return _sorted(np.flatnonzero(~test)), _sorted(np.flatnonzero(test))


def stratified_holdout(y, test_size: float = 0.25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Hold out about `test_size` of each class (at least one item of every class with two or
    more); a class with one item stays in training. DataError when no class has two items."""
    y = np.asarray(y)
    rng = _rng(seed)
    test = []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        if len(members) < 2:
            continue
        test.extend(members[: _n_test(test_size, len(members))])
    if not test:
        raise DataError(None, "cannot hold items out by class: no class has two items")
    test = _sorted(test)
    return _sorted(np.setdiff1d(np.arange(len(y)), test)), test


def random_holdout(n: int, test_size: float = 0.25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Hold out a random `test_size` of `n` items."""
    order = _rng(seed).permutation(n)
    n_test = _n_test(test_size, n)
    return _sorted(order[n_test:]), _sorted(order[:n_test])


def _n_test(test_size: float, n: int) -> int:
    """How many of `n` units go to test: a fraction, or a count when test_size >= 1."""
    if n < 2:
        raise DataError(None, f"cannot split {n} unit(s) into train and test")
    count = int(test_size) if test_size >= 1 else int(round(test_size * n))
    return min(max(count, 1), n - 1)


def held_out_part(ds: Dataset) -> str | None:
    """The data set's own part that ``kind="auto"`` scores on: "test", else "val"; None when the
    data set has no train part and another one to set against it (then it is split)."""
    parts = set(ds.splits)
    if "train" not in parts:
        return None
    return "test" if "test" in parts else "val" if "val" in parts else None


def _resolve_kind(ds: Dataset, kind: str) -> str:
    if kind not in KINDS:
        raise ParameterError(f"split kind must be one of {KINDS}, not {kind!r}")
    if kind != "auto":
        return kind
    if held_out_part(ds) is not None:
        return "predefined"
    if get_task(ds.task).holdout == "items":
        return "random"
    return "group" if get_task(ds.task).holdout == "groups" or has_real_groups(ds.groups) else "stratified"


def train_test_indices(ds: Dataset, test_size: float = 0.25, seed: int = 0, kind: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, test_idx) for `ds`.

    kind="auto": the data set's own split when it has one (train against test, or against val
    when there is no test); else whole groups held out for tasks that hold groups out (speech)
    and for data sets with real groups; else stratified by class. "predefined", "group", "stratified" and
    "random" force one of these. :func:`describe_holdout` says in words which items are held out.

    Raises DataError naming the data set when it cannot be split, or when a data set's
    training part holds a single class (nothing to tell apart) in a classification task.
    """
    kind = _resolve_kind(ds, kind)
    source = ds.source or ds.name
    try:
        if kind == "predefined":
            part = held_out_part(ds)
            if part is None:
                raise DataError(None, f"has no train and test (or val) split of its own (it has: {', '.join(ds.splits) or 'none'})")
            train, test = _sorted(np.flatnonzero(ds.split == "train")), _sorted(np.flatnonzero(ds.split == part))
        elif kind == "group":
            train, test = group_holdout(ds.groups, test_size, seed)
        elif kind == "stratified":
            train, test = stratified_holdout(ds.y, test_size, seed)
        else:
            train, test = random_holdout(len(ds), test_size, seed)
    except DataError as err:
        raise DataError(source, err.reason) from None
    if get_task(ds.task).target_kind == "class":
        _require_two_classes(ds, train, source)
    return train, test


def _require_two_classes(ds: Dataset, train: np.ndarray, source: str) -> None:
    classes = np.unique(ds.y[train])
    if len(classes) >= 2:
        return
    every = np.unique(ds.y)
    if len(every) < 2:
        raise DataError(source, f"only one class ({every[0] if len(every) else 'none'}); training a classifier needs at least two")
    raise DataError(source, f"the training part holds only one class ({classes[0] if len(classes) else 'none'}) of "
                    f"{len(every)}; training a classifier needs at least two")


def describe_holdout(ds: Dataset, kind: str = "auto", test_size: float = 0.25) -> str:
    """In words, which items :func:`train_test_indices` holds out and scores, for logs and run records."""
    kind = _resolve_kind(ds, kind)
    if kind == "predefined":
        part = held_out_part(ds)
        if part == "val":
            return "the data set's own val split (it has no test split)"
        unused = " (its val split is used for neither training nor scoring)" if "val" in ds.splits else ""
        return f"the data set's own test split{unused}"
    share = f"{int(test_size)}" if test_size >= 1 else f"{test_size:.0%}"
    if kind == "group":
        return f"whole {get_task(ds.task).group_name}s held out ({share} of them)"
    if kind == "stratified":
        return f"{share} of each class, drawn at random"
    return f"{share} of the items, drawn at random"


def group_kfold(groups, n_splits: int, seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """K folds over whole groups, shuffled by `seed`, balanced by item count.

    Groups are dealt, largest first (ties in shuffled order), to the fold with the fewest items.
    """
    groups = np.asarray(groups)
    unique, counts = np.unique(groups, return_counts=True)
    if not 2 <= n_splits <= len(unique):
        raise DataError(None, f"n_splits={n_splits} needs between 2 and {len(unique)} (the number of groups)")
    order = _rng(seed).permutation(len(unique))
    order = order[np.argsort(-counts[order], kind="stable")]
    fold_of_group = np.empty(len(unique), dtype=np.int64)
    sizes = np.zeros(n_splits, dtype=np.int64)
    for g in order:
        fold = int(np.argmin(sizes))
        fold_of_group[g] = fold
        sizes[fold] += counts[g]
    fold_of_item = fold_of_group[np.searchsorted(unique, groups)]
    for fold in range(n_splits):
        test = fold_of_item == fold
        yield _sorted(np.flatnonzero(~test)), _sorted(np.flatnonzero(test))


def leave_one_group_out(groups) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One split per group (in sorted order) with that group as the test set."""
    groups = np.asarray(groups)
    unique = np.unique(groups)
    if len(unique) < 2:
        raise DataError(None, "leave-one-group-out needs at least two groups")
    for group in unique:
        test = groups == group
        yield _sorted(np.flatnonzero(~test)), _sorted(np.flatnonzero(test))


def validation_indices(ds_or_y_groups, fraction: float = 0.1, seed: int = 0, task: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(fit_idx, val_idx): a validation part taken out of training data.

    `ds_or_y_groups` is a Dataset or a (y, groups) pair; `task` defaults to the Dataset's.
    Tasks that hold groups out (speech) take whole groups when there are at least two, as do
    data with real groups; the others are stratified by class (random where a class is too
    small). Indices are positions in what was passed.
    """
    if isinstance(ds_or_y_groups, Dataset):
        y, groups, task = ds_or_y_groups.y, ds_or_y_groups.groups, task or ds_or_y_groups.task
    else:
        y, groups = ds_or_y_groups
        y = np.asarray(y)
        groups = np.asarray(groups) if groups is not None else np.arange(len(y)).astype(str)
    if task is None:
        raise ParameterError("validation_indices needs task= when given (y, groups)")
    holds_groups_out = get_task(task).holdout == "groups"
    if (holds_groups_out and len(np.unique(groups)) >= 2) or (not holds_groups_out and has_real_groups(groups)):
        return group_holdout(groups, fraction, seed)
    _, counts = np.unique(y, return_counts=True)
    if counts.min() >= 2 and len(y) >= 2:
        return stratified_holdout(y, fraction, seed)
    return random_holdout(len(y), fraction, seed)


def subsample_indices(y, groups, n: int, seed: int = 0, by: str = "class") -> np.ndarray:
    """A subset for a learning curve.

    by="class": `n` items, each class in proportion to its frequency (at least one of each
    class when n allows it). by="group": every item of `n` groups (speakers), so a speech curve
    grows by speakers. by="item": `n` items drawn at random (targets that are not classes, such
    as an image's boxes). Subsets of one seed are nested as n grows.
    """
    rng = _rng(seed)
    if by == "item":
        if not 1 <= n <= len(y):
            raise DataError(None, f"n={n} items requested; there are {len(y)}")
        return _sorted(rng.permutation(len(y))[:n])
    y = np.asarray(y)
    if by == "group":
        unique = np.unique(np.asarray(groups))
        if not 1 <= n <= len(unique):
            raise DataError(None, f"n={n} groups requested; there are {len(unique)}")
        chosen = rng.permutation(unique)[:n]
        return _sorted(np.flatnonzero(np.isin(groups, chosen)))
    if by != "class":
        raise ParameterError(f"by must be 'class', 'group' or 'item', not {by!r}")
    if not 1 <= n <= len(y):
        raise DataError(None, f"n={n} items requested; there are {len(y)}")
    # Each item's key is its position within its class's shuffled order, as a fraction of the
    # class size; taking the n smallest keys gives proportional, nested subsets. The first item
    # of every class comes before all others, so each class appears once n allows it.
    keys = np.empty(len(y), dtype=np.float64)
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        keys[members] = (np.arange(len(members)) + 0.5) / len(members)
        keys[members[0]] = -1.0
    order = np.lexsort((rng.random(len(y)), keys))
    return _sorted(order[:n])
