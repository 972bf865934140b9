"""Style transfer as one call: Gatys et al. (2016), Sec. 2 — find the image x minimising
L_total(x) = α L_content(x) + β L_style(x) — with the extensions of lesson 07 as pre-steps and
extra terms. ``prepare`` turns images and ``Options`` into what the engine needs (the targets,
the ``step.Objective``, the initial image); ``StyleTransfer`` is the ``engine.Engine`` built from
them; ``run_style_transfer`` runs it to the end. Lesson 04.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import torch

from .engine import Engine, Result
from .errors import ImageError, ParameterError, translate_oom
from .images import as_image_tensor, load_image
from .layers import min_input_side
from .memory import release_free_memory
from .options import DEFAULT_LR, Options, default_beta
from .step import Objective, content_targets, style_targets
from .vgg import VGG19Features, load_vgg19, resolve_device

if TYPE_CHECKING:
    from collections.abc import Callable


#: Said once where a content layer is a convolution's output: the paper's layer of that name is
#: rectified (its Caffe ReLUs ran in place), so conv4_2 here is not the paper's conv4_2.
PRE_RELU_NOTE = (
    "content layer {layers}: here convX_Y is the value before the ReLU; the paper's conv4_2 is "
    "the rectified relu4_2 (its Caffe network applied the ReLUs in place). Lesson 02, section 4."
)


@functools.lru_cache(maxsize=2)
def default_vgg(weights: str, pooling: str, device: torch.device) -> VGG19Features:
    """``load_vgg19(weights, pooling, device)``, loaded once per process and then reused."""
    return load_vgg19(weights, pooling=pooling, device=device)


def _image(source: Any, size: Any, what: str, min_side: int, device: Any) -> torch.Tensor:
    """An input image: float32 [1, 3, H, W] in [0, 1] at ``size``, ≥ ``min_side`` px, on device."""
    tensor = isinstance(source, torch.Tensor)
    image = as_image_tensor(source, what, size) if tensor else load_image(source, size)
    if min(image.shape[-2:]) < min_side:
        h, w = image.shape[-2:]
        raise ImageError(f"{what} is {h}x{w} px; the layers used need ≥ {min_side} px on each side "
                         "(a larger size, or shallower layers)")  # fmt: skip
    return image.to(device)


@dataclass
class Prepared:
    """What a run needs: the initial image ``x0``, the ``objective``, the network, the map from
    the variable to RGB (``to_rgb``, None: clamp), and the images as the network sees them."""

    x0: torch.Tensor
    objective: Objective
    vgg: VGG19Features
    to_rgb: Callable[[torch.Tensor], torch.Tensor] | None
    content_image: torch.Tensor | None
    styles: list[torch.Tensor]


def prepare(content: Any, style: Any, o: Options, vgg: VGG19Features | None = None) -> Prepared:
    """Images and ``Options`` → the targets P^l and A^l (once, without gradients), the
    ``Objective`` and the initial image. ``content=None``: texture synthesis (Fig. 1, top);
    ``style=None``: content reconstruction (Fig. 1, bottom); a list of styles is blended."""
    styles = list(style) if isinstance(style, list | tuple) else [] if style is None else [style]
    c_layers = o.content_layers if content is not None else ()
    s_layers = o.style_layers if styles else ()
    _check_terms(o, c_layers, s_layers, styles, style)
    if isinstance(o.init, str) and {"content": content is None, "style": not styles}.get(o.init):
        raise ParameterError(f"init={o.init!r} needs a {o.init} image; use init='noise'")
    min_side = min_input_side(c_layers + s_layers)
    device = vgg.device if vgg is not None and o.device is None else resolve_device(o.device)
    content_img = None if content is None else _image(content, o.size, "content", min_side, device)
    shape = _texture_shape(o, styles, min_side) if content is None else content_img.shape[-2:]
    if isinstance(o.init, torch.Tensor) and tuple(o.init.shape[-2:]) != tuple(shape):
        raise ParameterError(f"init: the tensor is {tuple(o.init.shape[-2:])}, the result {shape}")
    side = o.size if o.style_scale is None else max(1, round(o.style_scale * max(shape)))
    styles = [
        _image(s, side, f"style[{k}]" if k else "style", min_side, device)
        for k, s in enumerate(styles)
    ]
    colour = None if o.preserve_color is None else _colour(o, content_img, styles)
    content_img = colour.content_input() if colour is not None else content_img
    vgg = default_vgg(o.weights, o.pooling, device) if vgg is None else vgg.to(device)
    targets = [style_targets(vgg, img, s_layers, shape) for img in styles]
    objective = Objective(
        content_targets=content_targets(vgg, content_img, c_layers),
        style_targets=_blend(targets, o.style_blend) if len(targets) > 1 else (targets or [{}])[0],
        style_weights=o.style_weights or {name: 1 / len(s_layers) for name in s_layers},
        alpha=o.alpha,
        beta=default_beta(vgg) if o.beta is None else o.beta,
        extra_terms=_tv_terms(o.tv_weight) if o.tv_weight else {},
        precision=o.precision,
    )
    x0 = content_img if o.init == "content" and content_img is not None else None
    x0 = x0.detach().clone() if x0 is not None else _initial_image(o, shape, styles).to(device)
    if o.precision == "auto":  # measured on this machine, at this size: precision.py
        objective.precision = _auto_precision(vgg, objective, x0)
    if colour is not None and colour.chroma is not None:  # luminance-only: x is Y
        objective.network_input = colour.to(vgg.device).network_input
        return Prepared(colour.variable(x0), objective, vgg, colour.to_rgb, content_img, styles)
    return Prepared(x0, objective, vgg, None, content_img, styles)


def _check_terms(o: Options, c_layers: tuple, s_layers: tuple, styles: list, style: Any) -> None:
    """Refuse images and layers that leave nothing to optimise (before any work)."""
    if any(s is None for s in styles) or (isinstance(style, list | tuple) and not styles):
        raise ParameterError("style: give one style image, or a list of them (no None)")
    if o.style_blend and len(o.style_blend) != len(styles):
        raise ParameterError(f"style_blend: {len(o.style_blend)} weights, {len(styles)} style(s)")
    if not ((o.alpha and c_layers) or ((o.beta is None or o.beta) and s_layers) or o.tv_weight):
        raise ParameterError("nothing to optimise: no content or style term with a weight > 0")
    if any(layer.startswith("conv") for layer in c_layers):  # warned once per place
        warnings.warn(PRE_RELU_NOTE.format(layers=", ".join(c_layers)), stacklevel=4)


def _texture_shape(o: Options, sources: list, min_side: int) -> tuple[int, int]:
    """The result's (H, W) without a content image: ``size``, else the first style image's."""
    if isinstance(o.size, int):
        return (o.size, o.size)
    return o.size or tuple(_image(sources[0], None, "style", min_side, "cpu").shape[-2:])


def _colour(o: Options, content: torch.Tensor | None, styles: list[torch.Tensor]) -> Any:
    """Keep the content's colours (``extensions.colour``): the style images recoloured in place."""
    from .extensions.colour import ColourPreservation

    if content is None:
        raise ParameterError("preserve_color needs a content image")
    colour = ColourPreservation(o.preserve_color, content)
    styles[:] = [colour.style_input(img) for img in styles]
    return colour


def _blend(targets: list[dict[str, torch.Tensor]], weights: Any) -> dict[str, torch.Tensor]:
    from .extensions.styles import blend_style_targets

    return blend_style_targets(targets, weights or [1 / len(targets)] * len(targets))


def _auto_precision(vgg: VGG19Features, objective: Objective, x0: torch.Tensor) -> str:
    from .precision import choose_precision

    return choose_precision(vgg, objective, x0)


def _tv_terms(weight: float) -> dict[str, Any]:
    from .extensions.tv import total_variation

    return {"tv": (weight, total_variation)}


def _initial_image(o: Options, shape: Any, styles: list) -> torch.Tensor:
    """x at evaluation 1 other than the content image: the first style image resized, white
    noise (seeded, as the paper's figures), or a tensor given as ``init``."""
    if isinstance(o.init, torch.Tensor):
        return as_image_tensor(o.init, "init")
    if o.init == "style":
        return torch.nn.functional.interpolate(
            styles[0], size=tuple(shape), mode="bilinear", antialias=True
        ).clamp(0, 1)
    return torch.rand((1, 3, *shape), generator=torch.Generator().manual_seed(o.seed))


class StyleTransfer(Engine):
    """The optimisation of Gatys et al. (2016), advanced one evaluation per ``step()``.

    ``StyleTransfer(content, style, options, vgg=…, **changes)``: the images (tensors in [0, 1],
    files, URLs, PIL images, arrays; ``None`` for one of them, a list for several styles), the
    ``Options`` (or keyword changes to the defaults), the network ``vgg`` (default:
    ``options.weights``, loaded once per process), and the ``engine.Engine``'s ``callback``,
    ``stop_event`` and ``progress`` (default False).
    ``content_image``, ``style_images`` and ``style_image`` are the images as the network sees
    them; ``content_targets`` and ``style_targets`` are P^l and A^l. Lesson 04.
    """

    def __init__(
        self, content: Any, style: Any, options: Options | None = None, **changes: Any
    ) -> None:
        run = {k: changes.pop(k) for k in ("callback", "stop_event", "progress") if k in changes}
        vgg: VGG19Features | None = changes.pop("vgg", None)
        o = Options(**changes) if options is None else options.replace(**changes)
        release_free_memory()  # earlier runs' leftovers back to the system first (memory.py)
        with translate_oom(size=o.size, device=o.device):
            p = prepare(content, style, o, vgg)
        super().__init__(p.x0, p.vgg, p.objective, o, **run)
        self.to_rgb, self.content_image, self.style_images = p.to_rgb, p.content_image, p.styles
        n, vgg = len(p.styles), p.vgg  # the settings as used (saved with a run)
        self.settings = {f.name: getattr(o, f.name) for f in fields(o)} | {
            "init": o.init if isinstance(o.init, str) else "tensor", "size": list(p.x0.shape[-2:]),
            "beta": p.objective.beta, "lr": o.lr or DEFAULT_LR[o.optimizer], "styles": n,
            "style_blend": list(o.style_blend or [1 / n] * n) if n > 1 else None, "pooling":
            vgg.pooling, "device": str(vgg.device), "precision": p.objective.precision,
            "network": getattr(vgg, "network", None)}  # fmt: skip

    @property
    def style_image(self) -> torch.Tensor | None:
        """The first style image, as the network sees it."""
        return self.style_images[0] if self.style_images else None

    @property
    def content_targets(self) -> dict[str, torch.Tensor]:
        """P^l at each content layer (computed once, without gradients)."""
        return dict(self.objective.content_targets)

    @property
    def style_targets(self) -> dict[str, torch.Tensor]:
        """A^l at each style layer (blended over the style images; computed once)."""
        return dict(self.objective.style_targets)


def run_style_transfer(
    content: Any,
    style: Any,
    options: Options | None = None,
    *,
    progress: bool = True,
    **changes: Any,
) -> Result:
    """The whole optimisation, ``StyleTransfer(…).run()``; ``changes``: ``vgg``, ``callback``,
    ``stop_event`` and any ``Options`` field (listed below with their defaults). Errors come before
    the first evaluation (``ParameterError``, ``ImageError``, ``WeightsError``). Lesson 04."""
    return StyleTransfer(content, style, options, progress=progress, **changes).run()


def _show_options(function: Callable) -> Callable:
    """Let ``help()`` and Shift-Tab show the ``Options`` fields as keywords, with their defaults."""
    signature = inspect.signature(function)
    params = [p for p in signature.parameters.values() if p.kind != p.VAR_KEYWORD]
    extra = ("vgg", "callback", "stop_event")
    params += [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None) for name in extra
    ]
    params += [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
                                 annotation=f.type) for f in fields(Options)]  # fmt: skip
    function.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return function


run_style_transfer = _show_options(run_style_transfer)
