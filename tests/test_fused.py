"""The optimised evaluation changes no result: the fused per-layer losses (``fused.py``, the
drop-in the engine chooses for ``step.layer_terms``) give the plain formulas' loss values and
gradients, and on the CPU exactly the same runs as the plain path. Behaviour only; speed is
measured by benchmarks/bench.py.
"""

from __future__ import annotations

import pytest
import torch

import nst_helpers as nst
from nst_helpers.fused import can_fuse, fused_layer_terms, layer_terms_at
from nst_helpers.step import evaluate, layer_terms

from .conftest import smooth_image

EARLY = {
    "content_layers": ["conv2_2"],
    "style_layers": ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1"],
}
CONFIGS = {
    "paper": {},
    "early, pre-ReLU, a layer with both terms": EARLY,
    "noise start, other weights": {"init": "noise", "alpha": 3.0, "beta": 1e5},
    "texture": {"content": None, "init": "noise", "size": (32, 40)},
}


class PlainVGG(nst.VGG19Features):
    """The same network with ``forward`` overridden: ``StyleTransfer`` then takes the plain path
    (``step.layer_terms``: public forward, ``content_loss``/``style_layer_loss``, autograd)."""

    def forward(self, images, layers=None):
        return super().forward(images, layers)


@pytest.fixture(scope="module")
def plain_vgg(vgg):
    plain = PlainVGG()
    plain.load_state_dict(vgg.state_dict())
    return plain


def test_the_fused_path_drives_our_network_and_only_it(vgg, plain_vgg):
    assert can_fuse(vgg) and not can_fuse(plain_vgg)
    assert nst.StyleTransfer(smooth_image(32, 32, 1), None, vgg=vgg, steps=1)._fused
    assert not nst.StyleTransfer(smooth_image(32, 32, 1), None, vgg=plain_vgg, steps=1)._fused
    assert nst.StyleTransfer(smooth_image(32, 32, 1), None, vgg=plain_vgg, steps=1).terms is (
        layer_terms
    )


def plain_formulas(vgg, transfer, x):
    """L_total and every term at ``x`` straight from the paper's formulas (Eqs. 1, 3–5, 7)."""
    layers = transfer.content_layers + transfer.style_layers
    feats = vgg(x, layers)
    content = [
        0.5 * ((feats[n] - transfer.content_targets[n]) ** 2).sum() for n in transfer.content_layers
    ]
    style = []
    for n in transfer.style_layers:
        f = feats[n]
        _, c, h, w = f.shape
        g = nst.gram_matrix(f)
        style.append(((g - transfer.style_targets[n]) ** 2).sum() / (4 * c**2 * (h * w) ** 2))
    total = transfer.alpha * sum(content, x.new_zeros(())) + transfer.beta * sum(
        (transfer.style_weights[n] * e for n, e in zip(transfer.style_layers, style, strict=True)),
        x.new_zeros(()),
    )
    return total, [t.item() for t in content + style]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_one_fused_evaluation_gives_the_plain_formulas_loss_and_gradient(vgg, name):
    options = dict(CONFIGS[name])
    content = options.pop("content", smooth_image(32, 40, seed=1))
    transfer = nst.StyleTransfer(content, smooth_image(48, 32, seed=2), vgg=vgg, steps=3, **options)
    assert transfer._fused
    x0 = transfer.x.detach().clone()
    assert transfer.terms is fused_layer_terms
    record = evaluate(transfer.x, transfer.vgg, transfer.objective, transfer.terms)
    total = torch.tensor(record.total)
    x = x0.clone().requires_grad_(True)
    expected, terms = plain_formulas(vgg, transfer, x)
    expected.backward()
    assert total.item() == pytest.approx(expected.item(), rel=1e-5)
    got = [*record.content_layers.values(), *record.style_layers.values()]
    assert got == pytest.approx(terms, rel=1e-5, abs=1e-12)
    torch.testing.assert_close(
        transfer.x.grad, x.grad, rtol=1e-4, atol=1e-6 * x.grad.abs().max().item()
    )


@pytest.mark.parametrize("name", list(CONFIGS))
def test_fused_and_plain_paths_give_bit_identical_runs_on_the_cpu(vgg, plain_vgg, name):
    """Same arithmetic in the same order: the optimisation changes no result at all."""
    options = dict(CONFIGS[name])
    content = options.pop("content", smooth_image(32, 40, seed=1))
    style = smooth_image(48, 32, seed=2)
    fused = nst.run_style_transfer(content, style, vgg=vgg, steps=6, progress=False, **options)
    plain = nst.run_style_transfer(
        content, style, vgg=plain_vgg, steps=6, progress=False, **options
    )
    assert [r["total"] for r in fused.history] == [r["total"] for r in plain.history]
    assert [r["style_layers"] for r in fused.history] == [r["style_layers"] for r in plain.history]
    assert torch.equal(fused.image, plain.image)


@pytest.mark.parametrize("targets", ["content", "style", "both"])
@pytest.mark.parametrize("downstream", ["conv", "sum", "nothing"])
def test_layer_terms_backward_adds_into_any_incoming_gradient_correctly(targets, downstream):
    """Float64: the in-place accumulation gives autograd's gradient whatever consumes F above
    (a convolution's fresh gradient, a broadcast one from ``sum``, none at the deepest layer)."""
    torch.manual_seed(0)
    image = torch.randn(1, 3, 6, 5, dtype=torch.float64, requires_grad=True)
    conv = torch.nn.Conv2d(3, 4, 3, padding=1).double()
    above = torch.nn.Conv2d(4, 2, 3, padding=1).double()
    p = torch.randn(1, 4, 6, 5, dtype=torch.float64) if targets != "style" else None
    a = nst.gram_matrix(torch.randn(1, 4, 7, 7, dtype=torch.float64))[0]
    a = a if targets != "content" else None

    def run(fused: bool) -> torch.Tensor:
        image.grad = None
        f = conv(image)
        if fused:
            f, lc, ls = layer_terms_at(f, p, a)
        else:
            lc = nst.content_loss(f, p) if p is not None else f.new_zeros(())
            ls = nst.style_layer_loss(f, a) if a is not None else f.new_zeros(())
        loss = 2.0 * lc + 3.0 * ls
        if downstream == "conv":
            loss = loss + (above(f) ** 2).sum()
        elif downstream == "sum":
            loss = loss + 0.5 * f.sum()
        loss.backward()
        return image.grad.clone(), loss.detach()

    (g_fused, l_fused), (g_plain, l_plain) = run(True), run(False)
    torch.testing.assert_close(l_fused, l_plain, rtol=1e-12, atol=0)
    torch.testing.assert_close(g_fused, g_plain, rtol=1e-10, atol=1e-12)


def test_style_layer_loss_backward_still_matches_gradcheck_and_a_plain_reference():
    """The public style loss shares the fused path's backward arithmetic (scaled D + Dᵀ first)."""
    torch.manual_seed(1)
    f = torch.randn(1, 6, 4, 5, dtype=torch.float64, requires_grad=True)
    a = nst.gram_matrix(torch.randn(1, 6, 3, 3, dtype=torch.float64))[0]
    assert torch.autograd.gradcheck(lambda t: nst.style_layer_loss(t, a), (f,))
    g1 = torch.autograd.grad(nst.style_layer_loss(f, a), f)[0]
    plain = ((nst.gram_matrix(f) - a) ** 2).sum() / (4 * 6**2 * 20**2)
    g2 = torch.autograd.grad(plain, f)[0]
    torch.testing.assert_close(g1, g2, rtol=1e-12, atol=1e-15)
