"""Items without a label in `fit`, and self-training rounds that pseudo-label them: the part of
semi-supervised learning every end-to-end pipeline shares.

An item is unlabeled by scikit-learn's convention: its label is None or -1 (the number or the
text), or its transcript is blank. Self-training (Yarowsky 1995; Lee 2013's pseudo-labels) trains
on the labelled items, labels the unlabeled ones the model is surest of, trains again on both and
repeats, each round labelling a larger share. Each round re-labels every unlabeled item with the
latest model, so an early mistake can be taken back. What "surest" means is the task's:
:mod:`e2elab.image.semi_supervised` and :mod:`e2elab.speech.semi_supervised` choose the items.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from ..data.manifests import UNLABELED
from ..errors import DataError

# "fixmatch" (e2elab.image.fixmatch) is for images only: it needs strong augmentations, which clips lack.
SEMI_SUPERVISED = ("self_training", "fixmatch")
ROUNDS = 2  # re-labelling rounds after the first, labelled-only training
SHARE = 0.5  # of the unlabeled items, pseudo-labelled by the last round


def labelled_mask(y) -> np.ndarray:
    """True where an item has a label: not None, not -1 (the number or the text), not blank."""
    return np.array([not (label is None or str(label).strip() in (UNLABELED, "")) for label in y], dtype=bool)


def labelled_indices(labelled: np.ndarray, items: str, need: str, why: str | None) -> np.ndarray:
    """The positions of the labelled items; warns that the unlabeled ones are left out, saying
    `why`, unless `why` is None. No labelled item is a DataError that says what is needed
    (`items` names them in the plural: "training clips")."""
    if not labelled.any():
        raise DataError(None, f"all {len(labelled)} {items} are unlabeled (no label, or -1); {need}")
    if why is not None and not labelled.all():
        warnings.warn(f"left out {int((~labelled).sum())} unlabeled {items}: {why}", stacklevel=3)
    return np.flatnonzero(labelled)


def self_training(fit: Callable[[int, np.ndarray, np.ndarray], None],
                  pseudo_label: Callable[[float], tuple[np.ndarray, np.ndarray]],
                  n_unlabeled: int, share: float = SHARE, rounds: int = ROUNDS) -> list[dict]:
    """Run the rounds of self-training; returns, per round, the pseudo-labels used and the
    unlabeled items left out (what pipelines keep as ``self_training_``).

    fit(round, chosen, pseudo_labels): train on the labelled items plus the unlabeled items at
    positions `chosen` with `pseudo_labels` (none in round 0). pseudo_label(share): the positions
    and labels of the unlabeled items the model now fitted is surest of, at most `share` of them.
    """
    no_items = np.zeros(0, dtype=int)
    fit(0, no_items, np.zeros(0, dtype=object))
    history = [{"round": 0, "pseudo_labelled": 0, "left_out": n_unlabeled}]
    previous = None
    for round_ in range(1, rounds + 1):
        chosen, pseudo = pseudo_label(share * round_ / rounds)
        if not len(chosen) or (previous is not None and np.array_equal(chosen, previous[0])
                               and np.array_equal(pseudo, previous[1])):
            break  # nothing to add, or the same set again: another round would train the same model
        previous = chosen, pseudo
        fit(round_, chosen, pseudo)
        history.append({"round": round_, "pseudo_labelled": len(chosen), "left_out": n_unlabeled - len(chosen)})
    return history
