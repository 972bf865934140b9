"""Several style images (beyond the 2016 paper; lesson 07): the target is a weighted blend of the
style images' Grams, A^l = Σ_k w_k A^l_k (Σ_k w_k = 1), so one run matches a mixture of paintings.
(The style scale, each style image's long side as a multiple of the result's, is an ``Options``
field that ``transfer.prepare`` applies when it loads the style images.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch


def blend_style_targets(
    targets: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[float]
) -> dict[str, torch.Tensor]:
    """A^l = Σ_k w_k A^l_k per layer l: ``targets[k]`` maps layers to style k's A^l_k (scaled for
    size by ``targets.style_target``), ``weights`` are the w_k (Σ = 1). One style: its own."""
    if len(targets) <= 1:
        return dict(targets[0]) if targets else {}
    return {
        name: sum(w * t[name] for w, t in zip(weights, targets, strict=True)) for name in targets[0]
    }
