"""The shared training loop: learning, best weights, early stopping, resume, determinism."""

from __future__ import annotations

import json

import pytest
import torch
from torch.utils.data import TensorDataset

from e2elab.errors import RunFolderError
from e2elab.nn import TrainConfig, load_checkpoint, make_optimizer, one_cycle_lr, read_metrics, train


def _data(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return TensorDataset(x, y)


def _model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))


def _step(module, batch, device):
    x, y = (t.to(device) for t in batch)
    return torch.nn.functional.cross_entropy(module(x), y)


def _accuracy(module, loader, device):
    right = total = 0
    for x, y in loader:
        right += (module(x.to(device)).argmax(1) == y.to(device)).sum().item()
        total += len(y)
    return {"val_error": 1 - right / total}


def _config(**kw):
    return TrainConfig(**{"epochs": 6, "batch_size": 16, "lr": 1e-2, "device": "cpu", "progress": False, **kw})


def test_loss_falls_and_history_has_one_row_per_epoch():
    result = train(_model(), _data(), _step, _config(), val_data=_data(48, seed=1))
    assert [row["epoch"] for row in result.history] == list(range(1, 7))
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert {"train_loss", "lr", "seconds", "val_loss"} <= set(result.history[0])
    assert result.device == "cpu"


def test_module_holds_best_weights_by_monitor():
    module = _model()
    result = train(module, _data(), _step, _config(monitor="val_error"), val_data=_data(48, seed=1), validate=_accuracy)
    best = min(result.history, key=lambda r: r["val_error"])
    assert result.best_epoch == best["epoch"]
    loader = torch.utils.data.DataLoader(_data(48, seed=1), batch_size=100)
    module.eval()
    with torch.no_grad():
        assert _accuracy(module, loader, torch.device("cpu"))["val_error"] == pytest.approx(best["val_error"])


def test_max_mode_and_unknown_monitor():
    def validate(module, loader, device):
        return {"val_acc": 1 - _accuracy(module, loader, device)["val_error"]}

    result = train(_model(), _data(), _step, _config(monitor="val_acc", mode="max"), _data(48, 1), validate)
    assert result.best_epoch == max(result.history, key=lambda r: r["val_acc"])["epoch"]
    with pytest.raises(KeyError, match="val_nope"):
        train(_model(), _data(), _step, _config(monitor="val_nope"), _data(48, 1), validate)


def test_early_stopping_stops_after_patience():
    def flat(module, loader, device):  # never improves after the first epoch
        return {"val_loss": 1.0}

    result = train(_model(), _data(), _step, _config(epochs=20, patience=2), _data(48, 1), flat)
    assert result.stopped_early and len(result.history) == 3 and result.best_epoch == 1


def test_keep_last_returns_the_final_weights_and_still_stops_early():
    def worsening(module, loader, device):  # each epoch looks worse than the one before
        worsening.calls += 1
        return {"val_loss": float(worsening.calls)}

    worsening.calls = 0
    module = _model()
    result = train(module, _data(), _step, _config(epochs=20, patience=2, keep="last"), _data(48, 1), worsening)
    assert result.stopped_early and len(result.history) == 3 and result.best_epoch == 3
    worsening.calls = 0
    best = _model()
    train(best, _data(), _step, _config(epochs=20, patience=2), _data(48, 1), worsening)  # the first epoch's weights
    assert any(not torch.equal(a, b) for a, b in zip(module.state_dict().values(), best.state_dict().values()))
    with pytest.raises(ValueError, match="keep"):
        _config(keep="first")


def test_same_seed_same_weights_other_seed_differs():
    weights = []
    for seed in (3, 3, 4):
        module = _model()
        train(module, _data(), _step, _config(seed=seed))
        weights.append(torch.cat([p.flatten() for p in module.parameters()]))
    assert torch.equal(weights[0], weights[1])
    assert not torch.equal(weights[0], weights[2])


def test_resume_after_interruption_matches_uninterrupted_run(tmp_path):
    full = _model()
    train(full, _data(), _step, _config(), val_data=_data(48, 1))

    class Stop(Exception):
        pass

    def interrupt(row):
        if row["epoch"] == 3:
            raise Stop

    resumed = _model()
    with pytest.raises(Stop):
        train(resumed, _data(), _step, _config(checkpoint_dir=str(tmp_path)), val_data=_data(48, 1), on_epoch_end=interrupt)
    assert len(read_metrics(tmp_path)) == 3
    resumed = _model(seed=99)  # a fresh process would rebuild the module from scratch
    result = train(resumed, _data(), _step, _config(checkpoint_dir=str(tmp_path)), val_data=_data(48, 1))
    assert [r["epoch"] for r in result.history] == list(range(1, 7))
    for a, b in zip(full.parameters(), resumed.parameters()):
        assert torch.equal(a, b)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == list(range(1, 7))
    assert load_checkpoint(tmp_path)["next_epoch"] == 6  # plain tensors: loads with weights_only=True


def test_custom_batch_sampler_is_used_per_epoch():
    seen = []

    def batches(epoch):
        seen.append(epoch)
        order = list(range(96))
        return [order[i:i + 32] for i in range(0, 96, 32)]

    sizes = []

    def step(module, batch, device):
        sizes.append(len(batch[0]))
        return _step(module, batch, device)

    train(_model(), _data(), step, _config(epochs=2), batch_sampler=batches)
    assert sizes == [32] * 6
    assert set(seen) == {0, 1}


def test_non_finite_loss_is_a_clear_error():
    def bad(module, batch, device):
        return _step(module, batch, device) * float("nan")

    with pytest.raises(FloatingPointError, match="epoch 1"):
        train(_model(), _data(), bad, _config(epochs=1))


def test_one_cycle_rises_then_falls():
    peak = 1e-2
    values = [one_cycle_lr(p / 100, peak, warmup=0.25) for p in range(101)]
    assert values[0] == pytest.approx(peak / 25)
    assert max(values) == pytest.approx(peak) and values.index(max(values)) == 25
    assert values[-1] == pytest.approx(peak / 25 / 1e4)


def test_bad_config_is_refused():
    with pytest.raises(ValueError):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError):
        TrainConfig(mode="best")
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="lbfgs")


def test_sgd_optimizer_decays_kernels_only_and_learns():
    model = _model()
    optimizer = make_optimizer(model, 0.1, 5e-4, "sgd")
    assert isinstance(optimizer, torch.optim.SGD)
    assert all(g["nesterov"] and g["momentum"] == 0.9 for g in optimizer.param_groups)
    decays = {p.ndim: g["weight_decay"] for g in optimizer.param_groups for p in g["params"]}
    assert decays == {2: 5e-4, 1: 0.0}  # weight matrices decay, biases do not
    result = train(model, _data(), _step, _config(optimizer="sgd", lr=0.1, epochs=8))
    assert result.history[-1]["train_loss"] < 0.5 * result.history[0]["train_loss"]
    with pytest.raises(ValueError, match="optimizer"):
        make_optimizer(model, 0.1, 0.0, "rmsprop")
    assert TrainConfig(optimizer="sgd").lr == 0.2 and TrainConfig().lr == 3e-3  # lr=None: the optimizer's own
    assert TrainConfig(optimizer="sgd", lr=0.05).lr == 0.05


def test_checkpoint_of_another_run_is_refused(tmp_path):
    first = train(_model(), _data(), _step, _config(epochs=2, checkpoint_dir=str(tmp_path)), resume_key="run-a")
    with pytest.raises(RunFolderError, match="holds the checkpoint of another run .*--overwrite"):
        train(_model(), _data(), _step, _config(epochs=2, checkpoint_dir=str(tmp_path)), resume_key="run-b")
    assert load_checkpoint(tmp_path)["resume_key"] == "run-a"  # left as it was
    again = train(_model(), _data(), _step, _config(epochs=2, checkpoint_dir=str(tmp_path)), resume_key="run-a")
    assert again.history == first.history  # finished run: resumed, nothing retrained


@pytest.mark.parametrize("setting", [{"epochs": 3}, {"lr": 2e-2}, {"seed": 1}, {"batch_size": 8}])
def test_checkpoint_saved_with_other_settings_is_refused(tmp_path, setting):
    train(_model(), _data(), _step, _config(epochs=2, checkpoint_dir=str(tmp_path)), resume_key="run")
    name = next(iter(setting))
    with pytest.raises(RunFolderError, match=f"other settings \\({name}="):
        train(_model(), _data(), _step, _config(**{"epochs": 2, **setting, "checkpoint_dir": str(tmp_path)}), resume_key="run")


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    train(_model(), _data(), _step, _config(epochs=1, checkpoint_dir=str(tmp_path)))
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(RunFolderError, match="checkpoint.pt: cannot resume from this checkpoint, it is corrupt"):
        train(_model(), _data(), _step, _config(epochs=1, checkpoint_dir=str(tmp_path)))
