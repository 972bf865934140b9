"""VGG19 by the paper's layer names: indices, pre/post-ReLU, pooling, frozen weights."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

import nst_helpers as nst
from nst_helpers.errors import ParameterError, WeightsError
from nst_helpers.layers import LAYER_INDEX, LAYER_NAMES, min_input_side


@pytest.fixture(scope="module")
def torchvision_features(vgg):
    """torchvision's own vgg19().features with the same weights (its ReLUs are in-place)."""
    features = torchvision.models.vgg19(weights=None).features
    features.load_state_dict(vgg.features.state_dict())
    return features.eval()


def test_layer_names_follow_torchvision_features_order(torchvision_features):
    assert len(LAYER_NAMES) == len(torchvision_features) == 37
    kinds = {"conv": nn.Conv2d, "relu": nn.ReLU, "pool": nn.MaxPool2d}
    for name, module in zip(LAYER_NAMES, torchvision_features, strict=True):
        assert isinstance(module, kinds[name[:4]]), name
    assert LAYER_INDEX["conv4_2"] == 21 and LAYER_INDEX["relu4_2"] == 22
    assert LAYER_INDEX["conv5_1"] == 28 and LAYER_INDEX["pool5"] == 36


@pytest.mark.parametrize("name, end", [("conv4_2", 22), ("relu4_2", 23), ("conv5_1", 29)])
def test_layers_equal_torchvision_slices_on_the_same_weights(vgg, torchvision_features, name, end):
    images = torch.rand(2, 3, 48, 40)
    normalized = (images - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor(
        [0.229, 0.224, 0.225]
    ).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = torchvision_features[:end](normalized)
        got = vgg(images, [name])[name]
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_conv_is_the_pre_relu_value_and_relu_its_rectification(vgg):
    feats = vgg(torch.rand(1, 3, 32, 32), ["conv1_1", "relu1_1", "conv4_2", "relu4_2"])
    assert feats["conv1_1"].min() < 0  # not overwritten by an in-place ReLU
    assert torch.equal(feats["relu1_1"], feats["conv1_1"].clamp(min=0))
    assert torch.equal(feats["relu4_2"], feats["conv4_2"].clamp(min=0))


def test_returns_the_requested_layers_in_the_requested_order_with_their_shapes(vgg):
    feats = vgg(torch.rand(1, 3, 64, 48), ["relu4_2", "relu1_1", "pool2"])
    assert list(feats) == ["relu4_2", "relu1_1", "pool2"]
    assert feats["relu1_1"].shape == (1, 64, 64, 48)
    assert feats["pool2"].shape == (1, 128, 16, 12)
    assert feats["relu4_2"].shape == (1, 512, 8, 6)
    assert nst.layer_shapes((64, 48), ["relu4_2", "pool2"]) == {
        "relu4_2": (512, 8, 6),
        "pool2": (128, 16, 12),
    }


def test_runs_only_up_to_the_deepest_requested_layer(vgg):
    called: list[int] = []
    hooks = [
        m.register_forward_hook(lambda m, i, o, k=k: called.append(k))
        for k, m in enumerate(vgg.features)
    ]
    try:
        vgg(torch.rand(1, 3, 32, 32), ["relu2_1", "relu1_1"])
    finally:
        for h in hooks:
            h.remove()
    assert called == list(range(LAYER_INDEX["relu2_1"] + 1))


def test_weights_are_frozen_and_the_network_stays_in_eval_mode(vgg):
    assert all(not p.requires_grad for p in vgg.parameters())
    assert not vgg.training  # no dropout or batch norm in the features: eval mode changes nothing
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    vgg(x, ["relu3_1"])["relu3_1"].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in vgg.parameters())


def test_average_pooling_replaces_every_max_pool(vgg, vgg_avg):
    pools = [m for m in vgg_avg.features if "Pool" in type(m).__name__]
    assert len(pools) == 5 and all(isinstance(m, nn.AvgPool2d) for m in pools)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        relu1_2 = vgg_avg(x, ["relu1_2"])["relu1_2"]
        pooled = vgg_avg(x, ["pool1"])["pool1"]
        assert torch.allclose(pooled, nn.functional.avg_pool2d(relu1_2, 2))
        assert not torch.allclose(pooled, vgg(x, ["pool1"])["pool1"])


def test_paper_layers_need_16_px():
    assert min_input_side(nst.PAPER_STYLE_LAYERS) == 16
    assert min_input_side(["relu1_1"]) == 1


def test_unknown_layer_names_are_refused_with_the_valid_ones_listed(vgg):
    with pytest.raises(ParameterError, match=r"'conv4_5'.*conv1_1, relu1_1"):
        vgg(torch.rand(1, 3, 32, 32), ["conv4_5"])


def test_images_must_be_batches_of_rgb(vgg):
    with pytest.raises(ParameterError, match=r"\[B, 3, H, W\]"):
        vgg(torch.rand(3, 32, 32), ["relu1_1"])


def test_pooling_must_be_max_or_avg():
    with pytest.raises(ParameterError, match="pooling"):
        nst.load_vgg19("random", pooling="min")


def test_random_weights_warn_and_are_seeded():
    with pytest.warns(UserWarning, match="random VGG19 weights"):
        a = nst.load_vgg19("random", device="cpu")
    with pytest.warns(UserWarning):
        b = nst.load_vgg19("random", device="cpu")
    assert torch.equal(a.features[0].weight, b.features[0].weight)


def test_the_loader_reads_no_environment_variable(monkeypatch):
    """$NST_WEIGHTS is read at the edge (the profile, the command line), not by the loader."""
    monkeypatch.setenv("NST_WEIGHTS", "random")
    with pytest.raises(WeightsError, match="could not download"):  # imagenet, as asked
        nst.load_vgg19(device="cpu")


def test_unknown_weights_choice_is_refused_naming_it():
    with pytest.raises(WeightsError, match="imagenet1k"):
        nst.load_vgg19("imagenet1k")


@pytest.mark.parametrize("device", ["tpu", "cuda:7", "meta"])
def test_a_device_not_here_is_refused_naming_it_and_what_is_here(device):
    with pytest.raises(ParameterError, match=rf"'{device}'.*here: cpu") as info:
        nst.load_vgg19("random", device=device)
    assert "\n" not in str(info.value) and "Expected one of" not in str(info.value)
