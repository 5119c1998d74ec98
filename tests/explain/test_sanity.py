"""The model-randomisation check separates a map that depends on the weights from one that does not."""

import numpy as np
import torch
from torch import nn

from e2elab.explain.attribution import attribute, to_map
from e2elab.explain.sanity import cascading_randomisation, rank_correlation, torch_randomisers


class IgnoresWeights(nn.Module):
    """Has trainable layers, but its output is a fixed function of the input alone."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.fc = nn.Linear(2, 2)

    def forward(self, x):  # (B, 1, H, W) -> (B, 2)
        energy = (x ** 2 * torch.linspace(0.5, 2.0, x.shape[-1])).flatten(1).sum(1)
        unused = self.fc(self.conv(x).mean(dim=(2, 3)))
        return torch.stack([energy, -energy], dim=1) + 0.0 * unused


def trained_like_cnn():
    """A CNN whose weights are not the default initialisation (a stand-in for a trained one)."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                          nn.Flatten(), nn.Linear(8 * 8 * 8, 2))
    # Train it briefly to tell the bright left half from the bright right half.
    x = torch.randn(128, 1, 8, 8) * 0.3
    y = torch.randint(0, 2, (128,))
    x[y == 0, :, :, :4] += 1.0
    x[y == 1, :, :, 4:] += 1.0
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(60):
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimiser.step()
    return model, x[:4]


def ig_map(x):
    return lambda model: to_map(attribute(model, x, "integrated_gradients", target=0, n_steps=10))


def test_randomising_a_real_model_decorrelates_its_map():
    model, x = trained_like_cnn()
    result = cascading_randomisation(model, lambda m: to_map(attribute(m, x, "gradcam", target=0)),
                                     torch_randomisers, seed=0)
    assert result["spearman"].shape == (4,)
    assert np.all(result["spearman"] < 0.5) and np.all(result["trustworthy"])
    assert result["cascade"][-1]["layers_randomised"] == 3


def test_a_model_that_ignores_its_weights_is_flagged():
    torch.manual_seed(0)
    model = IgnoresWeights()
    x = torch.randn(3, 1, 6, 6)
    result = cascading_randomisation(model, ig_map(x), torch_randomisers, seed=0)
    assert np.all(result["spearman"] > 0.99) and not np.any(result["trustworthy"])


def test_randomisation_works_on_a_copy_and_is_seeded():
    model, x = trained_like_cnn()
    before = [p.clone() for p in model.parameters()]
    first = cascading_randomisation(model, ig_map(x), torch_randomisers, seed=3)
    second = cascading_randomisation(model, ig_map(x), torch_randomisers, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    np.testing.assert_array_equal(first["spearman"], second["spearman"])


def test_randomisers_go_from_the_output_layer_down():
    model, _ = trained_like_cnn()
    names = [name for name, _ in torch_randomisers(model)]
    assert names == ["5", "2", "0"]


def test_rank_correlation_uses_absolute_values():
    a = np.array([1.0, -2.0, 3.0, -4.0])
    assert rank_correlation(a, -a) == 1.0
    assert rank_correlation(a, np.array([4.0, 3.0, 2.0, 1.0])) == -1.0
