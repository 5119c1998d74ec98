"""Weights moved from a source network: same architecture checked, output layer rebuilt by label."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from e2elab.errors import ParameterError
from e2elab.nn.fingerprint import model_digest, run_fingerprint
from e2elab.nn.init_from import label_rows, start_from, transfer_weights


class Net(torch.nn.Module):
    def __init__(self, n_labels: int, hidden: int = 4):
        super().__init__()
        self.body = torch.nn.Linear(3, hidden)
        self.norm = torch.nn.BatchNorm1d(hidden)
        self.head = torch.nn.Linear(hidden, n_labels)


def test_label_rows_match_labels_by_name():
    assert label_rows(["a", "c", "b"], ["b", "a"]).tolist() == [1, -1, 0]


def test_shared_labels_keep_their_rows_and_new_ones_stay_fresh():
    torch.manual_seed(0)
    source, target = Net(2), Net(3)
    fresh_row = target.head.weight[1].clone()
    start_from(target, source, ["a", "c", "b"], ["b", "a"], "source-model")
    assert torch.equal(target.body.weight, source.body.weight)
    assert torch.equal(target.norm.running_mean, source.norm.running_mean)
    assert torch.equal(target.head.weight[0], source.head.weight[1])  # "a"
    assert torch.equal(target.head.weight[2], source.head.weight[0])  # "b"
    assert torch.equal(target.head.bias[2], source.head.bias[0])
    assert torch.equal(target.head.weight[1], fresh_row)  # "c": the source never had it


def test_same_count_of_other_labels_is_not_copied_by_position():
    torch.manual_seed(0)
    source, target = Net(2), Net(2)
    fresh = target.head.weight.clone()
    start_from(target, source, ["a", "c"], ["a", "b"], "source-model")
    assert torch.equal(target.head.weight[0], source.head.weight[0])
    assert torch.equal(target.head.weight[1], fresh[1])


def test_another_architecture_is_refused_naming_the_weights_file(tmp_path):
    with pytest.raises(ParameterError, match=r"weights\.safetensors holds another architecture.*body\.weight"):
        transfer_weights(Net(2, hidden=4), Net(2, hidden=8).state_dict(), np.array([0, 1]), tmp_path)
    extra = {**Net(2).state_dict(), "extra.weight": torch.zeros(1)}
    with pytest.raises(ParameterError, match="extra.weight is there but not here"):
        transfer_weights(Net(2), extra, np.array([0, 1]), tmp_path)


def test_an_alphabet_sharing_nothing_is_refused():
    with pytest.raises(ParameterError, match="share nothing"):
        start_from(Net(3), Net(3), [None, "a", "b"], [None, "x", "y"], "m", "alphabet's characters", must_share=True)


def test_the_run_key_follows_the_source_model_content_not_its_path(tmp_path):
    first, moved = tmp_path / "m1", tmp_path / "m2"
    for folder in (first, moved):
        folder.mkdir()
        (folder / "e2elab.json").write_text('{"files": {"weights.safetensors": "aa"}}')
    key = lambda folder: run_fingerprint([np.zeros(2)], {}, {"init_from": str(folder), "lr": 0.1})
    assert key(first) == key(moved)
    assert model_digest(first) == model_digest(moved)
    (moved / "e2elab.json").write_text('{"files": {"weights.safetensors": "bb"}}')
    assert key(first) != key(moved)
