"""The extensions (``nst_helpers/extensions/``), as a specification: each option changes what it
should and nothing else, and its default leaves the paper's run bit for bit as it was."""

from __future__ import annotations

import torch

import nst_helpers as nst

from ..conftest import smooth_image


def mid(h: int, w: int, seed: int) -> torch.Tensor:
    """A smooth image in [0.25, 0.75]: recolouring it never reaches the clamp at 0 or 1."""
    return 0.25 + 0.5 * smooth_image(h, w, seed)


def make(content, style, vgg, **options) -> nst.StyleTransfer:
    options.setdefault("steps", 4)
    return nst.StyleTransfer(content, style, vgg=vgg, **options)
