"""Unlabeled images in `fit`: scikit-learn's convention (label -1, or None), used by self-training.

Self-training (Yarowsky 1995; Lee 2013's pseudo-labels): train on the labelled images, label the
unlabeled ones the model is most confident about, train again from the start on both, and repeat
for `ROUNDS` rounds, each labelling a larger share (up to `SHARE` of the unlabeled images in the
last). Each round re-labels every unlabeled image with the latest model, so an early mistake can be
taken back. The images are chosen per class, the most confident ones up to an equal number for
every class: a fixed probability threshold chose nothing at all where the model was still weak
(60 labelled flowers5 photos: no calibrated probability reached 0.9), and a class the model favours
would crowd the others out. The cost is `ROUNDS` + 1 trainings; `self_training_` records each round.

Without ``semi_supervised`` the unlabeled images are left out with a warning that says how to
use them. No labelled image at all is a DataError: there is nothing to learn the classes from.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..data.manifests import UNLABELED
from ..errors import DataError

SEMI_SUPERVISED = ("self_training",)
ROUNDS = 2  # re-labelling rounds after the first, labelled-only training
SHARE = 0.5  # of the unlabeled images, pseudo-labelled by the last round


def labelled_mask(y) -> np.ndarray:
    """True where an item has a label: not None, not -1 (the number or the text), not empty."""
    return np.array([not (label is None or str(label).strip() in (UNLABELED, "")) for label in y], dtype=bool)


def labelled_only(X: list, y, labelled: np.ndarray, why: str | None) -> tuple[list, np.ndarray]:
    """The labelled items of (X, y) (labels keep their type: numbers stay numbers); warns that the
    unlabeled ones are left out, saying `why`, unless `why` is None. No labelled item is a DataError."""
    if not labelled.any():
        raise DataError(None, f"all {len(X)} training images are unlabeled (label -1 or None); "
                              "at least two labelled images per class are needed")
    if why is not None and not labelled.all():
        warnings.warn(f"left out {int((~labelled).sum())} unlabeled training image(s): {why}", stacklevel=3)
    return [X[i] for i in np.flatnonzero(labelled)], np.asarray(np.asarray(y, dtype=object)[labelled].tolist())


def fit_with_unlabeled(estimator, X: list, y, labelled: np.ndarray):
    """Fit `estimator` on the labelled items of (X, y), using the unlabeled ones as its
    ``semi_supervised`` parameter says; returns the fitted estimator."""
    if estimator.semi_supervised is None:
        return estimator.fit(*labelled_only(X, y, labelled, "semi_supervised='self_training' learns from them"))
    X_labelled, y_labelled = labelled_only(X, y, labelled, why=None)
    return self_train(estimator, X_labelled, y_labelled, [X[i] for i in np.flatnonzero(~labelled)])


def self_train(estimator, X_labelled: list, y_labelled: np.ndarray, X_unlabeled: list, share: float = SHARE,
               rounds: int = ROUNDS):
    """Self-training with pseudo-labels (see the module docstring); `estimator.fit` must accept
    fully labelled data. Sets ``self_training_``: per round, the pseudo-labels used and the
    unlabeled images left out."""
    estimator.fit(X_labelled, y_labelled)
    history = [{"round": 0, "pseudo_labelled": 0, "left_out": len(X_unlabeled)}]
    previous = None
    for round_ in range(1, rounds + 1):
        probabilities = estimator.predict_proba(X_unlabeled)  # (U, K) calibrated
        chosen, pseudo = most_confident_per_class(probabilities, estimator.classes_, share * round_ / rounds)
        if not len(chosen) or (previous is not None and np.array_equal(chosen, previous[0])
                               and np.array_equal(pseudo, previous[1])):
            break  # nothing to add, or the same set again: another round would train the same model
        previous = chosen, pseudo
        estimator.fit(X_labelled + [X_unlabeled[i] for i in chosen], np.concatenate([y_labelled, pseudo]))
        history.append({"round": round_, "pseudo_labelled": len(chosen), "left_out": len(X_unlabeled) - len(chosen)})
    estimator.self_training_ = history
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
