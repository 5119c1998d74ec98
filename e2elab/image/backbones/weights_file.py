"""Reading a pretrained network's weights file safely and loading it under the network's own names.

Both pretrained backbones come as a state dict saved by another code base (torchvision's
MobileNetV2, the TensorFlow-ported EfficientNet-Lite0), with that code base's tensor names. Each
backbone maps its names onto the file's (:func:`load_mapped`); every name and shape is checked
before anything is loaded, so a file of another architecture is refused whole, never half-loaded.
"""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...errors import DataError, ModelIntegrityError, ParameterError, UnsafeModelError


def load_mapped(network: nn.Module, path: str | Path, names: dict[str, str], *, ignored: tuple[str, ...],
                architecture: str) -> None:
    """Load the tensors of the weights file at `path` into `network`: `names` maps each of the
    network's state-dict entries to the file's name for it; the file's `ignored` entries (its
    ImageNet classifier) are skipped. A missing, extra or differently shaped tensor is a
    DataError naming the file, `architecture` and the first differences; nothing is loaded then."""
    path = Path(path)
    state = read_state_dict(path)
    own = network.state_dict()
    missing = [theirs for theirs in names.values() if theirs not in state]
    extra = sorted(set(state) - set(names.values()) - set(ignored))
    shapes = [f"{theirs} {tuple(state[theirs].shape)} (expected {tuple(own[ours].shape)})"
              for ours, theirs in names.items() if theirs in state and state[theirs].shape != own[ours].shape]
    problems = [f"{len(found)} {what}, e.g. {', '.join(found[:3])}"
                for what, found in (("tensors missing", missing), ("unexpected tensors", extra),
                                    ("tensors of another shape", shapes)) if found]
    if problems:
        raise DataError(path, f"not {architecture} weights: " + "; ".join(problems))
    network.load_state_dict({ours: state[theirs] for ours, theirs in names.items()}, strict=False)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a ``.safetensors`` file, or of a ``torch.save`` state dict read with
    ``weights_only=True`` (a file that needs more than tensors to load is refused, never run)."""
    if not path.is_file():
        raise DataError(path, "weights file not found")
    if path.suffix.lower() == ".safetensors":
        from ...model_files.safetensors_check import load_safetensors

        try:
            arrays = load_safetensors(path.read_bytes(), path)
        except ModelIntegrityError as err:  # a truncated or malformed file
            raise DataError(path, f"cannot read the weights: {str(err).removeprefix(f'{path}: ')}") from None
        return {k: torch.from_numpy(np.array(v)) for k, v in arrays.items()}
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeModelError(f"{path}: refused: loading it would run code beyond reading tensors "
                               f"({str(err).splitlines()[0]})") from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise DataError(path, f"cannot read the weights (truncated or not a torch state dict): "
                              f"{str(err).splitlines()[0] if str(err) else type(err).__name__}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataError(path, "not a state dict (a mapping of names to tensors)")
    return state


def package_file(package: str, relative: str, architecture: str, *, install: str) -> Path:
    """The weights file at `relative` inside the installed Python `package`; a ParameterError
    saying `install` (how to get the weights) when the package is absent."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ParameterError(install)
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise ParameterError(f"{path}: the weights package is installed but its {architecture} file is missing")
    return path
