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
    Taught in lesson 03, "1 · The Gram matrix" (and its exercise).
    """
    f = _flatten(features)
    return torch.bmm(f, f.transpose(1, 2))


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L_content = ½ Σ_ij (F^l_ij − P^l_ij)² (paper Eq. 1), summed over the batch.

    ``features`` F^l and ``target`` P^l: [B, N, H, W] of the same shape → a scalar. Its gradient
    is F − P where F > 0 (Eq. 2). ParameterError when the shapes differ. Taught in lesson 02,
    "1 · The content loss" (and its exercise).
    """
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


def style_layer_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """E_l = 1/(4 N_l² M_l²) Σ_ij (G^l_ij − A^l_ij)² (paper Eq. 4).

    N_l and M_l are read from ``features``.

    ``target_gram`` is A^l, the style image's Gram matrix: [N, N] or [B, N, N] (broadcast over the
    batch). The gradient is the paper's Eq. 6, ∂E_l/∂F = (F Fᵀ − A) F / (N² M²) — computed by
    ``_StyleLayerLoss``, whose backward is that one matrix product. ParameterError when A is not
    N × N. Taught in lesson 03, "3 · The style loss" (and its exercise).
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
    paper's 1/5 for its five layers. Taught in lesson 03, "3 · The style loss".
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
    """L_total = α L_content + β L_style (paper Eq. 7): only the ratio α/β shapes the result.

    Scalars (tensors or floats) in, the same out. Taught in lesson 04, "1 · One loss, two terms";
    ``step.evaluate`` computes it at every evaluation.
    """
    return alpha * content + beta * style
