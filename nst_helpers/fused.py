"""The fast path of the optimisation step: the per-layer loss terms fused into VGG19's pass.

``fused_layer_terms`` is a drop-in for ``step.layer_terms``: the same L_content (Eq. 1) and E_l
(Eq. 4) at the same layers, computed where the forward pass reaches each layer, with a
hand-written backward that adds each layer's own gradient (Eqs. 2 and 6) in place into the
gradient coming back from the layers above. The arithmetic and its order are the plain path's, so
runs are bit-identical to ``step.layer_terms`` on the CPU (``tests/test_fused.py``); it saves the
autograd bookkeeping of many small nodes and a copy of every activation's gradient. The engine
uses it when the network is this package's own ``VGG19Features`` (``can_fuse``); a learner never
needs to read it.
"""

from __future__ import annotations

import torch

from .losses import _scaled_sym
from .step import Objective, Terms
from .vgg import VGG19Features


def _writable_grad(grad: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """The gradient arriving from the layers above F, ready to be added into in place.

    In the style transfer's graph F only feeds the next convolution, ReLU or pooling, whose
    backward returns a fresh tensor laid out like F that nothing else holds; a gradient laid out
    otherwise (or expanded) is copied first.
    """
    return grad if grad.stride() == f.stride() else torch.empty_like(f).copy_(grad)


class _LayerTerms(torch.autograd.Function):
    """One layer's two loss terms, fused: F ↦ (F, L_content, E_l), an identity on F.

    L_content = ½ Σ (F − P)² (Eq. 1) and E_l = Σ (F Fᵀ − A)² / (4 N² M²) (Eq. 4); a term whose
    target (P or A) is None is 0. The backward adds this layer's own gradient (Eqs. 2 and 6)

        ∂L/∂F = g_c (F − P) + (2 g_s / (4 N² M²)) (D + Dᵀ) F,    D = F Fᵀ − A,

    (g_c, g_s: the gradients of the two returned values) *in place* into the gradient coming back
    from the layers above F: where F feeds both the losses and the next layer, autograd neither
    keeps a second gradient for F nor allocates the sum of the two, and there is no chain of
    small autograd nodes per term. The arithmetic is the plain path's (``content_loss``,
    ``style_layer_loss``, autograd's sum: style term, + content term, + the gradient from above),
    so the results are bit-identical to it on the CPU.
    """

    @staticmethod
    def forward(ctx, f, content_target, style_target):  # type: ignore[override]
        ctx.set_materialize_grads(False)
        b, n = f.shape[:2]
        f3 = f.view(b, n, -1)
        diff_c = diff_s = None
        content, style = f.new_zeros(()), f.new_zeros(())
        if content_target is not None:
            diff_c = f - content_target  # F − P
            content = 0.5 * diff_c.pow(2).sum()
        if style_target is not None:
            diff_s = torch.baddbmm(style_target.expand(b, n, n), f3, f3.transpose(1, 2), beta=-1.0)
            m = f3.shape[2]
            ctx.c = 4.0 * n * n * m * m  # as style_layer_loss computes it
            style = diff_s.pow(2).sum() / ctx.c
        ctx.save_for_backward(f, diff_c, diff_s)
        return f, content, style

    @staticmethod
    def backward(ctx, grad_f, grad_content, grad_style):  # type: ignore[override]
        f, diff_c, diff_s = ctx.saved_tensors
        b, n = f.shape[:2]
        own = None  # this layer's ∂L/∂F, summed in the order autograd would sum the plain terms
        if diff_s is not None and grad_style is not None:
            sym = _scaled_sym(diff_s, grad_style * (2.0 / ctx.c))
            own = torch.bmm(sym, f.view(b, n, -1)).view_as(f)
        if diff_c is not None and grad_content is not None:
            term = diff_c * grad_content
            own = term if own is None else own.add_(term)
        if grad_f is None or own is None:  # the deepest layer, or no loss term used
            return own if grad_f is None else grad_f, None, None
        return _writable_grad(grad_f, f).add_(own), None, None


def layer_terms_at(
    features: torch.Tensor,
    content_target: torch.Tensor | None,
    style_target: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(features, content_loss(features, P), style_layer_loss(features, A))`` in one step.

    The pass through VGG19 must go on with the returned ``features`` (an autograd identity of the
    input), so that the backward of both terms is added in place into the gradient from the layers
    above (see ``_LayerTerms``). A ``None`` target gives a term of 0.
    """
    return _LayerTerms.apply(features, content_target, style_target)


def can_fuse(vgg: torch.nn.Module) -> bool:
    """Whether the fused pass may drive ``vgg``: this package's network, its ``forward`` not
    overridden and no hooks on it (anything else gets ``step.layer_terms``, the plain path)."""
    return (
        isinstance(vgg, VGG19Features)
        and type(vgg).forward is VGG19Features.forward
        and not (vgg._forward_hooks or vgg._forward_pre_hooks)
    )


def fused_layer_terms(vgg: VGG19Features, image: torch.Tensor, objective: Objective) -> Terms:
    """``step.layer_terms(vgg, image, objective)`` fused into one pass (same values and order)."""
    P, A = objective.content_targets, objective.style_targets
    content: dict[str, torch.Tensor] = {}
    style: dict[str, torch.Tensor] = {}

    def terms_at(name: str, f: torch.Tensor) -> torch.Tensor:
        f, lc, ls = layer_terms_at(f, P.get(name), A.get(name))
        if name in P:
            content[name] = lc
        if name in A:
            style[name] = ls
        return f

    vgg._run(image, dict.fromkeys([*P, *A], terms_at))
    return {n: content[n] for n in P}, {n: style[n] for n in A}
