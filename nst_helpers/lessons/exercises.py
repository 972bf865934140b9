"""Exercises of lessons 02 and 03: check functions with specific feedback, hints and solutions.

Each check calls the learner's function on small test tensors and compares it with the paper's
formula (Gatys et al. 2016, Eqs. 1, 3 and 4). It never raises: an unfinished stub, an exception in
the learner's code or a wrong answer all become a ``Feedback`` that says what is wrong and why
(wrong shape, a missing ½ or ¼, the wrong M, N instead of N², FᵀF instead of F Fᵀ, a mean instead of
a sum, a detached result…). Put the check on the last line of a cell to see its feedback.

>>> from nst_helpers import exercises
>>> exercises.check_content_loss(my_content_loss)   # feedback
>>> exercises.show_hint("content_loss")             # a nudge
>>> exercises.show_solution("content_loss")         # the answer, only when asked
"""

from __future__ import annotations

import html
import inspect
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

#: Exercise names, in lesson order.
EXERCISES = ("content_loss", "gram_matrix", "style_layer_loss")

_STUB_NAMES = {
    "content_loss": "my_content_loss",
    "gram_matrix": "my_gram_matrix",
    "style_layer_loss": "my_style_layer_loss",
}

HINTS = {
    "content_loss": (
        "L_content = ½ Σ_ij (F_ij − P_ij)²: subtract, square every entry, add them all up "
        "(.sum(), not .mean()), and multiply by 0.5. Return a tensor, not a Python float."
    ),
    "gram_matrix": (
        "F arrives as [1, N, H, W]. Make it the paper's N × M matrix with "
        "F.reshape(N, -1) (N = F.shape[1], M = H·W), then G = F @ F.T is N × N. No division."
    ),
    "style_layer_loss": (
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
        mark = {"correct": "✔ correct", "unfinished": "… not done yet", "wrong": "✘ not yet right"}
        return f"[{self.exercise}] {mark[self.status]}: {self.message}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colour = {"correct": "#1a7f37", "unfinished": "#9a6700", "wrong": "#cf222e"}[self.status]
        title = {"correct": "Correct", "unfinished": "Not done yet", "wrong": "Not yet right"}
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
        f"{stub} returned None: it is still the stub. Replace `...` by your code and `return` "
        f"the result. Stuck? exercises.show_hint({exercise!r}).",
    )


def _call(exercise: str, fn: Callable[..., Any], *args: torch.Tensor) -> Any:
    """Call the learner's function on copies of ``args``; a Feedback instead of an exception."""
    if not callable(fn):
        return Feedback(exercise, "wrong", f"expected a function, got a {type(fn).__name__}")
    try:
        out = fn(*[a.detach().clone().requires_grad_(a.requires_grad) for a in args])
    except NotImplementedError:
        return _unfinished(exercise)
    except Exception as exc:  # the learner's code may raise anything; report it, never crash
        return Feedback(
            exercise,
            "wrong",
            f"your function raised {type(exc).__name__}: {exc}. Hint: {HINTS[exercise]}",
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
        return Feedback(
            exercise, "wrong", f"your function returned a {type(out).__name__}; return a tensor"
        )


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
            "that is one value per entry: add them all up with .sum() to get one number"
            if exercise == "content_loss"
            else "add the squared differences up with .sum() to get one number"
        )
    else:
        why = "sum over every entry (all dimensions), not along one axis"
    return Feedback(
        exercise, "wrong", f"a loss is a single number, but yours has shape {shape}: {why}."
    )


def _detached(exercise: str, value: Any) -> Feedback | None:
    if isinstance(value, float) or not value.requires_grad:
        return Feedback(
            exercise,
            "wrong",
            "the value is right, but the result is cut off from autograd (a Python float, "
            ".item(), .detach() or numpy): return a tensor so the optimiser can compute "
            "the gradient with respect to the image.",
        )
    return None


# --------------------------------------------------------------------------- content loss


def check_content_loss(fn: Callable[[torch.Tensor, torch.Tensor], Any]) -> Feedback:
    """Check ``fn(F, P)`` against L_content = ½ Σ_ij (F_ij − P_ij)² (paper Eq. 1).

    ``F`` and ``P`` are activations of the same layer, shape [1, N, H, W] as ``vgg`` returns them.
    """
    name = "content_loss"
    size_checked = None
    for shape, seed in (((1, 6, 3, 5), 1), ((1, 4, 7, 2), 2)):
        F = _features(shape, seed).requires_grad_(True)
        P = _features(shape, seed + 10)
        value = _call(name, fn, F, P)
        if isinstance(value, Feedback):
            return value
        problem = _not_a_number(name, value, shape)
        if problem is not None:
            return problem
        v = torch.as_tensor(value, dtype=torch.float64).detach()
        d = (F - P).detach()
        right = 0.5 * d.pow(2).sum()
        if _close(v, right):
            problem = _detached(name, value)
            if problem is not None:
                return problem
            size_checked = shape
            continue
        if size_checked is not None:
            return Feedback(
                name,
                "wrong",
                f"right for activations of shape {list(size_checked)} but not for "
                f"{list(shape)}: did you hard-code a size? Use F.shape where you need one.",
            )
        n_entries = d.numel()
        message = _first_match(
            v,
            [
                (-right, "the sign is wrong: a loss of squares is ≥ 0; compute ½ Σ (F − P)²."),
                (2 * right, "you forgot the ½: L_content = ½ Σ (F − P)²."),
                (
                    right / n_entries,
                    "you used the mean instead of the sum: .mean() divides by the number of "
                    f"entries ({n_entries} here). The paper sums: ½ Σ (F − P)².",
                ),
                (
                    2 * right / n_entries,
                    "you used the mean (like MSELoss) and forgot the ½: the paper's loss is "
                    "½ Σ (F − P)², a sum over all entries, not a mean.",
                ),
                (0.5 * d.abs().sum(), "you forgot to square the differences: ½ Σ (F − P)²."),
                (d.abs().sum(), "you forgot to square the differences and the ½."),
                (
                    0.5 * d.sum().pow(2),
                    "you squared the sum instead of summing the squares: square each "
                    "difference first, then add them up.",
                ),
                (
                    0.5 * d.pow(2).sum().sqrt(),
                    "you took the norm ‖F − P‖ (a square root); the loss uses its square: "
                    "½ ‖F − P‖² = ½ Σ (F − P)².",
                ),
                (d.pow(2).sum().sqrt(), "‖F − P‖ is a square root: the loss is ½ Σ (F − P)²."),
                (0.25 * d.pow(2).sum(), "the factor is ½, not ¼ (¼ belongs to the style loss)."),
            ],
        )
        return Feedback(
            name,
            "wrong",
            message
            or (
                f"you return {float(v):.6g}, but ½ Σ (F − P)² is {float(right):.6g} for these "
                f"test activations. Hint: {HINTS[name]}"
            ),
        )
    return Feedback(
        name,
        "correct",
        "your function computes ½ Σ (F − P)² for activations of any shape, and autograd can "
        "differentiate it (∂L/∂F = F − P).",
    )


def solution_content_loss(F, P):
    """L_content = ½ Σ_ij (F_ij − P_ij)² (paper Eq. 1)."""
    return 0.5 * ((F - P) ** 2).sum()


# --------------------------------------------------------------------------- Gram matrix


def _gram(F: torch.Tensor) -> torch.Tensor:
    f = F.detach()[0].reshape(F.shape[1], -1)
    return f @ f.T


def check_gram_matrix(fn: Callable[[torch.Tensor], Any]) -> Feedback:
    """Check ``fn(F)`` against G = F Fᵀ, i.e. G_ij = Σ_k F_ik F_jk (paper Eq. 3).

    ``F`` has shape [1, N, H, W]; the answer must be N × N ([N, N] or [1, N, N]), un-normalised.
    """
    name = "gram_matrix"
    size_checked = None
    for shape, seed in (((1, 6, 3, 5), 3), ((1, 4, 4, 7), 4)):
        _, n, h, w = shape
        m = h * w
        F = _features(shape, seed).requires_grad_(True)
        value = _call(name, fn, F)
        if isinstance(value, Feedback):
            return value
        if isinstance(value, float) or value.dim() == 0:
            return Feedback(
                name,
                "wrong",
                f"you returned a single number; the Gram matrix is N × N ({n} × {n} here): one "
                "entry per pair of feature maps. Hint: " + HINTS[name],
            )
        got = tuple(value.shape)
        core = got[1:] if len(got) >= 3 and got[0] == 1 else got
        if core != (n, n):
            if core == (m, m):
                message = (
                    f"yours is {m} × {m} = M × M: you computed Fᵀ F, which compares positions. "
                    f"The Gram matrix compares feature maps: G = F Fᵀ with F of shape N × M "
                    f"({n} × {m}), giving N × N = {n} × {n}."
                )
            elif core in ((n, h, h), (n, w, w)):
                message = (
                    f"yours has shape {list(got)}: you multiplied the [1, N, H, W] tensor "
                    "directly, which multiplies rows and columns inside each map. First flatten "
                    "each map: F.reshape(N, -1) is N × M."
                )
            elif len(core) == 2 and core[0] == core[1]:
                message = (
                    f"yours is {core[0]} × {core[1]}, but this layer has N = {n} feature maps, so "
                    f"G must be {n} × {n}. Did you reshape with the wrong dimension?"
                )
            else:
                message = f"the Gram matrix must be N × N = {n} × {n}; yours has shape {list(got)}."
            if size_checked is not None:
                message = (
                    f"right for shape {list(size_checked)} but not for {list(shape)} ({message}) "
                    "Did you hard-code a size?"
                )
            return Feedback(name, "wrong", message)
        v = value.detach().reshape(n, n).to(torch.float64)
        right = _gram(F)
        if _close(v, right):
            problem = _detached(name, value)
            if problem is not None:
                return problem
            size_checked = shape
            continue
        if size_checked is not None:
            return Feedback(
                name,
                "wrong",
                f"right for shape {list(size_checked)} but not for {list(shape)}: did you "
                "hard-code N, H or W? Read them from F.shape.",
            )
        scrambled = F.detach()[0].reshape(m, n)
        message = _first_match(
            v,
            [
                (
                    right / m,
                    f"you divided by M = H·W = {m} (a mean over positions, as several tutorials "
                    "do). The paper's Gram matrix is the plain sum G_ij = Σ_k F_ik F_jk; its "
                    "normalisation lives in the style loss E_l.",
                ),
                (
                    right / (n * m),
                    f"you divided by N·M = {n * m} (the PyTorch tutorial's normalisation). The "
                    "paper's Gram matrix is un-normalised: G = F Fᵀ.",
                ),
                (right / n, f"you divided by N = {n}; the paper's G = F Fᵀ is not divided."),
                (
                    scrambled.T @ scrambled,
                    "right shape, wrong values: F.reshape(-1, N) (or reshape(M, N)) mixes "
                    "channels and positions. Keep the channel first: F.reshape(N, -1), then "
                    "F @ F.T.",
                ),
            ],
        )
        if message is None and not _close(v, v.T):
            message = (
                "a Gram matrix is symmetric (G_ij = Σ_k F_ik F_jk = G_ji), and yours is not: "
                "check that you multiply F by its own transpose, G = F Fᵀ."
            )
        return Feedback(
            name,
            "wrong",
            message
            or (
                f"right shape ({n} × {n}), wrong values: G[0, 0] should be Σ_k F_0k² = "
                f"{float(right[0, 0]):.6g}, yours is {float(v[0, 0]):.6g}. Hint: {HINTS[name]}"
            ),
        )
    return Feedback(
        name,
        "correct",
        "your Gram matrix is F Fᵀ, N × N for maps of any size, and differentiable.",
    )


def solution_gram_matrix(F):
    """G = F Fᵀ with F the layer's activation as an N × M matrix (paper Eq. 3)."""
    N = F.shape[1]
    F = F.reshape(N, -1)  # N × M, M = H·W: one row per feature map
    return F @ F.T  # N × N


# --------------------------------------------------------------------------- E_l


def check_style_layer_loss(fn: Callable[[torch.Tensor, torch.Tensor], Any]) -> Feedback:
    """Check ``fn(F, A)`` against E_l = 1/(4 N_l² M_l²) Σ_ij (G_ij − A_ij)² (paper Eq. 4).

    ``F`` is the generated image's activation [1, N, H, W]; ``A`` the style image's Gram [N, N].
    """
    name = "style_layer_loss"
    size_checked = None
    for shape, seed in (((1, 6, 3, 5), 5), ((1, 4, 4, 7), 6)):
        _, n, h, w = shape
        m = h * w
        F = _features(shape, seed).requires_grad_(True)
        A = _gram(_features((1, n, h + 1, w + 2), seed + 10))  # the style image: another size
        value = _call(name, fn, F, A)
        if isinstance(value, Feedback):
            return value
        problem = _not_a_number(name, value, (n, n))
        if problem is not None:
            return problem
        v = torch.as_tensor(value, dtype=torch.float64).detach().reshape(())
        G = _gram(F)
        D = G - A
        S = D.pow(2).sum()
        right = S / (4 * n**2 * m**2)
        if _close(v, right):
            problem = _detached(name, value)
            if problem is not None:
                return problem
            size_checked = shape
            continue
        if size_checked is not None:
            return Feedback(
                name,
                "wrong",
                f"right for shape {list(size_checked)} but not for {list(shape)}: did you "
                "hard-code N or M? Read them from F.shape (M = H·W).",
            )
        G_m = G / m
        message = _first_match(
            v,
            [
                (-right, "the sign is wrong: E_l is a sum of squares, ≥ 0."),
                (S / (n**2 * m**2), "you forgot the 4: E_l = Σ (G − A)² / (4 N² M²)."),
                (S / (2 * n**2 * m**2), "the factor is ¼, not ½: E_l = Σ (G − A)² / (4 N² M²)."),
                (
                    S / (4 * n * m**2),
                    f"you used N instead of N² (N = {n}): the denominator is 4 N² M².",
                ),
                (
                    S / (4 * n**2 * m),
                    f"you used M instead of M² (M = {m}): the denominator is 4 N² M².",
                ),
                (S / (4 * n * m), "neither N nor M is squared: the denominator is 4 N² M²."),
                (
                    S / (4 * n**2 * h**2),
                    f"wrong M: you used the height H = {h}. M is the number of positions in a "
                    f"map, M = H·W = {m}.",
                ),
                (
                    S / (4 * n**2 * w**2),
                    f"wrong M: you used the width W = {w}. M is the number of positions in a "
                    f"map, M = H·W = {m}.",
                ),
                (
                    S / (4 * n**2 * (h + w) ** 2),
                    f"wrong M: M = H·W = {m} (a product, the number of positions), not H + W.",
                ),
                (
                    S / (4 * n**4 * m**2),
                    f"you used the mean over the N² = {n * n} entries of G − A instead of the "
                    "sum, on top of dividing by 4 N² M²: use .sum().",
                ),
                (
                    S / n**2,
                    "you used the mean of (G − A)² (like MSELoss) and no 1/(4 N² M²): the paper "
                    "sums the squares and divides by 4 N² M².",
                ),
                (
                    S / (n**4 * m**2),
                    "that is the PyTorch tutorial's normalisation, MSE(G/(N·M), A/(N·M)). The "
                    "paper's E_l is Σ (G − A)² / (4 N² M²), with un-normalised G and A.",
                ),
                (S, "you forgot the normalisation: E_l = Σ (G − A)² / (4 N² M²)."),
                (
                    D.abs().sum() / (4 * n**2 * m**2),
                    "you forgot to square the differences: Σ (G − A)².",
                ),
                (
                    D.sum().pow(2) / (4 * n**2 * m**2),
                    "you squared the sum instead of summing the squares.",
                ),
                (
                    (G_m - A).pow(2).sum() / (4 * n**2 * m**2),
                    "your G is divided by M but A is not: compute G = F Fᵀ un-normalised, "
                    "exactly like A.",
                ),
            ],
        )
        return Feedback(
            name,
            "wrong",
            message
            or (
                f"you return {float(v):.6g}, but Σ (G − A)² / (4 N² M²) is {float(right):.6g} "
                f"here (N = {n}, M = {m}). Hint: {HINTS[name]}"
            ),
        )
    return Feedback(
        name,
        "correct",
        "your E_l is Σ (G − A)² / (4 N² M²) with N and M read from the layer, and autograd can "
        "differentiate it.",
    )


def solution_style_layer_loss(F, A):
    """E_l = 1/(4 N_l² M_l²) Σ_ij (G_ij − A_ij)² (paper Eq. 4)."""
    _, N, H, W = F.shape
    M = H * W
    F = F.reshape(N, M)
    G = F @ F.T
    return ((G - A) ** 2).sum() / (4 * N**2 * M**2)


# --------------------------------------------------------------------------- hints, solutions

SOLUTIONS: dict[str, Callable[..., torch.Tensor]] = {
    "content_loss": solution_content_loss,
    "gram_matrix": solution_gram_matrix,
    "style_layer_loss": solution_style_layer_loss,
}


def _check_name(exercise: str) -> str:
    if exercise not in EXERCISES:
        from ..errors import ParameterError

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
    return HINTS[_check_name(exercise)]


def show_hint(exercise: str) -> None:
    """Display the hint for ``exercise``."""
    text = hint(exercise)
    _show(text, f"**Hint ({exercise}).** {text}")


def solution_source(exercise: str) -> str:
    """The solution of ``exercise`` as code, named like the notebook's stub."""
    fn = SOLUTIONS[_check_name(exercise)]
    source = inspect.getsource(fn)
    return source.replace(f"def {fn.__name__}(", f"def {_STUB_NAMES[exercise]}(", 1)


def show_solution(exercise: str) -> None:
    """Display the solution of ``exercise`` (only when the learner asks for it)."""
    source = solution_source(exercise)
    _show(source, f"**Solution ({exercise}).**\n\n```python\n{source}```")
