"""How a network started from a saved model trains: the `init_from` parameter, as one value.

``init_from="runs/base/model"`` fine-tunes every layer at the full learning rate;
``init_from=FineTuning("runs/base/model", freeze_epochs=2, lower_lr=0.1)`` first lets the new
output layer settle while the rest stays still, then trains the rest ten times slower, so that
the new data adjusts what the source learned rather than overwriting it (:mod:`.schedule`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

from ..params import Int, Real, Settings


@dataclass(frozen=True)
class FineTuning(Settings):
    """Fine-tuning settings, passed as ``init_from=...`` to an end-to-end pipeline; a path stands
    for ``FineTuning(source=path)``. ``--param init_from=M --param freeze_epochs=2`` builds one.

    Parameters
    ----------
    source : str or path
        A saved end-to-end model (a folder written by ``e2elab.save`` or ``e2elab train --out``)
        of the same task, pipeline and architecture settings.
    freeze_epochs : int, default=0
        Epochs in which all but the output layer stay still.
    lower_lr : float, default=1.0
        The learning-rate factor of all but the output layer afterwards.
    """

    source: str | os.PathLike
    freeze_epochs: int = 0
    lower_lr: float = 1.0

    PLAIN_FIELD: ClassVar[str] = "source"
    FLAT_NAMES: ClassVar[dict[str, str]] = {"source": "init_from"}
    _constraints: ClassVar[dict] = {"source": [str, os.PathLike], "freeze_epochs": [Int(0)], "lower_lr": [Real(0)]}
