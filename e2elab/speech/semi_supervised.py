"""Unlabeled clips in `fit` (a transcript that is None, -1 or blank), used by self-training.

Self-training with pseudo-labels (:mod:`e2elab.nn.pseudo_labels`): the recogniser trained on the
labelled clips decodes the unlabeled ones, and those whose transcripts it is surest of join the
training clips with that transcript, up to `SHARE` of the unlabeled clips in the last of `ROUNDS`
rounds. A transcript is as sure as its least sure word (the word confidence of
``predict_details``: the mean posterior of its characters along the alignment), not as its mean:
one wrong word makes the whole transcript a wrong target.

Each round after the first fine-tunes the previous round's network (``init_from`` its saved
model) instead of training a new one from random weights: that network already fits the labelled
clips, and the pseudo-labels are its own. With ``checkpoint_dir`` every round trains in its own
sub-folder, ``round-N``, and leaves its model in ``round-N/model`` for the next one to start from,
so an interrupted run resumes in the round it stopped in; without it the models between rounds
live in a temporary folder. The cost is up to `ROUNDS` + 1 trainings; ``self_training_`` records
each round.

Without ``semi_supervised`` the unlabeled clips are left out with a warning that says how to use
them. No labelled clip at all is a DataError: there is nothing to learn the alphabet's sounds from.
"""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sklearn.base import clone

from ..io import save
from ..nn.pseudo_labels import ROUNDS, SHARE, labelled_indices, self_training

ROUND_FOLDER = "round-{}"
MODEL_FOLDER = "model"
NEED = "self-training starts from a model trained on labelled clips; give transcripts for some of them"


def fit_with_unlabeled_clips(recognizer, X, y, groups, labelled: np.ndarray):
    """Fit `recognizer` on the labelled clips of (X, y), using the unlabeled ones as its
    ``semi_supervised`` parameter says; returns the fitted recognizer."""
    if recognizer.semi_supervised is None:
        kept = labelled_indices(labelled, "training clips", NEED, "semi_supervised='self_training' learns from them")
        return recognizer.fit([X[i] for i in kept], [y[i] for i in kept], _groups_at(groups, kept))
    kept, unlabeled = labelled_indices(labelled, "training clips", NEED, why=None), np.flatnonzero(~labelled)
    X_unlabeled = [X[i] for i in unlabeled]
    with _rounds_folder(recognizer.checkpoint_dir) as folder:

        def fit(round_: int, chosen: np.ndarray, pseudo: np.ndarray) -> None:
            previous = folder / ROUND_FOLDER.format(round_ - 1) / MODEL_FOLDER
            fitted = clone(recognizer).set_params(
                semi_supervised=None, init_from=recognizer.init_from if round_ == 0 else str(previous),
                checkpoint_dir=str(folder / ROUND_FOLDER.format(round_)) if recognizer.checkpoint_dir else None)
            positions = np.concatenate([kept, unlabeled[chosen]])
            fitted.fit([X[i] for i in positions], [y[i] for i in kept] + list(pseudo), _groups_at(groups, positions))
            save(fitted, folder / ROUND_FOLDER.format(round_) / MODEL_FOLDER)
            _take_learned_attributes(recognizer, fitted)

        def pseudo_label(share: float) -> tuple[np.ndarray, np.ndarray]:
            return surest_transcripts(recognizer.predict_details(X_unlabeled), share)

        recognizer.self_training_ = self_training(fit, pseudo_label, len(X_unlabeled), SHARE, ROUNDS)
    return recognizer


def surest_transcripts(details: list[dict], share: float) -> tuple[np.ndarray, np.ndarray]:
    """(positions, transcripts) of the pseudo-labelled clips: of the clips `details` (from
    ``predict_details``) gives words for, the surest by their least sure word, at most `share` of
    all the clips; positions in ascending order."""
    sureness = np.array([min((w["confidence"] for w in d["words"]), default=-np.inf) for d in details])
    candidates = np.flatnonzero(np.isfinite(sureness))  # a clip decoded to no words has nothing to learn from
    count = round(share * len(details))
    chosen = np.sort(candidates[np.argsort(-sureness[candidates], kind="stable")[:count]])
    return chosen, np.array([details[i]["text"] for i in chosen], dtype=object)


def _groups_at(groups, positions: np.ndarray):
    return None if groups is None else np.asarray(groups)[positions]


def _take_learned_attributes(recognizer, fitted) -> None:
    """Give `recognizer` what `fitted` (a clone with other settings) learned: the attributes that
    end in an underscore, as scikit-learn names them."""
    for name, value in vars(fitted).items():
        if name.endswith("_") and not name.startswith("_"):
            setattr(recognizer, name, value)


@contextmanager
def _rounds_folder(checkpoint_dir):
    """The folder the rounds keep their models in: `checkpoint_dir`, where a rerun finds them, or
    a temporary one removed afterwards."""
    if checkpoint_dir is not None:
        yield Path(checkpoint_dir)
        return
    with tempfile.TemporaryDirectory(prefix="e2elab-self-training-") as folder:
        yield Path(folder)
