"""The training length rule (a floor on optimiser updates) and the slowed or frozen lower part."""

from __future__ import annotations

import pytest
import torch

from e2elab.nn import TrainConfig, train
from e2elab.nn.schedule import (
    DEFAULT_MIN_UPDATES,
    SmallDataWarning,
    lr_factor,
    make_optimizer,
    planned_epochs,
    training_length,
    warn_if_small,
)


pytestmark = pytest.mark.usefixtures("one_thread")  # networks this small gain nothing from threads


class TwoPart(torch.nn.Module):
    """A lower part and an output layer named `head`, as in the end-to-end networks."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Linear(3, 4)
        self.head = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.head(torch.relu(self.body(x)))


def _data(n=12):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=generator)
    return torch.utils.data.TensorDataset(x, (x[:, 0] > 0).long())


def _step(module, batch, device):
    x, y = batch
    return torch.nn.functional.cross_entropy(module(x.to(device)), y.to(device))


def test_small_data_gets_more_epochs_and_large_data_keeps_its_own():
    assert planned_epochs(20, updates_per_epoch=2, min_updates=600) == 300
    assert planned_epochs(20, updates_per_epoch=3, min_updates=100) == 34  # rounded up: at least 100 updates
    assert planned_epochs(20, updates_per_epoch=102, min_updates=600) == 20  # USPS-sized: unchanged
    assert planned_epochs(5, updates_per_epoch=1, min_updates=0) == 5
    with pytest.raises(ValueError):
        planned_epochs(5, updates_per_epoch=0, min_updates=10)


def test_a_stated_number_of_epochs_is_not_lengthened_unless_asked():
    assert training_length(None, None, default_epochs=20) == (20, DEFAULT_MIN_UPDATES)
    assert training_length(None, 50, default_epochs=20) == (20, 50)
    assert training_length(8, None, default_epochs=20) == (8, 0)
    assert training_length(8, 300, default_epochs=20) == (8, 300)


def test_the_training_loop_makes_at_least_min_updates():
    # 12 items in batches of 4: 3 updates an epoch; 2 epochs asked, a floor of 10 updates -> 4 epochs.
    result = train(TwoPart(), _data(), _step, TrainConfig(epochs=2, min_updates=10, batch_size=4, progress=False))
    assert len(result.history) == 4


def test_frozen_lower_part_stays_still_while_the_head_learns():
    module = TwoPart()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    train(module, _data(), _step, TrainConfig(epochs=1, batch_size=4, head="head", freeze_epochs=1, lr=0.1,
                                              progress=False))
    assert torch.equal(module.body.weight, before["body.weight"]) and torch.equal(module.body.bias, before["body.bias"])
    assert not torch.equal(module.head.weight, before["head.weight"])


def test_lower_part_learns_after_the_frozen_epochs():
    module = TwoPart()
    before = module.body.weight.clone()
    train(module, _data(), _step, TrainConfig(epochs=2, batch_size=4, head="head", freeze_epochs=1, lr=0.1,
                                              progress=False))
    assert not torch.equal(module.body.weight, before)


def test_parameter_groups_know_the_lower_part():
    optimizer = make_optimizer(TwoPart(), 1e-3, 5e-4, head="head")
    lower = [tuple(p.shape) for g in optimizer.param_groups if g["lower"] for p in g["params"]]
    assert sorted(lower) == [(4,), (4, 3)]  # body.weight and body.bias, not the head's
    assert not any(g["lower"] for g in make_optimizer(TwoPart(), 1e-3, 5e-4).param_groups)  # no head: no lower part
    assert lr_factor(True, 0, freeze_epochs=2, lower_lr=0.1) == 0.0
    assert lr_factor(True, 2, freeze_epochs=2, lower_lr=0.1) == 0.1
    assert lr_factor(False, 0, freeze_epochs=2, lower_lr=0.1) == 1.0


def test_small_data_warning_names_the_count_and_the_remedy():
    with pytest.warns(SmallDataWarning, match=r"12 clips.*100.*init_from"):
        warn_if_small(12, 100, "clips")
