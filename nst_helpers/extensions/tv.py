"""Total variation, the smoothness term many style-transfer tools add (not in the 2016 paper):
an extra loss term on x, ``tv_weight · TV(x)`` (lesson 07)."""

from __future__ import annotations

import torch

from ..errors import ParameterError


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Squared total variation (Mahendran & Vedaldi 2015, their V^β with β = 2):

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
