"""Watching one run converge, and comparing runs (notebooks 04–06).

- ``run_series`` (from ``series``): several runs on one problem with one progress bar
  (initialisations, optimisers, noise seeds), and ``plot_series`` (from ``plots``) to compare their
  losses against evaluations or seconds;
- the seed report's galleries (its first run's snapshots after 1, 2, 3, 10, 20, 100, 300, 500,
  1000, 2000, 4000 and 6000 evaluations; its second run's, ``SECOND_RUN_MARKS``, after 10, 200,
  1000, 3000, 5000 and 8000; capped at the run's length) as labelled grids, and
  ``SnapshotScrubber``, a slider to scrub through the snapshots;
- ``visible_change``: where the image stops changing visibly;
- ``export_gif``: the run as an animated GIF (Pillow), each frame labelled with its evaluation;
- ``find_saved_run``: a run precomputed with ``python -m nst_helpers stylize … --snapshots DIR``
  (replayed with ``runs.load_run``).
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as w
import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont

from ..errors import ParameterError
from ..i18n import N_, _, language
from ..images import check_output_path, to_pil
from ..runs import RUN_FILE
from ..transfer import DEFAULT_SNAPSHOTS, Result
from . import cjk_font
from .plots import figure_png, plot_history, png_bytes, show_images
from .plots import plot_series as plot_series  # re-exported: the notebooks' convergence.plot_series
from .series import run_series as run_series  # re-exported: the one runner of series of runs

#: The course report's second experiment: its run shown after these iterations (= evaluations).
SECOND_RUN_MARKS: tuple[int, ...] = (10, 200, 1000, 3000, 5000, 8000)

#: The optimisers notebook 05 compares: L-BFGS (the paper's) and Adam at two learning rates
#: (pixel units: the image lives in [0, 1]).
OPTIMIZERS_COMPARED: dict[str, dict[str, Any]] = {
    "L-BFGS": {"optimizer": "lbfgs"},
    "Adam, lr 0.02": {"optimizer": "adam", "lr": 0.02},
    "Adam, lr 0.1": {"optimizer": "adam", "lr": 0.1},
}


# --------------------------------------------------------------------------- several runs


def final_losses(results: Mapping[str, Result], key: str = "total") -> dict[str, float]:
    """Each run's ``key`` loss at its best evaluation (the image its ``Result.image`` holds)."""
    found = {}
    for label, result in results.items():
        k = result.best_evaluation
        found[label] = result.losses(key)[k - 1] if k else math.nan
    return found


def mean_abs_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean absolute difference of two images, in 8-bit grey levels (0–255)."""
    return float((a.detach().cpu().clamp(0, 1) - b.detach().cpu().clamp(0, 1)).abs().mean() * 255)


# --------------------------------------------------------------------------- snapshots


def dense_marks(steps: int, frames: int = 30) -> list[int]:
    """The seed report's marks (both experiments') up to ``steps`` plus about ``frames`` evenly
    spaced ones (for the galleries, the scrubber, the GIF and ``visible_change``)."""
    every = max(1, steps // frames)
    report = {*DEFAULT_SNAPSHOTS, *SECOND_RUN_MARKS}
    marks = {k for k in report if k <= steps} | set(range(every, steps + 1, every))
    return sorted(marks | {steps})


def gallery_marks(result: Result, marks: Sequence[int] = DEFAULT_SNAPSHOTS) -> list[int]:
    """The marks (default: the seed report's) at which ``result`` holds a snapshot."""
    return [k for k in marks if k in result.snapshots]


def snapshot_grid(
    result: Result,
    marks: Sequence[int] = DEFAULT_SNAPSHOTS,
    *,
    content: torch.Tensor | None = None,
    style: torch.Tensor | None = None,
    ncols: int = 5,
    size: float = 2.6,
    title: str = N_("One run, snapshot by snapshot (evaluations = forward + backward passes)"),
) -> Figure:
    """The seed report's gallery: content, style, then the snapshots at ``marks``, labelled."""
    images: dict[str, torch.Tensor] = {}
    if content is not None:
        images[_("content")] = content
    if style is not None:
        images[_("style")] = style
    for k in gallery_marks(result, marks):
        images[evaluation_label(k)] = result.snapshots[k]
    if not images:
        raise ParameterError("the run holds no snapshots at these marks")
    return show_images(images, ncols=min(ncols, len(images)), suptitle=title, size=size)


def evaluation_label(k: int) -> str:
    """ "evaluation k" in the lessons' language (a snapshot's title, a GIF frame's label)."""
    return _("evaluation {k}").format(k=k)


def _record_text(result: Result, k: int) -> str:
    if 1 <= k <= len(result.history):
        r = result.history[k - 1]
        return _(
            "evaluation {k} · total {total:.4g} · content {content:.4g} · "
            "style {style:.4g} · {seconds:.1f} s"
        ).format(
            k=k, total=r["total"], content=r["content"], style=r["style"], seconds=r["seconds"]
        )
    return evaluation_label(k)


class SnapshotScrubber(w.VBox):
    """A slider over a run's snapshots, the snapshot it points at, and the loss curve with a
    marker at that evaluation (pictures are rendered once per snapshot and cached)."""

    def __init__(self, result: Result, *, width: str = "320px") -> None:
        if not result.snapshots:
            raise ParameterError("the run holds no snapshots to scrub through")
        self.result = result
        self.marks = sorted(result.snapshots)
        self._pngs: dict[int, bytes] = {}
        self._plots: dict[int, bytes] = {}
        self.slider = w.SelectionSlider(
            options=[(str(k), k) for k in self.marks],
            value=self.marks[-1],
            description=_("evaluation"),
            continuous_update=True,
            layout=w.Layout(width="36em"),
        )
        picture = {"height": "auto", "align_self": "flex-start", "object_fit": "contain"}
        self.image = w.Image(format="png", layout=w.Layout(width=width, **picture))
        self.plot = w.Image(format="png", layout=w.Layout(width="420px", **picture))
        self.label = w.Label()
        self.slider.observe(lambda change: self.show(change["new"]), names="value")
        super().__init__([self.slider, self.label, w.HBox([self.image, self.plot])])
        self.add_class("nst-scrubber")
        self.show(self.slider.value)

    def _loss_png(self, k: int) -> bytes:
        cjk_font.use_language_font()
        fig = Figure(figsize=(5.2, 3.4))
        ax = fig.subplots()
        plot_history(self.result.history, ["total"], ax=ax, title=_("Total loss (log scale)"))
        ax.axvline(k, color="crimson", linestyle="--", linewidth=1, label=evaluation_label(k))
        ax.legend(fontsize=8)
        return figure_png(fig, dpi=72)

    def show(self, k: int) -> None:
        """Show snapshot ``k`` (an evaluation count the run holds)."""
        if k not in self._pngs:
            self._pngs[k] = png_bytes(self.result.snapshots[k])
        if k not in self._plots:
            self._plots[k] = self._loss_png(k) if self.result.history else b""
        self.image.value = self._pngs[k]
        self.plot.value = self._plots[k]
        self.label.value = _record_text(self.result, k)
        if self.slider.value != k:
            self.slider.value = k


@dataclass
class ChangeReport:
    """How much the image still changes: per snapshot (at ``evaluations``), the mean absolute
    difference (8-bit grey levels) to the previous snapshot and to the last one."""

    evaluations: list[int]
    to_previous: list[float]
    to_final: list[float]
    threshold: float
    settled_at: int | None

    def __str__(self) -> str:
        if self.settled_at is None:
            return _("the run ended before its image settled")
        return _(
            "from evaluation {k} on, every snapshot is within {threshold:g} grey levels "
            "(mean absolute difference) of the last one"
        ).format(k=self.settled_at, threshold=self.threshold)


def visible_change(result: Result, threshold: float = 2.0) -> ChangeReport:
    """Where the image stops changing visibly: the first snapshot after which every snapshot lies
    within ``threshold`` grey levels (mean |Δ| on the 0–255 scale) of the run's last snapshot.

    A mean difference of one or two grey levels is invisible side by side; the last snapshot stands
    in for "converged".
    """
    keys = sorted(result.snapshots)
    if len(keys) < 2:
        raise ParameterError("visible_change needs at least two snapshots")
    final = result.snapshots[keys[-1]]
    to_final = [mean_abs_difference(result.snapshots[k], final) for k in keys]
    to_previous = [math.nan] + [
        mean_abs_difference(result.snapshots[a], result.snapshots[b])
        for a, b in itertools.pairwise(keys)
    ]
    settled_at = None
    for i in range(len(keys) - 1, -1, -1):
        if to_final[i] >= threshold:
            break
        settled_at = keys[i]
    if settled_at == keys[-1]:
        settled_at = None  # only the last snapshot itself: no evidence it settled
    return ChangeReport(keys, to_previous, to_final, threshold, settled_at)


def plot_change(report: ChangeReport, ax: Axes | None = None) -> Axes:
    """The two change curves of ``visible_change`` against evaluations (log scales)."""
    cjk_font.use_language_font()
    if ax is None:
        _fig, ax = plt.subplots(figsize=(7, 4))
    ks = report.evaluations

    def positive(values: Sequence[float]) -> list[float]:  # a log scale cannot show 0
        return [v if v > 0 else math.nan for v in values]

    previous, last = positive(report.to_previous[1:]), positive(report.to_final[:-1])
    ax.plot(ks[1:], previous, marker="o", label=_("to the previous snapshot"))
    ax.plot(ks[:-1], last, marker="s", label=_("to the last snapshot"))
    ax.axhline(report.threshold, color="grey", linestyle=":", label=_("visibility threshold"))
    if report.settled_at is not None:
        ax.axvline(report.settled_at, color="crimson", linestyle="--", label=_("settled"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(_("evaluations (log scale)"))
    ax.set_ylabel(_("mean |Δ pixel| (grey levels, log scale)"))
    ax.set_title(_("How much the image still changes"))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return ax


# --------------------------------------------------------------------------- GIF


def _font(height: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont | None:
    """Pillow's font for the frames' labels: the bundled CJK font in the Chinese lessons (None
    when Pillow cannot load it: the labels are then English), else Pillow's default font."""
    if language() == "zh":
        try:
            return ImageFont.truetype(str(cjk_font.FONT_FILE), height)
        except (OSError, ImportError):  # Pillow without FreeType
            return None
    try:
        return ImageFont.load_default(size=height)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def gif_frames(
    result: Result, marks: Sequence[int] | None = None, *, label: bool = True
) -> tuple[list[Image.Image], list[str]]:
    """The frames of ``export_gif`` and their labels ("evaluation k", in the lessons' language);
    with ``label`` each frame gets a white strip below the image with its label, so the picture
    itself stays untouched."""
    keys = sorted(result.snapshots)
    if marks is not None:
        keys = [k for k in marks if k in result.snapshots]
    if not keys:
        raise ParameterError("the run holds no snapshots to animate")
    labels = [evaluation_label(k) for k in keys]
    frames = []
    for k, text in zip(keys, labels, strict=True):
        picture = to_pil(result.snapshots[k])
        if label:
            strip = max(14, picture.height // 10)
            font = _font(strip - 4)
            if font is None:  # no font with Chinese glyphs: an English label, never boxes
                text, font = f"evaluation {k}", ImageFont.load_default()
            frame = Image.new("RGB", (picture.width, picture.height + strip), "white")
            frame.paste(picture, (0, 0))
            draw = ImageDraw.Draw(frame)
            draw.text((4, picture.height + 1), text, fill="black", font=font)
            picture = frame
        frames.append(picture)
    return frames, labels


def export_gif(
    result: Result,
    path: str | os.PathLike[str],
    marks: Sequence[int] | None = None,
    *,
    duration_ms: int = 400,
    hold_last_ms: int = 2000,
    label: bool = True,
    overwrite: bool = False,
) -> Path:
    """Write the run's snapshots (all, or those at ``marks``) as an animated GIF that loops.

    Each frame shows ``duration_ms``, the last ``hold_last_ms``. An existing file is kept
    (FileExistsError) unless ``overwrite``; ``images.unique_path`` finds a free name.
    """
    path = check_output_path(path, overwrite=overwrite, suffixes=(".gif",), what="the GIF")
    frames, _labels = gif_frames(result, marks, label=label)
    durations = [duration_ms] * (len(frames) - 1) + [hold_last_ms]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.gif")
    try:
        frames[0].save(
            tmp, save_all=True, append_images=frames[1:], duration=durations, loop=0, disposal=1
        )
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# --------------------------------------------------------------------------- saved runs


def find_saved_run(*candidates: str | os.PathLike[str]) -> Path | None:
    """The first of ``candidates`` that holds a saved run (a folder with run.json), else None.

    A candidate that is a folder of run folders yields its most recently written run.
    """
    for candidate in candidates:
        folder = Path(candidate).expanduser()
        if (folder / RUN_FILE).is_file():
            return folder
        if folder.is_dir():
            found = sorted(
                (p for p in folder.iterdir() if (p / RUN_FILE).is_file()),
                key=lambda p: (p / RUN_FILE).stat().st_mtime,
            )
            if found:
                return found[-1]
    return None
