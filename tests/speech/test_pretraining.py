"""Pretraining on synthetic speech: a loadable model, its record, a time budget, and fine-tuning from it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import e2elab
from e2elab.cli import main
from e2elab.errors import RunFolderError
from e2elab.speech.end_to_end import EndToEndSpeechRecognizer
from e2elab.speech.pretrain import pretrain_speech
from e2elab.synth.corpus import CorpusSettings, load_synthetic_corpus

SETTINGS = CorpusSettings(hours=0.01)  # 15 clips
SMALL = {"width": 16, "n_filters": 8, "batch_size": 8}  # a network small enough for a test
NO_LEARNING = {"epochs": 1, "min_updates": 0, "lr": 1e-12}  # one epoch that leaves the weights as they start


pytestmark = pytest.mark.usefixtures("one_thread")  # networks this small gain nothing from threads


def test_pretrained_model_loads_records_its_corpus_and_starts_a_fine_tune(tmp_path):
    record = pretrain_speech(tmp_path / "run", SETTINGS, params={**SMALL, "epochs": 2, "min_updates": 0},
                             n_jobs=1, progress=False)
    saved = json.loads((tmp_path / "run" / "train.json").read_text())
    assert saved == record
    pretraining = saved["pretraining"]
    assert pretraining["corpus"]["n_clips"] == saved["n_train"] == 15 and pretraining["corpus"]["audio_hours"] > 0
    assert pretraining["epochs"] == 2 and pretraining["total_seconds"] >= pretraining["train_seconds"] > 0
    pretrained = e2elab.load(tmp_path / "run" / "model")
    assert isinstance(pretrained, EndToEndSpeechRecognizer)

    corpus = load_synthetic_corpus(SETTINGS)
    tuned = EndToEndSpeechRecognizer(**SMALL, **NO_LEARNING, init_from=str(tmp_path / "run" / "model"))
    tuned.fit(list(corpus.X[:8]), list(corpus.y[:8]))
    start, source = tuned.model_.state_dict(), pretrained.model_.state_dict()
    lower = [k for k, _ in pretrained.model_.named_parameters() if not k.startswith("head.")]  # not batch-norm statistics
    assert lower and all(torch.allclose(start[k], source[k], atol=1e-6) for k in lower)
    assert not np.allclose(EndToEndSpeechRecognizer(**SMALL, **NO_LEARNING).fit(list(corpus.X[:8]), list(corpus.y[:8]))
                           .model_.state_dict()[lower[0]].numpy(), source[lower[0]].numpy())


def test_time_budget_plans_the_epochs_once_and_a_resumed_run_must_keep_it(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["pretrain", "speech", "--out", str(run), "--hours", "0.01", "--max-minutes", "0.05", "--jobs", "1",
                 *(f"--param={k}={v}" for k, v in SMALL.items())]) == 0
    assert "init_from=" in capsys.readouterr().out
    plan = json.loads((run / "pretrain-plan.json").read_text())
    record = json.loads((run / "train.json").read_text())
    assert plan["epochs"] >= 1 and record["pretraining"]["epochs"] == plan["epochs"]
    assert record["pretraining"]["max_minutes"] == 0.05
    assert main(["pretrain", "speech", "--out", str(run), "--hours", "0.01"]) == 1  # not empty: --resume or --overwrite
    with pytest.raises(RunFolderError, match="planned 15 clips in 0.05 minutes"):
        pretrain_speech(run, SETTINGS, max_minutes=0.1, params=SMALL, n_jobs=1, progress=False)
