"""Unlabeled images in `fit`: scikit-learn's convention (label -1, or None), used by self-training
or by FixMatch.

Self-training with pseudo-labels (:mod:`e2elab.nn.pseudo_labels`): each round trains again from
the start on the labelled images and the unlabeled ones the model is most confident about, up to
`SHARE` of the unlabeled images in the last round. The images are chosen per class, the most
confident ones up to an equal number for every class: a fixed probability threshold chose nothing
at all where the model was still weak (60 labelled flowers5 photos: no calibrated probability
reached 0.9), and a class the model favours would crowd the others out. The cost is `ROUNDS` + 1
trainings; `self_training_` records each round.

FixMatch (:mod:`e2elab.image.fixmatch`, ``semi_supervised="fixmatch"``) trains once, with the
unlabeled images in every step: a consistency loss between weak and strong augmentations of each.

Without ``semi_supervised`` the unlabeled images are left out with a warning that says how to
use them. No labelled image at all is a DataError: there is nothing to learn the classes from.
"""

from __future__ import annotations

import numpy as np

from ..nn.pseudo_labels import ROUNDS, SHARE, labelled_indices, self_training
from .fixmatch import fit_fixmatch


def labelled_only(X: list, y, labelled: np.ndarray, why: str | None) -> tuple[list, np.ndarray]:
    """The labelled items of (X, y) (labels keep their type: numbers stay numbers); warns that the
    unlabeled ones are left out, saying `why`, unless `why` is None. No labelled item is a DataError."""
    kept = labelled_indices(labelled, "training images", "at least two labelled images per class are needed", why)
    return [X[i] for i in kept], np.asarray(np.asarray(y, dtype=object)[kept].tolist())


def fit_with_unlabeled(estimator, X: list, y, labelled: np.ndarray):
    """Fit `estimator` on the labelled items of (X, y), using the unlabeled ones as its
    ``semi_supervised`` parameter says; returns the fitted estimator."""
    if estimator.semi_supervised is None:
        why = "semi_supervised='self_training' or 'fixmatch' learns from them"
        return estimator.fit(*labelled_only(X, y, labelled, why))
    X_labelled, y_labelled = labelled_only(X, y, labelled, why=None)
    X_unlabeled = [X[i] for i in np.flatnonzero(~labelled)]
    if estimator.semi_supervised == "fixmatch":
        return fit_fixmatch(estimator, X_labelled, y_labelled, X_unlabeled)
    return self_train(estimator, X_labelled, y_labelled, X_unlabeled)


def self_train(estimator, X_labelled: list, y_labelled: np.ndarray, X_unlabeled: list, share: float = SHARE,
               rounds: int = ROUNDS):
    """Self-training with pseudo-labels (see the module docstring); `estimator.fit` must accept
    fully labelled data. Sets ``self_training_``: per round, the pseudo-labels used and the
    unlabeled images left out."""

    def fit(round_: int, chosen: np.ndarray, pseudo: np.ndarray) -> None:
        # Round 0 fits the labels as they are: a concatenation would turn them into objects.
        estimator.fit(X_labelled + [X_unlabeled[i] for i in chosen],
                      np.concatenate([y_labelled, pseudo]) if len(chosen) else y_labelled)

    def pseudo_label(round_share: float) -> tuple[np.ndarray, np.ndarray]:
        return most_confident_per_class(estimator.predict_proba(X_unlabeled), estimator.classes_, round_share)

    estimator.self_training_ = self_training(fit, pseudo_label, len(X_unlabeled), share, rounds)
    return estimator


def most_confident_per_class(probabilities: np.ndarray, classes: np.ndarray, share: float):
    """(indices, labels) of the pseudo-labelled items: for every class, the items predicted as it
    with the highest probability, at most `share` x items / classes of them."""
    predicted, confidence = probabilities.argmax(axis=1), probabilities.max(axis=1)
    per_class = int(round(share * len(probabilities) / len(classes)))
    chosen = []
    for k in range(len(classes)):
        members = np.flatnonzero(predicted == k)
        chosen.extend(members[np.argsort(-confidence[members], kind="stable")[:per_class]].tolist())
    chosen = np.sort(np.asarray(chosen, dtype=int))
    return chosen, classes[predicted[chosen]]
