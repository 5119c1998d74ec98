"""The one training loop shared by the end-to-end pipelines.

`train` runs AdamW (or SGD with Nesterov momentum) under a one-cycle learning-rate schedule with
gradient clipping, mixed precision on CUDA, a validation pass per epoch with early stopping, a
checkpoint per epoch from which an interrupted run resumes exactly where it stopped, a progress
bar, and one JSON line of metrics per epoch. The pipelines supply only what differs between them:
the network, the data, the loss of one batch (`step`) and, optionally, the validation metrics
(`validate`).

Reproducibility: every epoch re-seeds the shuffling generator and torch's global generator from
(seed, epoch), so a resumed run draws the same batches and the same augmentation as an
uninterrupted one.

Several processes: under torchrun, or any initialised process group, the network trains as
DistributedDataParallel replicas, each rank on its share of every global batch; rank 0 alone
writes checkpoints and metrics (see :mod:`e2elab.nn.distributed`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

import torch
from torch.utils.data import DataLoader, Dataset

from ..errors import RunFolderError
from ..base import progress_wanted
from . import distributed
from .checkpoint import load_checkpoint, save_checkpoint, write_metrics
from .device import amp_dtype, resolve_device, seed_everything, worker_init_fn
from .schedule import DEFAULT_LR, OPTIMIZERS, lr_factor, make_optimizer, one_cycle_lr, planned_epochs
from .streaming import explain_dead_workers

log = logging.getLogger(__name__)

Step = Callable[[torch.nn.Module, Any, torch.device], torch.Tensor]
Validate = Callable[[torch.nn.Module, DataLoader, torch.device], dict[str, float]]


@dataclass
class TrainConfig:
    """Settings of one training run; the defaults suit a small network on a CPU."""

    epochs: int = 30
    min_updates: int = 0  # raise `epochs` until the run makes at least this many optimiser updates (schedule.py)
    batch_size: int = 64
    lr: float | None = None  # peak learning rate of the one-cycle schedule; None: DEFAULT_LR[optimizer]
    weight_decay: float = 5e-4  # applied to weight matrices and kernels only (AdamW: decoupled; SGD: L2)
    optimizer: str = "adamw"  # "adamw" | "sgd" (Nesterov momentum 0.9)
    grad_clip: float | None = 1.0  # clip the global gradient norm to this
    patience: int | None = None  # early stopping: epochs without improvement of `monitor`
    monitor: str = "val_loss"  # key of the validate() dict
    mode: str = "min"  # "min": lower `monitor` is better; "max": higher is better
    keep: str = "best"  # weights returned: "best" epoch by `monitor`, or "last" (a one-cycle run ends well)
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:1"
    amp: bool = True  # mixed precision on CUDA (and on the CPU with cpu_amp)
    cpu_amp: bool = False  # bfloat16 autocast on CPUs with native bfloat16 instructions
    num_workers: int = 0  # DataLoader worker processes
    seed: int = 0
    checkpoint_dir: str | None = None  # checkpoint.pt each epoch + metrics.jsonl; resume if present
    progress: bool | None = None  # None: when someone watches (a terminal or Jupyter; base.progress_wanted)
    warmup: float = 0.25  # fraction of all steps spent rising to `lr`
    div_factor: float = 25.0  # the schedule starts at lr / div_factor
    final_div_factor: float = 1e4  # ... and ends at lr / div_factor / final_div_factor
    drop_last: bool = True  # drop a ragged last batch (batch norm dislikes a batch of one)
    deterministic: bool = False  # ask torch for deterministic kernels (slower on CUDA)
    eval_batch_size: int | None = None  # validation batch size; None: 2 x batch_size
    head: str | None = None  # the output layer's module name; the rest is the lower part of a fine-tuned network
    freeze_epochs: int = 0  # epochs in which the lower part stays still (needs `head`)
    lower_lr: float = 1.0  # learning-rate factor of the lower part after that (needs `head`)

    def __post_init__(self):
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, not {self.epochs}")
        if self.min_updates < 0 or self.freeze_epochs < 0 or self.lower_lr < 0:
            raise ValueError("min_updates, freeze_epochs and lower_lr must not be negative")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {self.batch_size}")
        if self.keep not in ("best", "last"):
            raise ValueError(f"keep must be 'best' or 'last', not {self.keep!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, not {self.optimizer!r}")
        if self.lr is None:
            self.lr = DEFAULT_LR[self.optimizer]
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', not {self.mode!r}")
        if not 0.0 <= self.warmup < 1.0:
            raise ValueError(f"warmup must be a fraction in [0, 1), not {self.warmup}")


@dataclass
class TrainResult:
    """What a run learned about itself; the weights are in the module."""

    history: list[dict] = field(default_factory=list)  # one dict per epoch (epoch counts from 1)
    best_epoch: int = 0  # the epoch whose weights the module holds (counts from 1)
    device: str = "cpu"
    stopped_early: bool = False


@explain_dead_workers
def train(module: torch.nn.Module,
          train_data: Dataset,
          step: Step,
          config: TrainConfig,
          val_data: Dataset | None = None,
          validate: Validate | None = None,
          collate_fn: Callable | None = None,
          batch_sampler: Callable[[int], Iterable[list[int]]] | None = None,
          *,
          on_epoch_end: Callable[[dict], None] | None = None,
          epoch_metrics: Callable[[], dict] | None = None,
          resume_key: str | None = None) -> TrainResult:
    """Train `module` on `train_data`; on return it holds the best weights and is on the device.

    step(module, batch, device) -> scalar loss of one training batch (module in train mode).
    validate(module, loader, device) -> dict of metrics (module in eval mode, under no_grad);
    without it, the mean `step` loss over `val_data` is reported as "val_loss". Without
    `val_data` there is no early stopping and the weights of the last epoch are kept.
    batch_sampler(epoch) yields lists of indices and replaces batch_size and shuffling.
    on_epoch_end(row) is called with each epoch's metrics, e.g. to log them elsewhere.
    epoch_metrics() -> dict of metrics the step tallied over the epoch, added to its row, so that
    the history and the checkpoint keep them (a resumed run's history has them for every epoch).
    resume_key: what the run trains (e.g. a digest of data and parameters). A checkpoint saved
    under another key, or with other epochs, batch_size, lr or seed, is a RunFolderError rather
    than a silent fresh start: the folder holds another run's work, which only the user may
    discard. A corrupt checkpoint is a RunFolderError naming the file.
    """
    device = distributed.rank_device(resolve_device(config.device))
    seed_everything(config.seed, config.deterministic)
    module.to(device)
    optimizer = make_optimizer(module, config.lr, config.weight_decay, config.optimizer, config.head)
    dtype = amp_dtype(device, cpu=config.cpu_amp) if config.amp else None
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    autocast = (lambda: torch.autocast(device_type=device.type, dtype=dtype)) if dtype else contextlib.nullcontext

    generator = torch.Generator()
    if distributed.active():  # this rank's share of every global batch
        batch_sampler = distributed.rank_batches(batch_sampler, len(train_data), config.batch_size, config.drop_last,
                                                 config.seed)
    epoch_batches = _EpochBatches(batch_sampler) if batch_sampler is not None else None
    train_loader = _loader(train_data, config, collate_fn, generator, epoch_batches, device, shuffle=True)
    val_loader = None
    if val_data is not None and len(val_data) > 0:
        eval_config = TrainConfig(**{**asdict(config), "batch_size": config.eval_batch_size or 2 * config.batch_size})
        val_loader = _loader(val_data, eval_config, collate_fn, None, None, device, shuffle=False)
    if epoch_batches is not None:
        epoch_batches.epoch = 0
    steps_per_epoch = len(train_loader)
    if steps_per_epoch == 0:
        raise ValueError(f"no training batches: {len(train_data)} item(s) with batch_size={config.batch_size}")
    epochs = planned_epochs(config.epochs, steps_per_epoch, config.min_updates)
    total_steps = epochs * steps_per_epoch

    state = _RunState()
    if config.checkpoint_dir:
        checkpoint = distributed.from_main_process(lambda: load_checkpoint(config.checkpoint_dir))
        if checkpoint is not None:
            _check_same_run(checkpoint, config, resume_key)
            state.restore(checkpoint, module, optimizer, scaler, config)
    replica = distributed.replicate(module, device)  # after the restore: DDP copies rank 0's weights to all
    show = progress_wanted(config.progress) and distributed.is_main_process()
    sign = 1.0 if config.mode == "min" else -1.0

    for epoch in range(state.next_epoch, epochs):
        if state.stopped_early:
            break
        generator.manual_seed(_epoch_seed(config.seed, epoch))
        torch.manual_seed(_epoch_seed(config.seed, epoch) + 1)
        if epoch_batches is not None:
            epoch_batches.epoch = epoch
        module.train()
        started = time.perf_counter()
        loss_sum, batches, lr = torch.zeros((), device=device), 0, config.lr
        bar = _progress(train_loader, show, f"epoch {epoch + 1}/{epochs}")
        for batch in bar:
            lr = one_cycle_lr(state.global_step / total_steps, config.lr, config.warmup,
                              config.div_factor, config.final_div_factor)
            for group in optimizer.param_groups:
                group["lr"] = lr * lr_factor(group.get("lower", False), epoch, config.freeze_epochs, config.lower_lr)
            with autocast():
                loss = step(replica, batch, device)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if config.grad_clip:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(module.parameters(), config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            loss_sum += loss.detach().float()
            batches += 1
            state.global_step += 1
            if show and (device.type == "cpu" or batches % 20 == 0):
                bar.set_postfix(loss=f"{loss.item():.4f}", lr=f"{lr:.2e}")
        train_loss = distributed.mean_over_ranks(loss_sum / max(batches, 1)).item()
        if not math.isfinite(train_loss):
            raise FloatingPointError(f"training loss became {train_loss} in epoch {epoch + 1}; lower lr "
                                     f"(now {config.lr}) or check the data for NaN/inf values")
        row = {"epoch": epoch + 1, "train_loss": train_loss, "lr": lr, "seconds": time.perf_counter() - started}
        if epoch_metrics is not None:
            row.update(epoch_metrics())
        if val_loader is not None:
            row.update(_validate(module, val_loader, device, step, validate, autocast))
        _check_monitor(row, config, val_loader is not None)
        value = row.get(config.monitor) if val_loader is not None else None
        if val_loader is None or (value is not None and sign * value < state.best_value):
            state.best_value = float("inf") if value is None else sign * value
            state.best_epoch = epoch + 1
            if config.keep == "best":
                state.best_weights = {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}
        state.history.append(row)
        state.next_epoch = epoch + 1
        if val_loader is not None and config.patience is not None and epoch + 1 - state.best_epoch >= config.patience:
            state.stopped_early = True
        _report(row, show)
        if config.checkpoint_dir and distributed.is_main_process():
            save_checkpoint(config.checkpoint_dir, {**state.as_checkpoint(module, optimizer, scaler, config),
                                                    "resume_key": resume_key})
            write_metrics(config.checkpoint_dir, state.history)
        if on_epoch_end is not None:
            on_epoch_end(row)

    if config.keep == "best" and state.best_weights is not None:
        module.load_state_dict(state.best_weights)
    module.to(device)
    kept = state.best_epoch if config.keep == "best" else state.next_epoch
    return TrainResult(history=state.history, best_epoch=kept, device=str(device), stopped_early=state.stopped_early)


class _RunState:
    """Everything about a run that a checkpoint must carry besides the module and optimizer."""

    def __init__(self):
        self.next_epoch = 0
        self.global_step = 0
        self.history: list[dict] = []
        self.best_value = float("inf")  # stored as sign * monitor, so lower is always better
        self.best_epoch = 0
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.stopped_early = False

    def as_checkpoint(self, module, optimizer, scaler, config) -> dict[str, Any]:
        return {
            "format": 1,
            "next_epoch": self.next_epoch,
            "global_step": self.global_step,
            "history": self.history,
            "best_value": self.best_value,
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "model": {k: v.detach().cpu() for k, v in module.state_dict().items()},
            "best_model": self.best_weights,
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(),
            "config": {k: v for k, v in asdict(config).items() if k != "checkpoint_dir"},
        }

    def restore(self, checkpoint, module, optimizer, scaler, config) -> None:
        module.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        if checkpoint.get("scaler"):
            scaler.load_state_dict(checkpoint["scaler"])
        self.next_epoch = int(checkpoint["next_epoch"])
        self.global_step = int(checkpoint["global_step"])
        self.history = list(checkpoint["history"])
        self.best_value = float(checkpoint["best_value"])
        self.best_epoch = int(checkpoint["best_epoch"])
        self.best_weights = checkpoint.get("best_model")
        self.stopped_early = bool(checkpoint.get("stopped_early", False))
        log.info("resuming after epoch %d of %d", self.next_epoch, config.epochs)


# Settings a resumed run must share with the one that wrote the checkpoint: any other value would
# change the schedule or the batches, so the result would match neither run.
RESUME_SETTINGS = ("epochs", "min_updates", "batch_size", "lr", "seed", "freeze_epochs", "lower_lr")


def _check_same_run(checkpoint: dict, config: TrainConfig, resume_key: str | None) -> None:
    """Refuse to continue a checkpoint written by another run (other settings, data or parameters)."""
    folder = config.checkpoint_dir
    saved = checkpoint.get("config", {})
    differing = [f"{key}={saved[key]!r} there, {getattr(config, key)!r} here" for key in RESUME_SETTINGS
                 if key in saved and saved[key] != getattr(config, key)]
    if differing:
        raise RunFolderError(f"{folder} holds the checkpoint of a run with other settings ({'; '.join(differing)}); "
                             "use a new --out, or --overwrite to discard it")
    if checkpoint.get("resume_key") != resume_key:
        raise RunFolderError(f"{folder} holds the checkpoint of another run (different data, parameters or seed); "
                             "use a new --out, or --overwrite to discard it")


class _EpochBatches:
    """A batch sampler object for DataLoader that asks `make(epoch)` for the batches of the epoch."""

    def __init__(self, make: Callable[[int], Iterable[list[int]]]):
        self.make = make
        self.epoch = 0
        self._cached: tuple[int, list[list[int]]] | None = None

    def _batches(self) -> list[list[int]]:
        if self._cached is None or self._cached[0] != self.epoch:
            self._cached = (self.epoch, [list(b) for b in self.make(self.epoch)])
        return self._cached[1]

    def __iter__(self):
        return iter(self._batches())

    def __len__(self):
        return len(self._batches())


def _loader(data, config, collate_fn, generator, epoch_batches, device, shuffle) -> DataLoader:
    options = dict(collate_fn=collate_fn, num_workers=config.num_workers, pin_memory=device.type == "cuda",
                   worker_init_fn=worker_init_fn if config.num_workers else None,
                   persistent_workers=config.num_workers > 0)
    if epoch_batches is not None:
        return DataLoader(data, batch_sampler=epoch_batches, **options)
    drop_last = shuffle and config.drop_last and len(data) > config.batch_size
    return DataLoader(data, batch_size=config.batch_size, shuffle=shuffle, generator=generator if shuffle else None,
                      drop_last=drop_last, **options)


def _validate(module, loader, device, step, validate, autocast) -> dict[str, float]:
    module.eval()
    with torch.no_grad(), autocast():
        if validate is not None:
            metrics = validate(module, loader, device)
        else:
            losses = [step(module, batch, device).float() for batch in loader]
            metrics = {"val_loss": torch.stack(losses).mean().item()} if losses else {}
    module.train()
    return {k: float(v) for k, v in metrics.items()}


def _check_monitor(row: dict, config: TrainConfig, validating: bool) -> None:
    if validating and config.monitor not in row:
        raise KeyError(f"monitor {config.monitor!r} is not among the epoch's metrics {sorted(row)}; "
                       "set TrainConfig.monitor to one of them")


def _epoch_seed(seed: int, epoch: int) -> int:
    return (int(seed) * 1_000_003 + epoch * 7_919) % (2**63 - 1)


def _progress(loader, show: bool, description: str):
    from tqdm.auto import tqdm

    return tqdm(loader, desc=description, disable=not show, leave=False, file=sys.stderr, dynamic_ncols=True)


def _report(row: dict, show: bool) -> None:
    text = "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
    if show:
        from tqdm.auto import tqdm

        tqdm.write(text, file=sys.stderr)
    log.info(text)
