"""Device choice and seeding."""

import numpy as np
import pytest
import torch

import e2elab.nn.device as device_module
from e2elab.errors import ParameterError
from e2elab.nn import resolve_device, seed_everything
from e2elab.nn.device import amp_dtype


def test_auto_and_cpu():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_without_cuda_is_an_error():
    with pytest.raises(ParameterError, match="'cuda:1' asked for, but CUDA is not available"):
        resolve_device("cuda:1")


def test_unknown_device_is_a_parameter_error():
    with pytest.raises(ParameterError, match="'gpu' is not a device"):
        resolve_device("gpu")


def test_seed_everything_repeats_draws():
    seed_everything(5)
    a = (torch.rand(3), np.random.rand(3))
    seed_everything(5)
    b = (torch.rand(3), np.random.rand(3))
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_cpu_autocast_only_when_asked_for_and_native(monkeypatch):
    cpu = torch.device("cpu")
    assert amp_dtype(cpu) is None  # float32 unless the caller opts in
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: True)
    assert amp_dtype(cpu, cpu=True) is torch.bfloat16
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: False)
    assert amp_dtype(cpu, cpu=True) is None  # emulated bfloat16 would be slower than float32
