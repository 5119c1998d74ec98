"""`torchrun -m e2elab train` with 2 processes against 1 on the same global batch: the end-to-end
image network trains to the same losses, and the run writes one model (slow: four Python processes
start and import torch)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import e2elab

pytestmark = pytest.mark.slow

PARAMS = ["width=4", "epochs=2", "batch_size=8", "augment=none", "device=cpu", "progress=false"]


@pytest.fixture(scope="module")
def digit_folder(tmp_path_factory):
    """48 of scikit-learn's 8x8 digits (classes 0 to 2) as PNG files in class folders."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    root = tmp_path_factory.mktemp("digits")
    for i in np.flatnonzero(digits.target < 3)[:48]:
        folder = root / str(digits.target[i])
        folder.mkdir(exist_ok=True)
        Image.fromarray((digits.images[i] * 15).astype(np.uint8)).save(folder / f"{i}.png")
    return root


def torchrun_train(processes: int, data, out):
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes), "--standalone",
               "-m", "e2elab", "train", "image", "--data", str(data), "--out", str(out)]
    for param in PARAMS:
        command += ["--param", param]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "E2ELAB_JOIN_TIMEOUT": "60"}
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in (out / "checkpoints" / "metrics.jsonl").read_text().splitlines()]


def test_two_processes_train_like_one_on_the_same_global_batch(digit_folder, tmp_path):
    one = torchrun_train(1, digit_folder, tmp_path / "one")
    two = torchrun_train(2, digit_folder, tmp_path / "two")
    assert [row["epoch"] for row in two] == [1, 2]
    # the same items in every step; batch norm sees 4 items per rank instead of 8, hence a tolerance
    assert [row["train_loss"] for row in two] == pytest.approx([row["train_loss"] for row in one], rel=0.03)
    assert [row["val_loss"] for row in two] == pytest.approx([row["val_loss"] for row in one], rel=0.03)
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["checkpoints", "model", "train.json"]
    assert sorted(p.name for p in (tmp_path / "two" / "checkpoints").iterdir()) == ["checkpoint.pt", "metrics.jsonl"]
    model = e2elab.load(tmp_path / "two" / "model")
    assert list(model.classes_) == ["0", "1", "2"]
