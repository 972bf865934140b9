"""The optimisation of Gatys et al. (2016), Sec. 2: find the image x minimising
L_total(x) = α L_content(x) + β L_style(x), one evaluation at a time.

One *evaluation* is one forward and one backward pass through VGG19 (one closure call of the
optimiser). It is the unit of cost, and ``steps`` counts evaluations exactly: with L-BFGS each
``StyleTransfer.step()`` runs one L-BFGS iteration with exactly one evaluation (the sequence of
iterates equals one long ``torch.optim.LBFGS`` run without line search, as in jcjohnson's
neural-style), and the optimiser's own stopping tolerances are switched off.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import torch
import torch.nn.functional as tf
from tqdm.auto import tqdm

from .colour import luminance, match_color_histogram, match_luminance, rgb_to_yiq, yiq_to_rgb
from .devices import resolve_device
from .errors import ParameterError
from .images import as_image_tensor, check_min_size, check_size, load_image
from .layers import PAPER_CONTENT_LAYERS, PAPER_STYLE_LAYERS, check_layers, min_input_side
from .losses import (
    _layer_terms,
    content_loss,
    gram_matrix,
    resolve_style_weights,
    style_layer_loss,
    total_variation,
)
from .memory import release_free_memory
from .ratios import default_beta
from .vgg import ENV_DEFAULT_WEIGHTS, VGG19Features, layer_shapes, load_vgg19

#: The seed report's snapshot marks (evaluations); a run keeps those up to its length.
DEFAULT_SNAPSHOTS: tuple[int, ...] = (1, 2, 3, 10, 20, 100, 300, 500, 1000, 2000, 4000, 6000)
#: Default content weight α and style weight β; only the ratio α/β matters.
#:
#: The paper's α/β of 1e-3 … 1e-4 belongs to its Caffe VGG19 (BGR input in 0–255). torchvision's
#: weights see RGB input in [0, 1] normalised by ~0.226, so their activations are roughly 20–60×
#: smaller; L_content scales with the square of the activations and E_l with the fourth power, so
#: the same balance needs α/β about 1e3–1e4 times smaller again, and it also shrinks with the
#: image area because L_content is a sum over M_l positions. Converting working torchvision-based
#: settings (e.g. the PyTorch tutorial's, gordicaleksa/pytorch-neural-style-transfer's) into the
#: paper's form gives α/β ≈ 1e-9 at 256 px (an estimate, good to about ×10 either way; the real
#: weights could not be downloaded where this package was built). Notebook 04 sweeps the ratio.
DEFAULT_ALPHA = 1.0
DEFAULT_BETA = 1e9
#: Default learning rates: L-BFGS's unit step; Adam's step in [0, 1] pixel units.
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}
INITS = ("content", "style", "noise")
OPTIMIZERS = ("lbfgs", "adam")
#: The colour-preservation methods of Gatys et al. (2017), Sec. 5 (see ``colour.py``).
PRESERVE_COLORS = ("luminance", "histogram")

# Every TRIM_EVERY evaluations a run hands back heap memory its freed activations left
# fragmented (when malloc holds > 64 MB of it): measured at 256 px, the peak RSS ~70 MB lower at
# no measurable cost (memory.py).
TRIM_EVERY = 20

Record = dict[str, Any]


@dataclass
class Result:
    """What a run leaves: the image, the loss history, the snapshots and why it ended.

    ``image`` is the evaluated image with the lowest total loss (on the CPU, clamped to [0, 1]);
    ``history[k-1]`` holds evaluation k's losses (``total``, ``content``, ``style``,
    ``style_layers``
    {name: E_l}, ``content_layers`` {name: L_content}, ``seconds`` since the run began; with
    ``tv_weight`` > 0 also ``tv``, the unweighted TV(x); a coarse-to-fine run adds ``scale``);
    ``snapshots[k]`` is the image evaluation k was computed on. ``stop_reason`` is ``"completed"``,
    ``"stopped"`` (the stop event), ``"interrupted"`` (KeyboardInterrupt) or ``"non-finite"``.
    """

    image: torch.Tensor
    history: list[Record]
    snapshots: dict[int, torch.Tensor]
    evaluations: int
    stop_reason: str = "completed"
    message: str = ""
    best_evaluation: int = 0
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        """Time spent in evaluations (set-up excluded)."""
        return self.history[-1]["seconds"] if self.history else 0.0

    def losses(self, key: str = "total") -> list[float]:
        """One value per evaluation of ``"total"``, ``"content"``, ``"style"`` or a style layer."""
        if self.history and key in self.history[0].get("style_layers", {}):
            return [r["style_layers"][key] for r in self.history]
        return [r[key] for r in self.history]


def _as_image(source: Any, size: int | tuple[int, int] | None, what: str) -> torch.Tensor:
    """An image as float32 [1, 3, H, W] in [0, 1]; tensors are checked, anything else loaded."""
    if isinstance(source, torch.Tensor):
        return as_image_tensor(source, what, size)  # the one check (uint8 ÷ 255, [0, 1] …)
    return load_image(source, size=size)


def _style_sources(style: Any) -> list[Any]:
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


def _blend_weights(n_styles: int, style_blend: Sequence[float] | None) -> list[float]:
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
    weights = [_check_weight("style_blend", w) for w in style_blend]
    total = sum(weights)
    if total == 0:
        raise ParameterError("style_blend: the weights are all 0; at least one must be > 0")
    return [w / total for w in weights]


def style_target(features: torch.Tensor, result_size: tuple[int, int], layer: str) -> torch.Tensor:
    """A^l, the style image's Gram matrix, as the target for a result of ``result_size`` (H, W).

    The paper's E_l = 1/(4 N² M²) Σ (G − A)² compares Grams of images of the same size: each entry
    is a sum over M_l positions. For a style image of another size (M_s positions at this layer,
    the result's M_x), A is rescaled to ``gram(F_style) · M_x / M_s``, so that E_l compares the
    per-position averages G/M_x and A/M_s. With equal sizes the factor is exactly 1 (the paper).
    """
    _, height, width = layer_shapes(result_size, [layer])[layer]
    m_style = features.shape[-2] * features.shape[-1]
    gram = gram_matrix(features).detach()
    m_result = height * width
    return gram if m_result == m_style else gram * (m_result / m_style)


def blend_style_targets(
    targets: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[float]
) -> dict[str, torch.Tensor]:
    """The target Grams of several style images: A^l = Σ_k w_k A^l_k per layer l.

    ``targets[k]`` maps layer names to style k's A^l_k (already scaled for size by
    ``style_target``); ``weights`` are the w_k (normalised by the caller). One style gives its own
    targets unchanged; none gives {}.
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


def _check_weight(name: str, value: float, positive: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        need = "finite and > 0" if positive else "finite and ≥ 0"
        raise ParameterError(f"{name} must be {need}, not {value!r}")
    return v


@lru_cache(maxsize=4)
def _cached_vgg(weights: str, pooling: str, device: str) -> VGG19Features:
    return load_vgg19(weights, pooling=pooling, device=device)


def default_vgg(
    weights: str | None = None, pooling: str = "max", device: str | torch.device | None = None
) -> VGG19Features:
    """``load_vgg19(weights, pooling, device)``, loaded once per process and then reused."""
    import os

    resolved = (
        weights if weights is not None else (os.environ.get(ENV_DEFAULT_WEIGHTS) or "imagenet")
    )
    return _cached_vgg(str(resolved), pooling, str(resolve_device(device)))


def _fusable(vgg: torch.nn.Module) -> bool:
    """Whether the fused pass may drive ``vgg``: our own network, its ``forward`` not overridden
    and no hooks on it (anything else is called as ``vgg(images, layers)``, the plain path)."""
    return (
        isinstance(vgg, VGG19Features)
        and type(vgg).forward is VGG19Features.forward
        and not (vgg._forward_hooks or vgg._forward_pre_hooks)
    )


class StyleTransfer:
    """The optimisation of Gatys et al. (2016), advanced one evaluation per ``step()``.

    ``content`` and ``style`` are image tensors [1, 3, H, W] in [0, 1] or anything ``load_image``
    takes (then loaded at ``size``). ``content=None`` drops the content term (texture synthesis,
    paper Fig. 1 top; the result takes ``size`` or the style image's size); ``style=None`` drops the
    style term (content reconstruction, Fig. 1 bottom). ``style`` may also be a list of images:
    their Grams are blended (``style_blend``). Targets — the content features P^l and the style
    Grams A^l — are computed once, without gradients. See ``run_style_transfer`` for the options.

    ``content_image`` is the content image as given; ``style_images`` are the images the style
    targets come from, as the network sees them (resized by ``style_scale``, recoloured by
    ``preserve_color``: histogram-matched RGB, or the matched luminance as a grey image);
    ``style_image`` is the first of them. ``x`` is the optimised variable: [1, 3, H, W], or the
    luminance [1, 1, H, W] with ``preserve_color="luminance"``; ``image``, ``best_image`` and the
    snapshots are always RGB.
    """

    def __init__(
        self,
        content: Any,
        style: Any,
        *,
        vgg: VGG19Features | None = None,
        weights: str | None = None,
        pooling: str = "max",
        alpha: float = DEFAULT_ALPHA,
        beta: float | None = None,
        content_layers: Sequence[str] = PAPER_CONTENT_LAYERS,
        style_layers: Sequence[str] = PAPER_STYLE_LAYERS,
        style_weights: Mapping[str, float] | Sequence[float] | None = None,
        style_blend: Sequence[float] | None = None,
        style_scale: float | None = None,
        preserve_color: str | None = None,
        tv_weight: float = 0.0,
        init: str | torch.Tensor = "content",
        optimizer: str = "lbfgs",
        lr: float | None = None,
        steps: int = 500,
        snapshot_at: Iterable[int] | None = DEFAULT_SNAPSHOTS,
        seed: int = 0,
        size: int | tuple[int, int] | None = None,
        callback: Callable[[StyleTransfer, Record], Any] | None = None,
        stop_event: threading.Event | None = None,
        progress: bool | tqdm = False,
        device: str | torch.device | None = None,
    ) -> None:
        # --- check every parameter before any work -------------------------------------------
        if content is None and style is None:
            raise ParameterError("content and style are both None: there is nothing to match")
        self.alpha = _check_weight("alpha", alpha)
        self.beta = None if beta is None else _check_weight("beta", beta)
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ParameterError(f"steps must be a whole number ≥ 1, not {steps!r}")
        self.steps = steps
        check_size(size, "long")  # None, a positive int or (H, W), at most MAX_PIXELS
        self.content_layers = (
            () if content is None else check_layers(content_layers, "content_layers")
        )
        self.style_layers = () if style is None else check_layers(style_layers, "style_layers")
        if not self.content_layers and not self.style_layers:
            raise ParameterError(
                "content_layers and style_layers are both empty: nothing to optimise"
            )
        self.style_weights = resolve_style_weights(self.style_layers, style_weights)
        style_sources = _style_sources(style)
        self.style_blend = _blend_weights(len(style_sources), style_blend)
        self.style_scale = (
            None if style_scale is None else _check_weight("style_scale", style_scale, True)
        )
        if preserve_color is not None and preserve_color not in PRESERVE_COLORS:
            raise ParameterError(
                f"preserve_color must be one of {', '.join(PRESERVE_COLORS)} or None, "
                f"not {preserve_color!r}"
            )
        if preserve_color is not None and (content is None or style is None):
            raise ParameterError(
                f"preserve_color={preserve_color!r} needs a content and a style image"
            )
        self.preserve_color = preserve_color
        self.tv_weight = _check_weight("tv_weight", tv_weight)
        if optimizer not in OPTIMIZERS:
            raise ParameterError(
                f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {optimizer!r}"
            )
        self.optimizer_name = optimizer
        self.lr = _check_weight("lr", DEFAULT_LR[optimizer] if lr is None else lr, positive=True)
        if isinstance(init, str) and init not in INITS:
            raise ParameterError(
                f"init must be one of {', '.join(INITS)} or a tensor, not {init!r}"
            )
        if init == "content" and content is None:
            raise ParameterError("init='content' needs a content image; use init='noise'")
        if init == "style" and style is None:
            raise ParameterError("init='style' needs a style image")
        marks = () if snapshot_at is None else snapshot_at
        try:
            self.snapshot_at = frozenset(int(k) for k in marks if 1 <= int(k) <= steps)
        except (TypeError, ValueError):
            raise ParameterError(
                f"snapshot_at must be evaluation counts, not {snapshot_at!r}"
            ) from None
        self.seed = int(seed)
        self.callback = callback
        self.stop_event = stop_event
        self.device = resolve_device(device) if vgg is None or device is not None else vgg.device

        # Earlier runs' freed activations and L-BFGS histories back to the system first, so a
        # notebook's peak memory is its largest run's, not the sum of the leftovers (memory.py).
        release_free_memory()

        # --- images -------------------------------------------------------------------------
        layers = self.content_layers + self.style_layers
        min_side = min_input_side(layers)
        content_img = None if content is None else _as_image(content, size, "content")
        n_styles = len(style_sources)
        names = ["style"] if n_styles == 1 else [f"style[{k}]" for k in range(n_styles)]

        def load_style(k: int, long_side: int | None) -> torch.Tensor:
            """Style k at ``long_side``, or as given: a tensor at its size, else at ``size``."""
            source = style_sources[k]
            if long_side is not None:
                return _as_image(source, long_side, names[k])
            return _as_image(source, None if isinstance(source, torch.Tensor) else size, names[k])

        if content_img is not None:
            check_min_size(content_img, min_side, "content image")
            shape = tuple(content_img.shape[-2:])
        elif isinstance(size, int):
            shape = (size, size)
        elif size is not None:
            shape = (int(size[0]), int(size[1]))
        else:  # texture synthesis at the (first) style image's size
            shape = tuple(load_style(0, None).shape[-2:])
        if self.style_scale is None:
            style_imgs = [load_style(k, None) for k in range(n_styles)]
        else:  # long side: style_scale × the result's long side
            long_side = max(1, round(self.style_scale * max(shape)))
            style_imgs = [load_style(k, long_side) for k in range(n_styles)]
            for img in style_imgs:
                if min(img.shape[-2:]) < min_side:
                    raise ParameterError(
                        f"style_scale={style_scale} makes a style image "
                        f"{img.shape[-2]}x{img.shape[-1]} px; the layers used need ≥ {min_side} "
                        "px on each side (use a larger style_scale)"
                    )
        for img in style_imgs:
            check_min_size(img, min_side, "style image")
        if min(shape) < min_side:
            raise ParameterError(f"size {shape} is too small: the layers used need ≥ {min_side} px")
        if isinstance(init, torch.Tensor) and tuple(init.shape[-2:]) != shape:
            raise ParameterError(
                f"init: the tensor is {tuple(init.shape[-2:])}, the result must be {shape}"
            )

        # --- colour preservation (Gatys et al. 2017, Sec. 5; see colour.py) -------------------
        content_input = content_img
        self._chroma: torch.Tensor | None = None  # the content's I and Q (luminance-only)
        if preserve_color == "luminance":
            yiq = rgb_to_yiq(content_img)  # type: ignore[arg-type]
            content_y, self._chroma = yiq[:, :1], yiq[:, 1:]
            content_input = content_y.repeat(1, 3, 1, 1)  # VGG sees 3 equal channels
            style_imgs = [
                match_luminance(luminance(img), content_y).clamp(0, 1).repeat(1, 3, 1, 1)
                for img in style_imgs
            ]
        elif preserve_color == "histogram":
            style_imgs = [
                match_color_histogram(img, content_img).clamp(0, 1)  # type: ignore[arg-type]
                for img in style_imgs
            ]

        # --- network and targets (computed once, without gradients) -------------------------
        self.vgg = vgg if vgg is not None else default_vgg(weights, pooling, self.device)
        self.vgg = self.vgg.to(self.device)
        self._fused = _fusable(self.vgg)
        if self.beta is None:  # the default for the network's weights (DEFAULT_BETA: torchvision)
            self.beta = default_beta(self.vgg)
        self.content_image = None if content_img is None else content_img.to(self.device)
        self._content_input = None if content_input is None else content_input.to(self.device)
        if self._chroma is not None:
            self._chroma = self._chroma.to(self.device)
        self.style_images = [img.to(self.device) for img in style_imgs]
        self.style_image = self.style_images[0] if self.style_images else None
        with torch.no_grad():
            self.content_targets: dict[str, torch.Tensor] = (
                {
                    k: v.detach()
                    for k, v in self.vgg(self._content_input, self.content_layers).items()
                }
                if self._content_input is not None and self.content_layers
                else {}
            )
            per_style = [
                {k: style_target(v, shape, k) for k, v in self.vgg(img, self.style_layers).items()}
                for img in (self.style_images if self.style_layers else [])
            ]
            self.style_targets: dict[str, torch.Tensor] = blend_style_targets(
                per_style, self.style_blend
            )

        # --- the optimised image --------------------------------------------------------------
        x0 = self._initial_image(init, shape)
        self.x = x0.to(self.device).contiguous().requires_grad_(True)
        if self.optimizer_name == "lbfgs":
            self.optimizer: torch.optim.Optimizer = torch.optim.LBFGS(
                [self.x],
                lr=self.lr,
                max_iter=1,
                max_eval=None,
                tolerance_grad=-1.0,
                tolerance_change=-1.0,
                history_size=100,
                line_search_fn=None,
            )
        else:
            self.optimizer = torch.optim.Adam([self.x], lr=self.lr)

        self.evaluations = 0
        self.history: list[Record] = []
        self.snapshots: dict[int, torch.Tensor] = {}
        self.best_loss = math.inf
        self.best_evaluation = 0
        self._best_image = self.x.detach().clone()
        self._seconds = 0.0
        self._last_record: Record | None = None
        self.stop_reason: str | None = None
        self.message = ""
        self._progress_arg = progress
        self.settings: dict[str, Any] = {
            "alpha": self.alpha,
            "beta": self.beta,
            "content_layers": list(self.content_layers),
            "style_layers": list(self.style_layers),
            "style_weights": self.style_weights,
            "init": init if isinstance(init, str) else "tensor",
            "optimizer": optimizer,
            "lr": self.lr,
            "steps": steps,
            "seed": self.seed,
            "size": list(shape),
            "pooling": self.vgg.pooling,
            "device": str(self.device),
            "styles": n_styles,
            "style_blend": self.style_blend if n_styles > 1 else None,
            "style_scale": self.style_scale,
            "preserve_color": preserve_color,
            "tv_weight": self.tv_weight,
        }

    def _initial_image(self, init: str | torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
        """x at evaluation 1: RGB, or its luminance Y with ``preserve_color="luminance"``."""
        if self._chroma is None:
            return self._initial_rgb(init, shape)
        if isinstance(init, torch.Tensor):
            return luminance(self._initial_rgb(init, shape))  # the tensor's Y
        if init == "noise":
            generator = torch.Generator().manual_seed(self.seed)
            return torch.rand((1, 1, *shape), generator=generator)  # white noise in Y
        if init == "content":
            return self._content_input[:, :1].detach().clone()  # type: ignore[index]
        return self._initial_rgb(init, shape)[:, :1]  # the (grey) matched style's Y

    def _initial_rgb(self, init: str | torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
        if isinstance(init, torch.Tensor):
            t = _as_image(init, None, "init")
            if tuple(t.shape[-2:]) != shape:
                raise ParameterError(
                    f"init: the tensor is {tuple(t.shape[-2:])}, the result must be {shape}"
                )
            return t.clone()
        if init == "content":
            return self.content_image.detach().clone()  # type: ignore[union-attr]
        if init == "style":
            return tf.interpolate(
                self.style_image, size=shape, mode="bilinear", antialias=True, align_corners=False
            ).clamp(0, 1)  # type: ignore[arg-type]
        generator = torch.Generator().manual_seed(self.seed)
        return torch.rand(
            (1, 3, *shape), generator=generator
        )  # white noise, as the paper's figures

    def _rgb(self, x: torch.Tensor) -> torch.Tensor:
        """What a learner sees of an iterate: x clamped to [0, 1] on the CPU; for luminance-only
        transfer, Y clamped to [0, 1] recombined with the content's I and Q (``yiq_to_rgb``),
        clamped again."""
        if self._chroma is None:
            return x.clamp(0, 1).cpu()
        return yiq_to_rgb(torch.cat([x.clamp(0, 1), self._chroma], dim=1)).clamp(0, 1).cpu()

    # ------------------------------------------------------------------------------------------
    @property
    def image(self) -> torch.Tensor:
        """The current iterate clamped to [0, 1], on the CPU (the optimised variable is free)."""
        return self._rgb(self.x.detach())

    @property
    def best_image(self) -> torch.Tensor:
        """The evaluated image with the lowest total loss so far, clamped to [0, 1], on the CPU."""
        return self._rgb(self._best_image)

    @property
    def done(self) -> bool:
        """Whether the run has used its ``steps`` evaluations or was ended early."""
        return self.stop_reason is not None or self.evaluations >= self.steps

    def _network_input(self) -> torch.Tensor:
        """What VGG19 sees of x: x itself, or for luminance-only transfer the luminance as three
        equal channels (the gradient of the three copies is summed back into Y)."""
        return self.x if self._chroma is None else self.x.expand(-1, 3, -1, -1)

    def _terms(self) -> list[torch.Tensor]:
        """L_content per content layer, then E_l per style layer, at the current image (with
        autograd). The fused path computes each layer's terms where the pass reaches it
        (``losses._layer_terms``); the plain one, for any other network, uses the public formulas.
        """
        x = self._network_input()
        if not self._fused:
            feats = self.vgg(x, self.content_layers + self.style_layers)
            return [
                *(content_loss(feats[n], self.content_targets[n]) for n in self.content_layers),
                *(style_layer_loss(feats[n], self.style_targets[n]) for n in self.style_layers),
            ]
        content: dict[str, torch.Tensor] = {}
        style: dict[str, torch.Tensor] = {}

        def terms_at(name: str, f: torch.Tensor) -> torch.Tensor:
            f, content[name], style[name] = _layer_terms(
                f, self.content_targets.get(name), self.style_targets.get(name)
            )
            return f

        layers = self.content_layers + self.style_layers
        self.vgg._run(x, dict.fromkeys(layers, terms_at))
        return [content[n] for n in self.content_layers] + [style[n] for n in self.style_layers]

    def _evaluate(self) -> torch.Tensor:
        """One evaluation: forward through VGG19, the losses, backward to the image; records it."""
        self.optimizer.zero_grad(set_to_none=True)
        terms = self._terms()
        n_content = len(self.content_layers)
        content = self.x.new_zeros(())
        for term in terms[:n_content]:
            content = content + term
        style = self.x.new_zeros(())
        for name, term in zip(self.style_layers, terms[n_content:], strict=True):
            style = style + self.style_weights[name] * term
        total = self.alpha * content + self.beta * style
        extra = []
        if self.tv_weight:  # L_total + tv_weight · TV(x), on the optimised variable itself
            tv = total_variation(self.x)
            total = total + self.tv_weight * tv
            extra.append(tv.detach())
        total.backward()
        values = torch.stack(
            [total.detach(), content.detach(), style.detach(), *[t.detach() for t in terms], *extra]
        ).tolist()
        self.evaluations += 1
        k = self.evaluations
        record: Record = {
            "evaluation": k,
            "total": values[0],
            "content": values[1],
            "style": values[2],
            "content_layers": dict(
                zip(self.content_layers, values[3 : 3 + n_content], strict=True)
            ),
            "style_layers": dict(
                zip(self.style_layers, values[3 + n_content : 3 + len(terms)], strict=True)
            ),
        }
        if extra:
            record["tv"] = values[-1]
        if not all(math.isfinite(v) for v in values):
            self.stop_reason = "non-finite"
            self.message = (
                f"the loss became {values[0]} at evaluation {k}; stopped and kept the last finite "
                "image (lower the learning rate or the weights)"
            )
            self.x.grad = torch.zeros_like(self.x)  # the optimiser must not step into NaN
        else:
            if k in self.snapshot_at:
                self.snapshots[k] = self._rgb(self.x.detach())
            if values[0] < self.best_loss:
                self.best_loss, self.best_evaluation = values[0], k
                self._best_image = self.x.detach().clone()
        self._last_record = record
        return total

    def step(self) -> Record:
        """One optimiser step with exactly one evaluation; returns that evaluation's record."""
        if self.stop_reason == "non-finite":
            raise RuntimeError(f"this run cannot continue: {self.message}")
        start = time.perf_counter()
        if self.optimizer_name == "lbfgs":
            self.optimizer.step(self._evaluate)
        else:
            self._evaluate()
            if self.stop_reason != "non-finite":
                self.optimizer.step()
        if self.evaluations % TRIM_EVERY == 0:  # counted in the run's time; see memory.py
            release_free_memory(threshold_mb=64.0)
        self._seconds += time.perf_counter() - start
        record = self._last_record
        assert record is not None
        record["seconds"] = self._seconds
        if self.stop_reason == "non-finite":
            with torch.no_grad():
                self.x.copy_(self._best_image)
        else:
            self.history.append(record)
        return record

    def run(self) -> Result:
        """Step until ``steps`` evaluations, the stop event, Ctrl-C or a non-finite loss."""
        bar = self._make_progress()
        try:
            while self.evaluations < self.steps and self.stop_reason is None:
                if self.stop_event is not None and self.stop_event.is_set():
                    self.stop_reason = "stopped"
                    self.message = f"stopped by request after {self.evaluations} evaluations"
                    break
                record = self.step()
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{record['total']:.4g}", refresh=False)
                if self.callback is not None and self.stop_reason is None:
                    self.callback(self, record)
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
            self.message = f"interrupted after {self.evaluations} evaluations"
        finally:
            if bar is not None and bar is not self._progress_arg:
                bar.close()
        if self.stop_reason is None:
            self.stop_reason = "completed"
        return self.result()

    def _make_progress(self) -> tqdm | None:
        if self._progress_arg is False or self._progress_arg is None:
            return None
        if self._progress_arg is True:
            return tqdm(total=self.steps, initial=self.evaluations, desc="evaluations", unit="eval")
        return self._progress_arg  # a tqdm bar the caller made

    def result(self) -> Result:
        """A ``Result`` with everything up to now (valid at any point, also mid-run)."""
        return Result(
            image=self.best_image,
            history=list(self.history),
            snapshots=dict(self.snapshots),
            evaluations=len(self.history),
            stop_reason=self.stop_reason or "running",
            message=self.message,
            best_evaluation=self.best_evaluation,
            settings=dict(self.settings),
        )


def run_style_transfer(content: Any, style: Any, **options: Any) -> Result:
    """Run the whole optimisation (a loop over ``StyleTransfer.step``) and return a ``Result``.

    Options (all keyword): ``vgg`` (default: ``load_vgg19(weights, pooling)`` once, cached),
    ``weights``, ``pooling`` ("max" | "avg"), ``alpha`` (content weight α), ``beta`` (style weight
    β; default ``ratios.default_beta(vgg)``, 1e9 for torchvision's weights), ``content_layers``
    (default ``("relu4_2",)``), ``style_layers`` (default relu1_1 … relu5_1),
    ``style_weights`` (default 1/|L| each), ``init`` ("content" | "style" | "noise" | a tensor),
    ``optimizer`` ("lbfgs" | "adam"), ``lr``, ``steps`` (evaluations, exactly), ``snapshot_at``
    (default the seed report's marks 1, 2, 3, 10, … 6000, kept up to ``steps``), ``seed``,
    ``size``, ``callback(transfer, record)``, ``stop_event`` (a ``threading.Event``),
    ``progress`` (True for a ``tqdm.auto`` bar with ETA; default True here), ``device``.

    Beyond the paper (all off by default; Gatys et al. 2017 and common tools):

    - ``style`` may be a list of images and ``style_blend`` their weights w_k (≥ 0, not all 0,
      normalised to Σ w_k = 1; default equal): the target is A^l = Σ_k w_k A^l_k. ``init="style"``
      starts from the first style image.
    - ``style_scale`` s > 0: each style image is resized so that its long side is s × the
      result's long side (larger s, larger brush strokes). Default None: as given (a tensor at
      its own size, a path or URL loaded at ``size``, like the content).
    - ``preserve_color``: ``"luminance"`` optimises the luminance Y only (the styles' Y matched
      to the content's mean and standard deviation) and recombines it with the content's I and
      Q (2017, Sec. 5.1); ``"histogram"`` recolours each style image to the content's RGB mean
      and covariance before a normal transfer (Sec. 5.2; ``colour.match_color_histogram``, its
      "eigen" variant). See ``colour.py``.
    - ``tv_weight`` ≥ 0: adds tv_weight · TV(x) (``losses.total_variation``, squared) to L_total;
      each record then also holds ``tv``.
    - ``scales``, increasing long sides (e.g. [256, 512, 1024]): coarse-to-fine, see
      ``multiscale.run_coarse_to_fine`` (``steps`` may then be one number per scale).
    """
    options.setdefault("progress", True)
    scales = options.pop("scales", None)
    if scales is not None:
        from .multiscale import run_coarse_to_fine

        return run_coarse_to_fine(content, style, scales, **options)
    transfer = StyleTransfer(content, style, **options)
    result = transfer.run()
    del transfer  # its L-BFGS history and targets: handed back now, not at the next run
    release_free_memory()
    return result
