"""Figures the lessons share: image grids and loss curves (titled, axes labelled).

``plot_losses`` is the one loss-curve plot; ``plot_history`` (one run), ``plot_runs`` (a series,
relative) and ``plot_series`` (a series against evaluations and seconds) are its usual calls.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..images import to_pil


def show_images(
    images: Sequence[torch.Tensor] | Mapping[str, torch.Tensor],
    titles: Sequence[str] | None = None,
    *,
    ncols: int | None = None,
    suptitle: str | None = None,
    size: float = 3.0,
) -> Figure:
    """A grid of images at their aspect ratio, each titled (a mapping's keys are the titles)."""
    if isinstance(images, Mapping):
        titles = list(images) if titles is None else titles
        images = list(images.values())
    images = list(images)
    n = len(images)
    ncols = ncols or min(n, 5)
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(to_pil(images[i]))
            if titles is not None and i < len(titles):
                ax.set_title(str(titles[i]), fontsize=10)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def _loss_curves(
    runs: Any, keys: Sequence[str] | None, x: str
) -> tuple[list[tuple[str, list[float], list[float], float]], str]:
    """(label, xs, ys, line width) of each curve ``plot_losses`` draws, and what the y axis is."""
    if isinstance(runs, Mapping):  # several runs: one curve each, of one loss
        key = keys[0] if keys else "total"
        curves = []
        for label, result in runs.items():
            history = list(result.history)
            if history:
                ys = [_loss_of(r, key) for r in history]
                curves.append((str(label), [r[x] for r in history], ys, 1.5))
        return curves, f"{key} loss"
    history = list(getattr(runs, "history", runs))  # one run: a Result or its history
    if not history:
        return [], "loss"
    layers = list(history[0].get("style_layers", {}))
    keys = list(keys) if keys is not None else ["total", "content", *layers]
    xs = [r[x] for r in history]
    curves = [
        (
            f"E_l {key}" if key in layers else key,
            xs,
            [_loss_of(r, key) for r in history],
            2.0 if key == "total" else 1.2,
        )
        for key in keys
    ]
    return curves, "loss"


def _loss_of(record: Mapping[str, Any], key: str) -> float:
    layers = record.get("style_layers", {})
    return layers[key] if key in layers else record[key]


def plot_losses(
    runs: Any,
    keys: Sequence[str] | None = None,
    *,
    x: str = "evaluation",
    relative: bool = False,
    logy: bool = True,
    ax: Axes | None = None,
    title: str = "Loss during the optimisation",
) -> Axes:
    """The course's one loss-curve plot (log scale by default).

    ``runs`` is one run (a ``Result`` or its history: a curve per loss, by default total, content
    and each style layer's E_l, or those named in ``keys``) or several (a mapping label →
    ``Result``: one curve per run, of ``keys[0]``, by default the total). ``x`` is
    ``"evaluation"`` or ``"seconds"``; ``relative=True`` divides each curve by its first value, so
    runs whose losses live on very different scales (different layers) can be compared.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    curves, what = _loss_curves(runs, keys, x)
    if not curves:
        ax.set_title(title + " (no evaluations yet)")
        return ax
    for label, xs, ys, width in curves:
        if relative and ys and ys[0] > 0:
            ys = [y / ys[0] for y in ys]
        if logy and not any(y > 0 for y in ys):
            continue  # nothing to draw on a log scale (e.g. no content term)
        ax.plot(xs, ys, label=label, linewidth=width)
    if logy:
        ax.set_yscale("log")
    if relative:
        what = f"{what} / {what} at evaluation 1"
    ax.set_xlabel("evaluations (forward + backward passes)" if x == "evaluation" else "seconds")
    ax.set_ylabel(f"{what} (log scale)" if logy else what)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return ax


def plot_history(
    history: Sequence[Mapping[str, Any]],
    keys: Sequence[str] | None = None,
    *,
    x: str = "evaluation",
    logy: bool = True,
    ax: Axes | None = None,
    title: str = "Loss during the optimisation",
) -> Axes:
    """Loss curves of one run's history: ``plot_losses(history, keys, …)``.

    By default total, content and each style layer's E_l; ``keys`` may name ``total``,
    ``content``, ``style`` or style layers; ``x`` is ``"evaluation"`` or ``"seconds"``.
    """
    return plot_losses(history, keys, x=x, logy=logy, ax=ax, title=title)


def png_bytes(image: torch.Tensor) -> bytes:
    """An image tensor as PNG bytes (for an ``ipywidgets.Image``)."""
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG")
    return buffer.getvalue()


def figure_png(fig: Figure, dpi: int = 80) -> bytes:
    """A matplotlib figure as PNG bytes, closing the figure (for live plots in widgets)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def plot_runs(
    runs: Mapping[str, Any],
    key: str = "total",
    *,
    relative: bool = True,
    ax: Axes | None = None,
    title: str = "Loss of each run",
) -> Axes:
    """One loss curve per run of a series (label → ``Result``), relative to its start by default:
    ``plot_losses(runs, [key], relative=relative)``."""
    return plot_losses(runs, [key], relative=relative, ax=ax, title=title)


def plot_series(
    results: Mapping[str, Any],
    key: str = "total",
    *,
    against: Sequence[str] = ("evaluation", "seconds"),
    title: str = "Total loss of each run",
) -> Figure:
    """``key`` of several runs against evaluations or seconds, one ``plot_losses`` panel each."""
    fig, axes = plt.subplots(1, len(against), figsize=(6.2 * len(against), 4), squeeze=False)
    for ax, x in zip(axes[0], against, strict=True):
        when = "evaluations" if x == "evaluation" else "time"
        plot_losses(results, [key], x=x, ax=ax, title=f"{title}, against {when}")
    fig.tight_layout()
    return fig
