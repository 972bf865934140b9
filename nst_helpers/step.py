"""The optimisation step of Gatys, Ecker & Bethge (2016), Sec. 2, as it runs: lesson 04, "The step".

The image x is the only variable. One *evaluation* is one forward pass of x through VGG19, the
total loss L_total = α L_content + β L_style (Eq. 7) and one backward pass to ∂L_total/∂x
(Eqs. 2 and 6); one *step* lets the optimiser move x using exactly one evaluation. Every style
transfer in this package — ``run_style_transfer``, the command line, the lessons' panels — calls
``optimisation_step`` once per evaluation. The only thing the engine may swap is how the
per-layer terms are computed: ``layer_terms`` below (the public formulas, autograd's backward) or
``fused.fused_layer_terms`` (the same arithmetic with a hand-written backward, faster; the tests
prove both give bit-identical runs on the CPU).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch

from .losses import content_loss, style_layer_loss, total_loss

#: An extra loss term on x: (its weight, the function computing it), e.g. ``(1e-3,
#: total_variation)``. Not in the paper; extensions add them (``extensions/tv.py``).
ExtraTerm = tuple[float, Callable[[torch.Tensor], torch.Tensor]]
Terms = tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]


@dataclass
class Objective:
    """What x is optimised for: L_total = α Σ_l L_content^l + β Σ_l w_l E_l (Eqs. 1, 4, 5, 7).

    ``content_targets`` maps content layers to P^l ([1, N_l, H_l, W_l]); ``style_targets`` maps
    style layers to A^l ([1, N_l, N_l] or [N_l, N_l]); ``style_weights`` maps style layers to w_l.
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


@dataclass
class Evaluation:
    """The losses of one evaluation, as Python floats: ``total`` (Eq. 7), ``content`` (Σ of Eq. 1
    over the content layers), ``style`` (Eq. 5), each layer's L_content and E_l, each extra
    term's unweighted value, and whether every value is finite."""

    total: float
    content: float
    style: float
    content_layers: dict[str, float]
    style_layers: dict[str, float]
    extra: dict[str, float]
    finite: bool


def layer_terms(vgg: torch.nn.Module, image: torch.Tensor, objective: Objective) -> Terms:
    """L_content at each content layer (Eq. 1) and E_l at each style layer (Eq. 4); lesson 04."""
    P, A = objective.content_targets, objective.style_targets
    F = vgg(image, [*P, *A])  # F^l: the activations, by the paper's layer names
    content = {layer: content_loss(F[layer], P[layer]) for layer in P}
    style = {layer: style_layer_loss(F[layer], A[layer]) for layer in A}
    return content, style


def evaluate(
    x: torch.Tensor,
    vgg: torch.nn.Module,
    objective: Objective,
    terms: Callable[..., Terms] = layer_terms,
) -> Evaluation:
    """One evaluation at x: the losses, and ∂L_total/∂x left in ``x.grad``.

    A non-finite loss leaves a zero gradient, so that no optimiser steps into NaN. ``x``:
    [1, C, H, W] with ``requires_grad``. Taught in lesson 04, "The step that runs".
    """
    image = x if objective.network_input is None else objective.network_input(x)
    content, style = terms(vgg, image, objective)
    L_content = sum(content.values(), x.new_zeros(()))
    w = objective.style_weights
    L_style = sum((w[layer] * E for layer, E in style.items()), x.new_zeros(()))  # Eq. 5
    L_total = total_loss(L_content, L_style, objective.alpha, objective.beta)  # Eq. 7
    extra = {name: term(x) for name, (_, term) in objective.extra_terms.items()}
    for name, value in extra.items():
        L_total = L_total + objective.extra_terms[name][0] * value
    x.grad = None
    L_total.backward()  # ∂L_total/∂x through VGG19 (Eqs. 2 and 6 at each layer)
    parts = [L_total, L_content, L_style, *content.values(), *style.values(), *extra.values()]
    values = torch.stack([v.detach() for v in parts]).tolist()  # one device sync
    n_c, n_s = len(content), len(style)
    finite = all(math.isfinite(v) for v in values)
    if not finite:
        x.grad = torch.zeros_like(x)
    return Evaluation(
        total=values[0],
        content=values[1],
        style=values[2],
        content_layers=dict(zip(content, values[3 : 3 + n_c], strict=True)),
        style_layers=dict(zip(style, values[3 + n_c : 3 + n_c + n_s], strict=True)),
        extra=dict(zip(extra, values[3 + n_c + n_s :], strict=True)),
        finite=finite,
    )


def optimisation_step(
    x: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    vgg: torch.nn.Module,
    objective: Objective,
    terms: Callable[..., Terms] = layer_terms,
) -> Evaluation:
    """One optimiser step that uses exactly one evaluation; returns that evaluation.

    L-BFGS (``max_iter=1``, no line search) calls the closure once per ``step``; Adam is given the
    gradient the evaluation left. After a non-finite loss x is not moved. Taught in lesson 04,
    "The step that runs"; ``engine.Engine.step`` calls it once per evaluation.
    """
    done: list[Evaluation] = []

    def closure() -> float:
        done.append(evaluate(x, vgg, objective, terms))
        return done[-1].total

    if isinstance(optimizer, torch.optim.LBFGS):
        optimizer.step(closure)
    else:
        closure()
        if done[0].finite:
            optimizer.step()
    return done[0]
