"""`e2elab train` hands a data set's own val split to the pipelines that validate on it, instead
of holding training items out for validation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from e2elab.cli import main
from e2elab.io import load

sys.path.insert(0, str(Path(__file__).parents[1] / "translation"))
from synthetic import corpus  # noqa: E402

# Tuning on held-out pairs takes min(tune_sentences, a tenth of the pairs) away from the tables.
TUNED = ["--pipeline", "traditional", "--param", "tune_sentences=6", "--param", "tune_rounds=1", "--param", "n_best=4",
         "--param", "model1_iterations=1", "--param", "hmm_iterations=1", "--param", "progress=false"]


def parallel_folder(root: Path, sizes: dict[str, int]) -> Path:
    folder = root / "toy.de-en"
    folder.mkdir()
    for seed, (split, n) in enumerate(sizes.items()):
        german, english = corpus(n, seed)
        (folder / f"{split}.de").write_text("\n".join(german) + "\n")
        (folder / f"{split}.en").write_text("\n".join(english) + "\n")
    return folder


def train(folder: Path, out: Path) -> dict:
    assert main(["train", "translation", "--data", str(folder), "--out", str(out), *TUNED]) == 0
    return json.loads((out / "train.json").read_text())


def test_the_val_split_validates_and_every_training_pair_is_learned(tmp_path):
    record = train(parallel_folder(tmp_path, {"train": 60, "val": 10, "test": 10}), tmp_path / "run")
    assert "its val split, 10 items, validates the training" in record["held_out"]
    assert (record["n_train"], record["n_test"]) == (60, 10)
    assert load(tmp_path / "run" / "model").n_training_pairs_ == 60


def test_without_a_val_split_training_pairs_are_held_out_for_validation(tmp_path):
    record = train(parallel_folder(tmp_path, {"train": 60, "test": 10}), tmp_path / "run")
    assert "val" not in record["held_out"]
    assert load(tmp_path / "run" / "model").n_training_pairs_ == 60 - 6
