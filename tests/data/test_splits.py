"""Splits never leak a group, follow the data set's own split, and are deterministic from a seed."""

import numpy as np
import pytest

from e2elab.data.dataset import Dataset
from e2elab.data.splits import (
    group_kfold,
    leave_one_group_out,
    subsample_indices,
    train_test_indices,
    validation_indices,
)


def speech_ds(n_speakers=6, per_speaker=20):
    speakers = np.repeat([f"spk{i}" for i in range(n_speakers)], per_speaker)
    words = np.tile(["one", "two", "three", "four"], len(speakers) // 4 + 1)[: len(speakers)]
    return Dataset(X=[f"clip{i}.wav" for i in range(len(speakers))], y=words, groups=speakers, task="speech")


def image_ds(counts=(50, 30, 10, 3)):
    y = np.concatenate([[f"c{k}"] * n for k, n in enumerate(counts)])
    return Dataset(X=np.zeros((len(y), 4, 4), np.uint8), y=y, task="image")


def test_speech_default_holds_speakers_out():
    ds = speech_ds()
    for seed in range(10):
        train, test = train_test_indices(ds, test_size=0.25, seed=seed)
        assert not set(ds.groups[train]) & set(ds.groups[test])
        assert len(set(ds.groups[test])) == 2  # round(0.25 * 6) speakers
        assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(ds)))


def test_same_seed_same_split_and_seeds_differ():
    ds = speech_ds()
    a = train_test_indices(ds, seed=3)
    b = train_test_indices(ds, seed=3)
    assert all(np.array_equal(x, z) for x, z in zip(a, b))
    tests = {tuple(train_test_indices(ds, seed=s)[1]) for s in range(10)}
    assert len(tests) > 1


def test_image_default_is_stratified():
    ds = image_ds()
    train, test = train_test_indices(ds, test_size=0.2, seed=0)
    counts = {c: int(np.sum(ds.y[test] == c)) for c in ds.classes}
    assert counts == {"c0": 10, "c1": 6, "c2": 2, "c3": 1}
    assert not set(train) & set(test)


def test_stratified_keeps_singleton_class_in_training():
    y = ["a"] * 10 + ["b"]
    ds = Dataset(X=np.zeros((11, 2, 2), np.uint8), y=y, task="image")
    train, test = train_test_indices(ds, kind="stratified")
    assert 10 in train


def test_predefined_split_wins():
    ds = image_ds()
    split = np.where(np.arange(len(ds)) % 3 == 0, "test", "train")
    ds.split = split
    train, test = train_test_indices(ds)
    assert np.array_equal(test, np.flatnonzero(split == "test"))
    assert np.array_equal(train, np.flatnonzero(split == "train"))
    with pytest.raises(ValueError, match="no train and test"):
        train_test_indices(image_ds(), kind="predefined")


def test_image_with_real_groups_holds_groups_out():
    ds = image_ds((20, 20))
    ds.groups = np.repeat(["g1", "g2", "g3", "g4"], 10)
    train, test = train_test_indices(ds, seed=1)
    assert not set(ds.groups[train]) & set(ds.groups[test])


def test_single_speaker_cannot_be_held_out():
    ds = speech_ds(n_speakers=1)
    with pytest.raises(ValueError, match="only 1 group"):
        train_test_indices(ds)


def test_group_kfold_covers_every_item_once_without_leaks():
    ds = speech_ds(n_speakers=7, per_speaker=10)
    seen = []
    for train, test in group_kfold(ds.groups, 3, seed=2):
        assert not set(ds.groups[train]) & set(ds.groups[test])
        assert len(train) + len(test) == len(ds)
        seen.extend(test.tolist())
    assert sorted(seen) == list(range(len(ds)))
    folds_a = [t.tolist() for _, t in group_kfold(ds.groups, 3, seed=2)]
    folds_b = [t.tolist() for _, t in group_kfold(ds.groups, 3, seed=2)]
    assert folds_a == folds_b
    with pytest.raises(ValueError):
        list(group_kfold(ds.groups, 8))


def test_group_kfold_balances_unequal_groups():
    groups = np.repeat(["a", "b", "c", "d", "e", "f"], [40, 30, 20, 20, 10, 10])
    sizes = sorted(len(test) for _, test in group_kfold(groups, 2, seed=0))
    assert sum(sizes) == 130 and sizes[1] - sizes[0] <= 10  # dealt largest first: within one small group


def test_leave_one_group_out():
    ds = speech_ds(n_speakers=4, per_speaker=5)
    splits = list(leave_one_group_out(ds.groups))
    assert len(splits) == 4
    for train, test in splits:
        assert len(set(ds.groups[test])) == 1
        assert ds.groups[test][0] not in set(ds.groups[train])


def test_validation_by_group_for_speech_and_stratified_for_images():
    ds = speech_ds()
    fit, val = validation_indices(ds, 0.2, seed=0)
    assert not set(ds.groups[fit]) & set(ds.groups[val])
    img = image_ds()
    fit, val = validation_indices((img.y, img.groups), 0.1, 0, "image")
    assert set(img.y[val]) == {"c0", "c1", "c2", "c3"}  # every class with 2+ items gives at least one
    assert len(set(fit) | set(val)) == len(img)
    with pytest.raises(ValueError, match="task"):
        validation_indices((img.y, img.groups), 0.1, 0)


def test_subsample_by_class_is_proportional_nested_and_covers_classes():
    ds = image_ds((100, 50, 10, 2))
    small = subsample_indices(ds.y, ds.groups, 4, seed=0)
    assert sorted(ds.y[small]) == ["c0", "c1", "c2", "c3"]
    mid = subsample_indices(ds.y, ds.groups, 40, seed=0)
    counts = {c: int(np.sum(ds.y[mid] == c)) for c in ds.classes}
    assert len(mid) == 40 and counts["c0"] > counts["c1"] > counts["c2"]
    assert set(small) <= set(mid) <= set(subsample_indices(ds.y, ds.groups, 100, seed=0))
    assert not np.array_equal(mid, subsample_indices(ds.y, ds.groups, 40, seed=1))


def test_subsample_by_group_takes_whole_speakers():
    ds = speech_ds()
    two = subsample_indices(ds.y, ds.groups, 2, seed=0, by="group")
    three = subsample_indices(ds.y, ds.groups, 3, seed=0, by="group")
    assert len(set(ds.groups[two])) == 2 and len(two) == 40
    assert set(two) <= set(three)
    with pytest.raises(ValueError):
        subsample_indices(ds.y, ds.groups, 7, by="group")


def test_test_size_of_one_or_more_counts_groups():
    from e2elab.data.splits import group_holdout

    ds = speech_ds(n_speakers=5)
    _, test = group_holdout(ds.groups, test_size=1.0, seed=0)
    assert len(set(ds.groups[test])) == 1
    _, test = group_holdout(ds.groups, test_size=9, seed=0)
    assert len(set(ds.groups[test])) == 4  # never all groups


def with_split(ds, parts):
    """`ds` with its items dealt round-robin to the data set's own `parts`."""
    ds.split = np.array([parts[i % len(parts)] for i in range(len(ds))])
    return ds


def test_train_and_val_without_test_scores_on_val():
    from e2elab.data.splits import describe_holdout

    ds = with_split(image_ds(), ["train", "train", "val"])
    train, test = train_test_indices(ds, seed=5)
    assert np.array_equal(train, np.flatnonzero(ds.split == "train"))
    assert np.array_equal(test, np.flatnonzero(ds.split == "val"))
    assert describe_holdout(ds) == "the data set's own val split (it has no test split)"


def test_train_val_and_test_scores_on_test_and_uses_val_for_neither():
    from e2elab.data.splits import describe_holdout

    ds = with_split(speech_ds(), ["train", "val", "test"])
    train, test = train_test_indices(ds)
    assert set(ds.split[train]) == {"train"} and set(ds.split[test]) == {"test"}
    assert len(train) + len(test) == np.sum(ds.split != "val")
    assert "test split (its val split is used for neither" in describe_holdout(ds)


def test_only_a_train_part_is_split_like_data_without_parts():
    from e2elab.data.splits import describe_holdout

    ds = with_split(speech_ds(), ["train"])
    plain = speech_ds()
    assert all(np.array_equal(a, b) for a, b in zip(train_test_indices(ds, seed=2), train_test_indices(plain, seed=2)))
    assert describe_holdout(ds, test_size=0.25) == "whole speakers held out (25% of them)"
    assert describe_holdout(image_ds(), test_size=0.2) == "20% of each class, drawn at random"


def test_one_class_cannot_be_trained_on():
    from e2elab.errors import DataError

    ds = Dataset(X=np.zeros((6, 2, 2), np.uint8), y=["cat"] * 6, task="image", source="pets/")
    with pytest.raises(DataError, match=r"only one class \(cat\); training a classifier needs at least two") as err:
        train_test_indices(ds)
    assert err.value.source == "pets/"
    ds = with_split(image_ds((4, 4)), ["train", "test"])
    ds.split = np.where(ds.y == "c0", "train", "test")
    with pytest.raises(DataError, match=r"training part holds only one class \(c0\) of 2"):
        train_test_indices(ds)


def test_unsplittable_data_names_the_data_set():
    from e2elab.errors import DataError

    ds = speech_ds(n_speakers=1)
    ds.source = "one-speaker.tsv"
    with pytest.raises(DataError, match="only 1 group") as err:
        train_test_indices(ds)
    assert err.value.source == "one-speaker.tsv"


def test_folder_and_manifest_splits_are_honoured(tmp_path):
    from PIL import Image

    from e2elab.data.sources import load_dataset

    for part, n in (("train", 4), ("val", 2)):
        for label in ("a", "b"):
            for i in range(n):
                (tmp_path / "photos" / part / label).mkdir(parents=True, exist_ok=True)
                Image.new("L", (4, 4), 40 * i).save(tmp_path / "photos" / part / label / f"{i}.png")
    ds = load_dataset(tmp_path / "photos")
    train, test = train_test_indices(ds)
    assert all("/val/" in path for path in ds.X[test]) and len(test) == 4
    assert all("/train/" in path for path in ds.X[train]) and len(train) == 8
    rows = [f"{path},{label},{'test' if '/val/' in path else 'train'}" for path, label in zip(ds.X, ds.y)]
    (tmp_path / "m.csv").write_text("path,label,split\n" + "\n".join(rows) + "\n")
    manifest = load_dataset(tmp_path / "m.csv")
    assert np.array_equal(train_test_indices(manifest)[1], test)
