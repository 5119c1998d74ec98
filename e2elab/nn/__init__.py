"""The one training loop shared by the end-to-end pipelines: devices, AMP, checkpoints,
early stopping, progress and per-epoch metrics."""

from .checkpoint import load_checkpoint, read_metrics, save_checkpoint
from .device import resolve_device, seed_everything
from .trainer import DEFAULT_LR, OPTIMIZERS, TrainConfig, TrainResult, make_optimizer, one_cycle_lr, train

__all__ = ["DEFAULT_LR", "OPTIMIZERS", "TrainConfig", "TrainResult", "load_checkpoint", "make_optimizer",
           "one_cycle_lr", "read_metrics", "resolve_device", "save_checkpoint", "seed_everything", "train"]
