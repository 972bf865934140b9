"""Figures the lessons share: image grids and loss curves (``plot_losses`` is the one loss plot;
``plot_history`` draws one run as the parts of L_total, ``plot_runs`` and ``plot_series`` series).
Titles and labels are in the lessons' language (``NST_LANG``): default titles are English (``N_``)
and translated when drawn, and so is a title a caller passes (``show_images({"content": …})``
says 内容图 in Chinese). Each function calls ``cjk_font.use_language_font()`` first."""

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
    names = {"total": pgettext("loss", "total"), "content": pgettext("loss", "content"),
             "style": pgettext("loss", "style")}  # fmt: skip
    return names.get(key, key)


def loss_name(key: str) -> str:
    """ "total loss", "content loss", "style loss" (or "relu1_1 loss") in the lessons' language."""
    return _(LOSS_NAMES[key]) if key in LOSS_NAMES else _("{key} loss").format(key=key)


def show_images(images: Sequence[torch.Tensor] | Mapping[str, torch.Tensor],
                titles: Sequence[str] | None = None, *, ncols: int | None = None,
                suptitle: str | None = None, size: float = 3.0) -> Figure:  # fmt: skip
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


def _draw(curves: list, x: str, relative: bool, logy: bool, ax: Axes | None, title: str,
          what: str) -> Axes:  # fmt: skip
    """Draw ``curves`` (label, xs, ys, line width; thin ones dashed) on one labelled axis."""
    use_language_font()
    ax = plt.subplots(figsize=(7, 4))[1] if ax is None else ax
    title = _(title)
    if not curves:
        ax.set_title(_("{title} (no evaluations yet)").format(title=title))
        return ax
    for label, xs, ys, width in curves:
        ys = [y / ys[0] for y in ys] if relative and ys[0] > 0 else ys
        if not logy or any(y > 0 for y in ys):  # a log scale cannot draw all zeros (no content)
            ax.plot(xs, ys, "--" if width < 1 else "-", label=label, linewidth=width)
    what = _("{what} / {what} at evaluation 1").format(what=what) if relative else what
    evaluations = _("evaluations (forward + backward passes)")
    ax.set(yscale="log" if logy else "linear", title=title,
           xlabel=evaluations if x == "evaluation" else _("seconds"),
           ylabel=_("{what} (log scale)").format(what=what) if logy else what)  # fmt: skip
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return ax


def plot_losses(runs: Any, keys: Sequence[str] | None = None, *, x: str = "evaluation",
                relative: bool = False, logy: bool = True, ax: Axes | None = None,
                title: str = N_("Loss during the optimisation")) -> Axes:  # fmt: skip
    """The course's one loss-curve plot (log scale by default).

    ``runs`` is several runs (a mapping label → ``Result``: one curve per run, of ``keys[0]``, by
    default the total) or one run (a ``Result`` or its history): the losses named in ``keys``
    as recorded ("total", "content", "style" or a style layer's E_l), or without ``keys``
    ``plot_history``'s weighted parts of L_total. ``x`` is ``"evaluation"`` or ``"seconds"``;
    ``relative=True`` divides each curve by its first value, so runs whose losses live on very
    different scales (different layers) can be compared.
    """
    if isinstance(runs, Mapping):  # several runs: one curve each, of one loss
        key = keys[0] if keys else "total"
        chosen = [(_(str(label)), run.history, key, 1.5) for label, run in runs.items()]
        what = loss_name(key)
    elif keys is None:
        return plot_history(runs, title, x=x, logy=logy, ax=ax)
    else:
        history = list(getattr(runs, "history", runs))
        label = lambda k: short_loss_name(k) if k in LOSS_NAMES else f"E_l {k}"  # noqa: E731
        chosen = [(label(k), history, k, 2.0 if k == "total" else 1.2) for k in keys]
        what = _("loss")
    curves = [
        (label, [r[x] for r in h], [r[k] if k in r else r["style_layers"][k] for r in h], width)
        for label, h, k, width in chosen
        if h
    ]
    return _draw(curves, x, relative, logy, ax, title, what)


def plot_history(history: Any, title: str | None = None, *, alpha: float | None = None,
                 beta: float | None = None, layers: bool = True, x: str = "evaluation",
                 logy: bool = True, ax: Axes | None = None) -> Axes:  # fmt: skip
    """One run's loss curves as the two parts of L_total = α L_content + β Σ_l w_l E_l (Eq. 7)
    that the optimisation balances: L_total, α·L_content and β·L_style on one log axis, and with
    ``layers`` each style layer's β·w_l·E_l (thin, dashed); unweighted, L_content and E_l differ by
    about β (10⁹ here) and the style term would look negligible. Lessons 04, 05, the dashboard.

    ``history``: a ``Result`` (α, β, w_l from its ``settings``; ``alpha``, ``beta`` win) or its
    records alone: then α = 1 (``Options.alpha``), equal w_l, and β = (L_total − α·L_content) /
    L_style at the last evaluation (exact without total variation).
    """
    settings = getattr(history, "settings", None) or {}
    records = list(getattr(history, "history", history))
    alpha = settings.get("alpha", 1.0) if alpha is None else alpha
    beta = settings.get("beta") if beta is None else beta
    last = records[-1] if records else {}
    if beta is None:
        beta = (last["total"] - alpha * last["content"]) / last["style"] if last.get("style") else 0
    names = list(last.get("style_layers", {})) if layers else []
    w = settings.get("style_weights") or dict.fromkeys(names, 1 / max(1, len(names)))
    xs = [r[x] for r in records]
    curves = [
        (_("L_total (total loss)"), xs, [r["total"] for r in records], 2.0),
        (_("α·L_content (content term)"), xs, [alpha * r["content"] for r in records], 1.4),
        (_("β·L_style = β·Σ w_l E_l (style term)"), xs, [beta * r["style"] for r in records], 1.4),
    ]
    share = _("β·w_l·E_l, {layer}")
    curves += [(share.format(layer=n), xs, [beta * w[n] * r["style_layers"][n] for r in records],
                0.8) for n in names]  # fmt: skip
    title = N_("Loss during the optimisation") if title is None else title
    return _draw(curves if records else [], x, False, logy, ax, title, _("the terms of L_total"))


def plot_runs(runs: Mapping[str, Any], key: str = "total", *, relative: bool = True,
              ax: Axes | None = None, title: str = N_("Loss of each run")) -> Axes:  # fmt: skip
    """One loss curve per run of a series (label → ``Result``), relative to its start by default:
    ``plot_losses(runs, [key], relative=relative)``."""
    return plot_losses(runs, [key], relative=relative, ax=ax, title=title)


def plot_series(results: Mapping[str, Any], key: str = "total", *,
                against: Sequence[str] = ("evaluation", "seconds"),
                title: str = N_("Total loss of each run")) -> Figure:  # fmt: skip
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
