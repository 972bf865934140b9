"""The targets of the optimisation (Gatys et al. 2016, Sec. 2), computed once, without gradients:
P^l, the content image's activations at each content layer, and A^l, the style image's Gram matrix
at each style layer. Lesson 02 (content) and lesson 03 (style) compute them by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .losses import gram_matrix
from .vgg import layer_shapes


def content_targets(
    vgg: torch.nn.Module, content: torch.Tensor, layers: Sequence[str]
) -> dict[str, torch.Tensor]:
    """P^l = F^l(content) at each of ``layers``: {name: [1, N_l, H_l, W_l]}, without gradients.

    Taught in lesson 02, "3 · The real thing"; lesson 04, "The step that runs", builds them by hand.
    """
    if not layers:
        return {}
    with torch.no_grad():
        return {name: f.detach() for name, f in vgg(content, list(layers)).items()}


def style_target(features: torch.Tensor, result_size: tuple[int, int], layer: str) -> torch.Tensor:
    """A^l, the style image's Gram matrix, as the target for a result of ``result_size`` (H, W).

    The paper's E_l = 1/(4 N² M²) Σ (G − A)² compares Grams of images of the same size: each entry
    is a sum over M_l positions. For a style image of another size (M_s positions at this layer,
    the result's M_x), A is rescaled to ``gram(F_style) · M_x / M_s``, so that E_l compares the
    per-position averages G/M_x and A/M_s. With equal sizes the factor is exactly 1 (the paper).
    Shapes: [1, N, H_s, W_s] → [1, N, N]. Taught in lesson 03, "2 · The real thing".
    """
    _, height, width = layer_shapes(result_size, [layer])[layer]
    m_style = features.shape[-2] * features.shape[-1]
    gram = gram_matrix(features).detach()
    m_result = height * width
    return gram if m_result == m_style else gram * (m_result / m_style)


def style_targets(
    vgg: torch.nn.Module,
    style: torch.Tensor,
    layers: Sequence[str],
    result_size: tuple[int, int],
) -> dict[str, torch.Tensor]:
    """A^l of the style image at each of ``layers`` (``style_target``): {name: [1, N_l, N_l]},
    without gradients. Taught in lesson 03; lesson 04, "The step that runs", builds them by hand."""
    if not layers:
        return {}
    with torch.no_grad():
        feats = vgg(style, list(layers))
        return {name: style_target(f, result_size, name) for name, f in feats.items()}
