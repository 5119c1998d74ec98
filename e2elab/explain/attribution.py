"""Attribution maps for any torch model that maps a batch of inputs to logits, through Captum.

Methods (names used everywhere in :mod:`e2elab.explain`):

* ``integrated_gradients`` -- Sundararajan et al. 2017: (x - x0) times the gradient averaged
  along the straight path from a baseline x0 to x. Its maps sum to f(x) - f(x0) (completeness).
* ``saliency`` -- the absolute gradient of the target logit (Simonyan et al. 2014).
* ``smoothgrad`` -- the saliency averaged over noisy copies of the input (Smilkov et al. 2017).
* ``occlusion`` -- the drop of the target logit when a sliding patch is set to the baseline
  (Zeiler & Fergus 2014).
* ``gradcam`` -- Grad-CAM (Selvaraju et al. 2017) at a convolutional layer (by default the last
  one), upsampled bilinearly to the input's size.

Every method runs in batches of at most ``internal_batch_size`` model evaluations, so memory
stays bounded however many integration steps, noise samples or patches are asked for.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

METHODS = ("integrated_gradients", "saliency", "smoothgrad", "occlusion", "gradcam")
DEFAULT_INTERNAL_BATCH_SIZE = 64


def attribute(
    model: nn.Module | Callable[[torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    method: str,
    target: int | list[int] | torch.Tensor | None = None,
    baseline: torch.Tensor | float | None = 0.0,
    internal_batch_size: int = DEFAULT_INTERNAL_BATCH_SIZE,
    n_steps: int = 50,
    nt_samples: int = 16,
    noise_level: float = 0.15,
    window: int | None = None,
    layer: str | nn.Module | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """The attribution of `method` for each input, with the same shape as `inputs`.

    inputs: (B, ...) a batch, in the space the model takes (already preprocessed).
    target: the class (one int for all, or one per input); None takes the predicted class.
    baseline: the reference input (a tensor broadcastable to `inputs`, or a constant).
    noise_level: SmoothGrad's noise standard deviation, as a fraction of the input's range.
    window: Occlusion's square patch side for (B, C, H, W) inputs (stride = half of it);
        for other shapes, the patch length along the last axis. None picks about 1/8 of the side.
    layer: Grad-CAM's layer, a module of `model` or its dotted name; None takes the last Conv2d.
    Grad-CAM returns (B, 1, H, W) (one map per spatial position, not per channel).
    """
    from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam, NoiseTunnel, Occlusion, Saliency

    if method not in METHODS:
        raise ValueError(f"unknown attribution method {method!r}; expected one of {METHODS}")
    if internal_batch_size < 1:
        raise ValueError(f"internal_batch_size must be at least 1, not {internal_batch_size}")
    inputs = inputs.detach().float().requires_grad_(method in ("saliency", "smoothgrad"))
    target = resolve_target(model, inputs, target, internal_batch_size)
    was_training = getattr(model, "training", False)
    if isinstance(model, nn.Module):
        model.eval()
    try:
        if method == "integrated_gradients":
            base = _as_baseline(baseline, inputs)
            ig = IntegratedGradients(model)
            # Captum evaluates `internal_batch_size` path points at a time but never fewer than
            # the inputs given, so inputs go in chunks no larger than that bound.
            parts = [ig.attribute(inputs[i:i + internal_batch_size], baselines=base[i:i + internal_batch_size],
                                  target=target[i:i + internal_batch_size], n_steps=n_steps,
                                  internal_batch_size=internal_batch_size).detach()
                     for i in range(0, len(inputs), internal_batch_size)]
            return torch.cat(parts)
        if method == "saliency":
            return _batched(lambda chunk, t: Saliency(model).attribute(chunk, target=t, abs=True),
                            inputs, target, internal_batch_size)
        if method == "smoothgrad":
            spread = float(noise_level * (inputs.detach().max() - inputs.detach().min()).clamp_min(1e-8))
            torch.manual_seed(seed)
            tunnel = NoiseTunnel(Saliency(model))
            # Each chunk of `per_chunk` inputs is evaluated `per_eval` noisy copies at a time.
            per_chunk = max(1, internal_batch_size // nt_samples)
            per_eval = max(1, min(nt_samples, internal_batch_size // per_chunk))
            return _batched(lambda chunk, t: tunnel.attribute(chunk, nt_type="smoothgrad", nt_samples=nt_samples,
                                                              nt_samples_batch_size=per_eval, stdevs=spread,
                                                              target=t, abs=True),
                            inputs, target, per_chunk)
        if method == "occlusion":
            shapes, strides = _occlusion_window(inputs.shape[1:], window)
            base = _as_baseline(baseline, inputs)
            per_eval = max(1, internal_batch_size // len(inputs))
            return Occlusion(model).attribute(inputs, sliding_window_shapes=shapes, strides=strides, baselines=base,
                                              target=target, perturbations_per_eval=per_eval).detach()
        # gradcam
        if not isinstance(model, nn.Module):
            raise TypeError("Grad-CAM needs a torch.nn.Module with a convolutional layer, not a plain function")
        conv = find_layer(model, layer)
        maps = _batched(lambda chunk, t: LayerGradCam(model, conv).attribute(chunk, target=t, relu_attributions=True),
                        inputs, target, internal_batch_size)
        if inputs.dim() == 4:
            maps = LayerAttribution.interpolate(maps, tuple(inputs.shape[-2:]), "bilinear")
        return maps.detach()
    finally:
        if isinstance(model, nn.Module) and was_training:
            model.train()


def resolve_target(model, inputs: torch.Tensor, target, batch_size: int = DEFAULT_INTERNAL_BATCH_SIZE) -> torch.Tensor:
    """`target` as a (B,) long tensor; None becomes each input's predicted class."""
    if target is None:
        return predict_logits(model, inputs, batch_size).argmax(dim=1)
    target = torch.as_tensor(target, dtype=torch.long)
    if target.dim() == 0:
        target = target.expand(len(inputs))
    if len(target) != len(inputs):
        raise ValueError(f"{len(target)} targets given for {len(inputs)} inputs")
    return target.clone()


@torch.no_grad()
def predict_logits(model, inputs: torch.Tensor, batch_size: int = DEFAULT_INTERNAL_BATCH_SIZE) -> torch.Tensor:
    """The model's logits for `inputs`, evaluated `batch_size` at a time.  # (B, K)"""
    if isinstance(model, nn.Module):
        model.eval()
    return torch.cat([model(inputs[i:i + batch_size].float()) for i in range(0, len(inputs), batch_size)])


def find_layer(model: nn.Module, layer: str | nn.Module | None) -> nn.Module:
    """The module named `layer` in `model` (a dotted name), `layer` itself, or the last Conv2d."""
    if isinstance(layer, nn.Module):
        return layer
    named = dict(model.named_modules())
    if layer is not None:
        if layer not in named:
            raise ValueError(f"no layer {layer!r} in {type(model).__name__}; layers: {', '.join(n for n in named if n)}")
        return named[layer]
    convs = [m for m in named.values() if isinstance(m, (nn.Conv2d, nn.Conv1d))]
    if not convs:
        raise ValueError(f"{type(model).__name__} has no convolutional layer for Grad-CAM; pass layer=")
    return convs[-1]


def layer_name(model: nn.Module, layer: nn.Module) -> str:
    """The dotted name of `layer` inside `model` (so the same layer is found in a copy)."""
    for name, module in model.named_modules():
        if module is layer:
            return name
    raise ValueError(f"{type(layer).__name__} is not a layer of {type(model).__name__}")


def to_map(attribution: torch.Tensor) -> np.ndarray:
    """An image attribution (B, C, H, W) summed over channels to (B, H, W), as float64."""
    attribution = attribution.detach().double()
    if attribution.dim() == 4:
        attribution = attribution.sum(dim=1)
    return attribution.cpu().numpy()


def _batched(fn, inputs: torch.Tensor, target: torch.Tensor, batch_size: int) -> torch.Tensor:
    """`fn(chunk, target_chunk)` over chunks of `batch_size` inputs, concatenated."""
    parts = [fn(inputs[i:i + batch_size], target[i:i + batch_size]).detach()
             for i in range(0, len(inputs), max(1, batch_size))]
    return torch.cat(parts)


def _as_baseline(baseline, inputs: torch.Tensor):
    if baseline is None:
        return torch.zeros_like(inputs)
    if isinstance(baseline, (int, float)):
        return torch.full_like(inputs, float(baseline))
    return torch.as_tensor(baseline, dtype=inputs.dtype).expand_as(inputs).contiguous()


def _occlusion_window(shape: torch.Size, window: int | None) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Occlusion's patch shape and stride for one input of `shape` (without the batch axis)."""
    if len(shape) == 3:  # (C, H, W): square patches through all channels
        side = window or max(1, min(shape[1], shape[2]) // 8)
        stride = max(1, side // 2)
        return (shape[0], side, side), (shape[0], stride, stride)
    side = window or max(1, shape[-1] // 16)
    stride = max(1, side // 2)
    return tuple(shape[:-1]) + (side,), tuple(shape[:-1]) + (stride,)
