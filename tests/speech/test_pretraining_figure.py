"""README figures: synthetic-speech pretraining, then fine-tuning on FSDD's real speakers.

* one speaker -> nicolas (the speaker README's learning curve holds out), each of the other five
  in turn: measured mean WER 24.8 % fine-tuned against 34.4 % from scratch (the issue's target,
  20 %, is met for two of the five speakers only);
* five speakers -> the sixth, every way round (leave-one-speaker-out, 40 epochs as README's
  from-scratch figure): measured mean accuracy 92.6 % against 91.3 % (target 94 %, not reached).

The assertions hold the measured gains with a margin, not the targets.

Slow (pretraining takes up to an hour on 2 cores, once per test run: both tests share it; the
synthetic corpus is cached); run with

    E2ELAB_DATA_DIR=... pytest -m slow tests/speech/test_pretraining_figure.py -s
"""

from __future__ import annotations

import numpy as np
import pytest

import e2elab
from e2elab.experiments.compare import compare
from e2elab.nn.fine_tuning import FineTuning
from e2elab.speech.end_to_end import EndToEndSpeechRecognizer
from e2elab.speech.pretrain import pretrain_speech
from e2elab.synth.corpus import CorpusSettings

HELD_OUT = "nicolas"  # as in README's learning curve
CORPUS_HOURS = 2.0
PRETRAIN_MINUTES = 50  # the training budget; with the corpus the issue allows 60 minutes in all
LOWER_LR = 0.1  # the pretrained layers learn at a tenth of the new output layer's rate


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """(model folder, pretraining record): the recogniser pretrained on a synthetic corpus that
    speaks FSDD's words in part of its clips."""
    ds = e2elab.load_dataset("fsdd")
    words = tuple(sorted({w for text in ds.y for w in text.split()}))
    run = tmp_path_factory.mktemp("pretrained")
    record = pretrain_speech(run, CorpusSettings(hours=CORPUS_HOURS, words=words), max_minutes=PRETRAIN_MINUTES)
    return str(run / "model"), record


def fine_tuning(model_dir: str) -> FineTuning:
    return FineTuning(model_dir, lower_lr=LOWER_LR)


@pytest.mark.slow
def test_pretraining_cuts_the_wer_of_one_speaker_fsdd_by_6_points(shared_data, pretrained):
    shared_data("fsdd")
    model_dir, record = pretrained
    assert record["pretraining"]["total_seconds"] <= 60 * 60
    ds = e2elab.load_dataset("fsdd")
    test = ds.groups == HELD_OUT
    tuned_wer, scratch_wer = {}, {}
    for speaker in sorted(set(ds.groups) - {HELD_OUT}):
        train = ds.groups == speaker
        for wers, params in ((tuned_wer, {"init_from": fine_tuning(model_dir)}), (scratch_wer, {})):
            model = EndToEndSpeechRecognizer(**params).fit(ds.X[train], ds.y[train])
            wers[speaker] = 1.0 - model.score(list(ds.X[test]), list(ds.y[test]))
    print(f"FSDD, 1 speaker -> {HELD_OUT}: WER pretrained + fine-tuned {tuned_wer}, from scratch {scratch_wer}; "
          f"pretraining {record['pretraining']['total_seconds'] / 60:.1f} min")
    assert np.mean(list(tuned_wer.values())) <= np.mean(list(scratch_wer.values())) - 0.06  # measured: 9.6 points


@pytest.mark.slow
def test_pretraining_lifts_five_speaker_leave_one_out_above_from_scratch(shared_data, pretrained):
    shared_data("fsdd")
    model_dir, _ = pretrained
    summary = compare("speech", "fsdd", pipelines=["end-to-end"], seeds=[0], folds=6, jobs=2, progress=False,
                      params={"end-to-end": {"init_from": fine_tuning(model_dir), "epochs": 40}})
    wer = summary["pipelines"]["end-to-end"]["metric"]
    accuracy = 1.0 - wer["mean"]
    print(f"FSDD leave-one-speaker-out, pretrained + fine-tuned: mean accuracy {accuracy:.3f} "
          f"(folds {[round(1 - w, 3) for w in wer['runs']]})")
    assert accuracy >= 0.92  # from scratch, README: 91.3 %
