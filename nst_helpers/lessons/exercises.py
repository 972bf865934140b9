"""Exercises of lessons 02 and 03: check functions with specific feedback, hints and solutions.

Each exercise is a spec (``Exercise``): the learner's stub name, a hint, test inputs, the typical
mistakes, and the reference answer, which is the package's own formula function
(``nst.content_loss``, ``nst.gram_matrix``, ``nst.style_layer_loss``; Gatys et al. 2016, Eqs. 1, 3
and 4). One loop (``check``) runs every spec; the solution shown is the package function's own
source (``inspect.getsource``), named as the stub. A check never raises: an unfinished stub, an
exception in the learner's code or a wrong answer all become a ``Feedback`` that says what is
wrong and why (wrong shape, a missing ½ or ¼, the wrong M, N instead of N², FᵀF instead of F Fᵀ, a
mean instead of a sum, a detached result…). Put the check on the last line of a cell to see its
feedback.

>>> from nst_helpers import exercises
>>> exercises.check_content_loss(my_content_loss)   # feedback
>>> exercises.show_hint("content_loss")             # a nudge
>>> exercises.show_solution("content_loss")         # the answer, only when asked
"""

from __future__ import annotations

import ast
import html
import inspect
import numbers
import textwrap
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import ParameterError
from ..i18n import N_, _
from ..losses import content_loss, gram_matrix, style_layer_loss

#: Exercise names, in lesson order.
EXERCISES = ("content_loss", "gram_matrix", "style_layer_loss")

_STUB_NAMES = {
    "content_loss": "my_content_loss",
    "gram_matrix": "my_gram_matrix",
    "style_layer_loss": "my_style_layer_loss",
}

#: The hints, in English (``hint()`` gives them in the lessons' language).
HINTS = {
    "content_loss": N_(
        "L_content = ½ Σ_ij (F_ij − P_ij)²: subtract, square every entry, add them all up "
        "(.sum(), not .mean()), and multiply by 0.5. Return a tensor, not a Python float."
    ),
    "gram_matrix": N_(
        "F arrives as [1, N, H, W]. Make it the paper's N × M matrix with "
        "F.reshape(N, -1) (N = F.shape[1], M = H·W), then G = F @ F.T is N × N. No division."
    ),
    "style_layer_loss": N_(
        "Read N and M from F ([1, N, H, W]: M = H·W), compute G = F Fᵀ as in the previous "
        "exercise, then return ((G − A)²).sum() / (4 · N² · M²)."
    ),
}


@dataclass(frozen=True)
class Feedback:
    """The result of a check: ``status`` is "correct", "unfinished" or "wrong".

    ``bool(feedback)`` is True only when correct. In Jupyter it renders as a coloured box.
    """

    exercise: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        """True when the learner's function computes the paper's formula."""
        return self.status == "correct"

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        mark = {
            "correct": _("✔ correct"),
            "unfinished": _("… not done yet"),
            "wrong": _("✘ not yet right"),
        }
        return f"[{self.exercise}] {mark[self.status]}: {self.message}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colour = {"correct": "#1a7f37", "unfinished": "#9a6700", "wrong": "#cf222e"}[self.status]
        title = {
            "correct": _("Correct"),
            "unfinished": _("Not done yet"),
            "wrong": _("Not yet right"),
        }
        return (
            f"<div style='border-left:4px solid {colour};padding:4px 10px;margin:4px 0'>"
            f"<b style='color:{colour}'>{title[self.status]}</b> "
            f"<code>{html.escape(self.exercise)}</code><br>{html.escape(self.message)}</div>"
        )


def _unfinished(exercise: str) -> Feedback:
    stub = _STUB_NAMES[exercise]
    return Feedback(
        exercise,
        "unfinished",
        _(
            "{stub} returned None: it is still the stub. Replace `...` by your code and "
            "`return` the result. Stuck? exercises.show_hint({exercise!r})."
        ).format(stub=stub, exercise=exercise),
    )


def _call(exercise: str, fn: Callable[..., Any], *args: torch.Tensor) -> Any:
    """Call the learner's function on copies of ``args``; a Feedback instead of an exception."""
    if not callable(fn):
        message = _("expected a function, got a {kind}").format(kind=type(fn).__name__)
        return Feedback(exercise, "wrong", message)
    try:
        out = fn(*[a.detach().clone().requires_grad_(a.requires_grad) for a in args])
    except NotImplementedError:
        return _unfinished(exercise)
    except Exception as exc:  # the learner's code may raise anything; report it, never crash
        return Feedback(
            exercise,
            "wrong",
            _("your function raised {error}: {message}. Hint: {hint}").format(
                error=type(exc).__name__, message=exc, hint=hint(exercise)
            ),
        )
    if out is None or out is Ellipsis:
        return _unfinished(exercise)
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, numbers.Real) and not isinstance(out, bool):
        return float(out)
    try:  # numpy arrays and the like
        return torch.as_tensor(out)
    except (TypeError, ValueError, RuntimeError):
        message = _("your function returned a {kind}; return a tensor")
        return Feedback(exercise, "wrong", message.format(kind=type(out).__name__))


def _close(value: torch.Tensor, target: torch.Tensor) -> bool:
    value = value.detach().to(torch.float64).cpu()
    target = target.detach().to(torch.float64).cpu()
    if value.shape != target.shape:
        if value.numel() != target.numel():
            return False
        value = value.reshape(target.shape)
    return bool(torch.allclose(value, target, rtol=1e-4, atol=1e-10 * float(target.abs().max())))


def _first_match(value: torch.Tensor, candidates: list[tuple[torch.Tensor, str]]) -> str | None:
    for candidate, message in candidates:
        if _close(value, candidate):
            return message
    return None


def _features(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """Post-ReLU-like test activations (≥ 0, many zeros), float64 for exact comparisons."""
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=torch.float64)).clamp_min(0)


def _not_a_number(exercise: str, value: Any, shape_in: tuple[int, ...]) -> Feedback | None:
    """Feedback when a loss is not a single number (None if it is)."""
    if isinstance(value, float):
        return None
    if value.numel() == 1:
        return None
    shape = list(value.shape)
    if tuple(value.shape) == tuple(shape_in):
        why = (
            _("that is one value per entry: add them all up with .sum() to get one number")
            if exercise == "content_loss"
            else _("add the squared differences up with .sum() to get one number")
        )
    else:
        why = _("sum over every entry (all dimensions), not along one axis")
    message = _("a loss is a single number, but yours has shape {shape}: {why}.")
    return Feedback(exercise, "wrong", message.format(shape=shape, why=why))


def _detached(exercise: str, value: Any) -> Feedback | None:
    if isinstance(value, float) or not value.requires_grad:
        return Feedback(
            exercise,
            "wrong",
            _(
                "the value is right, but the result is cut off from autograd (a Python float, "
                ".item(), .detach() or numpy): return a tensor so the optimiser can compute "
                "the gradient with respect to the image."
            ),
        )
    return None


# --------------------------------------------------------------------------- the specs


@dataclass(frozen=True)
class Exercise:
    """One exercise: what the one ``check`` loop needs to test a learner's function.

    ``reference`` is the package's own formula function, the right answer and the solution shown.
    ``cases`` are (activation shape, seed): the second case catches hard-coded sizes.
    ``inputs(shape, seed)`` makes the learner's arguments (the first is F, requiring grad);
    ``expected(*inputs)`` is the reference's answer in the form the check compares;
    ``problem(value, shape, checked)`` a message when the value has the wrong form (else None);
    ``as_compared(value, shape)`` the value in that form; ``mistakes(inputs, right, shape)`` the
    typical wrong answers with their messages; ``otherwise(v, right, inputs, shape)`` the message
    when no mistake matches; ``hard_coded`` the message (with {checked} and {shape}) when the
    first case was right and the second is not; ``correct`` the message of a right answer (both
    in English, marked with ``N_``: ``check`` shows them in the lessons' language).
    """

    name: str
    reference: Callable[..., torch.Tensor]
    cases: tuple[tuple[tuple[int, int, int, int], int], ...]
    inputs: Callable[[tuple[int, ...], int], tuple[torch.Tensor, ...]]
    expected: Callable[..., torch.Tensor]
    problem: Callable[[Any, tuple[int, ...], tuple[int, ...] | None], str | None]
    as_compared: Callable[[Any, tuple[int, ...]], torch.Tensor]
    mistakes: Callable[..., list[tuple[torch.Tensor, str]]]
    otherwise: Callable[..., str]
    hard_coded: str
    correct: str


def check(exercise: str, fn: Callable[..., Any]) -> Feedback:
    """Check the learner's ``fn`` for ``exercise`` (one of ``EXERCISES``): the one loop."""
    spec = SPECS[_check_name(exercise)]
    checked = None
    for shape, seed in spec.cases:
        inputs = spec.inputs(shape, seed)
        value = _call(spec.name, fn, *inputs)
        if isinstance(value, Feedback):
            return value
        message = spec.problem(value, shape, checked)
        if message is not None:
            return Feedback(spec.name, "wrong", message)
        v = spec.as_compared(value, shape)
        right = spec.expected(*(t.detach() for t in inputs)).detach().to(torch.float64)
        if _close(v, right):
            problem = _detached(spec.name, value)
            if problem is not None:
                return problem
            checked = shape
            continue
        if checked is not None:
            text = _(spec.hard_coded).format(checked=list(checked), shape=list(shape))
            return Feedback(spec.name, "wrong", text)
        message = _first_match(v, spec.mistakes(inputs, right, shape))
        return Feedback(spec.name, "wrong", message or spec.otherwise(v, right, inputs, shape))
    return Feedback(spec.name, "correct", _(spec.correct))


def _a_number(value: Any) -> torch.Tensor:
    return torch.as_tensor(value, dtype=torch.float64).detach().reshape(())


def _not_a_number_message(name: str, value: Any, shape_in: tuple[int, ...]) -> str | None:
    feedback = _not_a_number(name, value, shape_in)
    return None if feedback is None else feedback.message


# --------------------------------------------------------------------------- content loss


def _content_mistakes(inputs, right, shape) -> list[tuple[torch.Tensor, str]]:
    F, P = inputs
    d = (F - P).detach()
    n_entries = d.numel()
    return [
        (-right, _("the sign is wrong: a loss of squares is ≥ 0; compute ½ Σ (F − P)².")),
        (2 * right, _("you forgot the ½: L_content = ½ Σ (F − P)².")),
        (
            right / n_entries,
            _(
                "you used the mean instead of the sum: .mean() divides by the number of "
                "entries ({n} here). The paper sums: ½ Σ (F − P)²."
            ).format(n=n_entries),
        ),
        (
            2 * right / n_entries,
            _(
                "you used the mean (like MSELoss) and forgot the ½: the paper's loss is "
                "½ Σ (F − P)², a sum over all entries, not a mean."
            ),
        ),
        (0.5 * d.abs().sum(), _("you forgot to square the differences: ½ Σ (F − P)².")),
        (d.abs().sum(), _("you forgot to square the differences and the ½.")),
        (
            0.5 * d.sum().pow(2),
            _(
                "you squared the sum instead of summing the squares: square each "
                "difference first, then add them up."
            ),
        ),
        (
            0.5 * d.pow(2).sum().sqrt(),
            _(
                "you took the norm ‖F − P‖ (a square root); the loss uses its square: "
                "½ ‖F − P‖² = ½ Σ (F − P)²."
            ),
        ),
        (d.pow(2).sum().sqrt(), _("‖F − P‖ is a square root: the loss is ½ Σ (F − P)².")),
        (0.25 * d.pow(2).sum(), _("the factor is ½, not ¼ (¼ belongs to the style loss).")),
    ]


CONTENT_LOSS = Exercise(
    name="content_loss",
    reference=content_loss,
    cases=(((1, 6, 3, 5), 1), ((1, 4, 7, 2), 2)),
    inputs=lambda shape, seed: (
        _features(shape, seed).requires_grad_(True),
        _features(shape, seed + 10),
    ),
    expected=content_loss,
    problem=lambda value, shape, _: _not_a_number_message("content_loss", value, shape),
    as_compared=lambda value, _: _a_number(value),
    mistakes=_content_mistakes,
    otherwise=lambda v, right, *rest: _(
        "you return {value:.6g}, but ½ Σ (F − P)² is {right:.6g} for these test activations. "
        "Hint: {hint}"
    ).format(value=float(v), right=float(right), hint=hint("content_loss")),
    hard_coded=N_(
        "right for activations of shape {checked} but not for {shape}: did you hard-code "
        "a size? Use F.shape where you need one."
    ),
    correct=N_(
        "your function computes ½ Σ (F − P)² for activations of any shape, and autograd can "
        "differentiate it (∂L/∂F = F − P)."
    ),
)


def check_content_loss(fn: Callable[[torch.Tensor, torch.Tensor], Any]) -> Feedback:
    """Check ``fn(F, P)`` against L_content = ½ Σ_ij (F_ij − P_ij)² (paper Eq. 1).

    ``F`` and ``P`` are activations of the same layer, shape [1, N, H, W] as ``vgg`` returns them.
    The reference is ``nst.content_loss``.
    """
    return check("content_loss", fn)


# --------------------------------------------------------------------------- Gram matrix


def _gram(F: torch.Tensor) -> torch.Tensor:
    """The reference Gram matrix of a [1, N, H, W] activation as N × N: ``nst.gram_matrix``."""
    return gram_matrix(F.detach())[0]


def _gram_shape_problem(value: Any, shape: tuple[int, ...], checked: Any) -> str | None:
    _batch, n, h, w = shape
    m = h * w
    if isinstance(value, float) or value.dim() == 0:
        return _(
            "you returned a single number; the Gram matrix is N × N ({n} × {n} here): one "
            "entry per pair of feature maps. Hint: {hint}"
        ).format(n=n, hint=hint("gram_matrix"))
    got = tuple(value.shape)
    core = got[1:] if len(got) >= 3 and got[0] == 1 else got
    if core == (n, n):
        return None
    if core == (m, m):
        message = _(
            "yours is {m} × {m} = M × M: you computed Fᵀ F, which compares positions. "
            "The Gram matrix compares feature maps: G = F Fᵀ with F of shape N × M "
            "({n} × {m}), giving N × N = {n} × {n}."
        ).format(m=m, n=n)
    elif core in ((n, h, h), (n, w, w)):
        message = _(
            "yours has shape {shape}: you multiplied the [1, N, H, W] tensor "
            "directly, which multiplies rows and columns inside each map. First flatten "
            "each map: F.reshape(N, -1) is N × M."
        ).format(shape=list(got))
    elif len(core) == 2 and core[0] == core[1]:
        message = _(
            "yours is {a} × {b}, but this layer has N = {n} feature maps, so "
            "G must be {n} × {n}. Did you reshape with the wrong dimension?"
        ).format(a=core[0], b=core[1], n=n)
    else:
        message = _("the Gram matrix must be N × N = {n} × {n}; yours has shape {shape}.").format(
            n=n, shape=list(got)
        )
    if checked is not None:
        message = _(
            "right for shape {checked} but not for {shape} ({message}) Did you hard-code a size?"
        ).format(checked=list(checked), shape=list(shape), message=message)
    return message


def _gram_mistakes(inputs, right, shape) -> list[tuple[torch.Tensor, str]]:
    (F,) = inputs
    _batch, n, h, w = shape
    m = h * w
    scrambled = F.detach()[0].reshape(m, n)
    return [
        (
            right / m,
            _(
                "you divided by M = H·W = {m} (a mean over positions, as several tutorials "
                "do). The paper's Gram matrix is the plain sum G_ij = Σ_k F_ik F_jk; its "
                "normalisation lives in the style loss E_l."
            ).format(m=m),
        ),
        (
            right / (n * m),
            _(
                "you divided by N·M = {nm} (the PyTorch tutorial's normalisation). The "
                "paper's Gram matrix is un-normalised: G = F Fᵀ."
            ).format(nm=n * m),
        ),
        (right / n, _("you divided by N = {n}; the paper's G = F Fᵀ is not divided.").format(n=n)),
        (
            scrambled.T @ scrambled,
            _(
                "right shape, wrong values: F.reshape(-1, N) (or reshape(M, N)) mixes "
                "channels and positions. Keep the channel first: F.reshape(N, -1), then "
                "F @ F.T."
            ),
        ),
    ]


def _gram_otherwise(v, right, inputs, shape) -> str:
    n = shape[1]
    if not _close(v, v.T):
        return _(
            "a Gram matrix is symmetric (G_ij = Σ_k F_ik F_jk = G_ji), and yours is not: "
            "check that you multiply F by its own transpose, G = F Fᵀ."
        )
    return _(
        "right shape ({n} × {n}), wrong values: G[0, 0] should be Σ_k F_0k² = {right:.6g}, "
        "yours is {value:.6g}. Hint: {hint}"
    ).format(n=n, right=float(right[0, 0]), value=float(v[0, 0]), hint=hint("gram_matrix"))


GRAM_MATRIX = Exercise(
    name="gram_matrix",
    reference=gram_matrix,
    cases=(((1, 6, 3, 5), 3), ((1, 4, 4, 7), 4)),
    inputs=lambda shape, seed: (_features(shape, seed).requires_grad_(True),),
    expected=_gram,
    problem=_gram_shape_problem,
    as_compared=lambda value, shape: value.detach().reshape(shape[1], shape[1]).to(torch.float64),
    mistakes=_gram_mistakes,
    otherwise=_gram_otherwise,
    hard_coded=N_(
        "right for shape {checked} but not for {shape}: did you hard-code N, H or W? "
        "Read them from F.shape."
    ),
    correct=N_("your Gram matrix is F Fᵀ, N × N for maps of any size, and differentiable."),
)


def check_gram_matrix(fn: Callable[[torch.Tensor], Any]) -> Feedback:
    """Check ``fn(F)`` against G = F Fᵀ, i.e. G_ij = Σ_k F_ik F_jk (paper Eq. 3).

    ``F`` has shape [1, N, H, W]; the answer must be N × N ([N, N] or [1, N, N]), un-normalised.
    The reference is ``nst.gram_matrix``.
    """
    return check("gram_matrix", fn)


# --------------------------------------------------------------------------- E_l


def _style_inputs(shape: tuple[int, ...], seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    _batch, n, h, w = shape
    F = _features(shape, seed).requires_grad_(True)
    A = _gram(_features((1, n, h + 1, w + 2), seed + 10))  # the style image: another size
    return F, A


def _style_mistakes(inputs, right, shape) -> list[tuple[torch.Tensor, str]]:
    F, A = inputs
    _batch, n, h, w = shape
    m = h * w
    G = _gram(F)
    D = G - A
    S = D.pow(2).sum()
    c = 4 * n**2 * m**2
    return [
        (-right, _("the sign is wrong: E_l is a sum of squares, ≥ 0.")),
        (S / (n**2 * m**2), _("you forgot the 4: E_l = Σ (G − A)² / (4 N² M²).")),
        (S / (2 * n**2 * m**2), _("the factor is ¼, not ½: E_l = Σ (G − A)² / (4 N² M²).")),
        (
            S / (4 * n * m**2),
            _("you used N instead of N² (N = {n}): the denominator is 4 N² M².").format(n=n),
        ),
        (
            S / (4 * n**2 * m),
            _("you used M instead of M² (M = {m}): the denominator is 4 N² M².").format(m=m),
        ),
        (S / (4 * n * m), _("neither N nor M is squared: the denominator is 4 N² M².")),
        (
            S / (4 * n**2 * h**2),
            _(
                "wrong M: you used the height H = {h}. M is the number of positions in a "
                "map, M = H·W = {m}."
            ).format(h=h, m=m),
        ),
        (
            S / (4 * n**2 * w**2),
            _(
                "wrong M: you used the width W = {w}. M is the number of positions in a "
                "map, M = H·W = {m}."
            ).format(w=w, m=m),
        ),
        (
            S / (4 * n**2 * (h + w) ** 2),
            _("wrong M: M = H·W = {m} (a product, the number of positions), not H + W.").format(
                m=m
            ),
        ),
        (
            S / (4 * n**4 * m**2),
            _(
                "you used the mean over the N² = {nn} entries of G − A instead of the "
                "sum, on top of dividing by 4 N² M²: use .sum()."
            ).format(nn=n * n),
        ),
        (
            S / n**2,
            _(
                "you used the mean of (G − A)² (like MSELoss) and no 1/(4 N² M²): the paper "
                "sums the squares and divides by 4 N² M²."
            ),
        ),
        (
            S / (n**4 * m**2),
            _(
                "that is the PyTorch tutorial's normalisation, MSE(G/(N·M), A/(N·M)). The "
                "paper's E_l is Σ (G − A)² / (4 N² M²), with un-normalised G and A."
            ),
        ),
        (S, _("you forgot the normalisation: E_l = Σ (G − A)² / (4 N² M²).")),
        (D.abs().sum() / c, _("you forgot to square the differences: Σ (G − A)².")),
        (D.sum().pow(2) / c, _("you squared the sum instead of summing the squares.")),
        (
            (G / m - A).pow(2).sum() / c,
            _(
                "your G is divided by M but A is not: compute G = F Fᵀ un-normalised, "
                "exactly like A."
            ),
        ),
    ]


STYLE_LAYER_LOSS = Exercise(
    name="style_layer_loss",
    reference=style_layer_loss,
    cases=(((1, 6, 3, 5), 5), ((1, 4, 4, 7), 6)),
    inputs=_style_inputs,
    expected=style_layer_loss,
    problem=lambda value, shape, _: _not_a_number_message(
        "style_layer_loss", value, (shape[1], shape[1])
    ),
    as_compared=lambda value, _: _a_number(value),
    mistakes=_style_mistakes,
    otherwise=lambda v, right, inputs, shape: _(
        "you return {value:.6g}, but Σ (G − A)² / (4 N² M²) is {right:.6g} here "
        "(N = {n}, M = {m}). Hint: {hint}"
    ).format(
        value=float(v),
        right=float(right),
        n=shape[1],
        m=shape[2] * shape[3],
        hint=hint("style_layer_loss"),
    ),
    hard_coded=N_(
        "right for shape {checked} but not for {shape}: did you hard-code N or M? Read "
        "them from F.shape (M = H·W)."
    ),
    correct=N_(
        "your E_l is Σ (G − A)² / (4 N² M²) with N and M read from the layer, and autograd "
        "can differentiate it."
    ),
)


def check_style_layer_loss(fn: Callable[[torch.Tensor, torch.Tensor], Any]) -> Feedback:
    """Check ``fn(F, A)`` against E_l = 1/(4 N_l² M_l²) Σ_ij (G_ij − A_ij)² (paper Eq. 4).

    ``F`` is the generated image's activation [1, N, H, W]; ``A`` the style image's Gram [N, N].
    The reference is ``nst.style_layer_loss``.
    """
    return check("style_layer_loss", fn)


# --------------------------------------------------------------------------- hints, solutions

#: Every exercise's spec, by name.
SPECS: dict[str, Exercise] = {e.name: e for e in (CONTENT_LOSS, GRAM_MATRIX, STYLE_LAYER_LOSS)}
#: The solutions: the package's own formula functions.
SOLUTIONS: dict[str, Callable[..., torch.Tensor]] = {n: e.reference for n, e in SPECS.items()}
solution_content_loss = content_loss
solution_gram_matrix = gram_matrix
solution_style_layer_loss = style_layer_loss
#: The notebook stubs' parameters: the shown solution is renamed to them.
_STUB_PARAMETERS = {
    "content_loss": ("F", "P"),
    "gram_matrix": ("F",),
    "style_layer_loss": ("F", "A"),
}


def _check_name(exercise: str) -> str:
    if exercise not in EXERCISES:
        raise ParameterError(f"no exercise {exercise!r}; choose one of {', '.join(EXERCISES)}")
    return exercise


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


def hint(exercise: str) -> str:
    """A nudge for ``exercise`` (see ``EXERCISES``), without giving the answer away."""
    return _(HINTS[_check_name(exercise)])


def show_hint(exercise: str) -> None:
    """Display the hint for ``exercise``."""
    text = hint(exercise)
    _show(text, _("**Hint ({exercise}).** {text}").format(exercise=exercise, text=text))


class _Rename(ast.NodeTransformer):
    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self.names.get(node.id, node.id)
        return node


def _as_stub(fn: Callable[..., Any], name: str, parameters: tuple[str, ...]) -> str:
    """``fn``'s source (``inspect.getsource``) as ``def name(parameters)``, annotations dropped."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef)
    old = [a.arg for a in node.args.args]
    node = _Rename(dict(zip(old, parameters, strict=True))).visit(node)
    node.name = name
    for arg, new in zip(node.args.args, parameters, strict=True):
        arg.arg, arg.annotation = new, None
    node.returns = None
    doc = node.body[0]
    if isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant):
        for a, b in zip(old, parameters, strict=True):
            doc.value.value = str(doc.value.value).replace(f"``{a}``", f"``{b}``")
    return ast.unparse(node) + "\n"


def _names_used(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_used(const)
    return names


def _helpers(fn: Callable[..., Any]) -> tuple[list[str], list[str]]:
    """The sources of the helpers ``fn`` uses from its own module, and imports for the rest."""
    sources: list[str] = []
    imports: list[str] = []
    seen: set[str] = set()
    todo = [fn]
    while todo:
        codes = [todo.pop().__code__]
        for code in codes:
            for name in sorted(_names_used(code) & set(fn.__globals__) - seen):
                seen.add(name)
                value = fn.__globals__[name]
                if isinstance(value, types.ModuleType):
                    if name != "torch":
                        imports.append(f"import {value.__name__} as {name}")
                elif getattr(value, "__module__", None) == fn.__module__:
                    sources.append(inspect.getsource(value))
                    members = vars(value).values() if isinstance(value, type) else [value]
                    for member in members:
                        member = getattr(member, "__func__", member)
                        if isinstance(member, types.FunctionType):
                            todo.append(member)
                elif hasattr(value, "__module__"):
                    imports.append(f"from {value.__module__} import {name}")
    return sources, imports


def solution_source(exercise: str) -> str:
    """The solution of ``exercise``: the package's own function, as code named like the notebook's
    stub (``def my_gram_matrix(F):``), followed by the package's helpers it calls."""
    fn = SOLUTIONS[_check_name(exercise)]
    source = _as_stub(fn, _STUB_NAMES[exercise], _STUB_PARAMETERS[exercise])
    sources, imports = _helpers(fn)
    if sources or imports:
        source += "\n\n" + _("# used above, from {module}:").format(module=fn.__module__) + "\n"
        source += "".join(line + "\n" for line in imports)
        source += "\n\n".join(["", *sources]) if sources else ""
    return source


def show_solution(exercise: str) -> None:
    """Display the solution of ``exercise`` (only when the learner asks for it): the package's
    own formula function, named as the stub."""
    source = solution_source(exercise)
    fn = SOLUTIONS[_check_name(exercise)]
    where = _("the package's own `{function}`, named as your stub").format(
        function=f"{fn.__module__}.{fn.__name__}"
    )
    heading = _("**Solution ({exercise})**: {where}.").format(exercise=exercise, where=where)
    _show(source, f"{heading}\n\n```python\n{source}```")
