"""The model-randomisation sanity check of Adebayo et al. 2018, "Sanity Checks for Saliency Maps".

An explanation that is really about the model must change when the model's learned weights are
destroyed. The check re-initialises the model's layers one at a time from the output layer down
(cascading randomisation, with a seed) and, after each step, compares the map of the damaged
model with the map of the trained one by the Spearman rank correlation of their absolute values
(the paper's measure; the absolute value keeps a map that merely flips sign from passing).

The number reported for a map is the correlation once *every* layer is randomised. A map whose
correlation stays above ``THRESHOLD`` (0.5) barely depends on what the model learned (it shows
the input's edges, say, whatever the weights) and is flagged as not to be trusted.

The core takes the layers as ``(name, randomise)`` pairs, so a scikit-learn model (a classifier,
then its codebook) is checked the same way as a torch network; ``torch_randomisers`` builds the
pairs for an ``nn.Module``.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import numpy as np

THRESHOLD = 0.5


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of |a| and |b| (flattened); 1.0 when both are constant and equal."""
    from scipy.stats import spearmanr

    a = np.abs(np.asarray(a, dtype=np.float64)).reshape(-1)
    b = np.abs(np.asarray(b, dtype=np.float64)).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"maps differ in size: {a.shape} and {b.shape}")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        # A constant map has no ranking; it is "unchanged" only if the other is the same constant.
        return 1.0 if np.allclose(a, b) else 0.0
    return float(spearmanr(a, b).statistic)


def cascading_randomisation(model: Any, map_fn: Callable[[Any], np.ndarray],
                            randomisers: Callable[[Any], list[tuple[str, Callable[[np.random.Generator], None]]]],
                            seed: int = 0, max_points: int = 4, reference: np.ndarray | None = None,
                            threshold: float = THRESHOLD) -> dict:
    """Randomise `model`'s layers top-down on a copy; compare each item's map along the way.

    map_fn(model) -> maps (B, ...): one map per explained item, compared item by item.
    randomisers(model_copy) -> [(layer name, randomise(rng))] ordered from the OUTPUT layer down;
        each randomise re-initialises that layer of the copy in place.
    max_points: maps are computed after at most this many cascade steps (evenly spaced, always
        including the last one, where every layer is random), to bound the cost.
    reference: the trained model's maps, if already computed.
    Returns {"spearman": (B,) correlation per item once every layer is random,
    "cascade": [{"layer", "layers_randomised", "spearman": (B,)}], "trustworthy": (B,) bool
    (spearman <= threshold), "threshold"}.
    """
    if reference is None:
        reference = map_fn(model)
    reference = np.asarray(reference)
    damaged = copy.deepcopy(model)
    layers = randomisers(damaged)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no layers to randomise")
    checkpoints = set(np.unique(np.round(np.linspace(0, len(layers) - 1, min(max_points, len(layers)))).astype(int)))
    rng = np.random.default_rng(seed)
    cascade = []
    for step, (name, randomise) in enumerate(layers):
        randomise(rng)
        if step in checkpoints:
            maps = np.asarray(map_fn(damaged))
            if maps.shape != reference.shape:
                raise ValueError(f"map of the randomised model has shape {maps.shape}, not {reference.shape}")
            cascade.append({"layer": name, "layers_randomised": step + 1,
                            "spearman": np.array([rank_correlation(a, b) for a, b in zip(reference, maps)])})
    spearman = cascade[-1]["spearman"]
    return {"spearman": spearman, "cascade": cascade, "trustworthy": spearman <= threshold, "threshold": threshold}


def torch_randomisers(module) -> list[tuple[str, Callable[[np.random.Generator], None]]]:
    """The layers of a torch module that hold parameters, output layer first, with re-initialisers.

    A layer is a module with parameters of its own; registration order stands for depth (the
    order in which torch networks are almost always written). A layer with ``reset_parameters``
    (Linear, Conv, BatchNorm, ...) is re-initialised with it, seeded; any other parameter is
    drawn from a normal distribution with the parameter's own standard deviation.
    """
    import torch

    layers = [(name, m) for name, m in module.named_modules() if any(True for _ in m.parameters(recurse=False))]

    def make(layer):
        def randomise(rng: np.random.Generator):
            torch.manual_seed(int(rng.integers(2**31)))
            with torch.no_grad():
                if hasattr(layer, "reset_parameters"):
                    layer.reset_parameters()
                else:
                    for p in layer.parameters(recurse=False):
                        std = float(p.std()) if p.numel() > 1 else 1.0
                        p.normal_(0.0, std if std > 0 else 1.0)
        return randomise

    return [(name or type(m).__name__, make(m)) for name, m in reversed(layers)]
