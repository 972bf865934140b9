"""How much content against how much style: α/β (Gatys et al. 2016, Eq. 7). Lesson 04.

Only α/β matters (both weights times c > 0 multiply the loss by c), and only in the units of one
loss normalisation and one network's weights. This module converts other tools' normalisation
into the paper's form and runs the α/β × style-layers grid; each network's default α/β and the
translation of the paper's ratios are ``options.default_ratio`` and ``options.ratio_for``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from ..engine import Result
from ..i18n import N_, _
from ..images import to_pil
from ..layers import PAPER_STYLE_LAYERS, check_layers
from ..options import ratio_for
from ..vgg import VGG19Features, layer_shapes
from .cjk_font import use_language_font
from .features import layers_label
from .series import run_series

#: α/β of the CVPR paper's figures (the Caffe VGG19, normalised; about 512 px), by figure.
CVPR_RATIOS = {"Fig. 3 D": 5e-3, "Figs. 3 B, 5, 6": 1e-3, "Fig. 3 C": 8e-4, "Fig. 3 E, F": 5e-4}
#: The columns of the α/β × layers grid: the 2015 preprint's Fig. 3 (arXiv:1508.06576; the CVPR
#: paper keeps only a sweep of α/β, its Fig. 4, from 1e-4 to 1e-1).
PAPER_GRID_RATIOS: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2)
#: The grid's rows: style layers conv1_1 … up to the deepest one named (post-ReLU here).
STYLE_DEPTHS: dict[str, tuple[str, ...]] = {
    f"conv{i}_1": PAPER_STYLE_LAYERS[:i] for i in range(1, len(PAPER_STYLE_LAYERS) + 1)
}
#: The PyTorch tutorial's settings ("Neural Transfer Using PyTorch"): weights, its layers by the
#: paper's names (its conv_4 is conv2_2; pre-ReLU values), and its image size on a CPU (128 px
#: square; 512 px on a GPU).
PYTORCH_TUTORIAL: dict[str, Any] = {
    "content_weight": 1.0,
    "style_weight": 1e6,
    "content_layer": "conv2_2",
    "style_layers": ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1"),
    "image_hw": (128, 128),
}


@dataclass(frozen=True)
class PaperForm:
    """Weights in the paper's form α L_content + β Σ_l w_l E_l (Σ_l w_l = 1)."""

    alpha: float
    beta: float
    style_weights: dict[str, float]

    @property
    def ratio(self) -> float:
        """α/β, the only number that shapes the result."""
        return self.alpha / self.beta


def mse_gram_to_paper(
    content_weight: float,
    style_weight: float,
    content_layer: str,
    style_layers: Sequence[str],
    image_hw: Sequence[int],
) -> PaperForm:
    """Convert ``cw·MSE(F, P) + sw·Σ_l MSE(G/(N·M), A/(N·M))`` into the paper's form: with F^l
    of N_l × M_l values, MSE(F, P) = 2/(N M) · L_content and MSE(G/(NM), A/(NM)) = 4/N² · E_l,
    so α = 2·cw/(N_c M_c), β = Σ_l 4·sw/N_l² and w_l = (4·sw/N_l²)/β (unequal, ∝ 1/N_l²)."""
    content_layer = check_layers([content_layer])[0]
    style_layers = check_layers(style_layers)
    shapes = layer_shapes(image_hw, (content_layer, *style_layers))
    n_c, h_c, w_c = shapes[content_layer]
    alpha = 2.0 * content_weight / (n_c * h_c * w_c)
    per_layer = {name: 4.0 * style_weight / shapes[name][0] ** 2 for name in style_layers}
    beta = sum(per_layer.values())
    return PaperForm(alpha, beta, {name: v / beta for name, v in per_layer.items()})


def ratio_layer_grid(
    content: torch.Tensor,
    style: torch.Tensor,
    *,
    vgg: VGG19Features,
    steps: int,
    paper_ratios: Sequence[float] = PAPER_GRID_RATIOS,
    depths: Sequence[str] = tuple(STYLE_DEPTHS),
    progress: bool = True,
    **options: Any,
) -> dict[tuple[float, str], Result]:
    """The α/β × layers grid: a run per (paper α/β, deepest style layer), ``steps`` each, as one
    ``series.run_series``. Each paper ratio is translated with ``ratio_for`` for ``vgg``'s weights
    and the content's size; the style layers are conv1_1 … ``depth`` (post-ReLU), weighted
    equally; ``options`` go to ``StyleTransfer`` (``init``, ``precision`` …). Returns
    {(paper ratio, depth): Result}."""
    hw = tuple(content.shape[-2:])
    configs = {
        (paper_ratio, depth): {
            "beta": 1.0 / ratio_for(paper_ratio, hw, vgg),  # α = 1
            "style_layers": STYLE_DEPTHS[depth],
        }
        for depth in depths
        for paper_ratio in paper_ratios
    }
    options.setdefault("snapshot_at", ())
    return run_series(configs, content, style, vgg=vgg, steps=steps, progress=progress,
                      desc=_("α/β × layers grid"), **options)  # fmt: skip


def plot_ratio_grid(
    results: Mapping[tuple[float, str], Result],
    *,
    size: float = 2.2,
    title: str = N_("α/β (columns) against the deepest style layer (rows)"),
) -> Figure:
    """Small multiples of ``ratio_layer_grid``'s results: rows are depths, columns paper ratios."""
    use_language_font()
    ratios = sorted({r for r, _ in results})
    depths = list(dict.fromkeys(d for _, d in results))
    first = next(iter(results.values())).image
    aspect = first.shape[-1] / first.shape[-2]
    figsize = (size * aspect * len(ratios) + 1.0, size * len(depths) + 0.8)
    fig, axes = plt.subplots(len(depths), len(ratios), figsize=figsize, squeeze=False)
    for (i, depth), (j, paper_ratio) in itertools.product(enumerate(depths), enumerate(ratios)):
        ax, result = axes[i][j], results.get((paper_ratio, depth))
        ax.set(xticks=[], yticks=[])
        if result is not None:
            ax.imshow(to_pil(result.image))
        if i == 0 and result is not None:
            used = result.settings["alpha"] / result.settings["beta"]
            label = _("paper α/β {paper:.0e}\nhere {used:.1e}")
            ax.set_title(label.format(paper=paper_ratio, used=used), fontsize=9)
        if j == 0:
            ax.set_ylabel(layers_label(STYLE_DEPTHS.get(depth, (depth,))), fontsize=9)
    fig.suptitle(_(title))
    fig.supxlabel(_("α/β: more style ←   → more content"))
    fig.supylabel(_("style layers used"))
    fig.tight_layout()
    return fig
