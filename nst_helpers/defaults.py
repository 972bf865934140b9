"""The defaults of α and β, in one place (lesson 04 sweeps them).

Each network's default α/β: the same balance of content and style needs a different ratio for
each set of VGG19 weights, because L_content grows with the square of the activations and
E_l with their fourth power (Gatys et al. 2016, Eqs. 1–5), and the weights differ in scale.

The defaults below are for α = 1 and images of 256 × 256 px (``REFERENCE_PIXELS``; α/β shrinks as
1/area at other sizes, see ``ratio_for``). Each comes from converting a working
implementation's settings into the paper's form with ``lessons.weighting.mse_gram_to_paper`` (its
content MSE and Gram-MSE terms become α L_content + β Σ_l w_l E_l):

- ``"torchvision"``: β = 1e9 (α/β = 1e-9). The paper's α/β of 1e-3 … 1e-4 belongs to its Caffe
  VGG19 (BGR input in 0–255). torchvision's weights see RGB input in [0, 1] normalised by ~0.226,
  so their activations are roughly 20–60× smaller; L_content scales with the square of the
  activations and E_l with the fourth power, so the same balance needs α/β about 1e3–1e4 times
  smaller again, and it also shrinks with the image area because L_content is a sum over M_l
  positions. Converting working torchvision-based settings (the PyTorch tutorial's,
  gordicaleksa/pytorch-neural-style-transfer's) gives α/β ≈ 1e-9 at 256 px.
- ``"caffe"`` (jcjohnson's conversion, not normalised): β = 7e3 (α/β ≈ 1.4e-4). jcjohnson/
  neural-style's defaults on this very network: ``-content_weight 5 -style_weight 100`` on
  relu4_2 and relu1_1 … relu5_1, content MSE, Gram divided by C·H·W then MSE
  (``neural_style.lua``), i.e. ``mse_gram_to_paper(5, 100, …)``: α/β = 3.6e-5 at 512², 1.45e-4
  at 256².
- ``"caffe-normalised"`` (the authors' ``vgg_conv.pth``): β = 3e5 (α/β ≈ 3.3e-6). The authors'
  own notebook (leongatys/PytorchNeuralStyleTransfer, ``NeuralStyleTransfer.ipynb``): content
  weight 1 on MSE(F, P) at r42, style weights 1e3/N_l² on MSE(G/M, A/M) at r11 … r51, i.e.
  ``mse_gram_to_paper(1, 1e3, …)``: α/β = 7.3e-7 at 512², 2.9e-6 at 256².

The paper's text gives α/β = 1e-3 … 1e-4 for its (normalised) network at about 512 px. Taken
literally with Eqs. 1–5 that is some 1e3 times more content-heavy than the authors' published code
on the same network file; the defaults follow the code, and ``ratio_for`` maps the
paper's ratios onto them (the paper's 1e-3 ↦ each network's default, as for torchvision's). The
two reference implementations weight the style layers ∝ 1/N_l² rather than equally, so every
value here is good to about a factor of ten; the real weights could not be downloaded where this
package was built, and notebook 04 sweeps α/β.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import ParameterError

#: The content weight α (only the ratio α/β matters, so α stays 1 and β carries the balance).
DEFAULT_ALPHA = 1.0
#: Image area (pixels) at which the default ratios hold: 256 × 256.
REFERENCE_PIXELS = 256 * 256
#: β for α = 1 at 256 px, by ``VGG19Features.network`` (see the module docstring for sources).
DEFAULT_BETAS: dict[str, float] = {
    "torchvision": 1e9,
    "caffe": 7e3,
    "caffe-normalised": 3e5,
}
#: The default β of torchvision's weights (the package's default network).
DEFAULT_BETA = DEFAULT_BETAS["torchvision"]


def network_of(vgg: object) -> str:
    """The network a model's weights come from (``vgg.network``; "torchvision" if it has none)."""
    network = getattr(vgg, "network", "torchvision")
    if network not in DEFAULT_BETAS:
        raise ParameterError(
            f"vgg.network={network!r} is not one of {', '.join(DEFAULT_BETAS)}; "
            "pass beta explicitly"
        )
    return network


def default_beta(vgg: object | None = None, alpha: float = 1.0) -> float:
    """The default style weight β for ``vgg``'s weights: ``alpha · DEFAULT_BETAS[network]``.

    ``vgg=None`` (or a model without a ``network`` attribute) means torchvision's weights, whose
    default is ``DEFAULT_BETA`` = 1e9.
    """
    return alpha * DEFAULT_BETAS[network_of(vgg)]


def default_ratio(network: str = "torchvision") -> float:
    """The default α/β of ``network`` at 256 px: ``1 / DEFAULT_BETAS[network]``."""
    if network not in DEFAULT_BETAS:
        raise ParameterError(f"network must be one of {', '.join(DEFAULT_BETAS)}, not {network!r}")
    return 1.0 / DEFAULT_BETAS[network]


#: α/β of the paper's main figures (Caffe VGG19, normalised, images of about 512 px).
PAPER_RATIO = 1e-3


def ratio_for(
    paper_ratio: float, image_hw: Sequence[int], network: object = "torchvision"
) -> float:
    """The paper's α/β translated for ``network``'s weights at an image of ``image_hw`` = (H, W).

    ``network`` is a name ("torchvision", "caffe", "caffe-normalised") or a ``VGG19Features``.
    ratio = paper_ratio · (default α/β ÷ 1e-3) · (256² ÷ H·W). The first factor carries the change
    of network weights (the network's default plays the part of the paper's 1e-3; see the module
    docstring for where each default comes from); the second keeps the balance when the image size
    changes: L_content is a sum over the M_l positions (∝ area), while E_l = Σ(G − A)²/(4N²M²)
    does not grow with the area, so α/β must shrink as 1/area.
    """
    name = network if isinstance(network, str) else network_of(network)
    area = int(image_hw[0]) * int(image_hw[1])
    return paper_ratio * (default_ratio(name) / PAPER_RATIO) * (REFERENCE_PIXELS / area)


def paper_equivalent(
    ratio: float, image_hw: Sequence[int], network: object = "torchvision"
) -> float:
    """The inverse of ``ratio_for``: the paper's α/β that a ratio used here amounts to."""
    return ratio / ratio_for(1.0, image_hw, network)
