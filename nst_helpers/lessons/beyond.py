"""Helpers of lesson 07 (beyond the paper): choosing a total-variation weight, the table that
compares a coarse-to-fine run with a run at the top size directly, and the same run on several
networks (torchvision's VGG19 against the authors' Caffe VGG19).

The options themselves live in the engine: ``preserve_color``, ``style`` lists with
``style_blend``, ``style_scale`` and ``tv_weight`` in ``transfer.py``, coarse-to-fine runs in
``multiscale.py``, the colour maths in ``colour.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ..errors import ParameterError, WeightsError
from ..extensions.tv import total_variation
from ..i18n import _
from ..transfer import Result, run_style_transfer
from ..vgg import load_vgg19


def _final_loss(result: Result) -> float:
    """The total loss of the run's image (its best evaluation; the last if none is marked)."""
    k = result.best_evaluation or len(result.history)
    return result.history[k - 1]["total"]


def tv_weight_for(result: Result, share: float) -> float:
    """A ``tv_weight`` at which the squared total variation would add ``share`` of ``result``'s
    loss, measured at its image x̂ (the best one):

        tv_weight = share · L_total(x̂) / TV(x̂),

    L_total(x̂) being that evaluation's total (α L_content + β L_style, plus any TV term the run
    had). A fixed number would mean nothing across networks and sizes: β, the losses and TV(x)
    all change with the weights (torchvision's or Caffe's) and the image size. share = 0.1 is a
    gentle smoothing, 1 a strong one.
    """
    if not (isinstance(share, int | float) and math.isfinite(share) and share >= 0):
        raise ParameterError(f"share must be a finite number ≥ 0, not {share!r}")
    if not result.history or not result.best_evaluation:
        raise ParameterError("the result has no evaluations to measure")
    loss = _final_loss(result)
    tv = float(total_variation(result.image))
    if tv == 0.0:
        raise ParameterError("the result's image is flat (TV = 0): no weight makes TV a share")
    return share * loss / tv


def _mb(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def scale_table(runs: Mapping[str, Result]) -> str:
    """A Markdown table of runs made with ``run_coarse_to_fine`` (a single scale is a run at that
    size directly): one row per scale with its size, evaluations, seconds (set-up included), the
    memory at its start and its peak (``settings["per_scale"]``; on a CPU the process's RSS, on a
    GPU CUDA tensor memory), then each run's total and its final loss (losses of runs that end at
    the same size and weights compare)."""
    rows = [
        _(
            "| run | scale (px) | evaluations | seconds | memory at start (MiB) | "
            "peak memory (MiB) | final loss |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for label, result in runs.items():
        per_scale = result.settings.get("per_scale")
        if not per_scale:
            raise ParameterError(
                f"{label!r}: no per-scale record (make it with run_coarse_to_fine, or "
                "run_style_transfer(..., scales=[...]))"
            )
        for scale in per_scale:
            h, w = scale["size"]
            rows.append(
                f"| {_(str(label))} | {h} × {w} | {scale['evaluations']} | {scale['seconds']:.1f} "
                f"| {_mb(scale.get('start_memory_mb'))} | {_mb(scale['peak_memory_mb'])} | |"
            )
        peak = [s["peak_memory_mb"] for s in per_scale if s["peak_memory_mb"] is not None]
        rows.append(
            f"| **{_(str(label))}: {_('all')}** | | **{sum(s['evaluations'] for s in per_scale)}** "
            f"| **{sum(s['seconds'] for s in per_scale):.1f}** | "
            f"| **{_mb(max(peak) if peak else None)}** "
            f"| **{_final_loss(result):.4g}** |"
        )
    what = {s["memory"] for r in runs.values() for s in r.settings["per_scale"]}
    memory = _("Memory: {what}.").format(what="; ".join(sorted(what)))
    return "\n".join(rows) + "\n\n" + memory


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
    own default β (``defaults.default_beta``: the networks' activations differ in scale, so the same
    balance of content and style needs a different β). The defaults are the paper's setting:
    average pooling, a white-noise start (the same seed for every network). Keys: the network's
    name and β. A network whose weights are not on this machine is skipped with a printed note
    (loading never downloads the Caffe file; torchvision's downloads when it can).
    """
    results: dict[str, Result] = {}
    for name in weights:
        try:
            vgg = load_vgg19(name, pooling=pooling)
        except WeightsError as exc:
            print(_("skipped {name!r}: {error}").format(name=name, error=exc))
            continue
        result = run_style_transfer(
            content, style, vgg=vgg, steps=steps, init=init, **{"snapshot_at": (), **options}
        )
        results[f"{vgg.network} (β = {result.settings['beta']:.0e})"] = result
    return results
