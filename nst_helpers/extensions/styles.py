"""Several style images and the style scale (beyond the 2016 paper; lesson 07).

- Several styles: the target is a weighted blend of the style images' Grams,
  A^l = Σ_k w_k A^l_k (Σ_k w_k = 1), so one run matches a mixture of paintings.
- Style scale s: each style image is resized so that its long side is s × the result's long side
  (larger s, larger brush strokes relative to the result).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ..engine import check_weight
from ..errors import ParameterError


def style_sources(style: Any) -> list[Any]:
    """``style`` as a list of image sources: [] for None, a list or tuple as its entries."""
    if style is None:
        return []
    if isinstance(style, list | tuple):
        if not style:
            raise ParameterError("style: the list is empty; give one style image or several")
        if any(s is None for s in style):
            raise ParameterError("style: a list of style images may not contain None")
        return list(style)
    return [style]


def blend_weights(n_styles: int, style_blend: Sequence[float] | None) -> list[float]:
    """The weights w_k of the style images, normalised to Σ_k w_k = 1 (default 1/n each)."""
    if style_blend is None:
        return [1.0 / n_styles] * n_styles if n_styles else []
    if n_styles == 0:
        raise ParameterError("style_blend needs style images (style is None)")
    if isinstance(style_blend, str | bytes) or not isinstance(style_blend, Sequence):
        raise ParameterError(f"style_blend must be a list of numbers, not {style_blend!r}")
    if len(style_blend) != n_styles:
        raise ParameterError(
            f"style_blend: {len(style_blend)} weights for {n_styles} style "
            f"image{'s' if n_styles > 1 else ''}"
        )
    weights = [check_weight("style_blend", w) for w in style_blend]
    total = sum(weights)
    if total == 0:
        raise ParameterError("style_blend: the weights are all 0; at least one must be > 0")
    return [w / total for w in weights]


def blend_style_targets(
    targets: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[float]
) -> dict[str, torch.Tensor]:
    """The target Grams of several style images: A^l = Σ_k w_k A^l_k per layer l.

    ``targets[k]`` maps layer names to style k's A^l_k (already scaled for size by
    ``targets.style_target``); ``weights`` are the w_k (normalised by the caller). One style gives
    its own targets unchanged; none gives {}.
    """
    if not targets:  # no style image, or no style layer
        return {}
    if len(targets) != len(weights):
        raise ParameterError(f"{len(weights)} weights for {len(targets)} sets of style targets")
    if len(targets) == 1:
        return dict(targets[0])
    blended = {}
    for name in targets[0]:
        a = weights[0] * targets[0][name]
        for w, other in zip(weights[1:], targets[1:], strict=True):
            a = a + w * other[name]
        blended[name] = a
    return blended


def scaled_long_side(style_scale: float, shape: tuple[int, int]) -> int:
    """The style images' long side for ``style_scale`` × the result's long side (px, ≥ 1)."""
    return max(1, round(style_scale * max(shape)))
