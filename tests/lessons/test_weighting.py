"""Lesson 04's α/β: other tools' "MSE of Gram/(N·M)" weights convert into the paper's form, each
network's default β is its reference implementation converted, and the paper's α/β × layers grid
is one series of runs whose ratios are the paper's translated for the network and the size."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
import torch

import nst_helpers as nst
from nst_helpers.errors import ParameterError
from nst_helpers.lessons import weighting
from nst_helpers.options import default_ratio, ratio_for


def test_the_mse_gram_form_is_the_papers_form_with_converted_weights():
    """cw·MSE(F, P) + sw·Σ MSE(G/NM, A/NM) = α L_content + β Σ w_l E_l, on real-sized tensors."""
    g = torch.Generator().manual_seed(0)
    hw, layers = (32, 32), ("relu1_1", "relu2_1")
    shapes = nst.layer_shapes(hw, ("relu2_2", *layers))
    F = {n: torch.rand(1, *s, generator=g) for n, s in shapes.items()}
    P = torch.rand(1, *shapes["relu2_2"], generator=g)
    A = {n: nst.gram_matrix(torch.rand(1, *shapes[n], generator=g)) for n in layers}
    form = weighting.mse_gram_to_paper(2.0, 1e3, "relu2_2", layers, hw)
    mse = torch.nn.functional.mse_loss
    theirs = 2.0 * mse(F["relu2_2"], P) + 1e3 * sum(
        mse(nst.gram_matrix(F[n]) / F[n][0].numel(), A[n] / F[n][0].numel()) for n in layers
    )
    ours = form.alpha * nst.content_loss(F["relu2_2"], P) + form.beta * nst.style_loss(
        {n: F[n] for n in layers}, A, form.style_weights
    )
    assert float(ours) == pytest.approx(float(theirs), rel=1e-5)
    assert sum(form.style_weights.values()) == pytest.approx(1.0)
    assert form.style_weights["relu1_1"] == pytest.approx(
        4 * form.style_weights["relu2_1"]
    )  # ∝ 1/N_l²
    assert form.ratio == form.alpha / form.beta


def test_the_pytorch_tutorials_weights_are_about_the_torchvision_default():
    form = weighting.mse_gram_to_paper(**{**weighting.PYTORCH_TUTORIAL, "image_hw": (256, 256)})
    assert 0.1 < form.ratio / default_ratio("torchvision") < 10  # "good to about ×10"


@pytest.mark.parametrize(
    "network, content_weight, style_weight",
    [("caffe", 5, 100), ("caffe-normalised", 1, 1e3)],  # neural-style's defaults; the authors'
)
def test_each_caffe_default_is_its_reference_implementation_in_the_papers_form(
    network, content_weight, style_weight
):
    form = weighting.mse_gram_to_paper(
        content_weight, style_weight, "relu4_2", nst.PAPER_STYLE_LAYERS, (256, 256)
    )
    assert 0.6 < default_ratio(network) / form.ratio < 1.6  # rounded to one digit


def test_an_unknown_layer_is_refused():
    with pytest.raises(ParameterError, match="conv9_9"):
        weighting.mse_gram_to_paper(1.0, 1.0, "conv9_9", ["relu1_1"], (64, 64))


def test_the_ratio_grid_is_one_series_over_paper_ratios_and_depths(vgg, content, style):
    grid = weighting.ratio_layer_grid(
        content,
        style,
        vgg=vgg,
        steps=1,
        paper_ratios=(1e-4, 1e-3),
        depths=("conv1_1", "conv2_1"),
        progress=False,
    )
    assert list(grid) == [(1e-4, "conv1_1"), (1e-3, "conv1_1"), (1e-4, "conv2_1"),
                          (1e-3, "conv2_1")]  # fmt: skip
    for (paper, depth), result in grid.items():
        used = result.settings["alpha"] / result.settings["beta"]
        assert used == pytest.approx(ratio_for(paper, content.shape[-2:], vgg))
        assert len(result.history[0]["style_layers"]) == int(depth[4])  # conv1_1 … depth
        assert result.snapshots == {} and result.evaluations == 1
    fig = weighting.plot_ratio_grid(grid)
    assert len(fig.axes) == 4
    plt.close("all")
