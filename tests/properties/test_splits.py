"""Splits on arbitrary labels and groups: disjoint, covering, deterministic, never cutting a group."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from e2elab.data.dataset import Dataset
from e2elab.data.splits import group_kfold, train_test_indices
from e2elab.errors import DataError

LABELS = st.lists(st.sampled_from("abcd"), min_size=2, max_size=60)


@st.composite
def datasets(draw, task):
    y = draw(LABELS)
    groups = draw(st.lists(st.sampled_from([f"g{i}" for i in range(8)]), min_size=len(y), max_size=len(y)))
    return Dataset(X=[f"item{i}" for i in range(len(y))], y=y, groups=groups, task=task)


@settings(max_examples=100, deadline=None)
@given(ds=st.one_of(datasets("speech"), datasets("image")), kind=st.sampled_from(["auto", "group", "stratified", "random"]),
       test_size=st.sampled_from([0.1, 0.25, 0.5, 2]), seed=st.integers(0, 2**31))
def test_holdout_is_disjoint_covering_and_deterministic(ds, kind, test_size, seed):
    try:
        train, test = train_test_indices(ds, test_size=test_size, seed=seed, kind=kind)
    except DataError:
        return  # one group, or a single class to train on
    assert len(test) and len(train)
    assert not set(train) & set(test)
    assert sorted([*train, *test]) == list(range(len(ds)))
    again = train_test_indices(ds, test_size=test_size, seed=seed, kind=kind)
    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])
    if kind == "group" or (kind == "auto" and ds.task == "speech"):
        assert not set(ds.groups[train]) & set(ds.groups[test])
    if kind == "stratified":
        labels, counts = np.unique(ds.y, return_counts=True)
        assert set(ds.y[train]) == set(labels)  # every class is trained on
        assert set(ds.y[test]) == set(labels[counts >= 2])  # and tested where it has two items


@settings(max_examples=60, deadline=None)
@given(ds=datasets("speech"), n_splits=st.integers(2, 5), seed=st.integers(0, 1000))
def test_group_folds_partition_the_items_by_group(ds, n_splits, seed):
    try:
        folds = list(group_kfold(ds.groups, n_splits, seed=seed))
    except DataError:
        assert n_splits > len(set(ds.groups))
        return
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested) == list(range(len(ds)))
    for train, test in folds:
        assert not set(ds.groups[train]) & set(ds.groups[test])
