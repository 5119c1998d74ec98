"""Starting a network from a saved e2elab model (`init_from=MODEL_DIR`, or a
:class:`~e2elab.nn.fine_tuning.FineTuning`): fine-tuning.

The source folder is read by :func:`e2elab.io.load`, so it passes every check a loaded model
passes (no pickle, checksums, the safetensors header, the format version) before a single weight
is used. It must hold a model of the same task and pipeline, built with the same architecture
settings; then every tensor outside the output layer (`head`) is copied, and must match by name
and shape. The output layer is rebuilt for the new labels (classes, or characters of the CTC
alphabet): rows of labels the source knew are copied, new labels keep their fresh initialisation,
so a model whose labels are unchanged starts exactly where the source ended.

Every check runs before the network is touched and before training writes anything, so a bad
source leaves nothing half-done.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..errors import ParameterError
from ..model_files.meta import WEIGHTS_FILE
from ..params import flat_params
from .fine_tuning import FineTuning

HEAD = "head"  # the output layer's name in both end-to-end networks; the rest is their lower part


def load_source(path: str | os.PathLike, task: str, kind: str, architecture: dict):
    """The fitted pipeline saved at `path`, refused unless it is a `kind` `task` model whose
    flat parameters (:func:`e2elab.params.flat_params`) named in `architecture` have the values given there."""
    from ..io import load

    path = Path(path)
    if not path.is_dir():
        raise ParameterError(f"init_from={path}: no such model folder (a folder written by e2elab.save or "
                             "`e2elab train --out`)")
    source = load(path)
    if (source.task, source.kind) != (task, kind):
        raise ParameterError(f"init_from={path}: holds a model of the {source.kind} {source.task} pipeline; "
                             f"fine-tuning the {kind} {task} pipeline needs a model of that same pipeline")
    saved = flat_params(source)  # a model saved as `backbone="resnet"` matches one built with Backbone("resnet")
    differing = [f"{name}={saved.get(name)!r} there, {value!r} here" for name, value in architecture.items()
                 if saved.get(name) != value]
    if differing:
        raise ParameterError(f"init_from={path}: the model was built with other settings ({'; '.join(differing)}); "
                             "set them as the model has them to fine-tune it")
    return source


def start_from(network: torch.nn.Module, source_network: torch.nn.Module, labels: Sequence, source_labels: Sequence,
               path: str | os.PathLike, labels_named: str = "classes", must_share: bool = False) -> None:
    """Start `network` (output layer over `labels`) from `source_network` (over `source_labels`).

    must_share: refuse a source that shares no label (`labels_named` says what they are in the
    message): a CTC alphabet must overlap for the source's output layer to mean anything here.
    """
    rows = label_rows(labels, source_labels)
    if must_share and not (rows[[label is not None for label in labels]] >= 0).any():
        raise ParameterError(f"init_from={path}: its {labels_named} ({''.join(map(str, filter(None, source_labels)))!r}) "
                             f"share nothing with these ({''.join(map(str, filter(None, labels)))!r})")
    transfer_weights(network, source_network.state_dict(), rows, path)


def label_rows(new_labels: Sequence, old_labels: Sequence) -> np.ndarray:
    """For each of `new_labels`, its index in `old_labels`, or -1 for a label the source never had."""
    index = {label: i for i, label in enumerate(old_labels)}
    return np.array([index.get(label, -1) for label in new_labels], dtype=np.int64)


def transfer_weights(network: torch.nn.Module, source: dict[str, torch.Tensor], rows: np.ndarray,
                     path: str | os.PathLike, head: str = HEAD) -> None:
    """Load `source` (a state dict) into `network`, rebuilding the output layer named `head`.

    Outside `head` every tensor must be there with the same shape. In `head`, the tensors whose
    first axis counts the new labels (weight and bias) get row `rows[i]` of the source's in their
    row i, or keep their fresh initialisation where `rows[i]` is -1; the other axes must match.
    Raises a ParameterError naming the weights file and the first tensors that differ.
    """
    weights_file = Path(path) / WEIGHTS_FILE
    target = network.state_dict()

    def per_label(name: str) -> bool:
        in_head = name == head or name.startswith(f"{head}.")
        return in_head and target[name].ndim >= 1 and target[name].shape[0] == len(rows)

    problems = [f"{name} is missing there" for name in target if name not in source]
    problems += [f"{name} is there but not here" for name in source if name not in target]
    for name, tensor in target.items():
        if name not in source:
            continue
        old = source[name]
        if per_label(name):
            if old.shape[1:] != tensor.shape[1:] or (rows >= old.shape[0]).any():
                problems.append(f"output layer {name} is {tuple(old.shape)} there, {tuple(tensor.shape)} here")
        elif old.shape != tensor.shape:
            problems.append(f"{name} is {tuple(old.shape)} there, {tuple(tensor.shape)} here")
    if problems:
        raise ParameterError(f"init_from: {weights_file} holds another architecture ({'; '.join(problems[:3])}"
                             f"{'; ...' if len(problems) > 3 else ''})")
    network.load_state_dict({name: _mapped_rows(tensor, source[name], rows) if per_label(name)
                             else source[name].to(tensor.dtype) for name, tensor in target.items()})


def _mapped_rows(fresh: torch.Tensor, old: torch.Tensor, rows: np.ndarray) -> torch.Tensor:
    """`fresh` with row i replaced by row rows[i] of `old` wherever rows[i] >= 0."""
    out = fresh.detach().clone()
    known = np.flatnonzero(rows >= 0)
    out[torch.as_tensor(known)] = old[torch.as_tensor(rows[known])].to(out.dtype)
    return out


def fine_tuning_source(estimator, architecture: tuple[str, ...]):
    """The model `estimator.init_from` names, checked against `estimator`'s task, pipeline and the
    (flat) parameters named in `architecture`; None without `init_from`."""
    fine_tuning = FineTuning.of(estimator.init_from)
    if fine_tuning is None:
        return None
    params = flat_params(estimator)
    return load_source(fine_tuning.source, estimator.task, estimator.kind, {name: params[name] for name in architecture})


def fine_tuning_config(estimator) -> dict:
    """The TrainConfig settings of a network started from `init_from` (none without it)."""
    fine_tuning = FineTuning.of(estimator.init_from)
    if fine_tuning is None:
        return {}
    return {"head": HEAD, "freeze_epochs": int(fine_tuning.freeze_epochs), "lower_lr": float(fine_tuning.lower_lr)}
