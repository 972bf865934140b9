"""The paper's representations and losses (Gatys, Ecker & Bethge 2016, Sec. 2, Eqs. 1–7).

Notation: F^l is a layer's activation reshaped to N_l × M_l (N_l feature maps, each of
M_l = height × width values); P^l the content image's and A^l the style image's Gram matrix.
Every function accepts a batch ([B, N, H, W]) and sums over it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from .errors import ParameterError


def _flatten(features: torch.Tensor) -> torch.Tensor:
    if features.dim() != 4:
        raise ParameterError(f"features must have shape [B, N, H, W], not {list(features.shape)}")
    b, n, h, w = features.shape
    return features.reshape(b, n, h * w)


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix G^l_ij = Σ_k F^l_ik F^l_jk (paper Eq. 3), un-normalised.

    Shapes: [B, N, H, W] -> [B, N, N].

    It is N_l × N_l whatever the image size, which is why the style image may have any size.
    """
    f = _flatten(features)
    return torch.bmm(f, f.transpose(1, 2))


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L_content = ½ Σ_ij (F^l_ij − P^l_ij)² (paper Eq. 1), summed over the batch."""
    if features.shape[-3:] != target.shape[-3:]:
        raise ParameterError(
            f"content_loss: features {list(features.shape)} and target {list(target.shape)} "
            "differ in shape (the result and the content image must have the same size)"
        )
    return 0.5 * (features - target).pow(2).sum()


def _scaled_sym(diff: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """(D + Dᵀ) · scale, an N × N matrix: scaling it rather than the N × M product saves a pass."""
    return (diff + diff.transpose(1, 2)).mul_(scale)


class _StyleLayerLoss(torch.autograd.Function):
    """E = Σ (F Fᵀ − A)² / c with a backward of one matrix product: ∂E/∂F = 2 (D + Dᵀ) F / c.

    Plain autograd of ``gram_matrix`` then the squared error keeps G, computes two products in the
    backward of F Fᵀ and adds them; here the backward reuses D = G − A and needs a single product.
    """

    @staticmethod
    def forward(ctx, f: torch.Tensor, target: torch.Tensor, c: float) -> torch.Tensor:  # type: ignore[override]
        diff = torch.baddbmm(target, f, f.transpose(1, 2), beta=-1.0)  # D = F Fᵀ − A
        ctx.save_for_backward(f, diff)
        ctx.c = c
        return diff.pow(2).sum() / c

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # type: ignore[override]
        f, diff = ctx.saved_tensors
        grad_f = None
        if ctx.needs_input_grad[0]:
            grad_f = torch.bmm(_scaled_sym(diff, grad_output * (2.0 / ctx.c)), f)
        grad_target = None
        if ctx.needs_input_grad[1]:
            grad_target = diff.mul(-2.0 / ctx.c) * grad_output
        return grad_f, grad_target, None


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


def _layer_terms(
    features: torch.Tensor,
    content_target: torch.Tensor | None,
    style_target: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(features, content_loss(features, P), style_layer_loss(features, A))`` in one step.

    For the style transfer's own pass through VGG19 (internal): the pass must go on with the
    returned ``features`` (an autograd identity of the input), so that the backward of both terms
    is added in place into the gradient from the layers above (see ``_LayerTerms``). A ``None``
    target gives a term of 0.
    """
    return _LayerTerms.apply(features, content_target, style_target)


def style_layer_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """E_l = 1/(4 N_l² M_l²) Σ_ij (G^l_ij − A^l_ij)² (paper Eq. 4).

    N_l and M_l are read from ``features``.

    ``target_gram`` is A^l, the style image's Gram matrix: [N, N] or [B, N, N] (broadcast over the
    batch). The gradient is the paper's Eq. 6, computed by a custom autograd function whose backward
    is a single matrix product.
    """
    f = _flatten(features)
    b, n, m = f.shape
    if target_gram.shape[-2:] != (n, n):
        raise ParameterError(
            f"style_layer_loss: the layer has N={n} feature maps but the target Gram is "
            f"{list(target_gram.shape)}; expected [{n}, {n}]"
        )
    target = target_gram.to(f.dtype).expand(b, n, n)
    return _StyleLayerLoss.apply(f, target, 4.0 * n * n * m * m)


def style_loss(
    features: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor],
    weights: Mapping[str, float] | Sequence[float] | None = None,
) -> torch.Tensor:
    """L_style = Σ_l w_l E_l (paper Eq. 5) over the layers in ``targets``.

    ``features`` and ``targets`` map layer names to activations and target Grams A^l. ``weights``
    maps names to w_l, or lists them in the order of ``targets``; ``None`` gives w_l = 1/|L|, the
    paper's 1/5 for its five layers.
    """
    names = list(targets)
    if not names:
        raise ParameterError("style_loss: no style layers (targets is empty)")
    w = resolve_style_weights(names, weights)
    missing = [n for n in names if n not in features]
    if missing:
        raise ParameterError(f"style_loss: no features given for {', '.join(missing)}")
    total = features[names[0]].new_zeros(())
    for name in names:
        if w[name]:
            total = total + w[name] * style_layer_loss(features[name], targets[name])
    return total


def resolve_style_weights(
    layers: Sequence[str], weights: Mapping[str, float] | Sequence[float] | None
) -> dict[str, float]:
    """The weights w_l as a dict over ``layers``; ``None`` gives 1/|L| each."""
    layers = list(layers)
    if weights is None:
        return {name: 1.0 / len(layers) for name in layers} if layers else {}
    if isinstance(weights, Mapping):
        unknown = [k for k in weights if k not in layers]
        if unknown:
            raise ParameterError(
                f"style_weights: {', '.join(map(repr, unknown))} not among the style layers "
                f"{', '.join(layers)}"
            )
        resolved = {name: float(weights.get(name, 0.0)) for name in layers}
    else:
        values = list(weights)
        if len(values) != len(layers):
            raise ParameterError(
                f"style_weights: {len(values)} weights for {len(layers)} style layers"
            )
        resolved = {name: float(v) for name, v in zip(layers, values, strict=True)}
    bad = {k: v for k, v in resolved.items() if not (v >= 0.0 and v < float("inf"))}
    if bad:
        raise ParameterError(
            "style_weights must be finite and ≥ 0; got "
            + ", ".join(f"{k}={v}" for k, v in bad.items())
        )
    return resolved


def total_loss(
    content: torch.Tensor, style: torch.Tensor, alpha: float, beta: float
) -> torch.Tensor:
    """L_total = α L_content + β L_style (paper Eq. 7): only the ratio α/β shapes the result."""
    return alpha * content + beta * style


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Squared total variation, the smoothness term many style-transfer tools add (not in the
    paper; Mahendran & Vedaldi 2015, their V^β with β = 2):

        TV(x) = Σ_{b,c,i,j} (x_{c,i+1,j} − x_{c,i,j})² + (x_{c,i,j+1} − x_{c,i,j})²,

    over vertical and horizontal neighbours. Squared differences rather than |·| keep it smooth
    (|·| has no derivative at 0) with a gradient linear in x, which suits L-BFGS's curvature
    model. It damps pixel-to-pixel noise; being squared, it also softens sharp edges (a step spread
    over n pixels costs 1/n of a sharp one). [B, C, H, W] → scalar.
    """
    if image.dim() != 4:
        raise ParameterError(f"total_variation: expected [B, C, H, W], not {list(image.shape)}")
    dh = image[..., 1:, :] - image[..., :-1, :]
    dw = image[..., :, 1:] - image[..., :, :-1]
    return dh.pow(2).sum() + dw.pow(2).sum()
