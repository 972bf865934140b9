"""Watching one run converge (lesson 05): the course report's galleries (its first run's marks
``options.DEFAULT_SNAPSHOTS``, its second's ``SECOND_RUN_MARKS``), ``SnapshotScrubber``,
``visible_change`` (where the image stops changing visibly), L-BFGS against Adam, ``export_gif``,
and the run precomputed for class (``precompute_command``; ``find_saved_run``, ``runs.load_run``).
"""

from __future__ import annotations

import itertools
import math
import os
import shlex
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

from ..engine import Result
from ..errors import ParameterError
from ..files import atomic_write
from ..i18n import N_, _, language
from ..images import check_output_path, to_pil
from ..options import DEFAULT_SNAPSHOTS, Options
from ..runs import RUN_FILE
from . import cjk_font
from .plots import figure_png, plot_history, png_bytes, show_images

#: The course report's second experiment: its run shown after these iterations (= evaluations).
SECOND_RUN_MARKS: tuple[int, ...] = (10, 200, 1000, 3000, 5000, 8000)
#: Evaluations of the run precomputed for class: both of the report's series end by then.
PRECOMPUTE_STEPS = max(*DEFAULT_SNAPSHOTS, *SECOND_RUN_MARKS)
#: The optimisers lesson 05 compares (``series.run_series`` configs): L-BFGS (the paper's) and
#: Adam at two learning rates (pixel units: the image lives in [0, 1]).
OPTIMIZERS_COMPARED: dict[str, dict[str, Any]] = {
    "L-BFGS": {"optimizer": "lbfgs"},
    "Adam, lr 0.02": {"optimizer": "adam", "lr": 0.02},
    "Adam, lr 0.1": {"optimizer": "adam", "lr": 0.1},
}


def final_losses(results: Mapping[str, Result], key: str = "total") -> dict[str, float]:
    """Each run's ``key`` loss at its best evaluation (the image its ``Result.image`` holds): its
    lowest total loss, which its last evaluation can lie above."""
    return {label: r.losses(key)[r.best_evaluation - 1] if r.best_evaluation else math.nan
            for label, r in results.items()}  # fmt: skip


def mean_abs_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    """Δ = 255/(3HW) Σ|a − b| of two images [1, 3, H, W] in [0, 1], in 8-bit grey levels."""
    return float((a.detach().cpu().clamp(0, 1) - b.detach().cpu().clamp(0, 1)).abs().mean() * 255)


def dense_marks(steps: int, frames: int = 30) -> list[int]:
    """The report's marks (both series) up to ``steps``, about ``frames`` evenly spaced ones and
    ``steps`` itself: the snapshots of the gallery, the scrubber, the GIF and ``visible_change``."""
    every = max(1, steps // frames)
    report = {k for k in (*DEFAULT_SNAPSHOTS, *SECOND_RUN_MARKS) if k <= steps}
    return sorted(report | set(range(every, steps + 1, every)) | {steps})


def gallery_marks(result: Result, marks: Sequence[int] = DEFAULT_SNAPSHOTS) -> list[int]:
    """Those of ``marks`` (default: the report's) at which ``result`` holds a snapshot."""
    return [k for k in marks if k in result.snapshots]


def evaluation_label(k: int) -> str:
    """ "evaluation k" in the lessons' language (a snapshot's title, a GIF frame's label)."""
    return _("evaluation {k}").format(k=k)


GALLERY_TITLE = N_("One run, snapshot by snapshot (evaluations = forward + backward passes)")


def snapshot_grid(result: Result, marks: Sequence[int] = DEFAULT_SNAPSHOTS, *,
                  content: torch.Tensor | None = None, style: torch.Tensor | None = None,
                  ncols: int = 5, title: str = GALLERY_TITLE) -> Figure:  # fmt: skip
    """The report's gallery: content and style (when given), then the snapshots at ``marks``,
    each titled with its evaluation. ``ParameterError`` when there is nothing to show."""
    images = {_(k): im for k, im in (("content", content), ("style", style)) if im is not None}
    images |= {evaluation_label(k): result.snapshots[k] for k in gallery_marks(result, marks)}
    if not images:
        raise ParameterError("the run holds no snapshots at these marks")
    return show_images(images, ncols=min(ncols, len(images)), suptitle=title, size=2.6)


class SnapshotScrubber(w.VBox):
    """A slider over a run's snapshots: the snapshot it points at, L_total and its two weighted
    parts α·L_content and β·L_style there, and their curves (``plots.plot_history``) with a marker
    at that evaluation; each picture is rendered once."""

    def __init__(self, result: Result, *, width: str = "320px") -> None:
        if not result.snapshots:
            raise ParameterError("the run holds no snapshots to scrub through")
        self.result, self._shown = result, {}
        self._weights = result.settings.get("alpha", 1.0), result.settings.get("beta")
        marks = sorted(result.snapshots)
        self.slider = w.SelectionSlider(options=[(str(k), k) for k in marks], value=marks[-1],
                                        description=_("evaluation"),
                                        layout={"width": "36em"})  # fmt: skip
        fit = {"height": "auto", "align_self": "flex-start", "object_fit": "contain"}
        self.image = w.Image(format="png", layout={"width": width, **fit})
        self.plot, self.label = w.Image(format="png", layout={"width": "420px", **fit}), w.Label()
        self.slider.observe(lambda change: self.show(change["new"]), names="value")
        super().__init__([self.slider, self.label, w.HBox([self.image, self.plot])])
        self.add_class("nst-scrubber")
        self.show(self.slider.value)

    def _loss_png(self, k: int) -> bytes:
        ax = Figure(figsize=(5.2, 3.4)).subplots()
        plot_history(self.result, N_("L_total and its two parts"), layers=False, ax=ax)
        ax.axvline(k, color="crimson", linestyle="--", linewidth=1, label=evaluation_label(k))
        ax.legend(fontsize=7)
        return figure_png(ax.figure, dpi=72)

    def _text(self, k: int) -> str:
        if not 1 <= k <= len(self.result.history):
            return evaluation_label(k)
        r, alpha, beta = self.result.history[k - 1], *self._weights
        content = alpha * r["content"]  # β·L_style = L_total − α·L_content (no TV): Eq. 7
        style = r["total"] - content if beta is None else beta * r["style"]
        return _("evaluation {k} · L_total {total:.4g} = α·L_content {content:.4g} + β·L_style "
                 "{style:.4g} · {seconds:.1f} s").format(
            k=k, total=r["total"], content=content, style=style, seconds=r["seconds"])  # fmt: skip

    def show(self, k: int) -> None:
        """Show snapshot ``k`` (an evaluation count the run holds)."""
        if k not in self._shown:
            plot = self._loss_png(k) if self.result.history else b""
            self._shown[k] = (png_bytes(self.result.snapshots[k]), plot, self._text(k))
        self.image.value, self.plot.value, self.label.value = self._shown[k]
        self.slider.value = k


@dataclass
class ChangeReport:
    """How much the image still changes: per snapshot (at ``evaluations``), Δ in grey levels
    (``mean_abs_difference``) to the previous snapshot and to the last one; ``settled_at``: the
    first snapshot from which on all are within ``threshold`` of the last (None: never)."""

    evaluations: list[int]
    to_previous: list[float]
    to_final: list[float]
    threshold: float
    settled_at: int | None

    def __str__(self) -> str:
        if self.settled_at is None:
            return _("the run ended before its image settled")
        return _("from evaluation {k} on, every snapshot is within {threshold:g} grey levels "
                 "(mean absolute difference) of the last one").format(
            k=self.settled_at, threshold=self.threshold)  # fmt: skip


def visible_change(result: Result, threshold: float = 2.0) -> ChangeReport:
    """Where the image stops changing visibly: the first snapshot after which every snapshot lies
    within ``threshold`` grey levels (mean |Δ|, 0–255) of the last, which stands in for
    "converged" (so the last alone is no evidence: ``settled_at`` None). One or two grey levels
    are invisible side by side. Two snapshots at least (``ParameterError``). Lesson 05."""
    keys = sorted(result.snapshots)
    if len(keys) < 2:
        raise ParameterError("visible_change needs at least two snapshots")
    shots = [result.snapshots[k] for k in keys]
    to_final = [mean_abs_difference(s, shots[-1]) for s in shots]
    to_previous = [math.nan] + [mean_abs_difference(a, b) for a, b in itertools.pairwise(shots)]
    last_moving = max((k for k, d in zip(keys, to_final, strict=True) if d >= threshold), default=0)
    settled_at = next((k for k in keys[:-1] if k > last_moving), None)
    return ChangeReport(keys, to_previous, to_final, threshold, settled_at)


def plot_change(report: ChangeReport, ax: Axes | None = None) -> Axes:
    """The two change curves of ``visible_change`` against evaluations (log scales; a change of 0
    is left out), the threshold and where the image settled."""
    cjk_font.use_language_font()
    ax = plt.subplots(figsize=(7, 4))[1] if ax is None else ax
    ks, positive = report.evaluations, lambda ds: [d if d > 0 else math.nan for d in ds]
    ax.plot(ks[1:], positive(report.to_previous[1:]), marker="o",
            label=_("to the previous snapshot"))  # fmt: skip
    ax.plot(ks[:-1], positive(report.to_final[:-1]), marker="s", label=_("to the last snapshot"))
    ax.axhline(report.threshold, color="grey", linestyle=":", label=_("visibility threshold"))
    if report.settled_at is not None:
        ax.axvline(report.settled_at, color="crimson", linestyle="--", label=_("settled"))
    ax.set(xscale="log", yscale="log", xlabel=_("evaluations (log scale)"),
           ylabel=_("mean |Δ pixel| (grey levels, log scale)"),
           title=_("How much the image still changes"))  # fmt: skip
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def _font(height: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont | None:
    """Pillow's font for the frames' labels: the bundled CJK font in the Chinese lessons (None
    when Pillow cannot load it: the labels are then English), else Pillow's default font."""
    try:
        if language() == "zh":
            return ImageFont.truetype(str(cjk_font.FONT_FILE), height)
        return ImageFont.load_default(size=height)
    except (OSError, ImportError, TypeError):  # Pillow without FreeType
        return None if language() == "zh" else ImageFont.load_default()


def gif_frames(result: Result, marks: Sequence[int] | None = None) -> tuple[list, list[str]]:
    """The frames of ``export_gif`` (the snapshots at ``marks``, default all) and their labels
    ("evaluation k", in the lessons' language), each written on a white strip below the picture,
    which stays untouched (English where no font has Chinese glyphs, never boxes)."""
    keys = gallery_marks(result, sorted(result.snapshots) if marks is None else marks)
    if not keys:
        raise ParameterError("the run holds no snapshots to animate")
    frames = []
    for k in keys:
        picture = to_pil(result.snapshots[k])
        strip = max(14, picture.height // 10)
        font = _font(strip - 4)
        frame = Image.new("RGB", (picture.width, picture.height + strip), "white")
        frame.paste(picture, (0, 0))
        text = evaluation_label(k) if font else f"evaluation {k}"
        ImageDraw.Draw(frame).text((4, picture.height + 1), text, fill="black",
                                   font=font or ImageFont.load_default())  # fmt: skip
        frames.append(frame)
    return frames, [evaluation_label(k) for k in keys]


def export_gif(result: Result, path: str | os.PathLike[str], marks: Sequence[int] | None = None,
               *, duration_ms: int = 400, hold_last_ms: int = 2000,
               overwrite: bool = False) -> Path:  # fmt: skip
    """Write the run's snapshots (all, or those at ``marks``) as a looping GIF (each frame shown
    ``duration_ms``, the last ``hold_last_ms``), atomically; returns the path. First: ``path``
    ends in .gif (``ParameterError``) and is free unless ``overwrite`` (``OutputError``)."""
    if Path(path).suffix.lower() != ".gif":
        raise ParameterError(f"{path}: a GIF's name ends in .gif")
    path = check_output_path(path, overwrite=overwrite)
    frames = gif_frames(result, marks)[0]
    durations = [duration_ms] * (len(frames) - 1) + [hold_last_ms]
    return atomic_write(path, lambda file: frames[0].save(
        file, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0,
        disposal=1))  # fmt: skip


def find_saved_run(folder: str | os.PathLike[str]) -> Path | None:
    """``folder`` if it holds a complete saved run (``runs.save_run`` writes its run.json last)."""
    folder = Path(folder).expanduser()
    return folder if (folder / RUN_FILE).is_file() else None


def precompute_command(content: str = "tubingen", style: str = "starry_night", size: int = 256,
                       *, folder: str | os.PathLike[str] | None = None,
                       steps: int = PRECOMPUTE_STEPS, **options: Any) -> str:  # fmt: skip
    """The command precomputing what lesson 05 shows: ``steps`` evaluations at ``size`` px with
    snapshots at ``dense_marks(steps)`` (both of the report's series, the scrubber's marks), saved
    in ``folder`` (default ``notebooks/runs/CONTENT-STYLE``, from the repository's folder; zh:
    ``notebooks/zh/runs/…``). ``options``: more ``Options`` fields as flags (``init="noise"``)."""
    Options(size=size, steps=steps, **options)
    folder = str(folder or f"notebooks/runs/{content}-{style}")
    flags = "".join(f" --{k.replace('_', '-')} {v}" for k, v in options.items())
    marks = " ".join(map(str, dense_marks(steps)))
    return (f"python -m nst_helpers stylize {content} {style} -o {shlex.quote(folder + '.png')} "
            f"--size {size} --steps {steps}{flags} --snapshots {shlex.quote(folder)} "
            f"--snapshot-at {marks}")  # fmt: skip


def precompute_time(result: Result, size: int, steps: int = PRECOMPUTE_STEPS) -> str:
    """How long ``precompute_command`` runs at ``size`` px: ``result``'s measured seconds per
    evaluation on its device, scaled by the image area from its own size."""
    h, w = result.settings.get("size") or result.image.shape[-2:]
    each = result.seconds / max(1, result.evaluations) * (size / max(h, w)) ** 2
    minutes, device = each * steps / 60, result.settings.get("device", "?")
    text = _("{steps} evaluations at {size} px: about {hours:.1f} h ({minutes:.0f} min) on "
             "{device}, {each:.3g} s each (measured by this run at {h}×{w} px).").format(
        steps=steps, size=size, hours=minutes / 60, minutes=minutes, device=device, each=each,
        h=h, w=w)  # fmt: skip
    if not str(device).startswith("cuda"):
        text += " " + _("GPUs are not measured in this course.")
    return text
