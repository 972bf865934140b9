"""Lesson 07's helpers: a total-variation weight relative to a run's loss, the table comparing a
coarse-to-fine run with a direct one, and the same run on several networks. The options themselves
are the engine's (``Options.preserve_color``, ``style_blend``, ``style_scale``, ``tv_weight``;
``coarse_to_fine.run_coarse_to_fine``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ..engine import Result
from ..errors import ParameterError, WeightsError
from ..extensions.tv import total_variation
from ..i18n import _
from ..transfer import run_style_transfer
from ..vgg import load_vgg19
from ..weights import AUTHORS_URL, caffe_available, hub_path


def _final_loss(result: Result) -> float:
    """The total loss of the run's image (its best evaluation; the last if none is marked)."""
    return result.history[(result.best_evaluation or len(result.history)) - 1]["total"]


def tv_weight_for(result: Result, share: float) -> float:
    """The ``tv_weight`` at which the squared total variation would add ``share`` of ``result``'s
    loss at its (best) image x̂: share · L_total(x̂) / TV(x̂). A fixed number would mean nothing
    across networks and sizes (β, the losses and TV all change with them); 0.1 is a gentle
    smoothing, 1 a strong one. ``ParameterError`` for a bad share, no evaluations, or TV = 0."""
    if not (isinstance(share, int | float) and math.isfinite(share) and share >= 0):
        raise ParameterError(f"share must be a finite number ≥ 0, not {share!r}")
    if not result.history or not result.best_evaluation:
        raise ParameterError("the result has no evaluations to measure")
    tv = float(total_variation(result.image))
    if tv == 0.0:
        raise ParameterError("the result's image is flat (TV = 0): no weight makes TV a share")
    return share * _final_loss(result) / tv


def scale_table(runs: Mapping[str, Result]) -> str:
    """A Markdown table of ``run_coarse_to_fine`` runs (one scale: a direct run): a row per scale
    (size, evaluations, seconds with set-up, peak memory: on a CPU the process's resident memory,
    on a GPU CUDA's tensor memory), then each run's totals and final loss. ``ParameterError`` for
    a run without per-scale records."""
    mb = lambda value: "–" if value is None else f"{value:.0f}"  # noqa: E731
    rows = [
        _("| run | scale (px) | evaluations | seconds | peak memory (MiB) | final loss |"),
        "|---|---|---|---|---|---|",
    ]
    for label, result in runs.items():
        per_scale = result.settings.get("per_scale")
        if not per_scale:
            raise ParameterError(f"{label!r}: no per-scale record (run it with run_coarse_to_fine)")
        name = _(str(label))
        for s in per_scale:
            rows.append(f"| {name} | {s['size'][0]} × {s['size'][1]} | {s['evaluations']} "
                        f"| {s['seconds']:.1f} | {mb(s['peak_memory_mb'])} | |")  # fmt: skip
        peak = max((s["peak_memory_mb"] for s in per_scale if s["peak_memory_mb"]), default=None)
        rows.append(
            f"| **{name}: {_('all')}** | | **{sum(s['evaluations'] for s in per_scale)}** "
            f"| **{sum(s['seconds'] for s in per_scale):.1f}** | **{mb(peak)}** "
            f"| **{_final_loss(result):.4g}** |"
        )
    gpu = any(str(r.settings.get("device")).startswith("cuda") for r in runs.values())
    what = _("CUDA's peak tensor memory") if gpu else _("the process's peak resident memory")
    return "\n".join(rows) + "\n\n" + _("Memory: {what}.").format(what=what)


def compare_networks(
    content: torch.Tensor,
    style: torch.Tensor,
    weights: Sequence[str] = ("imagenet", "caffe"),
    *,
    steps: int,
    pooling: str = "avg",
    init: str = "noise",
    **options: Any,
) -> dict[str, Result]:
    """The same run on each network ``load_vgg19(w, pooling)`` for w in ``weights``, each with its
    own default β (``options.default_beta``), in the paper's setting by default: average pooling,
    white noise (one seed). Keys: the network's name and β. A network whose weights cannot be
    loaded is skipped with a note; "caffe" without a download when no Caffe file is cached."""
    results: dict[str, Result] = {}
    for name in weights:
        try:
            if name == "caffe" and not caffe_available():
                raise WeightsError(f"no Caffe VGG19 file in {hub_path(AUTHORS_URL).parent}")
            vgg = load_vgg19(name, pooling=pooling)
        except WeightsError as exc:
            print(_("skipped {name!r}: {error}").format(name=name, error=exc))
            continue
        settings = {"steps": steps, "init": init, "pooling": pooling, "snapshot_at": (), **options}
        result = run_style_transfer(content, style, vgg=vgg, **settings)
        results[f"{vgg.network} (β = {result.settings['beta']:.0e})"] = result
    return results
