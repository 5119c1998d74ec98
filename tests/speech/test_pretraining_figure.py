"""README figure: synthetic-speech pretraining, then fine-tuning on one FSDD speaker, scored on nicolas.

Slow (pretraining takes up to an hour on 2 cores, once: the corpus is cached); run with

    E2ELAB_DATA_DIR=... pytest -m slow tests/speech/test_pretraining_figure.py -s
"""

from __future__ import annotations

import numpy as np
import pytest

import e2elab
from e2elab.nn.fine_tuning import FineTuning
from e2elab.speech.end_to_end import EndToEndSpeechRecognizer
from e2elab.speech.pretrain import pretrain_speech
from e2elab.synth.corpus import CorpusSettings

HELD_OUT = "nicolas"  # as in README's learning curve
FINE_TUNE_SPEAKER = "jackson"
PRETRAIN_MINUTES = 45  # plus the corpus: the issue allows 60 minutes of pretraining in all


def _wer(model, X, y) -> float:
    return 1.0 - model.score(list(X), list(y))


@pytest.mark.slow
def test_pretraining_brings_one_speaker_fsdd_under_20_percent_wer(shared_data, tmp_path):
    shared_data("fsdd")
    ds = e2elab.load_dataset("fsdd")
    words = tuple(sorted({w for text in ds.y for w in text.split()}))
    record = pretrain_speech(tmp_path / "pretrained", CorpusSettings(hours=2.0, words=words), max_minutes=PRETRAIN_MINUTES)
    assert record["pretraining"]["total_seconds"] <= 60 * 60

    train, test = ds.groups == FINE_TUNE_SPEAKER, ds.groups == HELD_OUT
    model_dir = str(tmp_path / "pretrained" / "model")
    tuned = EndToEndSpeechRecognizer(init_from=FineTuning(model_dir, freeze_epochs=2, lower_lr=0.3)).fit(ds.X[train], ds.y[train])
    scratch = EndToEndSpeechRecognizer().fit(ds.X[train], ds.y[train])
    tuned_wer, scratch_wer = _wer(tuned, ds.X[test], ds.y[test]), _wer(scratch, ds.X[test], ds.y[test])
    print(f"FSDD, 1 speaker ({FINE_TUNE_SPEAKER}) -> {HELD_OUT}: WER pretrained + fine-tuned {tuned_wer:.3f}, "
          f"from scratch {scratch_wer:.3f}; pretraining {record['pretraining']['total_seconds'] / 60:.1f} min")
    assert np.isfinite(scratch_wer)
    assert tuned_wer <= 0.20
