"""Style transfer as one call: Gatys et al. (2016), Sec. 2 — find the image x minimising
L_total(x) = α L_content(x) + β L_style(x) — with the options of the 2017 follow-up.

``StyleTransfer`` checks every parameter, loads the images, applies the extensions' pre-steps,
computes the targets once (``targets.py``), builds the ``step.Objective`` and the initial image,
and hands them to the ``engine.Engine`` whose ``step()`` is ``step.optimisation_step``.
``run_style_transfer`` runs it to the end (or coarse to fine, ``scales=``). Lesson 04.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as tf
from tqdm.auto import tqdm

from .caffe_weights import ENV_CAFFE_WEIGHTS
from .defaults import DEFAULT_ALPHA, DEFAULT_BETA, default_beta
from .devices import resolve_device
from .engine import (
    DEFAULT_LR,
    DEFAULT_SNAPSHOTS,
    OPTIMIZERS,
    Engine,
    Record,
    Result,
    RunOptions,
    check_weight,
)
from .errors import ParameterError, translate_oom
from .extensions import coarse_to_fine
from .extensions.colour import PRESERVE_COLORS, ColourPreservation
from .extensions.styles import (
    blend_style_targets,
    blend_weights,
    scaled_long_side,
    style_sources,
)
from .extensions.tv import tv_terms
from .images import as_image_tensor, check_min_size, check_size, image_input
from .layers import PAPER_CONTENT_LAYERS, PAPER_STYLE_LAYERS, check_layers, min_input_side
from .losses import resolve_style_weights
from .memory import release_free_memory
from .paths import ENV_CACHE
from .step import Objective
from .targets import content_targets, style_targets
from .vgg import ENV_DEFAULT_WEIGHTS, VGG19Features, load_vgg19
from .weights import ENV_WEIGHTS_FILE

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_BETA",
    "DEFAULT_LR",
    "DEFAULT_SNAPSHOTS",
    "INITS",
    "OPTIMIZERS",
    "PRESERVE_COLORS",
    "Record",
    "Result",
    "StyleTransfer",
    "default_vgg",
    "run_coarse_to_fine",
    "run_style_transfer",
]

INITS = ("content", "style", "noise")

if TYPE_CHECKING:  # annotations only: the lessons' panels own the threads
    import threading


@lru_cache(maxsize=4)
def _cached_vgg(weights: str, pooling: str, device: str, _sources: tuple) -> VGG19Features:
    return load_vgg19(weights, pooling=pooling, device=device)


def default_vgg(
    weights: str | None = None, pooling: str = "max", device: str | torch.device | None = None
) -> VGG19Features:
    """``load_vgg19(weights, pooling, device)``, loaded once per process and then reused (a
    changed ``$NST_VGG19_WEIGHTS``, ``$NST_CAFFE_WEIGHTS`` or ``$NST_CACHE_DIR`` loads again)."""
    resolved = weights if weights is not None else os.environ.get(ENV_DEFAULT_WEIGHTS)
    resolved = resolved or "imagenet"
    sources = tuple(os.environ.get(k) for k in (ENV_WEIGHTS_FILE, ENV_CAFFE_WEIGHTS, ENV_CACHE))
    return _cached_vgg(str(resolved), pooling, str(resolve_device(device)), sources)


@dataclass(frozen=True)
class _Checked:
    """StyleTransfer's parameters after every check (nothing loaded yet)."""

    alpha: float
    beta: float | None
    content_layers: tuple[str, ...]
    style_layers: tuple[str, ...]
    style_weights: dict[str, float]
    sources: list[Any]
    style_blend: list[float]
    style_scale: float | None
    tv_weight: float
    run: RunOptions


def _check(content: Any, style: Any, o: dict[str, Any]) -> _Checked:
    """Every parameter checked before any work; ParameterError names the one that is wrong."""
    if content is None and style is None:
        raise ParameterError("content and style are both None: there is nothing to match")
    alpha = check_weight("alpha", o["alpha"])
    beta = None if o["beta"] is None else check_weight("beta", o["beta"])
    run = RunOptions.check(o["steps"], o["optimizer"], o["lr"], o["snapshot_at"])
    check_size(o["size"], "long")  # None, a positive int or (H, W), at most MAX_PIXELS
    c_layers = () if content is None else check_layers(o["content_layers"], "content_layers")
    s_layers = () if style is None else check_layers(o["style_layers"], "style_layers")
    if not c_layers and not s_layers:
        raise ParameterError("content_layers and style_layers are both empty: nothing to optimise")
    sources = style_sources(style)
    scale = o["style_scale"]
    preserve = o["preserve_color"]
    if preserve is not None and preserve not in PRESERVE_COLORS:
        raise ParameterError(
            f"preserve_color must be one of {', '.join(PRESERVE_COLORS)} or None, not {preserve!r}"
        )
    if preserve is not None and (content is None or style is None):
        raise ParameterError(f"preserve_color={preserve!r} needs a content and a style image")
    init = o["init"]
    if isinstance(init, torch.Tensor):
        as_image_tensor(init, "init")  # its values and shape, before anything is loaded
    elif init not in INITS:
        raise ParameterError(f"init must be one of {', '.join(INITS)} or a tensor, not {init!r}")
    if init == "content" and content is None:
        raise ParameterError("init='content' needs a content image; use init='noise'")
    if init == "style" and style is None:
        raise ParameterError("init='style' needs a style image")
    return _Checked(
        alpha=alpha,
        beta=beta,
        content_layers=c_layers,
        style_layers=s_layers,
        style_weights=resolve_style_weights(s_layers, o["style_weights"]),
        sources=sources,
        style_blend=blend_weights(len(sources), o["style_blend"]),
        style_scale=None if scale is None else check_weight("style_scale", scale, True),
        tv_weight=check_weight("tv_weight", o["tv_weight"]),
        run=run,
    )


def _load_images(
    content: Any, c: _Checked, size: Any, init: Any
) -> tuple[torch.Tensor | None, list[torch.Tensor], tuple[int, int]]:
    """The content image, the style images (at ``style_scale`` when given) and the result's size
    (H, W), each checked against the smallest side the layers need."""
    min_side = min_input_side(c.content_layers + c.style_layers)
    names = ["style"] if len(c.sources) == 1 else [f"style[{k}]" for k in range(len(c.sources))]

    def load_style(k: int, long_side: int | None) -> torch.Tensor:
        """Style k at ``long_side``, or as given: a tensor at its size, else at ``size``."""
        source = c.sources[k]
        if long_side is None and not isinstance(source, torch.Tensor):
            long_side = size
        return image_input(source, long_side, names[k])

    content_img = None if content is None else image_input(content, size, "content")
    if content_img is not None:
        check_min_size(content_img, min_side, "content image")
        shape = tuple(content_img.shape[-2:])
    elif isinstance(size, int):
        shape = (size, size)
    elif size is not None:
        shape = (int(size[0]), int(size[1]))
    else:  # texture synthesis at the (first) style image's size
        shape = tuple(load_style(0, None).shape[-2:])
    long_side = None if c.style_scale is None else scaled_long_side(c.style_scale, shape)
    styles = [load_style(k, long_side) for k in range(len(c.sources))]
    for img in styles:
        if c.style_scale is not None and min(img.shape[-2:]) < min_side:
            raise ParameterError(
                f"style_scale={c.style_scale:g} makes a style image {img.shape[-2]}x"
                f"{img.shape[-1]} px; the layers used need ≥ {min_side} px on each side "
                "(use a larger style_scale)"
            )
        check_min_size(img, min_side, "style image")
    if min(shape) < min_side:
        raise ParameterError(f"size {shape} is too small: the layers used need ≥ {min_side} px")
    if isinstance(init, torch.Tensor) and tuple(init.shape[-2:]) != shape:
        raise ParameterError(
            f"init: the tensor is {tuple(init.shape[-2:])}, the result must be {shape}"
        )
    return content_img, styles, shape  # type: ignore[return-value]


class StyleTransfer(Engine):
    """The optimisation of Gatys et al. (2016), advanced one evaluation per ``step()``.

    ``content`` and ``style`` are image tensors [1, 3, H, W] in [0, 1] (uint8 tensors are divided
    by 255; float values outside [0, 1] are refused: ``images.as_image_tensor``) or anything
    ``load_image`` takes (then loaded at ``size``). ``content=None`` drops the content term
    (texture synthesis, paper Fig. 1 top; the result takes ``size`` or the style image's size);
    ``style=None`` drops the style term (content reconstruction, Fig. 1 bottom). ``style`` may
    also be a list of images: their Grams are blended (``style_blend``). Targets — the content
    features P^l and the style Grams A^l — are computed once, without gradients. See
    ``run_style_transfer`` for the options.

    ``content_image`` is the content image as given; ``style_images`` are the images the style
    targets come from, as the network sees them (resized by ``style_scale``, recoloured by
    ``preserve_color``: histogram-matched RGB, or the matched luminance as a grey image);
    ``style_image`` is the first of them. ``x`` is the optimised variable: [1, 3, H, W], or the
    luminance [1, 1, H, W] with ``preserve_color="luminance"``; ``image``, ``best_image`` and the
    snapshots are always RGB. ``objective`` is what ``step.optimisation_step`` optimises.
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
        c = _check(content, style, locals())
        self.alpha, self.content_layers, self.style_layers = (
            c.alpha,
            c.content_layers,
            c.style_layers,
        )
        self.style_weights, self.style_blend, self.style_scale = (
            c.style_weights,
            c.style_blend,
            c.style_scale,
        )
        self.preserve_color, self.tv_weight, self.seed = preserve_color, c.tv_weight, int(seed)
        self.device = resolve_device(device) if vgg is None or device is not None else vgg.device
        # Earlier runs' freed activations and L-BFGS histories back to the system first, so a
        # notebook's peak memory is its largest run's, not the sum of the leftovers (memory.py).
        release_free_memory()
        content_img, styles, shape = _load_images(content, c, size, init)
        colour = None if preserve_color is None else ColourPreservation(preserve_color, content_img)
        content_input = content_img if colour is None else colour.content_input()
        if colour is not None:
            styles = [colour.style_input(img) for img in styles]
        self.vgg = (vgg if vgg is not None else default_vgg(weights, pooling, self.device)).to(
            self.device
        )
        self.beta = default_beta(self.vgg) if c.beta is None else c.beta
        self.content_image = None if content_img is None else content_img.to(self.device)
        self.style_images = [img.to(self.device) for img in styles]
        self.style_image = self.style_images[0] if self.style_images else None
        self._colour = None if colour is None else colour.to(self.device)
        objective = self._objective(content_input, shape)
        super().__init__(
            self._initial_image(init, shape),
            self.vgg,
            objective,
            c.run,
            to_rgb=None if objective.network_input is None else self._colour.to_rgb,  # type: ignore[union-attr]
            callback=callback,
            stop_event=stop_event,
            progress=progress,
            settings=self._settings(c, init, shape, preserve_color),
        )

    def _objective(self, content_input: torch.Tensor | None, shape: tuple[int, int]) -> Objective:
        """What ``step.optimisation_step`` optimises: the targets P^l (of the content as the
        network sees it) and A^l (blended over the style images), w_l, α, β, the TV term, and
        the luminance-to-network map with ``preserve_color="luminance"``."""
        grey = self._colour is not None and self._colour.chroma is not None
        return Objective(
            content_targets=content_targets(
                self.vgg,
                None if content_input is None else content_input.to(self.device),
                self.content_layers if content_input is not None else (),
            ),
            style_targets=blend_style_targets(
                [style_targets(self.vgg, s, self.style_layers, shape) for s in self.style_images]
                if self.style_layers
                else [],
                self.style_blend,
            ),
            style_weights=self.style_weights,
            alpha=self.alpha,
            beta=self.beta,
            extra_terms=tv_terms(self.tv_weight),
            network_input=self._colour.network_input if grey else None,  # type: ignore[union-attr]
        )

    @property
    def content_targets(self) -> Mapping[str, torch.Tensor]:
        """P^l at each content layer (computed once, without gradients)."""
        return self.objective.content_targets

    @property
    def style_targets(self) -> Mapping[str, torch.Tensor]:
        """A^l at each style layer (blended over the style images; computed once)."""
        return self.objective.style_targets

    def _settings(self, c: _Checked, init: Any, shape: tuple[int, int], preserve: Any) -> dict:
        n_styles = len(c.sources)
        return {
            "alpha": self.alpha,
            "beta": self.beta,
            "content_layers": list(self.content_layers),
            "style_layers": list(self.style_layers),
            "style_weights": self.style_weights,
            "init": init if isinstance(init, str) else "tensor",
            "optimizer": c.run.optimizer,
            "lr": c.run.lr,
            "steps": c.run.steps,
            "seed": self.seed,
            "size": list(shape),
            "pooling": self.vgg.pooling,
            "device": str(self.device),
            "styles": n_styles,
            "style_blend": self.style_blend if n_styles > 1 else None,
            "style_scale": self.style_scale,
            "preserve_color": preserve,
            "tv_weight": self.tv_weight,
        }

    def _initial_image(self, init: str | torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
        """x at evaluation 1: RGB, or its luminance Y with ``preserve_color="luminance"``."""
        colour = self._colour
        if colour is None or colour.chroma is None:
            return self._initial_rgb(init, shape)
        if isinstance(init, torch.Tensor):
            return colour.variable(self._initial_rgb(init, shape))  # the tensor's Y
        if init == "noise":
            generator = torch.Generator().manual_seed(self.seed)
            return torch.rand((1, 1, *shape), generator=generator)  # white noise in Y
        if init == "content":
            return colour.content_y.detach().clone()  # type: ignore[union-attr]
        return self._initial_rgb(init, shape)[:, :1]  # the (grey) matched style's Y

    def _initial_rgb(self, init: str | torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
        if isinstance(init, torch.Tensor):
            t = image_input(init, None, "init")
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
        return torch.rand((1, 3, *shape), generator=generator)  # white noise, as the paper's


def run_style_transfer(content: Any, style: Any, **options: Any) -> Result:
    """Run the whole optimisation (a loop over ``StyleTransfer.step``) and return a ``Result``.

    Errors: ParameterError, ImageError, WeightsError before any evaluation (every check first);
    ``RunOutOfMemoryError`` (one line: the size and what to try) when the device runs out.

    Options (all keyword): ``vgg`` (default: ``load_vgg19(weights, pooling)`` once, cached),
    ``weights``, ``pooling`` ("max" | "avg"), ``alpha`` (content weight α), ``beta`` (style weight
    β; default ``defaults.default_beta(vgg)``, 1e9 for torchvision's weights), ``content_layers``
    (default ``("relu4_2",)``), ``style_layers`` (default relu1_1 … relu5_1),
    ``style_weights`` (default 1/|L| each), ``init`` ("content" | "style" | "noise" | a tensor),
    ``optimizer`` ("lbfgs" | "adam"), ``lr``, ``steps`` (evaluations, exactly), ``snapshot_at``
    (default the seed report's marks 1, 2, 3, 10, … 6000, kept up to ``steps``), ``seed``,
    ``size``, ``callback(transfer, record)``, ``stop_event`` (a ``threading.Event``),
    ``progress`` (True for a ``tqdm.auto`` bar with ETA; default True here), ``device``.

    Beyond the paper (all off by default; Gatys et al. 2017 and common tools; ``extensions/``):

    - ``style`` may be a list of images and ``style_blend`` their weights w_k (≥ 0, not all 0,
      normalised to Σ w_k = 1; default equal): the target is A^l = Σ_k w_k A^l_k. ``init="style"``
      starts from the first style image.
    - ``style_scale`` s > 0: each style image is resized so that its long side is s × the
      result's long side (larger s, larger brush strokes). Default None: as given (a tensor at
      its own size, a path or URL loaded at ``size``, like the content).
    - ``preserve_color``: ``"luminance"`` optimises the luminance Y only (the styles' Y matched
      to the content's mean and standard deviation) and recombines it with the content's I and
      Q (2017, Sec. 5.1); ``"histogram"`` recolours each style image to the content's RGB mean
      and covariance before a normal transfer (Sec. 5.2; ``extensions.colour``).
    - ``tv_weight`` ≥ 0: adds tv_weight · TV(x) (``extensions.tv.total_variation``, squared) to
      L_total; each record then also holds ``tv``.
    - ``scales``, increasing long sides (e.g. [256, 512, 1024]): coarse-to-fine, see
      ``run_coarse_to_fine`` (``steps`` may then be one number per scale).
    """
    options.setdefault("progress", True)
    scales = options.pop("scales", None)
    if scales is not None:
        return run_coarse_to_fine(content, style, scales, **options)
    with translate_oom(size=options.get("size"), device=options.get("device")):
        transfer = StyleTransfer(content, style, **options)  # targets: out of memory here too
    result = transfer.run()
    del transfer  # its L-BFGS history and targets: handed back now, not at the next run
    release_free_memory()
    return result


def run_coarse_to_fine(
    content: Any, style: Any, scales: Sequence[int] = (256, 512, 1024), **options: Any
) -> Result:
    """Coarse-to-fine style transfer: ``extensions.coarse_to_fine.run_scales`` with
    ``StyleTransfer`` at every scale (see there for ``steps``, the history and per-scale time and
    memory)."""
    return coarse_to_fine.run_scales(StyleTransfer, content, style, scales, **options)
