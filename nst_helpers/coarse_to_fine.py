"""Coarse-to-fine style transfer for large results (not in the 2016 paper; Gatys et al. 2017 and
jcjohnson/neural-style's multi-resolution recipe): a loop of plain runs (``run_style_transfer``)
at increasing long sides, each starting from the previous result upsampled. The cheap coarse
runs settle the large-scale arrangement; the runs at the expensive sizes mostly refine details.
It saves time, not peak memory: the last scale needs what a plain run at that size needs.
Lesson 07 measures both.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Sequence
from typing import Any

import torch

from .engine import Record, Result
from .errors import ParameterError, RunOutOfMemoryError
from .images import as_image_tensor, load_image
from .memory import PeakRss
from .options import Options
from .transfer import run_style_transfer


def upsample(image: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """``image`` [1, 3, h, w] resized to ``shape`` (H, W): bicubic, antialiased, clamped."""
    return torch.nn.functional.interpolate(
        image, size=tuple(shape), mode="bicubic", antialias=True
    ).clamp(0, 1)


def _peak_mb(device: str) -> float | None:
    return torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None


def run_coarse_to_fine(
    content: Any,
    style: Any,
    scales: Sequence[int] = (256, 512, 1024),
    options: Options | None = None,
    *,
    steps: int | Sequence[int] | None = None,
    **changes: Any,
) -> Result:
    """Style transfer at the increasing long sides ``scales`` (px), each initialised from the last.

    ``steps``: evaluations at every scale, or one number per scale (default ``options.steps``).
    Scale 1 starts from ``init``; scale k+1 from scale k's result, upsampled. The content is
    loaded at each scale's size; the style images keep their size relative to the result
    (``style_scale`` 1 unless given). Other ``changes`` are ``run_style_transfer``'s (``vgg``,
    ``progress``, ``Options`` fields); ``size`` is refused (the last scale is the result's).

    Returns the last scale's ``Result`` with every scale's records (``evaluation`` numbered on
    across scales, ``seconds`` too, each with its ``scale``) and snapshots (``snapshot_at``
    counts the same way), and ``settings["per_scale"]``: each scale's ``long_side``,
    ``evaluations``, ``seconds`` (set-up included), ``start_memory_mb`` and ``peak_memory_mb``
    (the process's resident memory at its start and its peak during it, on a CPU under Linux;
    CUDA's peak tensor memory on a GPU). ``callback`` gets records numbered the same way. A scale
    that ends early (stop, Ctrl-C, a non-finite loss, out of memory) ends the run there.
    """
    run = {k: changes.pop(k) for k in ("vgg", "progress", "stop_event") if k in changes}
    callback = changes.pop("callback", None)
    o = (options or Options()).replace(**changes)
    sides, counts = _check(scales, steps, o)
    o = o.replace(style_scale=o.style_scale or 1.0)
    history: list[Record] = []
    snapshots: dict[int, torch.Tensor] = {}
    per_scale: list[dict[str, Any]] = []
    init, offset, seconds, result, base = o.init, 0, 0.0, None, 0
    for side, n in zip(sides, counts, strict=True):
        image = None if content is None else _content(content, side)
        shape = (side, side) if image is None else tuple(image.shape[-2:])
        if isinstance(init, torch.Tensor):
            init = upsample(as_image_tensor(init, "init"), shape)
        marks = [m - offset for m in o.snapshot_at if offset < m <= offset + n]
        if callback is not None:  # records numbered over all scales, as in the history
            run["callback"] = lambda t, r, k=offset, s=side: callback(
                t, {**r, "evaluation": r["evaluation"] + k, "scale": s}
            )
        start = time.perf_counter()
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()  # this scale's own peak
        try:
            with PeakRss() as rss:
                scale_options = o.replace(size=side, steps=n, init=init, snapshot_at=marks)
                result, base = run_style_transfer(image, style, scale_options, **run), offset
        except RunOutOfMemoryError as exc:
            if result is None:
                raise  # nothing to keep
            result = dataclasses.replace(result, stop_reason="out-of-memory", error=exc)
            break
        peak = _peak_mb(result.settings["device"]) or rss.peak_mb
        per_scale.append({"long_side": side, "size": list(result.image.shape[-2:]),
                          "evaluations": result.evaluations, "seconds": time.perf_counter() - start,
                          "start_memory_mb": rss.start_mb, "peak_memory_mb": peak})  # fmt: skip
        history += [{**r, "evaluation": r["evaluation"] + offset, "seconds": r["seconds"] + seconds,
                     "scale": side} for r in result.history]  # fmt: skip
        snapshots |= {m + offset: img for m, img in result.snapshots.items()}
        if result.stop_reason != "completed":
            break
        offset, seconds, init = offset + result.evaluations, seconds + result.seconds, result.image
    init = o.init if isinstance(o.init, str) else "tensor"
    settings = {**result.settings, "scales": sides, "scale_steps": counts, "steps": sum(counts),
                "per_scale": per_scale, "init": init}  # fmt: skip
    return dataclasses.replace(
        result, history=history, snapshots=snapshots, settings=settings, evaluations=len(history),
        best_evaluation=result.best_evaluation + base if result.best_evaluation else 0,
        ended_at=result.ended_at + base,
    )  # fmt: skip


def _check(scales: Any, steps: Any, o: Options) -> tuple[list[int], list[int]]:
    """The scales and each scale's evaluations, checked before the first scale runs."""
    sides = [int(s) for s in scales] if isinstance(scales, list | tuple) else []
    if not sides or sides[0] < 16 or any(b <= a for a, b in itertools.pairwise(sides)):
        raise ParameterError(f"scales must be increasing long sides ≥ 16 px, not {scales!r}")
    if o.size is not None:
        raise ParameterError("size and scales: give only scales (the last is the result's size)")
    counts = [o.steps] * len(sides) if steps is None else steps
    counts = [counts] * len(sides) if isinstance(counts, int) else list(counts)
    if len(counts) != len(sides):
        raise ParameterError(f"steps: {len(counts)} numbers for {len(sides)} scales")
    return sides, [o.replace(steps=n).steps for n in counts]


def _content(content: Any, side: int) -> torch.Tensor:
    if isinstance(content, torch.Tensor):
        return as_image_tensor(content, "content", side)
    return load_image(content, side)
