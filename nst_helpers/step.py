"""The optimisation step of Gatys, Ecker & Bethge (2016), Sec. 2, exactly as it runs (lesson 04).

The targets are computed once, without gradients: P^l, the content image's activations at each
content layer (``content_targets``, lesson 02), and A^l, the style image's Gram matrix at each
style layer (``style_targets``, lesson 03). The image x is the only variable. One *evaluation*
is one forward pass of x through VGG19, the total loss L_total = α L_content + β L_style (Eq. 7)
built from ``content_loss`` (Eq. 1) and ``style_layer_loss`` (Eq. 4), and one backward pass by
autograd to ∂L_total/∂x (Eqs. 2 and 6); one *step* lets the optimiser move x using exactly one
evaluation. Every style transfer of the package — ``run_style_transfer``, the command line, the
lessons' panels — calls ``optimisation_step`` once per evaluation; nothing else computes losses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch

from .layers import downsampling
from .losses import content_loss, gram_matrix, style_layer_loss, total_loss

# --------------------------------------------------------------------------- targets


def content_targets(
    vgg: torch.nn.Module, content: torch.Tensor | None, layers: Sequence[str]
) -> dict[str, torch.Tensor]:
    """P^l = F^l(content) at each layer: {name: [1, N_l, H_l, W_l]}, no gradients. Lesson 02."""
    with torch.no_grad():
        return dict(vgg(content, layers)) if layers else {}


def style_targets(
    vgg: torch.nn.Module, style: torch.Tensor, layers: Sequence[str], result_size: Sequence[int]
) -> dict[str, torch.Tensor]:
    """A^l = G^l(style) at each layer: {name: [1, N_l, N_l]}, without gradients, for a result of
    ``result_size`` (H, W). For a style image of another size, A^l is scaled by M_x / M_s (the
    result's positions over the style's at that layer), so E_l compares per-position averages;
    for equal sizes the factor is 1 (the paper). Lesson 03."""
    with torch.no_grad():
        F = vgg(style, layers) if layers else {}
    d = {name: downsampling(name) for name in F}
    M_x = {name: (result_size[0] // d[name]) * (result_size[1] // d[name]) for name in F}
    return {name: gram_matrix(f) * (M_x[name] / f[0, 0].numel()) for name, f in F.items()}


# --------------------------------------------------------------------------- the step

#: An extra loss term on x: (its weight, the function computing it), e.g. ``(1e-3,
#: total_variation)``. Not in the paper; extensions add them (``extensions/tv.py``).
ExtraTerm = tuple[float, Callable[[torch.Tensor], torch.Tensor]]


@dataclass
class Objective:
    """What x is optimised for: L_total = α Σ_l L_content^l + β Σ_l w_l E_l (Eqs. 1, 4, 5, 7).

    ``content_targets`` maps content layers to P^l ([1, N_l, H_l, W_l]); ``style_targets`` maps
    style layers to A^l ([1, N_l, N_l]); ``style_weights`` maps style layers to w_l.
    ``extra_terms`` (beyond the paper) are added to L_total as weight · term(x);
    ``network_input`` maps x to what VGG19 sees ([1, 3, H, W]; default: x itself).
    """

    content_targets: Mapping[str, torch.Tensor]
    style_targets: Mapping[str, torch.Tensor]
    style_weights: Mapping[str, float]
    alpha: float
    beta: float
    extra_terms: Mapping[str, ExtraTerm] = field(default_factory=dict)
    network_input: Callable[[torch.Tensor], torch.Tensor] | None = None
    precision: str = "fp32"  # of the network's pass only: "fp32", "bf16" or "fp16" (LOWER)
    grad_scale: float | None = None  # fp16's loss scale, kept between evaluations
    good_steps: int = 0  # evaluations since the loss scale last overflowed


#: The lower precisions the network's pass may run in (autocast); everything else is float32.
LOWER = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class Evaluation:
    """The losses of one evaluation, as Python floats: ``total`` (Eq. 7), ``content`` (Eq. 1,
    summed over the content layers), ``style`` (Eq. 5), each layer's L_content and E_l, each
    extra term's unweighted value; ``nonfinite`` names the weighted part of L_total that is not
    finite ("content", "style", an extra term's name, "total"; None when all are finite) and
    ``nonfinite_value`` is its weighted value."""

    total: float
    content: float
    style: float
    content_layers: dict[str, float]
    style_layers: dict[str, float]
    extra: dict[str, float]
    nonfinite: str | None = None
    nonfinite_value: float | None = None

    @property
    def finite(self) -> bool:
        return self.nonfinite is None


def layer_terms(
    vgg: torch.nn.Module, image: torch.Tensor, objective: Objective
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """L_content at each content layer (Eq. 1) and E_l at each style layer (Eq. 4); with a lower
    ``objective.precision`` only the network's pass runs in it (autocast), the losses in float32."""
    P, A, low = objective.content_targets, objective.style_targets, LOWER.get(objective.precision)
    with torch.autocast(image.device.type, dtype=low, enabled=low is not None):
        F = vgg(image, [*P, *A])  # F^l: the activations, by the paper's layer names
    F = {layer: f.float() for layer, f in F.items()}  # Grams and losses stay float32
    content = {layer: content_loss(F[layer], P[layer]) for layer in P}
    style = {layer: style_layer_loss(F[layer], A[layer]) for layer in A}
    return content, style


def objective_losses(
    content: dict[str, torch.Tensor], style: dict[str, torch.Tensor], objective: Objective
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(L_total, L_content, L_style) from the per-layer terms: L_content summed over the content
    layers, L_style = Σ_l w_l E_l (Eq. 5), L_total = α L_content + β L_style (Eq. 7)."""
    L_content = sum(content.values())
    L_style = sum(objective.style_weights[layer] * E for layer, E in style.items())
    return total_loss(L_content, L_style, objective.alpha, objective.beta), L_content, L_style


def evaluate(x: torch.Tensor, vgg: torch.nn.Module, objective: Objective) -> Evaluation:
    """One evaluation at x ([1, C, H, W], ``requires_grad``): the losses, and ∂L_total/∂x left in
    ``x.grad`` (zero when a loss is not finite, so no optimiser steps into NaN). Lesson 04."""
    image = x if objective.network_input is None else objective.network_input(x)
    content, style = layer_terms(vgg, image, objective)
    L_total, L_content, L_style = objective_losses(content, style, objective)
    extra = {name: term(x) for name, (_, term) in objective.extra_terms.items()}
    L_total = L_total + sum(objective.extra_terms[name][0] * v for name, v in extra.items())
    x.grad = None
    if objective.precision != "fp16":
        L_total.backward()  # ∂L_total/∂x through VGG19 (Eqs. 2 and 6 at each layer)
    else:
        _scaled_backward(L_total, x, objective)
    f = lambda t: torch.as_tensor(t).item()  # noqa: E731  (a Python float; L_content may be 0)
    d = lambda terms: {k: f(t) for k, t in terms.items()}  # noqa: E731
    ev = Evaluation(f(L_total), f(L_content), f(L_style), d(content), d(style), d(extra))
    if not math.isfinite(ev.total):
        x.grad = torch.zeros_like(x)
        ev.nonfinite, ev.nonfinite_value = _nonfinite_term(ev, objective)
    return ev


def _nonfinite_term(ev: Evaluation, objective: Objective) -> tuple[str, float]:
    """The weighted part of L_total that is not finite in float32, and its value: "content",
    "style", an extra term ("tv"), or "total" when only their sum overflowed."""
    parts = {"content": (objective.alpha, ev.content), "style": (objective.beta, ev.style)}
    parts |= {name: (objective.extra_terms[name][0], v) for name, v in ev.extra.items()}
    largest = torch.finfo(torch.float32).max  # the network computes in float32
    for name, (weight, value) in parts.items():
        if not (abs(weight) <= largest and abs(weight * value) <= largest):
            return name, weight * value
    return "total", ev.total


def _scaled_backward(L_total: torch.Tensor, x: torch.Tensor, objective: Objective) -> None:
    """The backward of a float16 pass with a loss scale, as ``torch.amp.GradScaler`` keeps one:
    float16 holds at most 65504, so the gradients flowing back through the network are scaled to
    stay in range, and x's gradient is unscaled. An overflow gives this evaluation a zero
    gradient (no step) and halves the scale; the scale grows again after 100 good evaluations."""
    loss = abs(L_total.item())
    if objective.grad_scale is None:  # the loss near 2**10: gradients well inside float16
        objective.grad_scale = (
            2.0 ** (10 - math.ceil(math.log2(loss + 1))) if loss < math.inf else 1.0
        )
    (L_total * objective.grad_scale).backward()
    x.grad /= objective.grad_scale
    if not torch.isfinite(x.grad).all():
        x.grad.zero_()
        objective.grad_scale, objective.good_steps = objective.grad_scale / 2, 0
        return
    objective.good_steps += 1
    if objective.good_steps % 100 == 0:
        objective.grad_scale *= 2


def optimisation_step(
    x: torch.Tensor, optimizer: torch.optim.Optimizer, vgg: torch.nn.Module, objective: Objective
) -> Evaluation:
    """One optimiser step using exactly one evaluation (returned): L-BFGS (``max_iter=1``) calls
    the closure once; Adam steps on its gradient unless the loss is not finite. Lesson 04."""
    done: list[Evaluation] = []

    def closure() -> float:
        done.append(evaluate(x, vgg, objective))
        return done[-1].total

    if isinstance(optimizer, torch.optim.LBFGS):
        optimizer.step(closure)
    else:
        closure()
        if done[0].finite:
            optimizer.step()
    return done[0]
