"""What an end-to-end pipeline holds out of its training data, and what for: the `validation`
parameter, as one value.

``validation=0.1`` holds out a tenth of the training data (whole speakers for speech, a stratified
share for images) to pick the epoch whose weights are kept (and, for images, to calibrate the
probabilities); ``validation=Validation(0.1, patience=5)`` also stops training after five epochs
without a better validation loss. Early stopping needs held-out data, so the two are one value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..params import Int, Real, Settings, invalid


@dataclass(frozen=True)
class Validation(Settings):
    """Held-out data and early stopping, passed as ``validation=...`` to an end-to-end pipeline; a
    number stands for ``Validation(fraction=number)``. ``--param patience=5`` builds one.

    Parameters
    ----------
    fraction : float
        Share of the training data held out, in [0, 1); 0: none.
    patience : int or None, default=None
        Stop after this many epochs without a better validation loss and keep the best epoch;
        None trains every epoch.
    """

    fraction: float
    patience: int | None = None

    PLAIN_FIELD: ClassVar[str] = "fraction"
    FLAT_NAMES: ClassVar[dict[str, str]] = {"fraction": "validation_fraction"}
    _constraints: ClassVar[dict] = {"fraction": [Real(0, 1, closed="left")], "patience": [Int(1), None]}

    def __post_init__(self):
        super().__post_init__()
        if self.patience is not None and not self.fraction:
            raise invalid(type(self).__name__, "fraction", self.fraction,
                          f"above 0 for patience={self.patience}: early stopping watches held-out data")
