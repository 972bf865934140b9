"""The loss landscape (notebook 06): 2-D slices through image space and convexity checks.

A slice is L(x + a·d1 + b·d2) over a grid of (a, b), for the total, content and style loss, around
a point x (e.g. the content image) along two stated directions (e.g. d1 towards the style image,
d2 random, orthogonal to d1 and as long). Every value is a forward pass only, under
``torch.no_grad``. The losses are the paper's Eqs. 1, 4 and 5, computed image by image for a batch
with the optimisation's own targets (the tests check them against the engine's records), so the
centre of a slice is the loss the optimisation reports at x.

A function f is convex when f(θx + (1−θ)y) ≤ θf(x) + (1−θ)f(y) for all x, y and θ ∈ [0, 1]; for
continuous f it suffices that f((x + y)/2) ≤ (f(x) + f(y))/2 (midpoint convexity). One violated
midpoint disproves convexity; no violation on a few lines proves nothing.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as tf
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from tqdm.auto import tqdm

from ..errors import ParameterError
from ..i18n import N_, _
from ..layers import PAPER_CONTENT_LAYERS, PAPER_STYLE_LAYERS
from ..losses import content_loss, style_loss, total_loss
from ..transfer import DEFAULT_ALPHA, StyleTransfer
from ..vgg import VGG19Features
from .background import BackgroundRun
from .cjk_font import use_language_font
from .plots import figure_png, loss_name, short_loss_name

TERMS: tuple[str, ...] = ("total", "content", "style")
#: What ``SliceExplorer`` needs per problem: (LossTerms, x, d1, d2, d1's label, d2's label).
Problem = tuple["LossTerms", torch.Tensor, torch.Tensor, torch.Tensor, str, str]


class LossTerms:
    """L_total = α L_content + β Σ_l w_l E_l, L_content and L_style of images, forward only,
    computed with the package's own formulas (``content_loss``, ``style_loss``, ``total_loss``).

    The targets (content features P^l, style Grams A^l), the weights w_l, α and β are taken from a
    ``StyleTransfer`` built with the same arguments, so these are exactly the losses the
    optimisation reports (``beta=None``: the default for ``vgg``'s weights). Calling the object on
    a batch [B, 3, H, W] returns {"total", "content", "style": tensor [B]}; images are fed to the
    network ``batch_size`` at a time.
    """

    def __init__(
        self,
        content: torch.Tensor,
        style: torch.Tensor,
        *,
        vgg: VGG19Features,
        alpha: float = DEFAULT_ALPHA,
        beta: float | None = None,
        content_layers: Sequence[str] = PAPER_CONTENT_LAYERS,
        style_layers: Sequence[str] = PAPER_STYLE_LAYERS,
        style_weights: Mapping[str, float] | Sequence[float] | None = None,
        batch_size: int = 8,
    ) -> None:
        engine = StyleTransfer(
            content,
            style,
            vgg=vgg,
            alpha=alpha,
            beta=beta,
            content_layers=content_layers,
            style_layers=style_layers,
            style_weights=style_weights,
            steps=1,
            snapshot_at=(),
        )
        self.vgg = engine.vgg
        self.device = engine.device
        self.alpha, self.beta = engine.alpha, engine.beta
        self.content_layers, self.style_layers = engine.content_layers, engine.style_layers
        self.style_weights = dict(engine.style_weights)
        self.content_targets = {k: v.detach() for k, v in engine.content_targets.items()}
        self.style_targets = {k: v.detach() for k, v in engine.style_targets.items()}
        self.batch_size = max(1, int(batch_size))
        self.shape = tuple(content.shape[-2:])

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """The three losses of each image in the batch ([B, 3, H, W]) as tensors [B] (CPU)."""
        if images.dim() == 3:
            images = images.unsqueeze(0)
        if tuple(images.shape[-2:]) != self.shape:
            raise ParameterError(
                f"images are {tuple(images.shape[-2:])}; the content image is {self.shape}"
            )
        out: dict[str, list[float]] = {t: [] for t in TERMS}
        layers = self.content_layers + self.style_layers
        for start in range(0, images.shape[0], self.batch_size):
            chunk = images[start : start + self.batch_size].to(self.device)
            feats = self.vgg(chunk, layers)
            for i in range(chunk.shape[0]):  # the package's formulas, image by image
                F = {name: f[i : i + 1] for name, f in feats.items()}
                content = sum(
                    (content_loss(F[n], self.content_targets[n]) for n in self.content_layers),
                    chunk.new_zeros(()),
                )  # Eq. 1 at each content layer
                style = (
                    style_loss(F, self.style_targets, self.style_weights)  # Eqs. 4–5
                    if self.style_layers
                    else chunk.new_zeros(())
                )
                total = total_loss(content, style, self.alpha, self.beta)  # Eq. 7
                for term, value in (("content", content), ("style", style), ("total", total)):
                    out[term].append(float(value))
        return {t: torch.tensor(v, dtype=torch.float64) for t, v in out.items()}

    def at(self, image: torch.Tensor) -> dict[str, float]:
        """The three losses of one image, as floats."""
        return {t: float(v[0]) for t, v in self(image).items()}


# --------------------------------------------------------------------------- directions


def towards(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The direction from ``x`` to ``target`` (resized to x's size if needed): x + 1·d = target."""
    if target.shape[-2:] != x.shape[-2:]:
        target = tf.interpolate(
            target, size=x.shape[-2:], mode="bilinear", antialias=True, align_corners=False
        )
    return (target - x).detach()


def random_direction(
    like: torch.Tensor,
    *,
    seed: int = 0,
    orthogonal_to: torch.Tensor | None = None,
    norm: float | None = None,
) -> torch.Tensor:
    """A Gaussian random direction shaped like ``like``; made orthogonal to ``orthogonal_to``
    (Gram–Schmidt) and scaled to length ``norm`` (default: the length of ``orthogonal_to``, else
    that of a unit-variance image)."""
    g = torch.Generator().manual_seed(int(seed))
    d = torch.randn(like.shape, generator=g, dtype=torch.float32)
    if orthogonal_to is not None:
        u = orthogonal_to.detach().cpu().float()
        d = d - (d * u).sum() / (u * u).sum().clamp_min(1e-12) * u
        norm = float(u.norm()) if norm is None else norm
    if norm is not None:
        d = d * (norm / float(d.norm().clamp_min(1e-12)))
    return d.to(like.device)


# --------------------------------------------------------------------------- 2-D slices


@dataclass
class LossSlice:
    """L(x + a·d1 + b·d2) on a grid: ``values[term][i, j]`` is at b = ``b[i]``, a = ``a[j]``."""

    a: np.ndarray
    b: np.ndarray
    values: dict[str, np.ndarray]
    d1: str = "d1"
    d2: str = "d2"
    title: str = ""
    centre: dict[str, float] = field(default_factory=dict)

    @property
    def points(self) -> int:
        """Grid points per axis."""
        return len(self.a)


class SliceStoppedError(Exception):
    """A slice's computation was stopped (its message says after how many rows)."""


def loss_slice(
    loss: LossTerms,
    x: torch.Tensor,
    d1: torch.Tensor,
    d2: torch.Tensor,
    *,
    points: int = 15,
    span: float = 1.0,
    d1_label: str = "d1",
    d2_label: str = "d2",
    title: str = "",
    progress: bool = False,
    stop_event: threading.Event | None = None,
) -> LossSlice:
    """Evaluate the losses at x + a·d1 + b·d2 for a, b in ``points`` steps over [−span, span].

    ``points`` must be odd, so that (0, 0), the point x itself, lies on the grid (the centre). The
    images are not clamped to [0, 1]: the optimisation's variable is not either. Setting
    ``stop_event`` ends it after the row in progress (``SliceStoppedError``).
    """
    if isinstance(points, bool) or not isinstance(points, int) or points < 1 or points % 2 == 0:
        raise ParameterError(f"points must be an odd whole number ≥ 1, not {points!r}")
    if not (span > 0 and math.isfinite(span)):
        raise ParameterError(f"span must be finite and > 0, not {span!r}")
    coords = np.linspace(-span, span, points)
    coords[points // 2] = 0.0
    values = {t: np.empty((points, points)) for t in TERMS}
    x, d1, d2 = (t.detach().to(loss.device) for t in (x, d1, d2))
    rows = tqdm(range(points), desc="slice", unit="row") if progress else range(points)
    for i in rows:
        if stop_event is not None and stop_event.is_set():
            raise SliceStoppedError(
                _("stopped after {rows} of {points} rows").format(rows=i, points=points)
            )
        b = float(coords[i])
        batch = torch.cat([x + float(a) * d1 + b * d2 for a in coords])
        found = loss(batch)
        for t in TERMS:
            values[t][i] = found[t].numpy()
    centre = {t: float(values[t][points // 2, points // 2]) for t in TERMS}
    return LossSlice(coords, coords.copy(), values, d1_label, d2_label, title, centre)


def plot_slice(
    s: LossSlice,
    terms: Sequence[str] = TERMS,
    *,
    fig: Figure | None = None,
    log: bool = False,
) -> Figure:
    """Each term of a slice as a 3-D surface (top row) and a filled contour plot (bottom row).

    ``log`` plots log10 of the loss (the shapes of the curves then no longer show convexity).
    The slice's title and direction labels are looked up in the lessons' language too.
    """
    use_language_font()
    if fig is None:
        fig = plt.figure(figsize=(4.6 * len(terms), 8.2))
    A, B = np.meshgrid(s.a, s.b)
    along_a = _("a (along {direction})").format(direction=_(s.d1))
    along_b = _("b (along {direction})").format(direction=_(s.d2))
    for j, term in enumerate(terms):
        Z = s.values[term]
        zlabel = loss_name(term)
        if log:
            Z = np.log10(np.maximum(Z, np.finfo(float).tiny))
            zlabel = _("log10 {loss}").format(loss=loss_name(term))
        ax = fig.add_subplot(2, len(terms), j + 1, projection="3d")
        ax.plot_surface(A, B, Z, cmap="viridis", linewidth=0, antialiased=True)
        ax.set_xlabel(along_a, fontsize=8)
        ax.set_ylabel(along_b, fontsize=8)
        ax.set_zlabel(zlabel, fontsize=8)
        ax.set_title(_("{loss} surface").format(loss=loss_name(term)), fontsize=10)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax2 = fig.add_subplot(2, len(terms), len(terms) + j + 1)
        filled = ax2.contourf(A, B, Z, levels=20, cmap="viridis")
        if len(s.a) >= 3:
            ax2.contour(A, B, Z, levels=10, colors="white", linewidths=0.5)
        fig.colorbar(filled, ax=ax2, label=zlabel)
        ax2.plot([0], [0], marker="x", color="red", label=_("x (centre)"))
        ax2.set_xlabel(along_a)
        ax2.set_ylabel(along_b)
        ax2.set_title(_("{loss}, contours").format(loss=loss_name(term)), fontsize=10)
        ax2.legend(fontsize=7, loc="upper right")
    title = _(s.title) if s.title else _("Loss over a 2-D slice")
    fig.suptitle(_("{title}\nL(x + a·d1 + b·d2), {n}×{n} grid").format(title=title, n=s.points))
    fig.tight_layout()
    return fig


class SliceExplorer(w.VBox):
    """Recompute a slice at another resolution or span: pick the problem, set the grid points and
    the span, press Compute. ``problems`` maps a name to (LossTerms, x, d1, d2, d1 label,
    d2 label); ``initial`` may hold already computed slices by the same names."""

    def __init__(
        self,
        problems: Mapping[str, Problem],
        *,
        points: int = 15,
        span: float = 1.0,
        initial: Mapping[str, LossSlice] | None = None,
        terms: Sequence[str] = TERMS,
        mode: str | None = None,
    ) -> None:
        self.problems = dict(problems)
        self.terms = tuple(terms)
        self.slices: dict[str, LossSlice] = dict(initial or {})
        self.problem = w.Dropdown(
            options=[(_(name), name) for name in self.problems], description=_("inputs")
        )
        self.points = w.IntSlider(
            value=points if points % 2 else points + 1,
            min=3,
            max=41,
            step=2,
            description=_("grid points per axis"),
            style={"description_width": "initial"},
            continuous_update=False,
        )
        self.span = w.FloatSlider(
            value=span,
            min=0.1,
            max=3.0,
            step=0.1,
            description=_("span ±"),
            continuous_update=False,
        )
        self.button = w.Button(description=_("Compute"), icon="refresh", button_style="primary")
        self.stop_button = w.Button(description=_("Stop"), icon="stop", disabled=True)
        self.status = w.Label()
        self.image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.runner = BackgroundRun(
            report=self._report, finished=self._finished, mode=mode, name="nst-slice"
        )
        self.button.on_click(lambda _: self.compute(wait=False))
        self.stop_button.on_click(lambda _: self.runner.stop())
        self.problem.observe(lambda _: self._show_cached(), names="value")
        super().__init__(
            [
                w.HBox([self.problem, self.points, self.span, self.button, self.stop_button]),
                self.status,
                self.image,
            ]
        )
        self.add_class("nst-slice-explorer")
        self._show_cached()

    def _show(self, s: LossSlice) -> None:
        fig = Figure(figsize=(4.6 * len(self.terms), 8.2))
        self.image.value = figure_png(plot_slice(s, self.terms, fig=fig), dpi=60)
        self.status.value = _("{name}: grid {n}×{n}, span ±{span:g}").format(
            name=_(self.problem.value), n=s.points, span=s.a[-1]
        )

    def _show_cached(self) -> None:
        s = self.slices.get(self.problem.value)
        if s is not None:
            self._show(s)
        else:
            self.status.value = _("press Compute")

    def _report(self, line: str) -> None:
        self.status.value = line

    def _finished(self) -> None:
        self.button.disabled, self.stop_button.disabled = False, True

    def compute(self, wait: bool = True) -> LossSlice | None:
        """Compute the slice the controls describe (about points² forward passes) with the
        panels' one background-run helper: Compute starts it, Stop ends it after the row in
        progress, an error is shown on the status line. ``wait=True`` (headless use, tests)
        blocks until it is done and returns the slice."""
        name = self.problem.value
        loss, x, d1, d2, l1, l2 = self.problems[name]
        n, span = int(self.points.value), float(self.span.value)
        self.status.value = _("computing {n}×{n} = {count} forward passes …").format(
            n=n, count=n * n
        )
        self.button.disabled, self.stop_button.disabled = True, False

        def work() -> LossSlice | None:
            try:
                s = loss_slice(
                    loss, x, d1, d2, points=n, span=span, d1_label=l1, d2_label=l2, title=name,
                    stop_event=self.runner.stop_event,
                )  # fmt: skip
            except SliceStoppedError as stopped:
                self.status.value = str(stopped)
                return None
            self.slices[name] = s
            self._show(s)
            return s

        return self.runner.start(work, wait=wait)


# --------------------------------------------------------------------------- convexity


@dataclass
class MidpointCheck:
    """Midpoint convexity along one line: ``values`` at ``ts`` (equally spaced), and the midpoint
    triples (t_i, t_j, excess) where f((x_i + x_j)/2) exceeds (f(x_i) + f(x_j))/2."""

    ts: np.ndarray
    values: np.ndarray
    violations: list[tuple[float, float, float]]
    worst: float

    @property
    def convex_here(self) -> bool:
        """No midpoint on this line violates convexity (which does not prove convexity)."""
        return not self.violations

    @property
    def relative_worst(self) -> float:
        """The largest excess relative to the largest |value| on the line."""
        scale = float(np.max(np.abs(self.values))) or 1.0
        return self.worst / scale


def midpoint_convexity(values: Sequence[float], *, rtol: float = 1e-6) -> MidpointCheck:
    """Check f(mid) ≤ (f(left) + f(right))/2 for every pair of samples whose midpoint is sampled.

    ``values`` are f at equally spaced points t_0 … t_{n−1} along a line. An excess above
    ``rtol`` · max|f| (floating-point noise) counts as a violation.
    """
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    if n < 3:
        raise ParameterError("midpoint_convexity needs values at 3 or more points")
    ts = np.linspace(0.0, 1.0, n)
    tol = rtol * max(float(np.max(np.abs(v))), 1e-300)
    violations, worst = [], -math.inf
    for i in range(n):
        for j in range(i + 2, n, 2):
            excess = float(v[(i + j) // 2] - 0.5 * (v[i] + v[j]))
            worst = max(worst, excess)
            if excess > tol:
                violations.append((float(ts[i]), float(ts[j]), excess))
    return MidpointCheck(ts, v, violations, worst)


def check_line(
    f: Callable[[Any], float], x0: Any, x1: Any, *, points: int = 9, rtol: float = 1e-6
) -> MidpointCheck:
    """Midpoint convexity of ``f`` on the segment x0 → x1 (numbers, arrays or tensors)."""
    ts = np.linspace(0.0, 1.0, points)
    return midpoint_convexity([float(f(x0 + float(t) * (x1 - x0))) for t in ts], rtol=rtol)


def line_values(
    loss: LossTerms, x0: torch.Tensor, x1: torch.Tensor, *, points: int = 9, extend: float = 0.0
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The three losses at x0 + t·(x1 − x0) for ``points`` values of t in [−extend, 1 + extend]."""
    ts = np.linspace(-extend, 1.0 + extend, points)
    x0, x1 = x0.detach().to(loss.device), x1.detach().to(loss.device)
    found = loss(torch.cat([x0 + float(t) * (x1 - x0) for t in ts]))
    return ts, {t: v.numpy() for t, v in found.items()}


def segment_checks(
    loss: LossTerms, x0: torch.Tensor, x1: torch.Tensor, *, points: int = 9
) -> dict[str, list[MidpointCheck]]:
    """Midpoint convexity of each loss term on the segment x0 → x1 (e.g. two runs' results)."""
    _ts, values = line_values(loss, x0, x1, points=points)
    return {t: [midpoint_convexity(values[t])] for t in TERMS}


def random_lines(
    loss: LossTerms,
    x: torch.Tensor,
    *,
    lines: int = 4,
    points: int = 9,
    radius: float | None = None,
    seed: int = 0,
) -> dict[str, list[MidpointCheck]]:
    """Midpoint convexity of each loss term along ``lines`` random lines through ``x``.

    Line k runs from x − d_k to x + d_k, d_k a Gaussian direction of length ``radius`` (default:
    half the length of a uniform-noise image of x's size, a large but not absurd step).
    """
    if radius is None:
        radius = 0.5 * math.sqrt(x.numel() / 3.0)
    checks: dict[str, list[MidpointCheck]] = {t: [] for t in TERMS}
    for k in range(lines):
        d = random_direction(x, seed=seed + k, norm=radius).to(x.device)
        _ts, values = line_values(loss, x - d, x + d, points=points)
        for t in TERMS:
            checks[t].append(midpoint_convexity(values[t]))
    return checks


def _term(term: str) -> str:
    """A term's short name, right-aligned in English (``convexity_summary``)."""
    name = short_loss_name(term)
    return name.rjust(8) if name.isascii() else name


def convexity_summary(checks: Mapping[str, Sequence[MidpointCheck]]) -> str:
    """One line per term: on how many lines midpoint convexity failed, and by how much."""
    lines = []
    for term, found in checks.items():
        bad = [c for c in found if not c.convex_here]
        if bad:
            worst = max(c.relative_worst for c in bad)
            lines.append(
                _(
                    "{term}: NOT convex: midpoint convexity fails on {bad} of {lines} lines "
                    "(worst excess {worst:.2%} of the largest loss on the line)"
                ).format(term=_term(term), bad=len(bad), lines=len(found), worst=worst)
            )
        else:
            lines.append(
                _(
                    "{term}: no violation on {lines} lines (consistent with convexity here, "
                    "but no proof of it)"
                ).format(term=_term(term), lines=len(found))
            )
    return "\n".join(lines)


def plot_line(
    ts: np.ndarray,
    values: Mapping[str, np.ndarray],
    *,
    terms: Sequence[str] = TERMS,
    labels: tuple[str, str] = ("x0", "x1"),
    title: str = N_("The losses along a line"),
) -> Figure:
    """Each term along a line x0 + t·(x1 − x0), with the chord between the end points t = 0, 1
    dashed (a convex function lies below its chords)."""
    use_language_font()
    fig, axes = plt.subplots(1, len(terms), figsize=(4.4 * len(terms), 3.6), squeeze=False)
    for ax, term in zip(axes[0], terms, strict=True):
        v = np.asarray(values[term])
        ax.plot(ts, v, marker="o", markersize=3, label=short_loss_name(term))
        i0, i1 = int(np.argmin(np.abs(ts))), int(np.argmin(np.abs(ts - 1.0)))
        ax.plot([ts[i0], ts[i1]], [v[i0], v[i1]], "k--", linewidth=1, label=_("chord"))
        ax.set_xticks([0, 0.5, 1], [_(labels[0]), _("midpoint"), _(labels[1])])
        ax.set_xlabel(_("t (position on the line)"))
        ax.set_ylabel(loss_name(term))
        ax.set_title(loss_name(term), fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(_(title))
    fig.tight_layout()
    return fig
