"""The paper's representations and losses (Gatys, Ecker & Bethge 2016, Sec. 2, Eqs. 1–7).

Notation: F^l is a layer's activation reshaped to N_l × M_l (N_l feature maps, each of
M_l = height × width values); P^l the content image's activations, A^l the style image's Gram
matrix. Every function takes a batch [B, N, H, W] and sums over it. These are the functions every
run computes (``step.layer_terms``), in exactly this plain form, with autograd's backward:

- Eq. 2, ∂L_content/∂F^l = F^l − P^l everywhere; for a post-ReLU layer the ReLU then zeroes it
  where its input was negative, on the way back to the image (lesson 02 shows both);
- Eq. 6, ∂E_l/∂F^l = (G^l − A^l) F^l / (N_l² M_l²) (lesson 03 checks autograd against it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from .errors import ParameterError


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """G^l_ij = Σ_k F^l_ik F^l_jk (Eq. 3), un-normalised: [B, N, H, W] → [B, N, N], N × N
    whatever the image size (so the style image may have any size). Lesson 03."""
    if features.dim() != 4:
        raise ParameterError(f"features must have shape [B, N, H, W], not {list(features.shape)}")
    F = features.flatten(2)  # [B, N, M]
    return F @ F.transpose(1, 2)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L_content = ½ Σ_ij (F^l_ij − P^l_ij)² (Eq. 1): F^l and P^l [B, N, H, W] of one shape →
    a scalar (``ParameterError`` when the shapes differ). Lesson 02."""
    if features.shape != target.shape:  # no broadcasting: [2, N, H, W] against [1, N, H, W]
        raise ParameterError(f"content_loss: features {list(features.shape)} and target "
                             f"{list(target.shape)} differ in shape")  # fmt: skip
    return 0.5 * (features - target).pow(2).sum()


def style_layer_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """E_l = 1/(4 N_l² M_l²) Σ_ij (G^l_ij − A^l_ij)² (Eq. 4), G^l = ``gram_matrix(F^l)`` [B, N, N]
    from F^l [B, N, H, W]; A^l one target for all ([N, N], [1, N, N]) or one each. Lesson 03."""
    G, (_, N, H, W) = gram_matrix(features), features.shape
    if target_gram.shape not in (G.shape, G.shape[1:], (1, N, N)):  # one target, or one each
        raise ParameterError(f"style_layer_loss: the layer has N={N} feature maps, the target "
                             f"Gram is {list(target_gram.shape)}; expected [{N}, {N}]")  # fmt: skip
    M = H * W
    return (G - target_gram).pow(2).sum() / (4 * N**2 * M**2)


def style_loss(
    features: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor],
    weights: Mapping[str, float] | Sequence[float] | None = None,
) -> torch.Tensor:
    """L_style = Σ_l w_l E_l (Eq. 5) over the layers of ``targets`` (name → A^l); ``features``
    maps names to F^l; ``weights`` maps names to w_l or lists them in order (None: 1/|L| each,
    the paper's 1/5). Lesson 03."""
    if not targets:
        raise ParameterError("style_loss: no style layers (targets is empty)")
    w = resolve_style_weights(list(targets), weights)
    if missing := [name for name in targets if name not in features]:
        raise ParameterError(f"style_loss: no features given for {', '.join(missing)}")
    return sum(w[name] * style_layer_loss(features[name], A) for name, A in targets.items())


def total_loss(
    content: torch.Tensor, style: torch.Tensor, alpha: float, beta: float
) -> torch.Tensor:
    """L_total = α L_content + β L_style (Eq. 7): only α/β shapes the result. Lesson 04."""
    return alpha * content + beta * style


def resolve_style_weights(
    layers: Sequence[str], weights: Mapping[str, float] | Sequence[float] | None
) -> dict[str, float]:
    """w_l as a dict over ``layers`` (None: 1/|L| each); ``ParameterError`` for unknown layers,
    a wrong count, or a weight that is not finite and ≥ 0."""
    layers = list(layers)
    if weights is None or (not layers and not weights):
        return {name: 1.0 / len(layers) for name in layers}
    if isinstance(weights, Mapping):
        if unknown := [repr(k) for k in weights if k not in layers]:
            raise ParameterError(f"style_weights: {', '.join(unknown)} not among the style layers")
        resolved = {name: float(weights.get(name, 0.0)) for name in layers}
    elif len(weights) != len(layers):
        raise ParameterError(f"style_weights: {len(weights)} weights for {len(layers)} layers")
    else:
        resolved = {name: float(v) for name, v in zip(layers, weights, strict=True)}
    if bad := [f"{k}={v}" for k, v in resolved.items() if not 0 <= v < float("inf")]:
        raise ParameterError(f"style_weights must be finite and ≥ 0; got {', '.join(bad)}")
    return resolved
