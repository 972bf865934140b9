"""The lessons' exercises, eight in all: L_content (02), the Gram matrix and E_l (03), one
evaluation by hand and a prediction about α/β (04), where the image settles (05), a segment that
breaks midpoint convexity (06) and luminance-only transfer by hand (07).

Each ``check_*`` compares the learner's answer with the package's own (``losses``, ``step``,
``extensions.colour``, ``convergence``, ``landscape``), then walks a table of typical mistakes
(``MISTAKES``) for specific feedback; it never raises. Hints come in three grades (the idea,
part of the line, the line);
the solution is the exercise's few plain lines (``SOLUTIONS``).

>>> from nst_helpers.lessons import exercises
>>> exercises.check_content_loss(my_content_loss)  # feedback (on a cell's last line)
>>> exercises.show_hint("content_loss", 1)  # the idea; 2: part of the line; 3: the line
>>> exercises.show_solution("content_loss")  # the answer
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import ParameterError
from ..i18n import N_, _
from ..losses import content_loss, gram_matrix, style_layer_loss

#: Exercise names, in lesson order.
EXERCISES = ("content_loss", "gram_matrix", "style_layer_loss", "evaluate", "ratio",
             "settled", "nonconvex", "keep_colours")  # fmt: skip
#: The test activations' shapes [1, N, H, W]: the second catches a hard-coded N, H or W.
SHAPES = ((1, 6, 3, 5), (1, 4, 4, 7))


@dataclass(frozen=True)
class Feedback:
    """A check's result: ``status`` is "correct", "unfinished" or "wrong"; ``bool(feedback)`` and
    ``feedback.passed`` are True only when correct. Renders in Jupyter as a coloured box."""

    exercise: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "correct"

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        mark = {"correct": _("✔ correct"), "unfinished": _("… not done yet")}
        return f"[{self.exercise}] {mark.get(self.status, _('✘ not yet right'))}: {self.message}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = {"correct": "#1a7f37", "unfinished": "#9a6700", "wrong": "#cf222e"}[self.status]
        title = {"correct": _("Correct"), "unfinished": _("Not done yet")}
        return (
            f"<div style='border-left:4px solid {colour};padding:4px 10px;margin:4px 0'>"
            f"<b style='color:{colour}'>{title.get(self.status, _('Not yet right'))}</b> "
            f"<code>{html.escape(self.exercise)}</code><br>{html.escape(self.message)}</div>"
        )


# --------------------------------------------------------------------------- the mistakes


def _SS(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    return ((X - Y) ** 2).sum()


def _G(F: torch.Tensor) -> torch.Tensor:
    """F Fᵀ with F^l as the paper's N × M matrix."""
    F = F.reshape(F.shape[1], -1)
    return F @ F.T


def _E(denominator: Callable, numerator: Callable = _SS, G: Callable = _G) -> Callable:
    """A learner's E_l: ``numerator(G(F), A) / denominator(N, H, W, M)``."""
    return lambda F, A: numerator(G(F), A) / denominator(*F.shape[1:], F[0, 0].numel())


# fmt: off
#: Per exercise: (a wrong answer the learner may have written, the message explaining it), tried
#: in order. In the messages {n}, {h}, {w}, {m}, {nm}, {nn} are N, H, W, M = H·W, N·M and N².
MISTAKES: dict[str, list[tuple[Callable[..., torch.Tensor], str]]] = {
    "content_loss": [
        (lambda F, P: -0.5 * _SS(F, P), N_("the sign is wrong: a loss of squares is ≥ 0.")),
        (lambda F, P: _SS(F, P), N_("you forgot the ½: L_content = ½ Σ (F − P)².")),
        (lambda F, P: 0.5 * _SS(F, P) / F.numel(), N_(
            "you used the mean instead of the sum: .mean() divides by the number of entries "
            "({nm} here). The paper sums: ½ Σ (F − P)².")),
        (lambda F, P: _SS(F, P) / F.numel(), N_(
            "you used the mean (like MSELoss) and forgot the ½: the paper's loss is "
            "½ Σ (F − P)², a sum over all entries, not a mean.")),
        (lambda F, P: 0.5 * (F - P).abs().sum(),
         N_("you forgot to square the differences: ½ Σ (F − P)².")),
        (lambda F, P: (F - P).abs().sum(), N_("you forgot to square the differences and the ½.")),
        (lambda F, P: 0.5 * (F - P).sum() ** 2, N_(
            "you squared the sum instead of summing the squares: square each difference first, "
            "then add them up.")),
        (lambda F, P: 0.5 * _SS(F, P).sqrt(), N_(
            "you took the norm ‖F − P‖ (a square root); the loss uses its square: "
            "½ ‖F − P‖² = ½ Σ (F − P)².")),
        (lambda F, P: _SS(F, P).sqrt(), N_("‖F − P‖ is a square root: the loss is ½ Σ (F − P)².")),
        (lambda F, P: 0.25 * _SS(F, P),
         N_("the factor is ½, not ¼ (¼ belongs to the style loss).")),
    ],
    "gram_matrix": [
        (lambda F: _G(F) / F[0, 0].numel(), N_(
            "you divided by M = H·W = {m} (a mean over positions, as several tutorials do). The "
            "paper's Gram matrix is the plain sum G_ij = Σ_k F_ik F_jk; its normalisation lives "
            "in the style loss E_l.")),
        (lambda F: _G(F) / F.numel(), N_(
            "you divided by N·M = {nm} (the PyTorch tutorial's normalisation). The paper's Gram "
            "matrix is un-normalised: G = F Fᵀ.")),
        (lambda F: _G(F) / F.shape[1],
         N_("you divided by N = {n}; the paper's G = F Fᵀ is not divided.")),
        (lambda F: F.reshape(-1, F.shape[1]).T @ F.reshape(-1, F.shape[1]), N_(
            "right shape, wrong values: F.reshape(-1, N) (or reshape(M, N)) mixes channels and "
            "positions. Keep the channel first: F.reshape(N, -1), then F @ F.T.")),
    ],
    "style_layer_loss": [
        (lambda F, A: -style_layer_loss(F, A),
         N_("the sign is wrong: E_l is a sum of squares, ≥ 0.")),
        (_E(lambda N, H, W, M: N**2 * M**2), N_("you forgot the 4: E_l = Σ (G − A)² / (4 N² M²).")),
        (_E(lambda N, H, W, M: 2 * N**2 * M**2),
         N_("the factor is ¼, not ½: E_l = Σ (G − A)² / (4 N² M²).")),
        (_E(lambda N, H, W, M: 4 * N * M**2),
         N_("you used N instead of N² (N = {n}): the denominator is 4 N² M².")),
        (_E(lambda N, H, W, M: 4 * N**2 * M),
         N_("you used M instead of M² (M = {m}): the denominator is 4 N² M².")),
        (_E(lambda N, H, W, M: 4 * N * M),
         N_("neither N nor M is squared: the denominator is 4 N² M².")),
        (_E(lambda N, H, W, M: 4 * N**2 * H**2), N_(
            "wrong M: you used the height H = {h}. M is the number of positions in a map, "
            "M = H·W = {m}.")),
        (_E(lambda N, H, W, M: 4 * N**2 * W**2), N_(
            "wrong M: you used the width W = {w}. M is the number of positions in a map, "
            "M = H·W = {m}.")),
        (_E(lambda N, H, W, M: 4 * N**2 * (H + W) ** 2),
         N_("wrong M: M = H·W = {m} (a product, the number of positions), not H + W.")),
        (_E(lambda N, H, W, M: 4 * N**4 * M**2), N_(
            "you used the mean over the N² = {nn} entries of G − A instead of the sum, on top of "
            "dividing by 4 N² M²: use .sum().")),
        (_E(lambda N, H, W, M: N**2), N_(
            "you used the mean of (G − A)² (like MSELoss) and no 1/(4 N² M²): the paper sums the "
            "squares and divides by 4 N² M².")),
        (_E(lambda N, H, W, M: N**4 * M**2), N_(
            "that is the PyTorch tutorial's normalisation, MSE(G/(N·M), A/(N·M)). The paper's "
            "E_l is Σ (G − A)² / (4 N² M²), with un-normalised G and A.")),
        (_E(lambda N, H, W, M: 1),
         N_("you forgot the normalisation: E_l = Σ (G − A)² / (4 N² M²).")),
        (_E(lambda N, H, W, M: 4 * N**2 * M**2, lambda G, A: (G - A).abs().sum()),
         N_("you forgot to square the differences: Σ (G − A)².")),
        (_E(lambda N, H, W, M: 4 * N**2 * M**2, lambda G, A: (G - A).sum() ** 2),
         N_("you squared the sum instead of summing the squares.")),
        (_E(lambda N, H, W, M: 4 * N**2 * M**2, G=lambda F: _G(F) / F[0, 0].numel()), N_(
            "your G is divided by M but A is not: compute G = F Fᵀ un-normalised, exactly like "
            "A.")),
    ],
}
#: The message when no typical mistake matches: {value} is the learner's answer (G[0, 0] for a
#: Gram matrix), {right} the right one, {hint} the first hint.
OTHERWISE = {
    "content_loss": N_("you return {value:.6g}, but ½ Σ (F − P)² is {right:.6g} for these test "
                       "activations. Hint: {hint}"),
    "gram_matrix": N_("right shape ({n} × {n}), wrong values: G[0, 0] should be Σ_k F_0k² = "
                      "{right:.6g}, yours is {value:.6g}. Hint: {hint}"),
    "style_layer_loss": N_("you return {value:.6g}, but Σ (G − A)² / (4 N² M²) is {right:.6g} "
                           "here (N = {n}, M = {m}). Hint: {hint}"),
}
CORRECT = {
    "content_loss": N_("your function computes ½ Σ (F − P)² for activations of any shape, and "
                       "autograd can differentiate it (∂L/∂F = F − P)."),
    "gram_matrix": N_("your Gram matrix is F Fᵀ, N × N for maps of any size, and "
                      "differentiable."),
    "style_layer_loss": N_("your E_l is Σ (G − A)² / (4 N² M²) with N and M read from the "
                           "layer, and autograd can differentiate it."),
}
# fmt: on


# --------------------------------------------------------------------------- the checks


def check_content_loss(fn: Callable[[torch.Tensor, torch.Tensor], Any]) -> Feedback:
    """Check ``fn(F, P)`` (activations [1, N, H, W]) against L_content = ½ Σ_ij (F_ij − P_ij)²
    (Eq. 1, ``nst.content_loss``). Lesson 02."""
    name, checked = "content_loss", None
    for seed, shape in enumerate(SHAPES):
        F, P = _features(shape, seed), _features(shape, seed + 10, grad=False)
        value = _call(name, fn, F, P)
        if isinstance(value, Feedback):
            return value
        form = _one_number(name, value, F.shape)
        if (problem := _judge(name, value, content_loss(F, P), (F, P), checked, form)) is not None:
            return problem
        checked = shape
    return Feedback(name, "correct", _(CORRECT[name]))


def check_gram_matrix(fn: Callable[[torch.Tensor], Any]) -> Feedback:
    """Check ``fn(F)`` (F [1, N, H, W]) against the un-normalised G = F Fᵀ, G_ij = Σ_k F_ik F_jk
    (Eq. 3, ``nst.gram_matrix``); [N, N] and [1, N, N] are both fine. Lesson 03."""
    name, checked = "gram_matrix", None
    for seed, shape in enumerate(SHAPES):
        F = _features(shape, seed + 20)
        value = _call(name, fn, F)
        if isinstance(value, Feedback):
            return value
        if value.dim() == 3 and value.shape[0] == 1:
            value = value[0]
        form = _gram_form(name, value, shape)
        if (problem := _judge(name, value, gram_matrix(F)[0], (F,), checked, form)) is not None:
            return problem
        checked = shape
    return Feedback(name, "correct", _(CORRECT[name]))


def check_style_layer_loss(fn: Callable[[torch.Tensor, torch.Tensor], Any]) -> Feedback:
    """Check ``fn(F, A)`` (F [1, N, H, W], the style image's Gram A [N, N]) against
    E_l = 1/(4 N² M²) Σ_ij (G_ij − A_ij)² (Eq. 4, ``nst.style_layer_loss``). Lesson 03."""
    name, checked = "style_layer_loss", None
    for seed, (b, n, h, w) in enumerate(SHAPES):
        F = _features((b, n, h, w), seed + 30)
        A = gram_matrix(_features((b, n, h + 1, w + 2), seed + 40, grad=False))[0]  # other size
        value = _call(name, fn, F, A)
        if isinstance(value, Feedback):
            return value
        form = _one_number(name, value, A.shape)
        right = style_layer_loss(F, A)
        if (problem := _judge(name, value, right, (F, A), checked, form)) is not None:
            return problem
        checked = (b, n, h, w)
    return Feedback(name, "correct", _(CORRECT[name]))


# --------------------------------------------------------------------------- lessons 04 to 07


def _objective(size: int = 32) -> tuple[torch.nn.Module, Any, torch.Tensor]:
    """A small network, objective and image to check an evaluation on (random weights: only the
    arithmetic is checked)."""
    import warnings

    from ..transfer import StyleTransfer, default_vgg
    from ..vgg import resolve_device

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vgg = default_vgg("random", "max", resolve_device("cpu"))
    g = torch.Generator().manual_seed(7)
    content, style = (
        torch.rand(1, 3, size, size, generator=g),
        torch.rand(1, 3, size, size, generator=g),
    )
    objective = StyleTransfer(content, style, vgg=vgg, steps=1, beta=1e3).objective
    return vgg, objective, (content + torch.rand(content.shape, generator=g)) / 2  # not P itself


#: Wrong evaluations (L_total and ∂L/∂x, as a learner may compute them), tried in order.
EVALUATE_MISTAKES = [
    ("no_backward", N_("x.grad is empty: call L_total.backward() so the optimiser gets "
                       "∂L_total/∂x.")),
    ("accumulates", N_("the gradient grows from one call to the next: set x.grad = None before "
                       "backward(), or every evaluation adds to the last one's gradient.")),
    ("swapped", N_("α and β are swapped: L_total = α L_content + β L_style.")),
    ("no_weights", N_("the style layers' weights w_l are missing: L_style = Σ_l w_l E_l "
                      "(objective.style_weights).")),
    ("no_beta", N_("β is missing: L_total = α L_content + β L_style.")),
]  # fmt: skip


def check_evaluate(fn: Callable[..., Any]) -> Feedback:
    """Check ``fn(x, vgg, objective)``, the learner's evaluation (forward, L_total = α L_content +
    β Σ_l w_l E_l, backward; returns L_total), against ``step.evaluate`` on a small image: the
    value and the gradient it leaves in ``x.grad``, called twice. Lesson 04."""
    from ..step import evaluate

    name = "evaluate"
    if not callable(fn):
        return _call(name, fn)  # type: ignore[return-value]
    vgg, objective, image = _objective()
    x, y = image.clone().requires_grad_(True), image.clone().requires_grad_(True)
    right = evaluate(y, vgg, objective)
    try:
        values = [fn(x, vgg, objective) for _ in range(2)]
    except Exception as exc:
        message = _("your function raised {error}: {message}. Hint: {hint}")
        return Feedback(
            name, "wrong", message.format(error=type(exc).__name__, message=exc, hint=hint(name))
        )
    if values[0] is None or values[0] is Ellipsis:
        return _call(name, lambda: None)  # type: ignore[return-value]
    try:
        value = float(torch.as_tensor(values[0]).detach())
    except (TypeError, ValueError, RuntimeError):  # a string, several numbers, ...
        message = _("your function returned a {kind}; return L_total, a tensor of one number")
        return Feedback(name, "wrong", message.format(kind=type(values[0]).__name__))
    a, b = objective.alpha, objective.beta
    wrong = {
        "no_backward": x.grad is None,
        "accumulates": x.grad is not None and torch.allclose(x.grad, 2 * y.grad, rtol=1e-3),
        "swapped": _near(value, b * right.content + a * right.style),
        "no_weights": _near(value, a * right.content + b * sum(right.style_layers.values())),
        "no_beta": _near(value, a * right.content + right.style),
    }
    for mistake, message in EVALUATE_MISTAKES:
        if wrong[mistake]:
            return Feedback(name, "wrong", _(message))
    if not _near(value, right.total) or not torch.allclose(x.grad, y.grad, rtol=1e-3, atol=1e-9):
        message = _("your L_total is {value:.6g}, the step's is {right:.6g}. Hint: {hint}")
        return Feedback(
            name, "wrong", message.format(value=value, right=right.total, hint=hint(name))
        )
    return Feedback(name, "correct", _("your evaluation is the step's: the same L_total and "
                                       "the same gradient, call after call."))  # fmt: skip


def _near(value: float, right: float) -> bool:
    return abs(value - right) <= 1e-4 * abs(right) + 1e-12


#: Multiple-choice predictions: the right answer, and why each wrong one is wrong.
CHOICES = {
    "ratio": ("a", {
        "b": N_("no: a smaller α/β weights the style more, so the result looks less like the "
                "photograph, not more."),
        "c": N_("no: only the ratio α/β shapes the result, and it changes here by ×100 each "
                "time; the results differ."),
    }),
}  # fmt: skip


def check_ratio(answer: str) -> Feedback:
    """Check a prediction, made before running: of three runs with α/β = 1e-11, 1e-9 and 1e-7,
    which keeps the most of the photograph? (a) 1e-7, (b) 1e-11, (c) all look alike. Lesson 04."""
    right, wrong = CHOICES["ratio"]
    answer = str(answer).strip().lower().strip("()")
    if answer == right:
        message = _("yes: α weights the content, so the largest α/β keeps the most of the "
                    "photograph. Now run it.")  # fmt: skip
        return Feedback("ratio", "correct", message)
    message = _(wrong[answer]) if answer in wrong else _("answer 'a', 'b' or 'c'.")
    return Feedback("ratio", "wrong" if answer in wrong else "unfinished", message)


def check_settled(evaluation: Any, result: Any) -> Feedback:
    """Check the learner's answer to "after which evaluation does the image stop changing
    visibly?" against ``convergence.visible_change(result)``: the first snapshot after which
    every snapshot is within 2 grey levels (mean |Δ| on 0–255) of the last one. Lesson 05."""
    from .convergence import mean_abs_difference, visible_change

    report = visible_change(result)
    if evaluation is Ellipsis or (evaluation is None and report.settled_at is not None):
        return Feedback("settled", "unfinished", _("compute the evaluation and pass it."))
    if report.settled_at is None:  # no snapshot qualifies: the answer is None
        message = _("this run's image changes visibly up to its last snapshot: no evaluation "
                    "qualifies, the answer is None (a longer run settles).")  # fmt: skip
        return Feedback("settled", "correct" if evaluation is None else "wrong", message)
    shots = result.snapshots
    if evaluation not in shots:
        message = _("{k} is not one of the snapshots' evaluations: {marks}.")
        return Feedback("settled", "wrong", message.format(k=evaluation, marks=sorted(shots)))
    if evaluation == report.settled_at:
        message = _("right: from evaluation {k} on the image is within 2 grey levels of the last.")
        return Feedback("settled", "correct", message.format(k=evaluation))
    last = shots[max(shots)]
    later = max(mean_abs_difference(shots[k], last) for k in shots if k >= evaluation)
    if later >= report.threshold:
        message = _("not yet: from evaluation {k} on, a snapshot still differs from the last by "
                    "{d:.1f} grey levels (more than 2).")  # fmt: skip
        return Feedback("settled", "wrong", message.format(k=evaluation, d=later))
    message = _("later than needed: the image was already within 2 grey levels of the last at "
                "an earlier snapshot. Take the first such one.")  # fmt: skip
    return Feedback("settled", "wrong", message)


def check_nonconvex(a: torch.Tensor, b: torch.Tensor, losses: Any) -> Feedback:
    """Check a segment from image ``a`` to image ``b`` that breaks midpoint convexity for the
    loss ``losses`` (a ``landscape.LossTerms``): L((a + b)/2) > (L(a) + L(b))/2. Lesson 06."""
    if a is None or b is None or a is Ellipsis or b is Ellipsis:
        return Feedback("nonconvex", "unfinished", _("choose the two end points a and b."))
    shapes = [list(getattr(x, "shape", [])) for x in (a, b)]  # [1, 3, H, W] each, and the loss
    if (
        shapes[0] != shapes[1]
        or shapes[0][:2] != [1, 3]
        or len(shapes[0]) != 4
        or not callable(losses)
    ):
        message = _("give two images of one shape [1, 3, H, W] and the lesson's loss: {a}, {b}.")
        return Feedback("nonconvex", "wrong", message.format(a=shapes[0], b=shapes[1]))
    if torch.equal(a, b):
        return Feedback("nonconvex", "wrong", _("a and b are the same image: a segment needs "
                                                "two different end points."))  # fmt: skip
    ends = losses(torch.cat([a, b, (a + b) / 2]))["total"].tolist()
    middle, chord = ends[2], (ends[0] + ends[1]) / 2
    values = {"mid": middle, "chord": chord, "a": ends[0], "b": ends[1]}
    if middle > chord:
        message = _("L(middle) = {mid:.4g} > (L(a) + L(b))/2 = {chord:.4g}: on this segment the "
                    "loss is not convex, so the paper's claim fails here.")  # fmt: skip
        return Feedback("nonconvex", "correct", message.format(**values))
    message = _("L(middle) = {mid:.4g} ≤ (L(a) + L(b))/2 = {chord:.4g}: no violation on this "
                "segment. Try end points whose features differ a lot but whose mix is not a "
                "natural image (e.g. the content and its mirror image).")  # fmt: skip
    return Feedback("nonconvex", "wrong", message.format(**values))


#: Wrong ways to keep the content's colours: (a function of (stylised, content), message).
def _yiq_mix(y_from: str, iq_from: str, luminance: Callable | None = None) -> Callable:
    from ..extensions.colour import rgb_to_yiq, yiq_to_rgb

    def mix(stylised: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        src = {"stylised": stylised, "content": content}
        y = rgb_to_yiq(src[y_from])[:, :1] if luminance is None else luminance(src[y_from])
        return yiq_to_rgb(torch.cat([y, rgb_to_yiq(src[iq_from])[:, 1:]], dim=1))

    return mix


def check_keep_colours(fn: Callable[[torch.Tensor, torch.Tensor], Any]) -> Feedback:
    """Check ``fn(stylised, content)`` (RGB [1, 3, H, W]): the stylised image's luminance Y with
    the content's chrominance I, Q, back in RGB (Gatys et al. 2017, Sec. 5.1; ``yiq_to_rgb``,
    ``rgb_to_yiq``). Lesson 07."""
    name = "keep_colours"
    g = torch.Generator().manual_seed(3)
    stylised, content = torch.rand(1, 3, 5, 6, generator=g), torch.rand(1, 3, 5, 6, generator=g)
    value = _call(name, fn, stylised, content)
    if isinstance(value, Feedback):
        return value
    mistakes = [
        (_yiq_mix("content", "stylised"), N_("Y and IQ are swapped: keep the stylised image's "
                                             "luminance Y and the content's colours I, Q.")),
        (_yiq_mix("stylised", "content", lambda x: x.mean(1, keepdim=True)),
         N_("(R + G + B)/3 is not the luminance: Y = 0.299 R + 0.587 G + 0.114 B (rgb_to_yiq).")),
        (lambda s, c: _yiq_mix("stylised", "content")(s, c).clamp(0, 1), None),  # also right
    ]  # fmt: skip
    right = _yiq_mix("stylised", "content")(stylised, content)
    if value.shape == right.shape and torch.allclose(value.double(), right.double(), atol=1e-5):
        return Feedback(name, "correct", _("the stylised image's luminance with the content's "
                                           "colours: luminance-only transfer."))  # fmt: skip
    for mistake, message in mistakes:
        if value.shape == right.shape and torch.allclose(
            value.double(), mistake(stylised, content).double(), atol=1e-5
        ):
            if message is None:
                return Feedback(name, "correct", _("right (and clamped to [0, 1])."))
            return Feedback(name, "wrong", _(message))
    return Feedback(name, "wrong", _("not the stylised Y with the content's I and Q. Hint: "
                                     "{hint}").format(hint=hint(name)))  # fmt: skip


def _features(shape: tuple[int, ...], seed: int, grad: bool = True) -> torch.Tensor:
    """Post-ReLU-like test activations (≥ 0, many zeros), float64 for exact comparisons."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float64).clamp_min(0).requires_grad_(grad)


def _call(name: str, fn: Any, *args: torch.Tensor) -> torch.Tensor | Feedback:
    """``fn`` on copies of ``args``, as a tensor, or the Feedback saying why there is none."""
    if not callable(fn):
        message = _("expected a function, got {kind}").format(kind=type(fn).__name__)
        return Feedback(name, "wrong", message)
    try:
        out = fn(*[a.detach().clone().requires_grad_(a.requires_grad) for a in args])
    except NotImplementedError:
        out = None
    except Exception as exc:  # the learner's code may raise anything: report it, never crash
        message = _("your function raised {error}: {message}. Hint: {hint}")
        return Feedback(name, "wrong", message.format(error=type(exc).__name__, message=exc,
                                                      hint=hint(name)))  # fmt: skip
    if out is None or out is Ellipsis:
        message = _("{stub} returned None: it is still the stub. Replace `...` by your code and "
                    "`return` the result. Stuck? exercises.show_hint({exercise!r}).")  # fmt: skip
        return Feedback(name, "unfinished", message.format(stub=f"my_{name}", exercise=name))
    try:  # a tensor, a Python number, a numpy array …
        out = out if isinstance(out, torch.Tensor) else torch.as_tensor(out)
    except (TypeError, ValueError, RuntimeError):
        message = _("your function returned a {kind}; return a tensor")
        return Feedback(name, "wrong", message.format(kind=type(out).__name__))
    if not out.is_floating_point():  # uint8 pixels, whole numbers: the formulas need floats
        message = _("your function returned a tensor of {dtype}; return floats (e.g. float32)")
        return Feedback(name, "wrong", message.format(dtype=str(out.dtype).removeprefix("torch.")))
    return out


def _close(value: torch.Tensor, right: torch.Tensor) -> bool:
    if value.numel() != right.numel():
        return False
    value, right = value.detach().double().reshape(right.shape), right.detach().double()
    return bool(torch.allclose(value, right, rtol=1e-4, atol=1e-10 * right.abs().max().item()))


def _judge(
    name: str, value: torch.Tensor, right: torch.Tensor, args: tuple, checked: Any, form: Any
) -> Feedback | None:
    """None when ``value`` is ``right`` and differentiable, else the most specific Feedback: a
    size hard-coded (right for the ``checked`` shape), the wrong ``form`` (a Feedback or None),
    a typical mistake (``MISTAKES``), or ``OTHERWISE``."""
    if _close(value, right):
        return None if value.requires_grad else Feedback(name, "wrong", _(
            "the value is right, but the result is cut off from autograd (a Python float, "
            ".item(), .detach() or numpy): return a tensor so the optimiser can compute the "
            "gradient with respect to the image."))  # fmt: skip
    _b, n, h, w = args[0].shape
    if checked:
        message = _("right for activations of shape {checked} but not for {shape}: did you "
                    "hard-code a size? Read N, H and W from F.shape.")  # fmt: skip
        return Feedback(name, "wrong", message.format(checked=list(checked), shape=[1, n, h, w]))
    if form is not None:
        return form
    sizes = {"n": n, "h": h, "w": w, "m": h * w, "nm": n * h * w, "nn": n * n}
    with torch.no_grad():
        for mistake, message in MISTAKES[name]:
            if _close(value, mistake(*args)):
                return Feedback(name, "wrong", _(message).format(**sizes))
    first = lambda t: t.detach().double().flatten()[0].item()  # noqa: E731  (G[0, 0] for a Gram)
    return Feedback(name, "wrong", _(OTHERWISE[name]).format(
        value=first(value), right=first(right), hint=hint(name), **sizes))  # fmt: skip


def _one_number(name: str, value: torch.Tensor, elementwise: torch.Size) -> Feedback | None:
    """Feedback when a loss is not a single number (None when it is)."""
    if value.numel() == 1:
        return None
    why = (_("that is one value per entry: add them all up with .sum() to get one number")
           if value.shape == elementwise else
           _("sum over every entry (all dimensions), not along one axis"))  # fmt: skip
    message = _("a loss is a single number, but yours has shape {shape}: {why}.")
    return Feedback(name, "wrong", message.format(shape=list(value.shape), why=why))


def _gram_form(name: str, value: torch.Tensor, shape: tuple[int, ...]) -> Feedback | None:
    """Feedback when a Gram matrix is not a symmetric N × N, saying what its shape reveals."""
    _b, n, h, w = shape
    m, got = h * w, tuple(value.shape)
    if got == (n, n) and torch.allclose(value.double(), value.double().T):
        return None
    if got == (n, n):
        text = _("a Gram matrix is symmetric (G_ij = Σ_k F_ik F_jk = G_ji), and yours is not: "
                 "check that you multiply F by its own transpose, G = F Fᵀ.")  # fmt: skip
    elif not got:
        text = _("you returned a single number; the Gram matrix is N × N ({n} × {n} here): one "
                 "entry per pair of feature maps. Hint: {hint}")  # fmt: skip
    elif got == (m, m):
        text = _("yours is {m} × {m} = M × M: you computed Fᵀ F, which compares positions. The "
                 "Gram matrix compares feature maps: G = F Fᵀ with F of shape N × M ({n} × {m}), "
                 "giving N × N = {n} × {n}.")  # fmt: skip
    elif got[-3:] in ((n, h, h), (n, w, w)):
        text = _("yours has shape {shape}: you multiplied the [1, N, H, W] tensor directly, "
                 "which multiplies rows and columns inside each map. First flatten each map: "
                 "F.reshape(N, -1) is N × M.")  # fmt: skip
    elif len(got) == 2 and got[0] == got[1]:
        text = _("yours is {a} × {a}, but this layer has N = {n} feature maps, so G must be "
                 "{n} × {n}. Did you reshape with the wrong dimension?")  # fmt: skip
    else:
        text = _("the Gram matrix must be N × N = {n} × {n}; yours has shape {shape}.")
    fields = {"n": n, "m": m, "a": got[0] if got else 0, "shape": list(got), "hint": hint(name)}
    return Feedback(name, "wrong", text.format(**fields))


# --------------------------------------------------------------------------- hints, solutions

# fmt: off
#: Three hints per exercise, each saying more: the idea, part of the line, the line.
HINTS = {
    "content_loss": (
        N_("L_content = ½ Σ_ij (F_ij − P_ij)²: subtract, square every entry, add them all up (a "
           "sum, not a mean), then halve. Return a tensor, not a Python float."),
        N_("`return 0.5 * (…).sum()`, where … squares the difference of F and P, entry by entry"),
        "return 0.5 * ((F - P) ** 2).sum()",
    ),
    "gram_matrix": (
        N_("F arrives as [1, N, H, W]: reshape it into the paper's N × M matrix (N = F.shape[1], "
           "M = H·W), then multiply it by its own transpose, so that G is N × N. No division."),
        N_("`F = F.reshape(F.shape[1], -1)`, then `return F @ …`, where … makes the product "
           "N × N"),
        "F = F.reshape(F.shape[1], -1); return F @ F.T",
    ),
    "style_layer_loss": (
        N_("Read N and M from F ([1, N, H, W]: M = H·W), compute G = F Fᵀ as in the previous "
           "exercise, then add up the squared differences to A and divide by 4 N² M²."),
        N_("`_, N, H, W = F.shape; M = H * W; G = F.reshape(N, M) @ F.reshape(N, M).T`, then "
           "`return ((G - A) ** 2).sum() / …`, where … is the paper's normalisation"),
        "return ((G - A) ** 2).sum() / (4 * N**2 * M**2)",
    ),
    "evaluate": (
        N_("Four steps, as step.evaluate: the activations F = vgg(x, layers); L_content and "
           "L_style = Σ_l w_l E_l from the targets in objective; L_total = α L_content + β "
           "L_style; then x.grad = None and L_total.backward()."),
        N_("`L_total = objective.alpha * L_content + …`, then `x.grad = None` and "
           "`L_total.backward()`"),
        "L_total = objective.alpha * L_content + objective.beta * L_style",
    ),
    "ratio": (
        N_("α multiplies the content loss, β the style loss: which ratio puts the most weight on "
           "the content?"),
        N_("the run with the … α/β keeps the most of the photograph"),
        "prediction = 'a'",
    ),
    "settled": (
        N_("Compare every snapshot with the last one (mean |Δ| × 255); the answer is the first "
           "snapshot from which on all of them differ by less than 2."),
        N_("`d = {k: (result.snapshots[k] - last).abs().mean().item() * 255 …}`, then the first k "
           "from which on every d is below 2"),
        "settled = min((k for k in marks[:-1] if all(d[j] < 2 for j in marks if j >= k)), "
        "default=None)",
    ),
    "nonconvex": (
        N_("Midpoint convexity says L((a + b)/2) ≤ (L(a) + L(b))/2 for every a, b. Find two "
           "very different images whose average is worse than both: a double exposure."),
        N_("try a = the content image and b = its mirror image: `torch.flip(…, dims=[-1])`"),
        "a, b = content, torch.flip(content, dims=[-1])",
    ),
    "keep_colours": (
        N_("Convert both images to YIQ (rgb_to_yiq), take channel 0 (Y) of the stylised one and "
           "channels 1–2 (I, Q) of the content, join them and convert back (yiq_to_rgb)."),
        N_("`y = rgb_to_yiq(stylised)[:, :1]`, `iq = …`, then join them along dim=1"),
        "return yiq_to_rgb(torch.cat([y, iq], dim=1))",
    ),
}
#: The reference solutions: each formula in plain PyTorch, named as the notebooks' stubs.
SOLUTIONS = {
    "content_loss": (
        "def my_content_loss(F, P):\n"
        "    return 0.5 * ((F - P) ** 2).sum()\n"),
    "gram_matrix": (
        "def my_gram_matrix(F):\n"
        "    F = F.reshape(F.shape[1], -1)  # N × M\n"
        "    return F @ F.T\n"),
    "style_layer_loss": (
        "def my_style_layer_loss(F, A):\n"
        "    _, N, H, W = F.shape\n"
        "    M = H * W\n"
        "    G = F.reshape(N, M) @ F.reshape(N, M).T\n"
        "    return ((G - A) ** 2).sum() / (4 * N**2 * M**2)\n"),
    "evaluate": (
        "def my_evaluate(x, vgg, objective):\n"
        "    P, A = objective.content_targets, objective.style_targets\n"
        "    F = vgg(x, [*P, *A])\n"
        "    L_content = sum(nst.content_loss(F[l], P[l]) for l in P)\n"
        "    w = objective.style_weights\n"
        "    L_style = sum(w[l] * nst.style_layer_loss(F[l], A[l]) for l in A)\n"
        "    L_total = objective.alpha * L_content + objective.beta * L_style\n"
        "    x.grad = None\n"
        "    L_total.backward()\n"
        "    return L_total\n"),
    "ratio": "prediction = 'a'\n",
    "settled": (
        "marks = sorted(result.snapshots)\n"
        "last = result.snapshots[marks[-1]]\n"
        "d = {k: (result.snapshots[k] - last).abs().mean().item() * 255 for k in marks}\n"
        "settled = min((k for k in marks[:-1] if all(d[j] < 2 for j in marks if j >= k)), "
        "default=None)\n"),
    "nonconvex": "a, b = content, torch.flip(content, dims=[-1])  # the photo and its mirror\n",
    "keep_colours": (
        "def my_keep_colours(stylised, content):\n"
        "    y = rgb_to_yiq(stylised)[:, :1]  # the stylised luminance\n"
        "    iq = rgb_to_yiq(content)[:, 1:]  # the content's colours\n"
        "    return yiq_to_rgb(torch.cat([y, iq], dim=1))\n"),
}
# fmt: on


def hint(exercise: str, level: int = 1) -> str:
    """Hint ``level`` for ``exercise``: 1 the idea, 2 part of the line, 3 the line."""
    if exercise not in EXERCISES or level not in (1, 2, 3):
        raise ParameterError(
            f"no hint {level!r} for {exercise!r}: levels 1, 2, 3 of {', '.join(EXERCISES)}"
        )
    return _(HINTS[exercise][level - 1])


def show_hint(exercise: str, level: int = 1) -> None:
    """Display hint ``level`` (1–3) of ``exercise``, and how to ask for the next one."""
    text = hint(exercise, level)
    heading = _("Hint {level} of 3 ({exercise}).").format(level=level, exercise=exercise)
    more = _("More: exercises.show_hint({exercise!r}, {level})") if level < 3 else ""
    more = more.format(exercise=exercise, level=level + 1)
    _show(
        f"{heading} {text}\n{more}",
        f"**{heading}** {f'`{text}`' if level == 3 else text}  \n{more}",
    )


def show_solution(exercise: str) -> None:
    """Display the reference solution of ``exercise`` (only when the learner asks for it)."""
    if exercise not in EXERCISES:
        raise ParameterError(f"no exercise {exercise!r}; choose one of {', '.join(EXERCISES)}")
    heading = _("Solution ({exercise}): the formula in plain PyTorch.").format(exercise=exercise)
    source = SOLUTIONS[exercise]
    _show(f"{heading}\n{source}", f"**{heading}**\n\n```python\n{source}```")


def _show(text: str, markdown: str) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        print(text)
        return
    if get_ipython() is None:
        print(text)
    else:
        display(Markdown(markdown))
