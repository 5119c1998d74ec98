"""The residual CNN: shapes for any width, depth, input size and channel count."""

import pytest
import torch

from e2elab.image.model import ResidualCNN


@pytest.mark.parametrize("channels, size, depth", [(1, 16, 2), (3, 32, 3), (3, 40, 4)])
def test_shapes(channels, size, depth):
    net = ResidualCNN(channels, 5, width=8, depth=depth).eval()
    x = torch.randn(2, channels, size, size)
    assert net(x).shape == (2, 5)
    assert net.features(x).shape == (2, net.n_features) and net.n_features == 8 * 2 ** (depth - 1)
    maps = net.feature_maps(x)
    assert list(maps) == net.layer_names() == ["stem"] + [f"stage{i}" for i in range(1, depth + 1)]
    assert maps[f"stage{depth}"].shape[-1] == size // 2**depth
    torch.testing.assert_close(net.classify(net.features(x)), net(x))


def test_width_cap_blocks_and_bad_arguments():
    net = ResidualCNN(3, 2, width=16, depth=4, blocks=[0, 1, 2, 0], max_width=64)
    assert net.n_features == 64
    assert len(net.stages[2].blocks) == 2
    with pytest.raises(ValueError):
        ResidualCNN(3, 1)
    with pytest.raises(ValueError):
        ResidualCNN(3, 2, depth=2, blocks=[1])
    with pytest.raises(ValueError, match="unknown layer"):
        net.feature_maps(torch.randn(1, 3, 32, 32), ["stage9"])


def test_stem_pool_halves_the_maps_and_keeps_the_weights_layout():
    plain, pooled = ResidualCNN(3, 5, width=8, depth=3), ResidualCNN(3, 5, width=8, depth=3, stem_pool=True)
    assert plain.state_dict().keys() == pooled.state_dict().keys()  # a saved network loads into either
    x = torch.randn(2, 3, 64, 64)
    maps = pooled.eval().feature_maps(x)
    assert maps["stem"].shape[-1] == 32 and maps["stage3"].shape[-1] == 64 // 2**4
    assert pooled.min_input == 16 and pooled(x).shape == (2, 5)
