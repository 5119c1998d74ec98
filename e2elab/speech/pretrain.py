"""Pretraining the end-to-end speech recogniser on synthetic speech, as a start for fine-tuning.

A user's handful of real clips is too little for a CTC network to learn what speech sounds like;
a broad synthetic corpus (:mod:`e2elab.synth.corpus`: many voices, words and rooms) teaches the
acoustics first, and ``init_from=RUN/model`` then fine-tunes on the real clips. The pretrained
network is the ordinary end-to-end recogniser with its default architecture (unless `params` say
otherwise), and its alphabet is the full one, so every normalised transcript maps onto it.

The run folder holds what ``e2elab train`` writes: ``model/`` (the model), ``checkpoints/`` (a
rerun resumes from them) and ``train.json``, whose ``pretraining`` entry keeps the corpus
settings and the time spent generating and training, so that a learning curve can report the
pretraining cost apart from the fine-tuning.

A time budget (`max_minutes`) sets the number of passes over the corpus before training starts,
as the one-cycle schedule needs its length in advance: a short timed probe (one pass over a few
batches) measures the cost of a batch and of reading clips, and the plan is kept in the run
folder, so a resumed run trains the same number of epochs whatever the machine's speed is then.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from pathlib import Path

from sklearn.base import clone

from ..atomic import atomic_write_json
from ..data.audio import audio_duration
from ..errors import ParameterError, RunFolderError
from ..synth.corpus import CorpusSettings, corpus_folder, load_synthetic_corpus
from ..synth.speech_digits import read_manifest
from .end_to_end import EndToEndSpeechRecognizer

MODEL_FOLDER = "model"
CHECKPOINTS = "checkpoints"
PLAN = "pretrain-plan.json"
TRAIN_RECORD = "train.json"
# Batches the timing probe trains on; more gives a steadier estimate and costs more time.
PROBE_BATCHES = 4
# Share of the budget planned for: the probe's estimate is rough, and the model still has to be saved.
BUDGET_MARGIN = 0.9


def pretrain_speech(run_dir, settings: CorpusSettings = CorpusSettings(), *, max_minutes: float | None = None,
                    params: dict | None = None, n_jobs: int | None = None, progress: bool | None = None) -> dict:
    """Generate (or reuse) the synthetic corpus of `settings`, train the end-to-end recogniser on
    it, save it to ``run_dir/model`` and return the record written to ``run_dir/train.json``.

    params: parameters of :class:`~e2elab.speech.end_to_end.EndToEndSpeechRecognizer` (its seed
    is the corpus seed). max_minutes: training time budget (None: the recogniser's own schedule).
    n_jobs: worker processes that synthesise (None: every CPU).
    """
    from ..io import save

    run_dir = Path(run_dir)
    model = EndToEndSpeechRecognizer(**{**(params or {}), "seed": settings.seed,
                                        "checkpoint_dir": str(run_dir / CHECKPOINTS), "progress": progress})
    model._validate_params()  # a bad parameter fails before minutes of synthesis
    if max_minutes is not None and not max_minutes > 0:
        raise ParameterError(f"max_minutes must be positive, not {max_minutes!r}")
    run_dir.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    cached = read_manifest(corpus_folder(settings)) is not None
    corpus = load_synthetic_corpus(settings, n_jobs=n_jobs, progress=progress)
    corpus_seconds = time.perf_counter() - started
    X, y, groups = list(corpus.X), list(corpus.y), list(corpus.groups)
    started = time.perf_counter()  # the timing probe is part of the training cost
    if max_minutes is not None:
        model.set_params(epochs=planned_epochs(model, X, y, run_dir / PLAN, max_minutes), min_updates=0)
    model.fit(X, y, groups=groups)
    train_seconds = time.perf_counter() - started
    model_dir = save(model, run_dir / MODEL_FOLDER)
    audio_hours = sum(audio_duration(path) for path in X) / 3600
    record = {
        "task": "speech",
        "pipeline": "end-to-end",
        "data": "synthetic-speech",
        "params": dict(params or {}),
        "seed": settings.seed,
        "n_train": len(X),
        "train_seconds": round(train_seconds, 2),
        "model": str(model_dir),
        "pretraining": {
            "corpus": {**settings.to_dict(), "folder": str(corpus_folder(settings)), "audio_hours": round(audio_hours, 3),
                       "voices_used": len(set(groups))},
            "corpus_cached": cached,
            "corpus_seconds": round(corpus_seconds, 2),
            "train_seconds": round(train_seconds, 2),
            "total_seconds": round(corpus_seconds + train_seconds, 2),
            "max_minutes": max_minutes,
            "epochs": len(model.history_),
            "final_train_loss": model.history_[-1]["train_loss"] if model.history_ else None,
        },
    }
    atomic_write_json(run_dir / TRAIN_RECORD, record)
    return record


def planned_epochs(model: EndToEndSpeechRecognizer, X: list, y: list, plan_path: Path, max_minutes: float) -> int:
    """Passes over (X, y) that fit in `max_minutes`: read from `plan_path` when an earlier run of
    the same budget planned them, else measured by a timed probe and written there."""
    if plan_path.exists():
        try:
            plan = json.loads(plan_path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise RunFolderError(f"{plan_path}: cannot read the earlier run's plan ({err}); use a new folder") from None
        if plan.get("max_minutes") == max_minutes and plan.get("clips") == len(X):
            return int(plan["epochs"])
        raise RunFolderError(f"{plan_path}: the earlier run planned {plan.get('clips')} clips in {plan.get('max_minutes')} "
                             f"minutes, not {len(X)} in {max_minutes}; use a new folder, or the same settings to resume")
    n_probe = min(len(X), PROBE_BATCHES * model.batch_size)
    probe = clone(model).set_params(epochs=1, min_updates=0, validation=0.0, checkpoint_dir=None, progress=False,
                                    decoder="greedy")
    started = time.perf_counter()
    with warnings.catch_warnings():  # the probe's few clips are meant to be few
        warnings.simplefilter("ignore")
        probe.fit(X[:n_probe], y[:n_probe])
    scale = len(X) / n_probe
    epoch_seconds = probe.history_[0]["seconds"] * scale
    reading_seconds = (time.perf_counter() - started - probe.history_[0]["seconds"]) * scale
    budget = BUDGET_MARGIN * max_minutes * 60 - reading_seconds
    epochs = max(1, math.floor(budget / epoch_seconds))
    if budget < epoch_seconds:
        warnings.warn(f"one pass over the {len(X)} clips takes about {(epoch_seconds + reading_seconds) / 60:.1f} minutes, "
                      f"more than the budget of {max_minutes} minutes; training one pass (use fewer hours)", stacklevel=3)
    atomic_write_json(plan_path, {"max_minutes": max_minutes, "clips": len(X), "epochs": epochs,
                                  "estimated_epoch_seconds": round(epoch_seconds, 2),
                                  "estimated_reading_seconds": round(reading_seconds, 2)})
    return epochs

