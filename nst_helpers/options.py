"""Every option of a style transfer and its default, in one place, checked once: ``Options``.

``run_style_transfer``, ``StyleTransfer``, the lessons' panels and the command line (whose flags
are made from these fields) all take them from here. The default β of each network lives here too
(``DEFAULT_BETAS``), with the translation of the paper's α/β (``ratio_for``): lesson 04.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import torch

from .errors import ParameterError
from .layers import PAPER_CONTENT_LAYERS, PAPER_STYLE_LAYERS, check_layers
from .losses import resolve_style_weights
from .vgg import resolve_device

#: The course report's snapshot marks (evaluations); a run keeps those up to its length.
DEFAULT_SNAPSHOTS: tuple[int, ...] = (1, 2, 3, 10, 20, 100, 300, 500, 1000, 2000, 4000, 6000)
#: Default learning rates: L-BFGS's unit step; Adam's step in [0, 1] pixel units.
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}
INITS = ("content", "style", "noise")
PRESERVE_COLORS = ("luminance", "histogram")
PRECISIONS = ("fp32", "bf16", "fp16", "auto")

#: β for α = 1 at 256 × 256 px, by ``VGG19Features.network``: a calibrated estimate, good to about
#: ×10. Each converts a working implementation's settings on that network into the paper's form
#: (``lessons.weighting.mse_gram_to_paper``): the PyTorch tutorial's and
#: gordicaleksa/pytorch-neural-style-transfer's for torchvision's weights; jcjohnson/neural-style's
#: defaults (content 5, style 100) for his Caffe conversion; the authors' own notebook
#: (leongatys/PytorchNeuralStyleTransfer) for their normalised ``vgg_conv.pth``. Why torchvision's
#: needs α/β ≈ 1e-9 where the paper says 1e-3 is lesson 04's "Why is β 10⁹ here?".
DEFAULT_BETAS: dict[str, float] = {"torchvision": 1e9, "caffe": 7e3, "caffe-normalised": 3e5}
#: Image area (pixels) at which ``DEFAULT_BETAS`` hold.
REFERENCE_PIXELS = 256 * 256
#: α/β of the paper's main figures (Figs. 2 and 3; Caffe VGG19, normalised, about 512 px).
PAPER_RATIO = 1e-3


def _number(name: str, value: Any, positive: bool = False) -> float:
    v = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else -1.0
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        bound = "> 0" if positive else "≥ 0"
        raise ParameterError(f"{name} must be a finite number {bound}, not {value!r}")
    return v


def _whole(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ParameterError(f"{name} must be a whole number ≥ {minimum}, not {value!r}")
    return int(value)


def _size(size: Any) -> int | tuple[int, int]:
    if isinstance(size, Sequence) and not isinstance(size, str) and len(size) == 2:
        return (_whole("size", size[0], 1), _whole("size", size[1], 1))
    return _whole("size", size, 1)


def _choice(name: str, value: Any, choices: Sequence[str]) -> Any:
    if not isinstance(value, torch.Tensor) and value not in choices:
        raise ParameterError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _marks(marks: Any) -> tuple[int, ...]:
    try:
        return tuple(sorted({_whole("snapshot_at", k, 1) for k in marks or ()}))
    except TypeError:
        raise ParameterError(f"snapshot_at must be evaluation counts, not {marks!r}") from None


def _blend(weights: Any) -> tuple[float, ...]:
    if isinstance(weights, str | bytes) or not isinstance(weights, Sequence):
        raise ParameterError(f"style_blend must be a list of numbers, not {weights!r}")
    values = [_number("style_blend", w) for w in weights]
    if not sum(values):  # none given, or all 0
        raise ParameterError("style_blend: give one weight per style image, at least one > 0")
    return tuple(w / sum(values) for w in values)


def _option(default: Any, help: str, check: Callable[[str, Any], Any] | None = None,
            group: str = "method", **cli: Any) -> Any:  # fmt: skip
    """A field of ``Options``: its default, its ``--help`` text and group (the command line's
    flags are made from these) and ``check(name, value)``, which returns the value to keep or
    raises ``ParameterError`` (with ``choices``: one of them)."""
    if "choices" in cli:
        check = functools.partial(_choice, choices=cli["choices"])
    return field(default=default, metadata={"help": help, "check": check, "group": group, **cli})


@dataclass(frozen=True)
class Options:
    """The options of one style transfer (Gatys et al. 2016, Sec. 2, and beyond: lesson 07).

    Checked on creation: a bad value raises ``ParameterError`` naming the field, before any work.
    ``Options().replace(steps=50)`` gives a checked copy. ``size`` is the result's long side in
    px (None: the content's own size), ``style_scale`` a factor of it; ``steps`` and
    ``snapshot_at`` count evaluations (one forward + one backward pass).
    """

    steps: int = _option(
        300, "evaluations (forward+backward passes)", lambda n, v: _whole(n, v, 1), "run"
    )
    size: int | tuple[int, int] | None = _option(
        None,
        "long side of the result in px (default: the content's own size)",
        lambda n, v: _size(v),
        "run",
    )
    snapshot_at: tuple[int, ...] = _option(
        DEFAULT_SNAPSHOTS, "evaluations to keep a snapshot of", lambda n, v: _marks(v), "run"
    )
    device: str | None = _option(
        None,
        "cpu, cuda or mps (default: the fastest available)",
        lambda n, v: str(resolve_device(v)),
        "run",
    )
    alpha: float = _option(1.0, "content weight α", lambda n, v: _number(n, v))
    beta: float | None = _option(
        None,
        "style weight β (only α/β matters; default: the network's, 1e9 for torchvision's)",
        lambda n, v: _number(n, v),
    )
    content_layers: tuple[str, ...] = _option(
        PAPER_CONTENT_LAYERS,
        "content layers, e.g. relu4_2 or conv2_2",
        lambda n, v: check_layers(v, n),
    )
    style_layers: tuple[str, ...] = _option(
        PAPER_STYLE_LAYERS, "style layers (each weighted 1/|L|)", lambda n, v: check_layers(v, n)
    )
    style_weights: Mapping[str, float] | None = _option(
        None, "w_l of each style layer (default 1/|L|)", lambda n, v: v, cli=False
    )
    weights: str = _option(
        "imagenet", "'imagenet', 'caffe', 'random' or a VGG19 weights file", lambda n, v: str(v)
    )
    pooling: str = _option(
        "max", "max (torchvision's) or avg (the paper's)", choices=("max", "avg")
    )
    init: str | torch.Tensor = _option("content", "initial image", choices=INITS)
    seed: int = _option(0, "seed of the noise initialisation", lambda n, v: _whole(n, v, 0))
    optimizer: str = _option("lbfgs", "optimiser", choices=tuple(DEFAULT_LR))
    lr: float | None = _option(
        None,
        "learning rate (default: 1 for L-BFGS, 0.02 for Adam)",
        lambda n, v: _number(n, v, True),
    )
    style_blend: tuple[float, ...] | None = _option(
        None, "weights of several style images (default equal)", lambda n, v: _blend(v), "beyond"
    )
    style_scale: float | None = _option(
        None,
        "style images' long side as a multiple of the result's",
        lambda n, v: _number(n, v, True),
        "beyond",
    )
    preserve_color: str | None = _option(
        None,
        "keep the content's colours (Gatys et al. 2017, Sec. 5)",
        group="beyond",
        choices=PRESERVE_COLORS,
    )
    precision: str = _option(
        "fp32",
        "the network's pass in fp32, bf16 or fp16 (autocast; Grams and losses stay fp32); auto: "
        "the fastest whose loss agrees, measured here (precision.py)",
        None,
        "run",
        choices=PRECISIONS,
    )
    tv_weight: float = _option(0.0, "weight of the squared total variation (0: off)",
                               lambda n, v: _number(n, v), "beyond")  # fmt: skip

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None or f.default is not None:
                object.__setattr__(self, f.name, f.metadata["check"](f.name, value))
        if self.style_weights is not None:
            weights = resolve_style_weights(self.style_layers, self.style_weights)
            object.__setattr__(self, "style_weights", weights)

    def replace(self, **changes: Any) -> Options:
        """A copy with ``changes`` (checked again); unknown names are refused."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ParameterError(f"unknown option(s) {', '.join(unknown)}; see help(Options)")
        return dataclasses.replace(self, **changes)


def default_beta(vgg: object | None = None) -> float:
    """The default β (α = 1) of ``vgg``'s weights (``DEFAULT_BETAS``; None: torchvision's)."""
    network = getattr(vgg, "network", "torchvision")
    if network not in DEFAULT_BETAS:
        raise ParameterError(f"vgg.network={network!r} is unknown; pass beta explicitly")
    return DEFAULT_BETAS[network]


def default_ratio(network: str = "torchvision") -> float:
    """The default α/β of ``network``'s weights at 256 px: ``1 / DEFAULT_BETAS[network]``."""
    _choice("network", network, tuple(DEFAULT_BETAS))
    return 1.0 / DEFAULT_BETAS[network]


def ratio_for(
    paper_ratio: float, image_hw: Sequence[int], network: object = "torchvision"
) -> float:
    """The paper's α/β translated for ``network`` (a name or a ``VGG19Features``) at (H, W):
    ``paper_ratio · (default α/β ÷ 1e-3) · (256² ÷ H·W)``. The first factor maps the paper's
    1e-3 to the network's calibrated default; the second keeps the balance when the size changes
    (L_content is a sum over M_l positions, ∝ area; E_l does not grow with it). Lesson 04."""
    name = network if isinstance(network, str) else getattr(network, "network", "torchvision")
    area = int(image_hw[0]) * int(image_hw[1])
    return paper_ratio * (default_ratio(name) / PAPER_RATIO) * (REFERENCE_PIXELS / area)


def paper_equivalent(
    ratio: float, image_hw: Sequence[int], network: object = "torchvision"
) -> float:
    """The inverse of ``ratio_for``: the paper's α/β that a ratio used here amounts to."""
    return ratio / ratio_for(1.0, image_hw, network)
