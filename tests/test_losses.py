"""The paper's representations and losses (Gatys et al. 2016, Eqs. 1–7), as a specification."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nst_helpers as nst
from nst_helpers.errors import ParameterError


def test_gram_matrix_is_F_times_F_transposed():
    f = torch.randn(2, 5, 3, 4)
    g = nst.gram_matrix(f)
    for b in range(2):
        F = f[b].reshape(5, 12).numpy().astype(np.float64)
        np.testing.assert_allclose(g[b].numpy(), F @ F.T, rtol=1e-5, atol=1e-5)


def test_gram_matrix_is_not_normalised():
    f = torch.ones(1, 2, 3, 3)  # N = 2, M = 9
    assert torch.equal(nst.gram_matrix(f), torch.full((1, 2, 2), 9.0))


def test_gram_matrix_is_symmetric_and_positive_semidefinite():
    g = nst.gram_matrix(torch.randn(1, 16, 7, 5, dtype=torch.float64))[0]
    assert torch.equal(g, g.T) or torch.allclose(g, g.T, atol=1e-12)
    assert torch.linalg.eigvalsh(g).min() > -1e-9


@pytest.mark.parametrize("size", [(32, 32), (48, 80)])
def test_gram_is_N_by_N_whatever_the_image_size(vgg, size):
    feats = vgg(torch.rand(1, 3, *size), ["relu1_1", "relu3_1"])
    assert nst.gram_matrix(feats["relu1_1"]).shape == (1, 64, 64)
    assert nst.gram_matrix(feats["relu3_1"]).shape == (1, 256, 256)


def test_content_loss_is_half_the_sum_of_squares():
    f, p = torch.randn(1, 4, 3, 3), torch.randn(1, 4, 3, 3)
    assert torch.allclose(nst.content_loss(f, p), 0.5 * ((f - p) ** 2).sum())
    assert nst.content_loss(torch.full((1, 1, 2, 2), 3.0), torch.ones(1, 1, 2, 2)).item() == 8.0


@pytest.mark.parametrize("target", [(1, 4, 3, 4), (2, 4, 3, 3), (4, 3, 3)])
def test_content_loss_refuses_a_target_of_another_shape_without_broadcasting(target):
    with pytest.raises(ParameterError, match="content_loss"):
        nst.content_loss(torch.zeros(1, 4, 3, 3), torch.zeros(target))


def test_style_layer_loss_uses_one_over_4_N2_M2():
    f = torch.ones(1, 2, 3, 3)  # N = 2, M = 9, G = 9 everywhere
    a = torch.zeros(2, 2)
    expected = (4 * 81.0) / (4 * 2**2 * 9**2)  # Σ (G − A)² / (4 N² M²) = 1
    assert nst.style_layer_loss(f, a).item() == pytest.approx(expected)


def test_style_layer_loss_matches_the_formula_in_numpy():
    f = torch.randn(1, 8, 5, 6, dtype=torch.float64)
    a = nst.gram_matrix(torch.randn(1, 8, 9, 9, dtype=torch.float64))[0]
    F = f[0].reshape(8, 30).numpy()
    expected = ((F @ F.T - a.numpy()) ** 2).sum() / (4 * 8**2 * 30**2)
    assert nst.style_layer_loss(f, a).item() == pytest.approx(expected, rel=1e-12)


def test_style_layer_loss_gradient_passes_gradcheck_in_float64():
    f = torch.randn(2, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    a = nst.gram_matrix(torch.randn(1, 4, 5, 5, dtype=torch.float64)).detach().requires_grad_(True)
    assert torch.autograd.gradcheck(nst.style_layer_loss, (f, a))


def test_content_loss_gradient_passes_gradcheck_in_float64():
    f = torch.randn(1, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    p = torch.randn(1, 3, 4, 4, dtype=torch.float64)
    assert torch.autograd.gradcheck(nst.content_loss, (f, p))


def test_autograd_of_the_plain_style_loss_is_the_papers_eq_6():
    """∂E_l/∂F^l = (G^l − A^l) F^l / (N_l² M_l²): what autograd gives for the plain formula."""
    f = torch.rand(1, 6, 4, 5, dtype=torch.float64, requires_grad=True)
    a = nst.gram_matrix(torch.rand(1, 6, 7, 3, dtype=torch.float64))[0]
    nst.style_layer_loss(f, a).backward()
    F = f.detach()[0].reshape(6, 20)
    eq6 = (F @ F.T - a) @ F / (6**2 * 20**2)
    torch.testing.assert_close(f.grad[0].reshape(6, 20), eq6, rtol=1e-12, atol=0)


def test_autograd_of_the_content_loss_is_eq_2_everywhere():
    """∂L_content/∂F = F − P at every entry (the ReLU before it zeroes it further back)."""
    f = torch.randn(1, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    p = torch.randn(1, 3, 4, 4, dtype=torch.float64)
    nst.content_loss(f, p).backward()
    assert torch.equal(f.grad, f.detach() - p)


@pytest.mark.parametrize("target", [(5, 5), (3, 4, 4), (1, 1, 4, 4)])
def test_style_layer_loss_checks_the_target_size_without_broadcasting(target):
    with pytest.raises(ParameterError, match=r"expected \[4, 4\]"):
        nst.style_layer_loss(torch.zeros(1, 4, 3, 3), torch.zeros(target))


def test_style_loss_is_the_weighted_sum_with_one_over_L_by_default():
    feats = {"relu1_1": torch.rand(1, 3, 4, 4), "relu2_1": torch.rand(1, 5, 2, 2)}
    targets = {k: nst.gram_matrix(torch.rand(1, v.shape[1], 3, 3))[0] for k, v in feats.items()}
    e = {k: nst.style_layer_loss(feats[k], targets[k]) for k in feats}
    assert nst.style_loss(feats, targets).item() == pytest.approx(
        (0.5 * e["relu1_1"] + 0.5 * e["relu2_1"]).item()
    )
    weighted = nst.style_loss(feats, targets, {"relu1_1": 2.0, "relu2_1": 0.0})
    assert weighted.item() == pytest.approx(2.0 * e["relu1_1"].item())
    assert nst.style_loss(feats, targets, [1.0, 1.0]).item() == pytest.approx(
        (e["relu1_1"] + e["relu2_1"]).item()
    )


@pytest.mark.parametrize(
    "weights, message",
    [
        ([1.0], "1 weights for 2"),
        ({"relu9_9": 1.0}, "not among the style layers"),
        ({"relu1_1": -1.0}, "finite and ≥ 0"),
        ([float("nan"), 1.0], "finite and ≥ 0"),
    ],
)
def test_style_loss_refuses_bad_weights(weights, message):
    feats = {"relu1_1": torch.rand(1, 3, 4, 4), "relu2_1": torch.rand(1, 5, 2, 2)}
    targets = {k: nst.gram_matrix(v)[0] for k, v in feats.items()}
    with pytest.raises(ParameterError, match=message):
        nst.style_loss(feats, targets, weights)


def test_total_loss_is_alpha_content_plus_beta_style():
    assert nst.total_loss(torch.tensor(2.0), torch.tensor(3.0), 0.5, 10.0).item() == 31.0
