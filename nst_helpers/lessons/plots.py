"""Figures the lessons share: image grids and loss curves (titled, axes labelled)."""

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


def plot_history(
    history: Sequence[Mapping[str, Any]],
    keys: Sequence[str] | None = None,
    *,
    x: str = "evaluation",
    logy: bool = True,
    ax: Axes | None = None,
    title: str = "Loss during the optimisation",
) -> Axes:
    """Loss curves from a run's history: total, content and each style layer's E_l by default.

    ``x`` is ``"evaluation"`` or ``"seconds"``; ``keys`` may name ``total``, ``content``,
    ``style`` or style layers.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    if not history:
        ax.set_title(title + " (no evaluations yet)")
        return ax
    layers = list(history[0].get("style_layers", {}))
    keys = list(keys) if keys is not None else ["total", "content", *layers]
    xs = [r[x] for r in history]
    for key in keys:
        ys = [r["style_layers"][key] if key in layers else r[key] for r in history]
        if logy and not any(y > 0 for y in ys):
            continue  # nothing to draw on a log scale (e.g. no content term)
        label = f"E_l {key}" if key in layers else key
        ax.plot(xs, ys, label=label, linewidth=2.0 if key == "total" else 1.2)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("evaluations (forward + backward passes)" if x == "evaluation" else "seconds")
    ax.set_ylabel("loss (log scale)" if logy else "loss")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return ax


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
    """One loss curve per run of a series (``runs`` maps a label to a ``Result``), log scale.

    ``relative=True`` divides each curve by its first value, so runs whose losses live on very
    different scales (different layers) can be compared: how far each one got.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for label, result in runs.items():
        ys = [r[key] for r in result.history]
        if relative and ys and ys[0] > 0:
            ys = [y / ys[0] for y in ys]
        ax.plot(range(1, len(ys) + 1), ys, label=str(label))
    ax.set_yscale("log")
    ax.set_xlabel("evaluations (forward + backward passes)")
    what = "loss / loss at evaluation 1" if relative else "loss"
    ax.set_ylabel(f"{what} (log scale)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return ax
