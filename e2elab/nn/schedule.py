"""How the end-to-end networks are optimised: how long, how fast, and which part how fast.

**How long.** A fixed number of epochs gives a small data set few optimiser updates: 200 photos
in batches of 64 are two updates an epoch, 40 in 20 epochs, which leaves a network far from
trained; the number of updates, not of passes, is what a network needs. So a run is given epochs
*and* a floor on updates (`min_updates`): the epochs are raised until the run makes at least that
many updates, while a large data set, which passes the floor within its epochs, trains exactly as
before. The pipelines' defaults (`epochs=None`) take both from the data; an explicit `epochs`
without `min_updates` is taken as it is.

**How fast.** A one-cycle learning rate (cosine rise, then cosine fall), written as a pure function
of progress so that a resumed run needs no scheduler state.

**Which part how fast.** A network fine-tuned from another (`init_from`) keeps its lower part (all
but the output layer, named `head`) still for `freeze_epochs` while the new head settles, then
trains it at `lower_lr` times the learning rate, so the new data adjusts what was learned rather
than overwriting it.
"""

from __future__ import annotations

import math
import warnings

import torch

# The floor on optimiser updates when a pipeline chooses its epochs: the largest round number that
# leaves the default runs of the README's data sets as they were (flowers5: 33 updates an epoch x
# 20 epochs = 660; an FSDD fold of 2,500 clips: about 78 x 8 = 625), while a 200-photo folder gets
# 600 updates instead of 40 and a 30-clip corpus 600 instead of 8.
DEFAULT_MIN_UPDATES = 600
# Below these a network trained from random weights learns little (USPS with 5 images a class:
# 17.9 % error against 2.2 % with all of them; FSDD's end-to-end WER halves from 1 to 5 speakers of
# about 500 clips each); a warning then names the remedies.
MIN_IMAGES_PER_CLASS = 20
MIN_TRAINING_CLIPS = 100
# Peak learning rates of the one-cycle schedule that suit each optimizer at a batch of 64.
DEFAULT_LR = {"adamw": 3e-3, "sgd": 0.2}
OPTIMIZERS = tuple(DEFAULT_LR)


class SmallDataWarning(UserWarning):
    """The training data is below what a network trained from random weights learns from."""


def training_length(epochs: int | None, min_updates: int | None, default_epochs: int) -> tuple[int, int]:
    """(epochs, min_updates) for a pipeline's `epochs` and `min_updates` parameters.

    `epochs=None` (chosen from the data): `default_epochs`, raised to at least `min_updates`
    updates (None: DEFAULT_MIN_UPDATES). An explicit `epochs`: exactly that many unless a
    `min_updates` is given too, so a stated recipe is never silently lengthened.
    """
    if epochs is None:
        return int(default_epochs), int(DEFAULT_MIN_UPDATES if min_updates is None else min_updates)
    return int(epochs), int(min_updates or 0)


def planned_epochs(epochs: int, updates_per_epoch: int, min_updates: int) -> int:
    """`epochs`, raised so that the run makes at least `min_updates` optimiser updates."""
    if updates_per_epoch < 1:
        raise ValueError(f"updates_per_epoch must be at least 1, not {updates_per_epoch}")
    return max(int(epochs), math.ceil(int(min_updates) / updates_per_epoch))


def one_cycle_lr(progress: float, peak: float, warmup: float = 0.25, div_factor: float = 25.0,
                 final_div_factor: float = 1e4) -> float:
    """Learning rate at `progress` in [0, 1] of the run: cosine rise to `peak`, cosine fall.

    The same shape as torch's OneCycleLR, written as a pure function of progress so that a
    resumed run (or one whose batch count varies by epoch) needs no scheduler state.
    """
    progress = min(max(progress, 0.0), 1.0)
    start, end = peak / div_factor, peak / div_factor / final_div_factor
    if warmup > 0 and progress < warmup:
        t = progress / warmup
        return start + (peak - start) * (1 - math.cos(math.pi * t)) / 2
    t = (progress - warmup) / (1 - warmup)
    return end + (peak - end) * (1 + math.cos(math.pi * t)) / 2


def lr_factor(lower: bool, epoch: int, freeze_epochs: int = 0, lower_lr: float = 1.0) -> float:
    """The factor on the learning rate of a parameter group in `epoch` (counting from 0).

    A factor of 0 freezes the group exactly: AdamW's step and its decoupled weight decay both
    scale with the learning rate, and SGD's step does too.
    """
    if not lower:
        return 1.0
    return 0.0 if epoch < freeze_epochs else float(lower_lr)


def make_optimizer(module: torch.nn.Module, lr: float, weight_decay: float, kind: str = "adamw",
                   head: str | None = None) -> torch.optim.Optimizer:
    """AdamW, or SGD with Nesterov momentum 0.9, with weight decay on kernels and weight matrices and
    none on biases and norm scales.

    AdamW adapts quickly to any network (the default); SGD with L2 decay is the classic recipe of
    residual CNNs (README compares the two on images). Every parameter group says whether it is
    `lower` (outside the module named `head`; none is when `head` is None), so that
    :func:`lr_factor` can slow or freeze the lower part of a fine-tuned network.
    """
    if isinstance(module, torch.nn.parallel.DistributedDataParallel):  # name parameters as the network does
        module = module.module
    groups: dict[tuple[bool, bool], list] = {}
    for name, parameter in module.named_parameters():
        if parameter.requires_grad:
            lower = head is not None and not (name == head or name.startswith(f"{head}."))
            groups.setdefault((parameter.ndim > 1, lower), []).append(parameter)
    param_groups = [{"params": params, "weight_decay": weight_decay if decays else 0.0, "lower": lower}
                    for (decays, lower), params in sorted(groups.items(), reverse=True)]
    if kind == "sgd":
        return torch.optim.SGD(param_groups, lr=lr, momentum=0.9, nesterov=True)
    if kind != "adamw":
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, not {kind!r}")
    return torch.optim.AdamW(param_groups, lr=lr)


def warn_if_small(count: int, needed: int, what: str) -> None:
    """Warn (:class:`SmallDataWarning`) when `count` (of `what`) is below `needed`.

    The message says what was found, what a network from random weights needs, and the remedies,
    so that a user with a small folder learns why the model is weak before reading its scores.
    """
    if count < needed:
        warnings.warn(f"{count} {what}, fewer than the {needed} a network trained from random weights needs to learn "
                      "well; fine-tune a model trained on more data (init_from=MODEL_DIR), or compare the "
                      "traditional pipeline", SmallDataWarning, stacklevel=3)
