"""The loss landscape (notebook 06): 2-D slices through image space and convexity checks.

A slice is L(x + a·d1 + b·d2) over a grid of (a, b), for the total, content and style loss, around
a point x (e.g. the content image) along two stated directions (e.g. d1 towards the style image,
d2 random, orthogonal to d1 and as long). Every value is a forward pass only, under
``torch.no_grad``, with the optimisation's own targets and the paper's Eqs. 1, 4, 5 and 7, so the
centre of a slice is the loss the optimisation reports at x.

A function f is convex when f(θx + (1−θ)y) ≤ θf(x) + (1−θ)f(y) for all x, y and θ ∈ [0, 1]; for
continuous f it suffices that f((x + y)/2) ≤ (f(x) + f(y))/2 (midpoint convexity). One violated
midpoint disproves convexity; no violation on a few lines proves nothing.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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
from ..options import Options
from ..step import layer_terms, objective_losses
from ..transfer import prepare
from ..vgg import VGG19Features
from .background import PanelRuns, foreground_hint
from .cjk_font import use_language_font
from .plots import figure_png, loss_name, short_loss_name

TERMS: tuple[str, ...] = ("total", "content", "style")
#: A batch of images [B, 3, H, W] → {"total", "content", "style": tensor [B]} (``LossTerms``).
Losses = Callable[[torch.Tensor], dict[str, torch.Tensor]]
#: What ``SliceExplorer`` needs per problem: (losses, x, d1, d2, d1's label, d2's label).
Problem = tuple[Losses, torch.Tensor, torch.Tensor, torch.Tensor, str, str]


class LossTerms:
    """L_total = α L_content + β Σ_l w_l E_l (Eq. 7), L_content (Eq. 1) and L_style (Eq. 5) of
    images, forward only, with the targets P^l, A^l, w_l, α and β of ``transfer.prepare`` for the
    same ``Options`` (or keyword changes to the defaults): the losses the optimisation reports.

    Calling it on a batch [B, 3, H, W] (H, W: the content's) returns {"total", "content",
    "style": float64 tensor [B]}, computed image by image as the run computes them. The
    extensions of lesson 07 (``preserve_color``, ``tv_weight``) are refused. Lesson 06.
    """

    def __init__(
        self,
        content: torch.Tensor,
        style: torch.Tensor,
        options: Options | None = None,
        *,
        vgg: VGG19Features,
        **changes: Any,
    ) -> None:
        o = Options(**changes) if options is None else options.replace(**changes)
        if o.preserve_color or o.tv_weight:
            raise ParameterError("LossTerms: the paper's losses only; no preserve_color, tv_weight")
        prepared = prepare(content, style, o, vgg)
        self.vgg, self.objective = prepared.vgg, prepared.objective
        self.shape = tuple(prepared.x0.shape[-2:])

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """The three losses of each image of the batch, as float64 tensors [B] on the CPU."""
        images = images.unsqueeze(0) if images.dim() == 3 else images
        if tuple(images.shape[-2:]) != self.shape:
            raise ParameterError(f"images are {tuple(images.shape[-2:])}, not {self.shape} px")
        out: dict[str, list[float]] = {t: [] for t in TERMS}
        for image in images.to(self.vgg.device).split(1):  # the run's own formulas (step.py)
            losses = objective_losses(*layer_terms(self.vgg, image, self.objective), self.objective)
            for term, value in zip(TERMS, losses, strict=True):
                out[term].append(float(value))
        return {t: torch.tensor(v, dtype=torch.float64) for t, v in out.items()}

    def at(self, image: torch.Tensor) -> dict[str, float]:
        """The three losses of one image [1, 3, H, W], as floats."""
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
    d = torch.randn(like.shape, generator=torch.Generator().manual_seed(int(seed)))
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

    @property
    def points(self) -> int:
        """Grid points per axis."""
        return len(self.a)

    @property
    def centre(self) -> dict[str, float]:
        """Each loss at (a, b) = (0, 0), the point x itself."""
        return {t: float(v[len(self.b) // 2, self.points // 2]) for t, v in self.values.items()}


class SliceStoppedError(Exception):
    """A slice's computation was stopped (its message says after how many rows)."""


def loss_slice(
    loss: Losses,
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
    """The losses at x + a·d1 + b·d2 for a, b in ``points`` steps over [−span, span]: points²
    forward passes, one row of ``points`` images per call of ``loss``.

    ``points`` must be odd, so that (0, 0), the point x itself, lies on the grid (the centre). The
    images are not clamped to [0, 1]: the optimisation's variable is not either. Setting
    ``stop_event`` ends it after the row in progress (``SliceStoppedError``).
    """
    if isinstance(points, bool) or not isinstance(points, int) or points < 3 or points % 2 == 0:
        raise ParameterError(f"points must be an odd whole number ≥ 3, not {points!r}")
    if not (span > 0 and math.isfinite(span)):
        raise ParameterError(f"span must be finite and > 0, not {span!r}")
    coords = np.linspace(-span, span, points)
    coords[points // 2] = 0.0
    values = {t: np.empty((points, points)) for t in TERMS}
    x, d1, d2 = x.detach(), d1.detach(), d2.detach()
    for i in tqdm(range(points), desc="slice", unit="row", disable=not progress):
        if stop_event is not None and stop_event.is_set():
            raise SliceStoppedError(
                _("stopped after {rows} of {points} rows").format(rows=i, points=points)
            )
        found = loss(torch.cat([x + float(a) * d1 + float(coords[i]) * d2 for a in coords]))
        for t in TERMS:
            values[t][i] = found[t].numpy()
    return LossSlice(coords, coords.copy(), values, d1_label, d2_label, title)


def plot_slice(s: LossSlice, *, fig: Figure | None = None) -> Figure:
    """Each loss of a slice as a 3-D surface (top row) and a filled contour plot with x marked
    (bottom row); the slice's title and direction labels are looked up in the lessons' language."""
    use_language_font()
    fig = plt.figure(figsize=(4.6 * len(TERMS), 8.2)) if fig is None else fig
    A, B = np.meshgrid(s.a, s.b)
    along_a = _("a (along {direction})").format(direction=_(s.d1))
    along_b = _("b (along {direction})").format(direction=_(s.d2))
    for j, term in enumerate(TERMS):
        Z, name = s.values[term], loss_name(term)
        ax = fig.add_subplot(2, len(TERMS), j + 1, projection="3d")
        ax.plot_surface(A, B, Z, cmap="viridis", linewidth=0, antialiased=True)
        for set_label, label in ((ax.set_xlabel, along_a), (ax.set_ylabel, along_b),
                                 (ax.set_zlabel, name)):  # fmt: skip
            set_label(label, fontsize=8)
        ax.set_title(_("{loss} surface").format(loss=name), fontsize=10)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax = fig.add_subplot(2, len(TERMS), len(TERMS) + j + 1)
        fig.colorbar(ax.contourf(A, B, Z, levels=20, cmap="viridis"), ax=ax, label=name)
        ax.contour(A, B, Z, levels=10, colors="white", linewidths=0.5)
        ax.plot([0], [0], marker="x", color="red", label=_("x (centre)"))
        ax.set(xlabel=along_a, ylabel=along_b)
        ax.set_title(_("{loss}, contours").format(loss=name), fontsize=10)
        ax.legend(fontsize=7, loc="upper right")
    title = _(s.title) if s.title else _("Loss over a 2-D slice")
    fig.suptitle(_("{title}\nL(x + a·d1 + b·d2), {n}×{n} grid").format(title=title, n=s.points))
    fig.tight_layout()
    return fig


class SliceExplorer(PanelRuns, w.VBox):
    """Recompute a slice at another resolution or span: pick the problem, set the grid points and
    the span, press Compute. ``problems`` maps a name to (losses, x, d1, d2, d1 label, d2 label);
    ``initial`` may hold slices already computed, by the same names. It runs like every panel
    (``background.PanelRuns``: Stop ends a slice after the row in progress; ``mode`` "thread" or
    "foreground", default ``runtime.panel_mode()``)."""

    def __init__(
        self,
        problems: Mapping[str, Problem],
        *,
        points: int = 15,
        span: float = 1.0,
        initial: Mapping[str, LossSlice] | None = None,
        mode: str | None = None,
    ) -> None:
        self.problems, self.slices = dict(problems), dict(initial or {})
        self._start_runs(mode, "nst-slice")
        self.problem = w.Dropdown(options=[(_(k), k) for k in problems], description=_("inputs"))
        opts = {"style": {"description_width": "initial"}, "continuous_update": False}
        self.points = w.IntSlider(
            points | 1, 3, 41, 2, description=_("grid points per axis"), **opts
        )
        self.span = w.FloatSlider(
            value=span, min=0.1, max=3, step=0.1, description=_("span ±"), **opts
        )
        self.run_button = w.Button(description=_("Compute"), icon="refresh", button_style="primary")
        self.stop_button = w.Button(description=_("Stop"), icon="stop", disabled=True)
        self.status, self.image = w.Label(), w.Image(format="png", layout={"max_width": "100%"})
        self.run_button.on_click(lambda _: self._click(lambda: self.compute(wait=False)))
        self.stop_button.on_click(lambda _: self.stop())
        self.problem.observe(lambda _: self._show(), names="value")
        stop = w.HTML(f"<small>{foreground_hint()}</small>") if self.runner.foreground else None
        controls = [self.problem, self.points, self.span, self.run_button, stop or self.stop_button]
        super().__init__([w.HBox(controls), self.status, self.image])
        self.add_class("nst-slice-explorer")
        self._show()

    def _show(self) -> None:
        s = self.slices.get(self.problem.value)
        if s is None:
            self.status.value = _("press Compute")
            return
        self.image.value = figure_png(plot_slice(s, fig=Figure(figsize=(13.8, 8.2))), dpi=60)
        self.status.value = _("{name}: grid {n}×{n}, span ±{span:g}").format(
            name=_(self.problem.value), n=s.points, span=s.a[-1]
        )

    def compute(self, wait: bool = True) -> LossSlice | None:
        """Compute the slice the controls describe (points² forward passes) and show it; Stop
        ends it after the row in progress (None, said on the status line), as does an error.
        ``wait=True`` (headless use, tests) blocks until it is done and returns the slice."""
        name, n, span = self.problem.value, int(self.points.value), float(self.span.value)
        loss, x, d1, d2, l1, l2 = self.problems[name]
        self.status.value = _("computing {n}×{n} = {count} forward passes …").format(
            n=n, count=n * n
        )
        self.run_button.disabled, self.stop_button.disabled = True, False

        def work() -> LossSlice | None:
            try:
                s = loss_slice(loss, x, d1, d2, points=n, span=span, d1_label=l1, d2_label=l2,
                               title=name, stop_event=self._stop_event)  # fmt: skip
            except SliceStoppedError as stopped:
                self.status.value = str(stopped)
                return None
            self.slices[name] = s
            self._show()
            return s

        return self.runner.start(work, wait=wait)


# --------------------------------------------------------------------------- convexity


@dataclass
class MidpointCheck:
    """Midpoint convexity along one line: ``values`` at ``ts`` (equally spaced in [0, 1]), and the
    triples (t_i, t_j, excess) where f((x_i + x_j)/2) exceeds (f(x_i) + f(x_j))/2 by ``excess``;
    ``worst`` is the largest excess found (≤ 0: none)."""

    ts: np.ndarray
    values: np.ndarray
    violations: list[tuple[float, float, float]]
    worst: float

    @property
    def convex_here(self) -> bool:
        """No midpoint on this line violates convexity (which does not prove convexity)."""
        return not self.violations


def midpoint_convexity(values: Sequence[float], *, rtol: float = 1e-6) -> MidpointCheck:
    """Check f(mid) ≤ (f(left) + f(right))/2 for every pair of samples whose midpoint is sampled.

    ``values`` are f at equally spaced points t_0 … t_{n−1} (n ≥ 3) along a line. An excess above
    ``rtol`` · max|f| (floating-point noise) counts as a violation.
    """
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 3:
        raise ParameterError("midpoint_convexity needs values at 3 or more points")
    ts, tol = np.linspace(0.0, 1.0, len(v)), rtol * max(float(np.max(np.abs(v))), 1e-300)
    excess = {(i, j): float(v[(i + j) // 2] - (v[i] + v[j]) / 2)
              for i in range(len(v)) for j in range(i + 2, len(v), 2)}  # fmt: skip
    violations = [(float(ts[i]), float(ts[j]), e) for (i, j), e in excess.items() if e > tol]
    return MidpointCheck(ts, v, violations, max(excess.values()))


def check_line(f: Callable[[Any], float], x0: Any, x1: Any, *, points: int = 9) -> MidpointCheck:
    """Midpoint convexity of ``f`` on the segment x0 → x1 (numbers, arrays or tensors)."""
    return midpoint_convexity([float(f(x0 + t * (x1 - x0))) for t in np.linspace(0, 1, points)])


def line_values(
    loss: Losses, x0: torch.Tensor, x1: torch.Tensor, *, points: int = 9, extend: float = 0.0
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The three losses at x0 + t·(x1 − x0) for ``points`` values of t in [−extend, 1 + extend]."""
    ts = np.linspace(-extend, 1.0 + extend, points)
    x0, x1 = x0.detach(), x1.detach().to(x0.device)
    found = loss(torch.cat([x0 + float(t) * (x1 - x0) for t in ts]))
    return ts, {t: v.numpy() for t, v in found.items()}


def segment_checks(
    loss: Losses, x0: torch.Tensor, x1: torch.Tensor, *, points: int = 9
) -> dict[str, list[MidpointCheck]]:
    """Midpoint convexity of each loss on the segment x0 → x1 (e.g. two runs' results)."""
    values = line_values(loss, x0, x1, points=points)[1]
    return {t: [midpoint_convexity(values[t])] for t in TERMS}


def random_lines(
    loss: Losses, x: torch.Tensor, *, lines: int = 4, points: int = 9, seed: int = 0
) -> dict[str, list[MidpointCheck]]:
    """Midpoint convexity of each loss along ``lines`` random lines through ``x``: line k runs
    from x − d_k to x + d_k, d_k a Gaussian direction (seed ``seed + k``) half as long as a
    uniform-noise image of x's size (a large but not absurd step)."""
    radius = 0.5 * math.sqrt(x.numel() / 3.0)
    directions = [random_direction(x, seed=seed + k, norm=radius) for k in range(lines)]
    found = [segment_checks(loss, x - d, x + d, points=points) for d in directions]
    return {t: [line[t][0] for line in found] for t in TERMS}


def convexity_summary(checks: Mapping[str, Sequence[MidpointCheck]]) -> str:
    """One line per loss: on how many lines midpoint convexity failed, and the worst excess
    relative to the largest |loss| on its line."""
    lines = []
    for term, found in checks.items():
        name = short_loss_name(term)
        name = name.rjust(8) if name.isascii() else name  # aligned in English
        bad = [c.worst / (np.max(np.abs(c.values)) or 1.0) for c in found if not c.convex_here]
        lines.append(
            _("{term}: NOT convex: midpoint convexity fails on {bad} of {lines} lines "
              "(worst excess {worst:.2%} of the largest loss on the line)"
              ).format(term=name, bad=len(bad), lines=len(found), worst=max(bad, default=0))
            if bad
            else _("{term}: no violation on {lines} lines (consistent with convexity here, "
                   "but no proof of it)").format(term=name, lines=len(found))
        )  # fmt: skip
    return "\n".join(lines)


def plot_line(
    ts: np.ndarray,
    values: Mapping[str, np.ndarray],
    *,
    labels: tuple[str, str] = ("x0", "x1"),
    title: str = N_("The losses along a line"),
) -> Figure:
    """Each loss along a line x0 + t·(x1 − x0), with the chord between the end points t = 0, 1
    dashed (a convex function lies below its chords)."""
    use_language_font()
    fig, axes = plt.subplots(1, len(TERMS), figsize=(4.4 * len(TERMS), 3.6))
    i0, i1 = int(np.argmin(np.abs(ts))), int(np.argmin(np.abs(ts - 1.0)))
    for ax, term in zip(axes, TERMS, strict=True):
        v = np.asarray(values[term])
        ax.plot(ts, v, marker="o", markersize=3, label=short_loss_name(term))
        ax.plot([ts[i0], ts[i1]], [v[i0], v[i1]], "k--", linewidth=1, label=_("chord"))
        ax.set_xticks([0, 0.5, 1], [_(labels[0]), _("midpoint"), _(labels[1])])
        ax.set(xlabel=_("t (position on the line)"), ylabel=loss_name(term))
        ax.set_title(loss_name(term), fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(_(title))
    fig.tight_layout()
    return fig
