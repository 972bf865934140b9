"""nst_helpers: the thin helper under the neural-style-transfer course.

Gatys, Ecker & Bethge, *Image Style Transfer Using Convolutional Neural Networks*, CVPR 2016.

>>> import nst_helpers as nst
>>> vgg = nst.load_vgg19()                                  # torchvision's ImageNet VGG19
>>> F = vgg(image, ["relu4_2", "relu1_1"])                  # activations by the paper's names
>>> G = nst.gram_matrix(F["relu1_1"])                       # Eq. 3
>>> result = nst.run_style_transfer(content, style, steps=300)

The layers, each importing only those above it:

0. ``errors``, ``files`` (the cache folder, atomic writes, downloads), ``memory``;
1. the paper: ``layers`` (names), ``vgg`` and ``weights`` (VGG19 loading), ``losses``
   (Eqs. 1–7: the Gram matrix, L_content, E_l), ``step`` (the targets and the optimisation step);
2. the engine: ``options`` (every option and default), ``engine`` (a run of steps), ``images``,
   ``samples``, ``profiles``, ``i18n``;
3. ``extensions`` (colour, several styles, TV), imported only by runs that use them;
4. ``transfer`` (``prepare``, ``StyleTransfer``, ``run_style_transfer``);
5. ``coarse_to_fine``, ``runs``, ``cli`` and ``lessons`` (the notebooks' widgets, plots, panels,
   exercises: the only modules that import ipywidgets, matplotlib or IPython).
"""

from __future__ import annotations

from .i18n import tr
from .images import load_image, save_image, unique_path
from .layers import PAPER_CONTENT_LAYERS, PAPER_STYLE_LAYERS
from .losses import content_loss, gram_matrix, style_layer_loss, style_loss, total_loss
from .options import Options, default_beta
from .profiles import profile
from .samples import load_sample, load_sample_or_fallback
from .step import (
    Objective,
    content_targets,
    evaluate,
    layer_terms,
    optimisation_step,
    style_targets,
)
from .transfer import StyleTransfer, run_style_transfer
from .vgg import layer_shapes, load_vgg19

__version__ = "0.1.0"

__all__ = [
    "PAPER_CONTENT_LAYERS",
    "PAPER_STYLE_LAYERS",
    "Objective",
    "Options",
    "StyleTransfer",
    "content_loss",
    "content_targets",
    "default_beta",
    "evaluate",
    "gram_matrix",
    "layer_shapes",
    "layer_terms",
    "load_image",
    "load_sample",
    "load_sample_or_fallback",
    "load_vgg19",
    "optimisation_step",
    "profile",
    "run_style_transfer",
    "save_image",
    "style_layer_loss",
    "style_loss",
    "style_targets",
    "total_loss",
    "tr",
    "unique_path",
]
