"""Explain the end-to-end image classifier: the pipeline's own preprocessing, then its CNN.

Thin adapter over :func:`e2elab.explain.torch_images.explain_torch_images`: the pipeline's
``preprocess`` gives the normalised squares the network sees, its ``network_`` scaled by its
calibration ``temperature_`` gives the calibrated logits, so the probabilities explained are the
ones ``predict_proba`` reports (test-time augmentation, when switched on, is not explained: the
maps are of the single, unaugmented view). The images are drawn as the network sees them.
"""

from __future__ import annotations

import numpy as np
import torch

from .torch_images import DEFAULT_IMAGE_METHODS, explain_torch_images

__all__ = ["DEFAULT_IMAGE_METHODS", "CalibratedNetwork", "explain_image_end_to_end"]


class CalibratedNetwork(torch.nn.Module):
    """network(x) / temperature: the calibrated logits (B, K) of a normalised batch (B, C, H, W)."""

    def __init__(self, network: torch.nn.Module, temperature: float = 1.0):
        super().__init__()
        self.network = network
        self.temperature = float(temperature)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x) / self.temperature


def explain_image_end_to_end(estimator, items, names, methods=None, out_dir=None, target=None, **options) -> list[dict]:
    """Records (one per image and method) explaining a fitted end-to-end image pipeline."""
    inputs = estimator.preprocess(list(items)).float().contiguous()  # (B, C, S, S)
    module = CalibratedNetwork(estimator.network_, getattr(estimator, "temperature_", 1.0)).eval()
    images = [displayable(x, estimator.mean_, estimator.std_) for x in inputs]
    return explain_torch_images(module, inputs, images, names, list(estimator.classes_), out_dir, methods=methods,
                                target=target, **options)


def displayable(x: torch.Tensor, mean, std) -> np.ndarray:
    """A normalised (C, H, W) tensor back to uint8 pixels (H, W) or (H, W, 3)."""
    mean = torch.as_tensor(mean, dtype=torch.float32).view(-1, 1, 1)
    std = torch.as_tensor(std, dtype=torch.float32).view(-1, 1, 1)
    pixels = ((x.detach().float() * std + mean).clamp(0, 1) * 255).round().to(torch.uint8)
    pixels = pixels.permute(1, 2, 0).numpy()
    return pixels[:, :, 0] if pixels.shape[2] == 1 else pixels
