"""Where training runs and how it is made repeatable: device choice and seeding."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from ..errors import ParameterError


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """The torch device for `spec`: "auto" picks CUDA when available, else the CPU.

    "cuda" or "cuda:1" asked for on a machine without CUDA is an error rather than a silent
    fall-back, so that a GPU run never quietly becomes a CPU run.
    """
    if isinstance(spec, torch.device):
        return spec
    spec = str(spec).strip().lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise ParameterError(f"device {spec!r} is not a device; use 'auto', 'cpu', 'cuda' or 'cuda:N'") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ParameterError(f"device {spec!r} asked for, but CUDA is not available on this machine; "
                                 "use device=cpu or device=auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ParameterError(f"device {spec!r} asked for, but only {torch.cuda.device_count()} CUDA device(s) exist")
    return device


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) from one integer.

    deterministic=True also asks torch for deterministic kernels (slower on CUDA; CPU kernels
    used here are deterministic already) so that two runs give bit-identical weights.
    """
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)


def worker_init_fn(worker_id: int) -> None:
    """Give every DataLoader worker its own, reproducible NumPy and Python seed.

    torch already seeds each worker from the loader's generator; NumPy and `random` are derived
    from that seed so that augmentation done with NumPy in workers is repeatable too.
    """
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX).

    Elsewhere bfloat16 is emulated and slower than float32, so CPU autocast is not used.
    """
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def amp_dtype(device: torch.device, cpu: bool = False) -> torch.dtype | None:
    """The autocast dtype for mixed precision on `device`, or None where AMP is not used.

    CUDA: bfloat16 where the GPU supports it (no loss scaling needed), float16 otherwise.
    CPU: bfloat16 when `cpu` is set and the CPU has native bfloat16 instructions (about twice the
    float32 speed for convolutions there); float32 otherwise.
    """
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu and cpu_has_native_bf16():
        return torch.bfloat16
    return None
