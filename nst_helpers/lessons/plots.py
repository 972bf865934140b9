"""Figures the lessons share: image grids and loss curves (titled, axes labelled).

``plot_losses`` is the one loss-curve plot; ``plot_history`` (one run), ``plot_runs`` (a series,
relative) and ``plot_series`` (a series against evaluations and seconds) are its usual calls.

Titles and labels are in the lessons' language (``NST_LANG``): the default titles are English
messages (``N_``) translated when drawn, and a title a caller passes is looked up too (so
``show_images({"content": …, "style": …})`` says 内容图 and 风格图 in the Chinese lessons). Every
function here calls ``cjk_font.use_language_font()`` first.
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

from ..i18n import N_, _, pgettext
from ..images import to_pil
from .cjk_font import use_language_font

#: The losses' names, in English (``loss_name`` translates).
LOSS_NAMES = {"total": N_("total loss"), "content": N_("content loss"), "style": N_("style loss")}


def short_loss_name(key: str) -> str:
    """ "total", "content" or "style" (a loss, in a legend or a summary) in the lessons' language;
    any other key (a style layer) as it is."""
    names = {
        "total": pgettext("loss", "total"),
        "content": pgettext("loss", "content"),
        "style": pgettext("loss", "style"),
    }
    return names.get(key, key)


def loss_name(key: str) -> str:
    """ "total loss", "content loss", "style loss" (or "relu1_1 loss") in the lessons' language."""
    return _(LOSS_NAMES[key]) if key in LOSS_NAMES else _("{key} loss").format(key=key)


def show_images(
    images: Sequence[torch.Tensor] | Mapping[str, torch.Tensor],
    titles: Sequence[str] | None = None,
    *,
    ncols: int | None = None,
    suptitle: str | None = None,
    size: float = 3.0,
) -> Figure:
    """A grid of images [1, 3, H, W] at their aspect ratio, each titled (a mapping's keys are the
    titles; every title is looked up in the catalog)."""
    use_language_font()
    if isinstance(images, Mapping):
        titles = list(images) if titles is None else titles
        images = list(images.values())
    n, titles = len(images), list(titles or [])
    ncols = ncols or min(n, 5)
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(to_pil(images[i]))
            if i < len(titles):
                ax.set_title(_(str(titles[i])), fontsize=10)
    if suptitle:
        fig.suptitle(_(suptitle))
    fig.tight_layout()
    return fig


def _loss_curves(runs: Any, keys: Sequence[str] | None) -> tuple[list, str]:
    """(label, history, key, line width) of each curve ``plot_losses`` draws, and the y axis."""
    if isinstance(runs, Mapping):  # several runs: one curve each, of one loss
        key = keys[0] if keys else "total"
        curves = [(_(str(label)), run.history, key, 1.5) for label, run in runs.items()]
        return [c for c in curves if c[1]], loss_name(key)
    history = list(getattr(runs, "history", runs))  # one run: a Result or its history
    layers = list(history[0].get("style_layers", {})) if history else []
    keys = list(keys) if keys is not None else ["total", "content", *layers]
    labels = {k: f"E_l {k}" if k in layers else short_loss_name(k) for k in keys}
    curves = [(labels[k], history, k, 2.0 if k == "total" else 1.2) for k in keys]
    return (curves if history else []), _("loss")


def plot_losses(
    runs: Any,
    keys: Sequence[str] | None = None,
    *,
    x: str = "evaluation",
    relative: bool = False,
    logy: bool = True,
    ax: Axes | None = None,
    title: str = N_("Loss during the optimisation"),
) -> Axes:
    """The course's one loss-curve plot (log scale by default).

    ``runs`` is one run (a ``Result`` or its history: a curve per loss, by default total, content
    and each style layer's E_l, or those named in ``keys``) or several (a mapping label →
    ``Result``: one curve per run, of ``keys[0]``, by default the total). ``x`` is
    ``"evaluation"`` or ``"seconds"``; ``relative=True`` divides each curve by its first value, so
    runs whose losses live on very different scales (different layers) can be compared.
    """
    use_language_font()
    ax = plt.subplots(figsize=(7, 4))[1] if ax is None else ax
    title = _(title)
    curves, what = _loss_curves(runs, keys)
    if not curves:
        ax.set_title(_("{title} (no evaluations yet)").format(title=title))
        return ax
    for label, history, key, width in curves:  # a record's key, or a style layer's E_l
        ys = [r[key] if key in r else r["style_layers"][key] for r in history]
        xs, ys = [r[x] for r in history], [y / ys[0] for y in ys] if relative and ys[0] > 0 else ys
        if not logy or any(y > 0 for y in ys):  # a log scale cannot draw all zeros (no content)
            ax.plot(xs, ys, label=label, linewidth=width)
    if logy:
        ax.set_yscale("log")
    if relative:
        what = _("{what} / {what} at evaluation 1").format(what=what)
    evaluations = _("evaluations (forward + backward passes)")
    ax.set_xlabel(evaluations if x == "evaluation" else _("seconds"))
    ax.set_ylabel(_("{what} (log scale)").format(what=what) if logy else what)
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
    title: str = N_("Loss during the optimisation"),
) -> Axes:
    """Loss curves of one run's history (``Result.history``): ``plot_losses(history, keys, …)``;
    ``keys`` may name ``total``, ``content``, ``style`` or style layers."""
    return plot_losses(history, keys, x=x, logy=logy, ax=ax, title=title)


def plot_runs(
    runs: Mapping[str, Any],
    key: str = "total",
    *,
    relative: bool = True,
    ax: Axes | None = None,
    title: str = N_("Loss of each run"),
) -> Axes:
    """One loss curve per run of a series (label → ``Result``), relative to its start by default:
    ``plot_losses(runs, [key], relative=relative)``."""
    return plot_losses(runs, [key], relative=relative, ax=ax, title=title)


def plot_series(
    results: Mapping[str, Any],
    key: str = "total",
    *,
    against: Sequence[str] = ("evaluation", "seconds"),
    title: str = N_("Total loss of each run"),
) -> Figure:
    """``key`` of several runs against evaluations or seconds, one ``plot_losses`` panel each."""
    use_language_font()
    fig, axes = plt.subplots(1, len(against), figsize=(6.2 * len(against), 4), squeeze=False)
    for ax, x in zip(axes[0], against, strict=True):
        panel = (
            _("{title}, against evaluations") if x == "evaluation" else _("{title}, against time")
        )
        plot_losses(results, [key], x=x, ax=ax, title=panel.format(title=_(title)))
    fig.tight_layout()
    return fig


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
