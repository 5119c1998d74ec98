"""Attribution methods on hand-built models whose right answer is known."""

import numpy as np
import pytest
import torch
from torch import nn

from e2elab.explain.attribution import METHODS, attribute, find_layer, to_map


def linear_model(weights: torch.Tensor) -> nn.Module:
    """logits = [w . x, -w . x] for (B, 1, H, W) inputs."""
    flat = weights.reshape(-1)
    layer = nn.Linear(flat.numel(), 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.stack([flat, -flat]))
    return nn.Sequential(nn.Flatten(), layer)


def small_cnn(seed=0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))


def test_integrated_gradients_of_linear_model_is_weight_times_input():
    torch.manual_seed(0)
    weights = torch.randn(1, 6, 5)
    x = torch.randn(3, 1, 6, 5)
    maps = attribute(linear_model(weights), x, "integrated_gradients", target=0, baseline=0.0, n_steps=7,
                     internal_batch_size=4)
    torch.testing.assert_close(maps, weights * x, rtol=1e-4, atol=1e-5)


def test_saliency_of_linear_model_is_absolute_weight():
    weights = torch.randn(1, 4, 4)
    x = torch.randn(2, 1, 4, 4)
    maps = attribute(linear_model(weights), x, "saliency", target=1)
    torch.testing.assert_close(maps, weights.abs().expand_as(x), rtol=1e-5, atol=1e-6)


def test_occlusion_of_linear_model_is_weight_times_input_per_pixel():
    weights = torch.randn(1, 4, 4)
    x = torch.randn(2, 1, 4, 4)
    maps = attribute(linear_model(weights), x, "occlusion", target=0, window=1, baseline=0.0)
    torch.testing.assert_close(maps, weights * x, rtol=1e-4, atol=1e-5)


def test_internal_batch_size_does_not_change_integrated_gradients():
    model = small_cnn()
    x = torch.randn(5, 1, 8, 8)
    small = attribute(model, x, "integrated_gradients", n_steps=10, internal_batch_size=3)
    large = attribute(model, x, "integrated_gradients", n_steps=10, internal_batch_size=500)
    torch.testing.assert_close(small, large, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_gives_a_finite_map_per_input(method):
    model = small_cnn()
    x = torch.randn(3, 1, 8, 8)
    maps = attribute(model, x, method, nt_samples=4, n_steps=5, internal_batch_size=8)
    assert maps.shape[0] == 3 and maps.shape[-2:] == (8, 8)
    assert to_map(maps).shape == (3, 8, 8)
    assert np.all(np.isfinite(to_map(maps)))


def test_gradcam_uses_last_convolution_by_default_and_rejects_unknown_layer():
    model = small_cnn()
    assert find_layer(model, None) is model[2]
    with pytest.raises(ValueError, match="no layer"):
        find_layer(model, "nope")


def test_unknown_method_is_an_error():
    with pytest.raises(ValueError, match="unknown attribution method"):
        attribute(small_cnn(), torch.zeros(1, 1, 8, 8), "lime")
