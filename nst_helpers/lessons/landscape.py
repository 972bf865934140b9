"""The loss landscape (lesson 06): slices L(x + a·d1 + b·d2) of L_total, L_content and L_style
around a point x along two stated directions (forward passes with the run's own targets, so a
slice's centre is the loss the run reports at x), and midpoint convexity along lines: f convex
and continuous means f((x + y)/2) ≤ (f(x) + f(y))/2 for all x, y; one violated midpoint disproves
convexity, none on a few lines proves nothing.
"""

from __future__ import annotations

import itertools
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

from ..engine import Result
from ..errors import ParameterError
from ..i18n import N_, _
from ..options import Options
from ..step import layer_terms, objective_losses
from ..transfer import prepare
from ..vgg import VGG19Features
from .background import PanelRuns, foreground_hint
from .cjk_font import use_language_font
from .convergence import final_losses, mean_abs_difference
from .plots import figure_png, loss_name, short_loss_name

TERMS: tuple[str, ...] = ("total", "content", "style")
Losses = Callable[[torch.Tensor], dict[str, torch.Tensor]]  # a batch → {term: [B]}: LossTerms


class LossTerms:
    """L_total (Eq. 7), L_content (Eq. 1) and L_style (Eq. 5) of a batch [B, 3, H, W] (H, W: the
    content's) as {"total", "content", "style": float64 tensor [B]}, forward only, with the
    targets, w_l, α and β ``transfer.prepare`` makes for these ``Options`` (or keyword changes):
    the losses the run reports. No ``preserve_color``, ``tv_weight`` (lesson 07). Lesson 06."""

    def __init__(self, content: torch.Tensor, style: torch.Tensor, options: Options | None = None,
                 *, vgg: VGG19Features, **changes: Any) -> None:  # fmt: skip
        o = Options(**changes) if options is None else options.replace(**changes)
        if o.preserve_color or o.tv_weight:
            raise ParameterError("LossTerms: the paper's losses only; no preserve_color, tv_weight")
        p = prepare(content, style, o, vgg)
        self.vgg, self.objective, self.shape = p.vgg, p.objective, tuple(p.x0.shape[-2:])

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if tuple(images.shape[-2:]) != self.shape:
            raise ParameterError(f"images are {tuple(images.shape[-2:])}, not {self.shape} px")
        rows = [objective_losses(*layer_terms(self.vgg, x, self.objective), self.objective)
                for x in images.to(self.vgg.device).split(1)]  # fmt: skip
        return {t: torch.tensor([float(r[i]) for r in rows], dtype=torch.float64)
                for i, t in enumerate(TERMS)}  # fmt: skip


def towards(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The direction from ``x`` to ``target`` (resized to x's size): x + 1·d is the target."""
    if target.shape[-2:] != x.shape[-2:]:
        target = tf.interpolate(target, size=x.shape[-2:], mode="bilinear", antialias=True)
    return (target - x).detach()


def random_direction(like: torch.Tensor, *, seed: int = 0, orthogonal_to: torch.Tensor | None =
                     None, norm: float | None = None) -> torch.Tensor:  # fmt: skip
    """A Gaussian direction shaped like ``like`` (seeded), made orthogonal to ``orthogonal_to``
    (Gram–Schmidt) and of length ``norm`` (default: that of ``orthogonal_to``; else unscaled)."""
    d = torch.randn(like.shape, generator=torch.Generator().manual_seed(int(seed)))
    if orthogonal_to is not None:
        u = orthogonal_to.detach().cpu().float()
        d = d - (d * u).sum() / (u * u).sum().clamp_min(1e-12) * u
        norm = float(u.norm()) if norm is None else norm
    return (d if norm is None else d * norm / float(d.norm().clamp_min(1e-12))).to(like.device)


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
    def centre(self) -> dict[str, float]:
        """Each loss at (a, b) = (0, 0), the point x itself."""
        return {t: float(v[len(self.b) // 2, len(self.a) // 2]) for t, v in self.values.items()}


def loss_slice(loss: Losses, x: torch.Tensor, d1: torch.Tensor, d2: torch.Tensor, *,
               points: int = 15, span: float = 1.0, d1_label: str = "d1", d2_label: str = "d2",
               title: str = "", progress: bool = False,
               stop_event: threading.Event | None = None) -> LossSlice:  # fmt: skip
    """The losses at x + a·d1 + b·d2 for a, b in ``points`` steps over [−span, span]: points²
    forward passes, a row of ``points`` images per call of ``loss``. ``points`` is odd, so that
    x itself is the centre; the images are not clamped (nor is the optimisation's variable).
    Setting ``stop_event`` ends it after the row in progress (``InterruptedError``)."""
    if isinstance(points, bool) or not isinstance(points, int) or points < 3 or points % 2 == 0:
        raise ParameterError(f"points must be an odd whole number ≥ 3, not {points!r}")
    if not (span > 0 and math.isfinite(span)):
        raise ParameterError(f"span must be finite and > 0, not {span!r}")
    coords = np.linspace(-span, span, points)
    coords[points // 2] = 0.0  # x itself, exactly
    rows, x, d1, d2 = [], x.detach(), d1.detach(), d2.detach()
    for i, b in enumerate(tqdm(coords, desc=_("slice"), unit=_("row"), disable=not progress)):
        if stop_event is not None and stop_event.is_set():
            message = _("stopped after {rows} of {points} rows")
            raise InterruptedError(message.format(rows=i, points=points))
        rows.append(loss(torch.cat([x + float(a) * d1 + float(b) * d2 for a in coords])))
    values = {t: np.stack([row[t].numpy() for row in rows]) for t in TERMS}
    return LossSlice(coords, coords.copy(), values, d1_label, d2_label, title)


def plot_slice(s: LossSlice, *, fig: Figure | None = None) -> Figure:
    """Each loss of a slice as a 3-D surface (top row) and filled contours with x marked (bottom
    row); the title and the directions' labels are looked up in the lessons' language."""
    use_language_font()
    fig = plt.figure(figsize=(4.6 * len(TERMS), 8.2)) if fig is None else fig
    A, B = np.meshgrid(s.a, s.b)
    along_a = _("a (along {direction})").format(direction=_(s.d1))
    along_b = _("b (along {direction})").format(direction=_(s.d2))
    for j, term in enumerate(TERMS):
        Z, name = s.values[term], loss_name(term)
        ax = fig.add_subplot(2, len(TERMS), j + 1, projection="3d")
        ax.plot_surface(A, B, Z, cmap="viridis", linewidth=0, antialiased=True)
        for axis, label in zip("xyz", (along_a, along_b, name), strict=True):
            getattr(ax, f"set_{axis}label")(label, fontsize=8)
        ax.set_title(_("{loss} surface").format(loss=name), fontsize=10)
        ax.tick_params(labelsize=7)
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(MaxNLocator(4))
        ax = fig.add_subplot(2, len(TERMS), len(TERMS) + j + 1)
        fig.colorbar(ax.contourf(A, B, Z, levels=20, cmap="viridis"), ax=ax, label=name)
        ax.contour(A, B, Z, levels=10, colors="white", linewidths=0.5)
        ax.plot([0], [0], marker="x", color="red", label=_("x (centre)"))
        ax.set(xlabel=along_a, ylabel=along_b)
        ax.set_title(_("{loss}, contours").format(loss=name), fontsize=10)
        ax.legend(fontsize=7, loc="upper right")
    title = _(s.title) if s.title else _("Loss over a 2-D slice")
    fig.suptitle(_("{title}\nL(x + a·d1 + b·d2), {n}×{n} grid").format(title=title, n=len(s.a)))
    fig.tight_layout()
    return fig


class SliceExplorer(PanelRuns, w.VBox):
    """Recompute a slice at another resolution or span: pick the problem (``problems``: name →
    (losses, x, d1, d2, d1's label, d2's label)), the grid points and the span, press Compute.
    ``initial``: slices already computed, by name. It runs like every panel (``PanelRuns``: Stop
    ends a slice after the row in progress; ``mode`` "thread" or "foreground")."""

    def __init__(self, problems: Mapping[str, tuple], *, points: int = 15, span: float = 1.0,
                 initial: Mapping[str, LossSlice] | None = None,
                 mode: str | None = None) -> None:  # fmt: skip
        self.problems, self.slices = dict(problems), dict(initial or {})
        self._start_runs(mode, "nst-slice")
        self.problem = w.Dropdown(options=[(_(k), k) for k in problems], description=_("inputs"))
        opts = {"style": {"description_width": "initial"}, "continuous_update": False}
        self.points = w.IntSlider(points | 1, 3, 41, 2, description=_("grid points per axis"),
                                  **opts)  # fmt: skip
        self.span = w.FloatSlider(span, min=0.1, max=3, step=0.1, description=_("span ±"), **opts)
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
            name=_(self.problem.value), n=len(s.a), span=s.a[-1])  # fmt: skip

    def compute(self, wait: bool = True) -> LossSlice | None:
        """Compute the slice the controls describe (points² forward passes) and show it; Stop
        ends it after the row in progress (None, said on the status line), as does an error.
        ``wait=True`` (headless use, tests) blocks until it is done and returns the slice."""
        name, n, span = self.problem.value, int(self.points.value), float(self.span.value)
        loss, x, d1, d2, l1, l2 = self.problems[name]
        self.status.value = _("computing {n}×{n} = {c} forward passes …").format(n=n, c=n * n)
        self.run_button.disabled, self.stop_button.disabled = True, False

        def work() -> LossSlice | None:
            try:
                s = loss_slice(loss, x, d1, d2, points=n, span=span, d1_label=l1, d2_label=l2,
                               title=name, stop_event=self._stop_event)  # fmt: skip
            except InterruptedError as stopped:
                self.status.value = str(stopped)
                return None
            self.slices[name] = s
            self._show()
            return s

        return self.runner.start(work, wait=wait)


@dataclass
class MidpointCheck:
    """Midpoint convexity along a line: f at equally spaced points (``values``) and ``worst``,
    the largest f(mid) − (f(left) + f(right))/2 over the sampled triples relative to max|f|;
    ``convex_here`` when it is at most 1e-6 (rounding), which does not prove convexity."""

    values: np.ndarray
    worst: float
    convex_here = property(lambda self: self.worst <= 1e-6)


def midpoint_convexity(values: Sequence[float]) -> MidpointCheck:
    """Check f(mid) ≤ (f(left) + f(right))/2 for every pair of samples whose midpoint is sampled;
    ``values``: f at n ≥ 3 equally spaced points on a line."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 3:
        raise ParameterError("midpoint_convexity needs values at 3 or more points")
    excess = max(v[(i + j) // 2] - (v[i] + v[j]) / 2
                 for i in range(len(v)) for j in range(i + 2, len(v), 2))  # fmt: skip
    return MidpointCheck(v, float(excess) / max(float(np.abs(v).max()), 1e-300))


def check_line(f: Callable[[Any], float], x0: Any, x1: Any, *, points: int = 9) -> MidpointCheck:
    """Midpoint convexity of ``f`` on the segment x0 → x1 (numbers, arrays or tensors)."""
    return midpoint_convexity([float(f(x0 + t * (x1 - x0))) for t in np.linspace(0, 1, points)])


def line_values(loss: Losses, x0: torch.Tensor, x1: torch.Tensor, *, points: int = 9,
                extend: float = 0.0) -> tuple[np.ndarray, dict[str, np.ndarray]]:  # fmt: skip
    """The three losses at x0 + t·(x1 − x0) for ``points`` values of t in [−extend, 1 + extend]."""
    ts, x0, x1 = np.linspace(-extend, 1.0 + extend, points), x0.detach(), x1.detach().to(x0.device)
    found = loss(torch.cat([x0 + float(t) * (x1 - x0) for t in ts]))
    return ts, {term: v.numpy() for term, v in found.items()}


def segment_checks(loss: Losses, *segments: tuple[torch.Tensor, torch.Tensor], points: int = 9
                   ) -> dict[str, list[MidpointCheck]]:  # fmt: skip
    """Midpoint convexity of each loss on each segment (x0, x1), e.g. two runs' results."""
    found = [line_values(loss, x0, x1, points=points)[1] for x0, x1 in segments]
    return {t: [midpoint_convexity(v[t]) for v in found] for t in TERMS}


def random_lines(loss: Losses, x: torch.Tensor, *, lines: int = 4, points: int = 9,
                 seed: int = 0) -> dict[str, list[MidpointCheck]]:  # fmt: skip
    """``segment_checks`` on ``lines`` random lines x − d_k → x + d_k through ``x``, d_k Gaussian
    (seed ``seed + k``) and half as long as a uniform-noise image of x's size."""
    radius = 0.5 * math.sqrt(x.numel() / 3.0)
    ds = [random_direction(x, seed=seed + k, norm=radius) for k in range(lines)]
    return segment_checks(loss, *[(x - d, x + d) for d in ds], points=points)


def convexity_summary(checks: Mapping[str, Sequence[MidpointCheck]]) -> str:
    """One line per loss: on how many lines midpoint convexity failed, and the worst excess."""
    lines = []
    for term, found in checks.items():
        name = short_loss_name(term)
        name = name.rjust(8) if name.isascii() else name  # aligned in English
        bad = [c.worst for c in found if not c.convex_here]
        lines.append(_("{term}: NOT convex: midpoint convexity fails on {bad} of {lines} lines "
                       "(worst excess {worst:.2%} of the largest loss on the line)").format(
            term=name, bad=len(bad), lines=len(found), worst=max(bad)) if bad else _(
            "{term}: no violation on {lines} lines (consistent with convexity here, but no proof "
            "of it)").format(term=name, lines=len(found)))  # fmt: skip
    return "\n".join(lines)


def plot_line(ts: np.ndarray, values: Mapping[str, np.ndarray], *,
              labels: tuple[str, str] = ("x0", "x1"),
              title: str = N_("The losses along a line")) -> Figure:  # fmt: skip
    """Each loss along a line x0 + t·(x1 − x0), with the chord between t = 0 and t = 1 dashed (a
    convex function lies below its chords)."""
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


def endings(results: Mapping[str, Result], tail: float = 0.1) -> str:
    """What runs from different starts found: their lowest losses' spread, how much their best
    losses still fell over the last ``tail`` of their evaluations, their images' mean |Δ|, and what
    that supports (runs still falling by more than they differ show no different minima)."""
    final, runs = list(final_losses(results).values()), list(results.values())
    best = [np.minimum.accumulate(r.losses()) for r in runs]
    n = max(1, round(tail * min(len(b) for b in best)))  # the last n evaluations
    falls = [(b[-1 - n] - b[-1]) / b[-1] for b in best]
    spread = (max(final) - min(final)) / min(final)
    d = [mean_abs_difference(a.image, b.image) for a, b in itertools.combinations(runs, 2)]
    verdict = (N_("The losses differ by more than the runs were still falling: they may end in "
                  "different minima (or one flat valley); a segment between two results tests it."),
               N_("The runs were still falling by more than their losses differ: these losses say "
                  "nothing yet about different minima."))[bool(min(falls) >= spread)]  # fmt: skip
    return _("lowest losses {low:.4g} … {high:.4g} ({spread:.1%} apart); over their last {n} "
             "evaluations they still fell by {f0:.1%} … {f1:.1%}; the images differ by "
             "{d0:.1f} … {d1:.1f} grey levels (mean |Δ|).").format(
        low=min(final), high=max(final), spread=spread, n=n, f0=min(falls), f1=max(falls),
        d0=min(d), d1=max(d)) + "\n" + _(verdict)  # fmt: skip
