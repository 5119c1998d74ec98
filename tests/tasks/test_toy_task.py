"""A third task, registered by this test alone: the package runs `train`, `compare`, `curve` and
`report` on it without a line of its code changed.

The task, "signal", classifies synthetic 1-D signals (a tone in one of three frequency bands, with
noise and a random phase) stored as ``.npy`` files in class folders. Its traditional pipeline is
logistic regression on hand-made FFT band energies; its end-to-end pipeline a tiny 1-D CNN on the
raw samples, trained through :func:`e2elab.nn.train`.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from e2elab import registry
from e2elab.base import ModelState, PipelineMixin, Stage
from e2elab.cli import main
from e2elab.errors import DataError
from e2elab.experiments.schemas import curve_schema, results_schema, validate
from e2elab.params import Int, Real
from e2elab.tasks import ReportSection, Task, register_task, task_names, unregister_task

LENGTH = 128  # samples per signal
BANDS = {"low": (4, 10), "mid": (20, 30), "high": (40, 55)}  # cycles per signal
PER_CLASS = 16


def read_signal(item) -> np.ndarray:
    """One signal: a .npy path (no pickles) or an array; DataError naming what cannot be used."""
    try:
        signal = np.load(item, allow_pickle=False) if isinstance(item, str) else np.asarray(item)
    except (OSError, ValueError) as err:
        raise DataError(item, f"cannot read the signal ({err})") from None
    if signal.ndim != 1 or signal.shape[0] != LENGTH:
        raise DataError(item if isinstance(item, str) else None, f"expected {LENGTH} samples, got shape {signal.shape}")
    return signal.astype(np.float32)


SIGNAL = Task(
    name="signal", item_kind="signal", target_kind="class", metric="error", error_name="error rate",
    extensions=(".npy",), read_item=read_signal, readers={"folder": "e2elab.data.folders:load_folder"},
    pipelines={}, scores="e2elab.experiments.cells:class_scores",
    report=ReportSection(confusion="e2elab.report.confusion:class_confusion", size_label="training signals"),
)


class _SignalPipeline(PipelineMixin, ClassifierMixin, BaseEstimator):
    def _signals(self, X) -> np.ndarray:
        return np.stack([read_signal(x) for x in X])  # (N, LENGTH)


class BandEnergies(_SignalPipeline):
    """Traditional: the log energy of each of `n_bands` FFT bands, then logistic regression."""

    _parameter_constraints = {"n_bands": [Int(2)], "C": [Real(0, None, closed="neither")], "seed": [Int(0)]}

    def __init__(self, n_bands=16, C=1.0, seed=0):
        self.n_bands = n_bands
        self.C = C
        self.seed = seed

    def _features(self, X):
        spectrum = np.abs(np.fft.rfft(self._signals(X), axis=1)) ** 2
        return np.log1p(np.stack([band.sum(axis=1) for band in np.array_split(spectrum, self.n_bands, axis=1)], axis=1))

    def fit(self, X, y):
        self._validate_params()
        self.model_ = LogisticRegression(C=self.C, max_iter=500, random_state=self.seed).fit(self._features(X), y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(self._features(X))

    @property
    def stages(self):
        return [Stage("signal", "input", f"{LENGTH} samples"), Stage("band energies", "hand-crafted", f"{self.n_bands} values"),
                Stage("class", "learned", "label")]

    def stage_outputs(self, item):
        return {"signal": read_signal(item), "band energies": self._features([item])[0], "class": str(self.predict([item])[0])}

    def _get_state(self):
        return ModelState(sklearn={"model": self.model_})

    @classmethod
    def _from_state(cls, params, state):
        model = cls(**params)
        model.model_ = state.sklearn["model"]
        model.classes_ = model.model_.classes_
        return model


def _network(width: int, n_classes: int) -> torch.nn.Module:
    # Max over time of each filter's response does not depend on the tone's phase.
    return torch.nn.Sequential(torch.nn.Conv1d(1, width, 9, padding=4), torch.nn.ReLU(), torch.nn.AdaptiveMaxPool1d(1),
                               torch.nn.Flatten(), torch.nn.Linear(width, n_classes))


class TinyCNN(_SignalPipeline):
    """End-to-end: a one-layer 1-D CNN on the raw samples."""

    _parameter_constraints = {"width": [Int(1)], "epochs": [Int(1)], "batch_size": [Int(1)],
                              "lr": [Real(0, None, closed="neither")], "seed": [Int(0)]}

    def __init__(self, width=8, epochs=30, batch_size=8, lr=0.02, seed=0):
        self.width = width
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.seed = seed

    def fit(self, X, y):
        from e2elab.nn import TrainConfig, train

        self._validate_params()
        self.classes_ = np.unique(np.asarray(y))
        targets = torch.as_tensor(np.searchsorted(self.classes_, np.asarray(y)))
        data = torch.utils.data.TensorDataset(torch.as_tensor(self._signals(X))[:, None, :], targets)
        self.network_ = _network(self.width, len(self.classes_))

        def step(module, batch, device):
            signals, labels = (t.to(device) for t in batch)
            return torch.nn.functional.cross_entropy(module(signals), labels)

        config = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=self.seed, device="cpu",
                             progress=False, keep="last")
        self.history_ = train(self.network_, data, step, config).history
        return self

    def predict(self, X):
        self.network_.eval()
        with torch.no_grad():
            scores = self.network_(torch.as_tensor(self._signals(X))[:, None, :])
        return self.classes_[scores.argmax(dim=1).numpy()]

    @property
    def stages(self):
        return [Stage("signal", "input", f"{LENGTH} samples"), Stage("CNN", "learned", "class scores"),
                Stage("class", "output", "label")]

    def stage_outputs(self, item):
        return {"signal": read_signal(item), "class": str(self.predict([item])[0])}

    def _get_state(self):
        arrays = {name: value.detach().numpy() for name, value in self.network_.state_dict().items()}
        return ModelState(meta={"classes": self.classes_.tolist()}, arrays=arrays)

    @classmethod
    def _from_state(cls, params, state):
        model = cls(**params)
        model.classes_ = np.asarray(state.meta["classes"])
        model.network_ = _network(model.width, len(model.classes_))
        model.network_.load_state_dict({name: torch.as_tensor(value) for name, value in state.arrays.items()})
        return model


@pytest.fixture
def signal_task():
    """The "signal" task and its two pipelines, registered for one test and forgotten after it."""
    register_task(SIGNAL)
    for kind, cls in (("traditional", BandEnergies), ("end-to-end", TinyCNN)):
        registry.register_pipeline("signal", kind)(cls)
    yield SIGNAL
    for kind in ("traditional", "end-to-end"):
        registry._REGISTRY.pop(("signal", kind), None)
    unregister_task("signal")


@pytest.fixture
def signal_folder(tmp_path):
    """ROOT/CLASS/NN.npy: a tone in the class's band, at a random phase, with noise."""
    rng = np.random.default_rng(0)
    t = np.arange(LENGTH) / LENGTH
    root = tmp_path / "signals"
    for label, (low, high) in BANDS.items():
        (root / label).mkdir(parents=True)
        for i in range(PER_CLASS):
            cycles, phase = rng.uniform(low, high), rng.uniform(0, 2 * np.pi)
            signal = np.sin(2 * np.pi * cycles * t + phase) + 0.3 * rng.standard_normal(LENGTH)
            np.save(root / label / f"{i:02d}.npy", signal.astype(np.float32))
    return root


GRID = ["--seeds", "1", "--backend", "sequential", "--no-progress"]


def test_train_compare_curve_and_report_run_on_a_task_registered_by_a_test(signal_task, signal_folder, tmp_path):
    for kind in ("traditional", "end-to-end"):
        run = tmp_path / f"train-{kind}"
        assert main(["train", "signal", "--data", str(signal_folder), "--pipeline", kind, "--out", str(run)]) == 0
        record = json.loads((run / "train.json").read_text())
        assert record["task"] == "signal" and record["metric"] == "error"
        assert record["n_train"] + record["n_test"] == 3 * PER_CLASS
        assert (run / "model" / "e2elab.json").is_file()
    assert json.loads((tmp_path / "train-traditional" / "train.json").read_text())["value"] <= 0.2  # band energies see the band

    compared = tmp_path / "compare"
    assert main(["compare", "signal", "--data", str(signal_folder), "--out", str(compared), *GRID]) == 0
    results = json.loads((compared / "results.json").read_text())
    validate(results, results_schema())
    assert set(results["pipelines"]) == {"end-to-end", "traditional"}
    assert results["split"]["kind"] == "stratified"  # the task holds out by class
    assert "accuracy" in results["pipelines"]["traditional"]  # the class scores of its task
    confusion = json.loads((compared / "confusion_traditional.json").read_text())
    assert sorted(confusion["labels"]) == sorted(BANDS)

    curved = tmp_path / "curve"
    assert main(["curve", "signal", "--data", str(signal_folder), "--out", str(curved), "--sizes", "6,12,24",
                 "--bootstrap", "20", *GRID]) == 0
    curve = json.loads((curved / "curve.json").read_text())
    validate(curve, curve_schema())
    assert curve["unit"] == "items" and curve["sizes"] == [6, 12, 24]

    assert main(["report", str(compared)]) == 0
    page = (compared / "report.html").read_text()
    assert page.count('alt="confusion matrix"') == 2  # drawn through the task's report section


def test_a_file_of_the_task_is_read_and_a_bad_one_named(signal_task, signal_folder, tmp_path, capsys):
    model_dir = tmp_path / "run"
    assert main(["train", "signal", "--data", str(signal_folder), "--pipeline", "traditional", "--out", str(model_dir)]) == 0
    capsys.readouterr()
    item = signal_folder / "high" / "00.npy"
    assert main(["predict", str(model_dir / "model"), str(item)]) == 0
    assert capsys.readouterr().out.strip().split("\t")[1] in BANDS
    short = tmp_path / "short.npy"
    np.save(short, np.zeros(5, dtype=np.float32))
    assert main(["predict", str(model_dir / "model"), str(short)]) == 1
    assert "expected 128 samples" in capsys.readouterr().err


def test_the_package_alone_knows_only_its_own_tasks():
    # Runs after the tests above: their fixture has undone the registration.
    assert "signal" not in task_names()
    assert not any(task == "signal" for task, _ in registry._REGISTRY)
    assert main(["train", "signal", "--data", "x", "--out", "y"]) == 1  # argparse: not a choice
