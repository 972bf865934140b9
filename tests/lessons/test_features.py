"""Lesson 01's helpers: the layers' sizes N_l, H_l × W_l, M_l, receptive fields and feature maps.

F^l is N_l × M_l with M_l = H_l · W_l (paper Sec. 2); 3×3 convolutions keep the map size and 2×2
pools halve it; a value's receptive field grows as r_l = r_{l-1} + (k − 1) j_{l-1}.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

import nst_helpers as nst
from nst_helpers.errors import ParameterError
from nst_helpers.layers import LAYER_NAMES
from nst_helpers.lessons import features

from ..conftest import smooth_image


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_paper_names_are_the_post_relu_activations():
    assert features.paper_name("relu4_2") == "conv4_2"
    assert features.paper_name("conv4_2") == "conv4_2"
    assert features.paper_name("pool3") == "pool3"
    assert features.layer_label("relu4_2") == "conv4_2 (relu4_2)"
    assert "pre-ReLU" in features.layer_label("conv4_2")
    assert features.layers_label(["relu1_1", "relu2_1"]) == "conv1_1 + conv2_1"
    assert features.layers_label(nst.PAPER_STYLE_LAYERS).startswith("conv1_1 … conv5_1")
    with pytest.raises(ParameterError):
        features.paper_name("conv9_9")


def test_the_paper_series_are_its_figure_1_layers():
    assert features.CONTENT_SERIES == ("relu1_2", "relu2_2", "relu3_2", "relu4_2", "relu5_2")
    assert features.TEXTURE_SERIES[0] == ("relu1_1",)
    assert features.TEXTURE_SERIES[-1] == nst.PAPER_STYLE_LAYERS
    assert [len(s) for s in features.TEXTURE_SERIES] == [1, 2, 3, 4, 5]


def test_receptive_fields_follow_the_recursion():
    fields = features.receptive_fields()
    assert list(fields) == list(LAYER_NAMES)
    # Known values for VGG: conv1_1 3, conv1_2 5, pool1 6, conv2_1 10, conv3_1 24, conv4_2 84,
    # conv5_1 156, conv5_4 252, pool5 268; the stride doubles at each pool.
    expected = {
        "relu1_1": (3, 1),
        "relu1_2": (5, 1),
        "pool1": (6, 2),
        "relu2_1": (10, 2),
        "relu3_1": (24, 4),
        "relu4_2": (84, 8),
        "relu5_1": (156, 16),
        "relu5_4": (252, 16),
        "pool5": (268, 32),
    }
    for name, value in expected.items():
        assert fields[name] == value, name
    assert fields["conv3_2"] == fields["relu3_2"]  # a ReLU acts value by value
    assert features.receptive_field("relu4_2") == 84


def test_the_measured_gradient_footprint_is_the_receptive_field(vgg):
    image = smooth_image(64, 72, seed=3)
    for layer in ("relu1_1", "relu2_1", "relu3_1"):
        footprint = features.gradient_footprint(vgg, image, layer)
        assert footprint.shape == (64, 72)
        r = features.receptive_field(layer)
        assert features.footprint_extent(footprint) == (r, r)
    assert features.footprint_extent(torch.zeros(4, 5)) == (0, 0)


def test_the_architecture_table_has_n_m_and_shapes_for_the_image():
    table = features.architecture_table((96, 128))
    assert len(table) == 16 + 5 and list(table)[:3] == ["conv1_1", "conv1_2", "pool1"]
    assert len(features.architecture_table((96, 128), include_pools=False)) == 16
    conv1 = table["conv1_1"]
    assert (conv1.n, conv1.height, conv1.width, conv1.m) == (64, 96, 128, 96 * 128)
    assert conv1.package == "conv1_1 / relu1_1"
    row = table["conv4_2"]  # the paper's name: the row of relu4_2 too
    assert (row.n, row.height, row.width, row.m) == (512, 12, 16, 192)
    assert row.receptive_field == 84 and row.stride == 8
    assert table["pool5"].m == 3 * 4
    for r in table.values():  # the same shapes as nst.layer_shapes
        assert (r.n, r.height, r.width) == nst.layer_shapes((96, 128), [r.layer])[r.layer]


def test_the_table_shows_as_html_captioned_with_the_input_size():
    html = features.table_html(features.architecture_table((96, 128))).data
    assert html.count("<tr") == 1 + 21 and "96 × 128" in html
    assert "conv4_2 / relu4_2" in html and "84 × 84 px" in html
    assert html.count("background") == 5  # the pools are shaded


def test_the_table_matches_the_network(vgg):
    image = smooth_image(40, 56, seed=4)
    table = features.architecture_table(image.shape[-2:])
    with torch.no_grad():
        acts = vgg(image, ["relu1_2", "pool2", "relu4_2", "relu5_1"])
    for name, act in acts.items():
        row = table[features.paper_name(name)]
        assert list(act.shape) == [1, row.n, row.height, row.width]


def test_the_strongest_channels_have_the_largest_mean_activation():
    act = torch.zeros(1, 3, 2, 2)
    act[0, 2] = 5.0
    act[0, 0, 0, 0] = 1.0
    assert features.strongest_channels(act, 2) == [2, 0]
    assert features.strongest_channels(act, 10) == [2, 0, 1]  # at most N_l


def test_the_post_relu_activation_is_max_of_the_pre_relu_and_zero(vgg):
    image = smooth_image(32, 40, seed=5)
    comparison = features.compare_relu(vgg, image, "conv2_2")
    conv, pre, post = comparison
    assert conv == "conv2_2" and pre.shape == post.shape == (1, 128, 16, 20)
    assert torch.equal(post, pre.clamp_min(0))  # relu2_2 = max(conv2_2, 0), exactly
    assert 0.0 < (pre < 0).float().mean() < 1.0  # some values are negative, some not
    with pytest.raises(ParameterError, match="convolution"):
        features.compare_relu(vgg, image, "relu2_2")
    fig = features.plot_relu_comparison(comparison)
    assert len(fig.axes) >= 3
    hist = fig.axes[0]
    assert hist.get_xlabel() and hist.get_ylabel() and hist.get_title()


def test_figures_are_titled_and_keep_the_aspect_ratio(vgg):
    image = smooth_image(32, 48, seed=6)
    fig = features.plot_layer_sizes((32, 48))
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    fig = features.show_layer_overview(vgg, image, ["relu1_1", "relu3_1"], per_layer=2)
    titled = [a for a in fig.axes if a.get_title()]
    assert len(titled) == 2 * 3
    first = fig.axes[0].images[0].get_array()
    assert first.shape[:2] == (32, 48)  # the image, not squeezed
    fig = features.show_receptive_fields(image)
    assert fig.axes[0].get_title() and len(fig.axes[0].patches) == 5
    fig = features.show_gradient_footprints(vgg, image, ["relu1_1", "relu2_1"])
    assert all("measured" in a.get_title() for a in fig.axes[:2])
    fig = features.plot_grams({"a": torch.eye(4), "b": torch.ones(1, 4, 4)})
    grams = [a for a in fig.axes if a.get_title()]
    assert len(grams) == 2 and "4 × 4" in grams[0].get_title()
    assert grams[0].get_xlabel() == "feature map j"


def test_the_feature_map_viewer_updates_on_every_control(vgg):
    viewer = features.FeatureMapViewer(vgg, size=40, layer="relu2_1")
    assert viewer.image.value[:4] == b"\x89PNG"
    assert viewer.channel.max == 127
    assert "N_l = 128" in viewer.info.value
    first = viewer.image.value
    viewer.channel.value = 5
    assert viewer.image.value != first and "Map 5" in viewer.info.value
    viewer.layer.value = "relu1_1"  # fewer maps: the slider follows
    assert viewer.channel.max == 63 and "N_l = 64" in viewer.info.value
    viewer.channel.value = 63
    viewer.layer.value = "relu2_1"  # more maps: the slider keeps the channel
    assert viewer.channel.max == 127 and viewer.channel.value == 63
    viewer.layer.value = "conv5_1"  # pre-ReLU, 512 maps
    assert viewer.channel.max == 511 and "pre-ReLU" in viewer.info.value
    viewer.strongest.click()
    act = viewer.activation()
    assert viewer.channel.value == features.strongest_channels(act, 1)[0]
    viewer.picker.dropdown.value = "mosaic"
    assert viewer.activation().shape[-2:] == (2, 2)  # 40 px / 16 after four pools
    assert len(viewer._cache) >= 3  # each (image, layer) computed once
