"""Coarse-to-fine style transfer for large results (not in the 2016 paper; Gatys et al. 2017 and
jcjohnson/neural-style's multi-resolution recipe produce high-resolution images this way).

Optimise at the smallest long side, upsample the result (bicubic) to the next size and use it as
that run's initial image, and so on: the cheap coarse runs settle the large-scale arrangement, and
the runs at the expensive sizes start from it and mostly refine details, so they can be shorter
than a run from scratch at the top size. ``run_coarse_to_fine`` reports each scale's time and
peak memory, to compare with such a run.

The ``Result`` is the last scale's image, with the history of all scales in order: records are
numbered 1 … Σ steps, ``seconds`` run on across scales, and each has ``scale`` (its long side);
``snapshot_at`` marks count the same way (earlier snapshots are smaller images).
``best_evaluation`` is the best of the last scale (losses at different sizes do not compare).
``settings`` are the last scale's plus ``scales``, ``scale_steps``, ``steps`` (the total) and
``per_scale``: for each scale run, its ``long_side``, ``size``, ``evaluations``, ``seconds``
(wall clock, set-up included), ``peak_memory_mb`` and ``memory`` (what that figure is: peak CUDA
tensor memory on a GPU; on a CPU the process's peak RSS during that scale, measured by
``memory.PeakRss`` on Linux, elsewhere the process's high-water mark so far), and
``start_memory_mb``, the same measure when the scale began (None where it is not measured): their
difference is about what that scale needed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import numbers
import sys
import time
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

import torch
import torch.nn.functional as tf

from ..devices import resolve_device
from ..engine import DEFAULT_SNAPSHOTS, Engine, Record, Result
from ..errors import ParameterError, RunOutOfMemoryError, translate_oom
from ..images import image_input
from ..memory import PeakRss


def check_scales(scales: Any) -> list[int]:
    """``scales`` as a list of strictly increasing positive whole numbers (long sides in px)."""
    if isinstance(scales, str | bytes) or not isinstance(scales, Sequence) or not scales:
        raise ParameterError(
            f"scales must be a non-empty list of long sides in pixels, e.g. [256, 512], "
            f"not {scales!r}"
        )
    if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in scales):
        raise ParameterError(f"scales must be whole numbers of pixels, not {list(scales)!r}")
    values = [int(s) for s in scales]
    if values[0] < 1 or any(b <= a for a, b in pairwise(values)):
        raise ParameterError(f"scales must be positive and increasing, not {values}")
    return values


def steps_per_scale(steps: Any, n_scales: int) -> list[int]:
    """Evaluations at each scale: one whole number ≥ 1 for all, or one per scale."""

    def ok(v: Any) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1

    if ok(steps):
        return [int(steps)] * n_scales
    if isinstance(steps, Sequence) and not isinstance(steps, str | bytes):
        if len(steps) != n_scales:
            raise ParameterError(f"steps: {len(steps)} numbers for {n_scales} scales")
        if all(ok(v) for v in steps):
            return [int(v) for v in steps]
    raise ParameterError(f"steps must be a whole number ≥ 1 or one per scale, not {steps!r}")


def upsample(image: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """``image`` [1, 3, h, w] resized to ``shape`` (H, W): bicubic, antialiased (which matters
    only when shrinking), clamped to [0, 1] (bicubic overshoots at edges). The initial image of
    the next scale."""
    return tf.interpolate(
        image, size=tuple(shape), mode="bicubic", align_corners=False, antialias=True
    ).clamp(0, 1)


def _device_of(options: dict[str, Any]) -> torch.device:
    """The device ``StyleTransfer`` will pick for these options (as its constructor does)."""
    vgg, device = options.get("vgg"), options.get("device")
    return resolve_device(device) if vgg is None or device is not None else vgg.device


def _reset_peak_memory(device: torch.device) -> float | None:
    """Start a new peak on CUDA; returns the CUDA tensor memory in use now (MiB), else None."""
    if device.type != "cuda":
        return None
    torch.cuda.reset_peak_memory_stats(device)
    return torch.cuda.memory_allocated(device) / 2**20


#: The name this measurement had before it became exact (``memory.PeakRss``).
RssSampler = PeakRss


def _peak_memory_mb(
    device: torch.device, sampled_mb: float | None = None
) -> tuple[float | None, str]:
    """The peak memory figure available on ``device``, in MiB, and what it measures:
    CUDA's peak tensor memory; else ``sampled_mb`` (a ``PeakRss``'s peak); else the
    process's high-water mark."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20, "peak CUDA tensor memory"
    if sampled_mb is not None:
        return sampled_mb, "process peak RSS during this scale (Linux's VmHWM)"
    try:
        import resource
    except ImportError:  # Windows
        return None, "not measured"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS
    return peak_mb, "process peak RSS so far (a high-water mark: it never decreases)"


def _global(record: Record, offset: int, seconds: float, scale: int) -> Record:
    out = dict(record)
    out["evaluation"] = record["evaluation"] + offset
    out["seconds"] = record["seconds"] + seconds
    out["scale"] = scale
    return out


def _split_options(options: dict[str, Any]) -> tuple[Any, list[int], Any]:
    """Take ``init``, the ``snapshot_at`` marks and ``callback`` out of ``options`` (they are
    handled per scale); refuse ``size``; default ``style_scale`` to 1."""
    if options.get("size") is not None:
        raise ParameterError(
            "size and scales: give only scales (the result's long side is the last scale)"
        )
    options.pop("size", None)
    init = options.pop("init", "content")
    marks = options.pop("snapshot_at", DEFAULT_SNAPSHOTS)
    try:
        marks = sorted({int(k) for k in (() if marks is None else marks)})
    except (TypeError, ValueError):
        raise ParameterError(f"snapshot_at must be evaluation counts, not {marks!r}") from None
    if options.get("style_scale") is None:
        options["style_scale"] = 1.0
    return init, marks, options.pop("callback", None)


def _joined_result(
    last: Result,
    history: list[Record],
    snapshots: dict[int, torch.Tensor],
    offset: int,
    settings: dict[str, Any],
) -> Result:
    """The whole run: the last scale's image and ending, every scale's records and snapshots, the
    last scale's settings updated with ``settings``; its best evaluation numbered globally."""
    return Result(
        image=last.image,
        history=history,
        snapshots=snapshots,
        evaluations=len(history),
        stop_reason=last.stop_reason,
        message=last.message,
        best_evaluation=last.best_evaluation + offset if last.best_evaluation else 0,
        settings={**last.settings, **settings},
    )


def _unfinished(sides: list[int], history: list[Record], last: Result) -> str:
    """What an early ending leaves: the image kept (which scale's) and the scales that did not
    run."""
    done = history[-1]["scale"] if history else None
    if done is None:
        return "; no scale finished an evaluation"
    kept = f"the result is the {done} px scale's"
    if last.evaluations == 0:  # stopped before the next scale's first evaluation
        kept += f", upsampled to {max(last.image.shape[-2:])} px"
    rest = [str(side) for side in sides if side > done]
    return f"; {kept}" + (f" (the {', '.join(rest)} px scales did not run)" if rest else "")


def _content_at(content: Any, side: int) -> torch.Tensor | None:
    """The content image at long side ``side`` (None for texture synthesis)."""
    return None if content is None else image_input(content, side, "content")


def _measured_run(
    make_transfer: Callable[..., Engine], content: Any, style: Any, **options: Any
) -> tuple[Result, dict[str, Any]]:
    """One scale's run and its ``per_scale`` entry: ``long_side``, ``size``, ``evaluations``,
    ``seconds`` and its memory, ``peak_memory_mb``, ``start_memory_mb`` and ``memory`` (what the
    figure is: CUDA's peak tensor memory, or the process's peak RSS)."""
    start = time.perf_counter()
    device = _device_of(options)
    start_mb = _reset_peak_memory(device)  # the peak of this scale: set-up and run
    with PeakRss() if device.type != "cuda" else contextlib.nullcontext() as sampler:
        with translate_oom(size=options.get("size"), device=device):  # the targets, too
            transfer = make_transfer(content, style, **options)
        result = transfer.run()
    peak, what = _peak_memory_mb(transfer.device, sampler.peak_mb if sampler else None)
    if sampler is not None and sampler.peak_mb is not None:
        start_mb = sampler.start_mb
    return result, {
        "long_side": options["size"],
        "size": list(result.image.shape[-2:]),
        "evaluations": result.evaluations,
        "seconds": time.perf_counter() - start,
        **{"peak_memory_mb": peak, "start_memory_mb": start_mb, "memory": what},
    }


def run_scales(
    make_transfer: Callable[..., Engine],
    content: Any,
    style: Any,
    scales: Sequence[int] = (256, 512, 1024),
    *,
    steps: int | Sequence[int] = 500,
    **options: Any,
) -> Result:
    """Style transfer at increasing long sides ``scales``, each initialised from the last; each
    scale's run is ``make_transfer(content_k, style, size=side, init=…, steps=n, **options)``
    (``transfer.StyleTransfer``; ``nst.run_coarse_to_fine`` passes it).

    Scale 1 starts from ``init`` (as ``run_style_transfer``; a tensor is resized to it); scale
    k+1 starts from ``upsample(result_k.image, its size)``, result_k being scale k's best image.
    ``steps`` is one number of evaluations for every scale or one per scale. ``content`` is loaded
    (or resized) at each scale's long side; ``style_scale`` defaults to 1.0 here, so the style
    images keep their size relative to the result at every scale. Every other option is
    ``run_style_transfer``'s and applies at every scale; ``size`` is refused (the last scale is
    the result's size). ``callback`` gets each scale's ``StyleTransfer`` and a record numbered as
    below.

    A scale that ends early (stop event, Ctrl-C, non-finite loss, out of memory) ends the whole
    run there; a later scale that does not fit keeps the last one's result. The ``Result``: see
    the module docstring.
    """
    sides, (init, marks, callback) = check_scales(scales), _split_options(options)
    counts = steps_per_scale(steps, len(sides))
    first_init = init if isinstance(init, str) else "tensor"
    load_content = functools.partial(_content_at, content)
    history: list[Record] = []
    snapshots: dict[int, torch.Tensor] = {}
    per_scale: list[dict[str, Any]] = []
    offset, seconds, result = 0, 0.0, None
    content_k = load_content(sides[0])
    for k, (side, n) in enumerate(zip(sides, counts, strict=True)):
        shape = (side, side) if content_k is None else tuple(content_k.shape[-2:])
        if k == 0 and isinstance(init, torch.Tensor):
            init = upsample(image_input(init, None, "init"), shape)  # type: ignore[arg-type]
        local_marks = [m - offset for m in marks if offset < m <= offset + n]

        def forward(transfer: Engine, record: Record, _o=offset, _s=seconds, _side=side):
            return callback(transfer, _global(record, _o, _s, _side))  # type: ignore[misc]

        try:
            result, measured = _measured_run(
                make_transfer,
                content_k,
                style,
                size=side,
                init=init,
                steps=n,
                snapshot_at=local_marks,
                callback=forward if callback is not None else None,
                **options,
            )
        except RunOutOfMemoryError as exc:
            if result is None:
                raise  # the first scale: nothing to keep
            offset -= result.evaluations  # keep the last finished scale's result
            stopped = f"{exc}; kept the {sides[k - 1]} px scale's result"
            result = dataclasses.replace(result, stop_reason="out-of-memory", message=stopped)
            break
        per_scale.append(measured)
        history += [_global(r, offset, seconds, side) for r in result.history]
        snapshots.update({m + offset: image for m, image in result.snapshots.items()})
        if result.stop_reason != "completed" or k == len(sides) - 1:
            break
        offset += result.evaluations
        seconds += result.seconds
        content_k = load_content(sides[k + 1])
        next_shape = (sides[k + 1],) * 2 if content_k is None else tuple(content_k.shape[-2:])
        init = upsample(result.image, next_shape)  # type: ignore[arg-type]

    assert result is not None
    if result.stop_reason != "completed":
        note = _unfinished(sides, history, result)
        result = dataclasses.replace(result, message=result.message + note)
    joined = {"init": first_init, "steps": sum(counts), "scales": sides, "scale_steps": counts}
    return _joined_result(result, history, snapshots, offset, {**joined, "per_scale": per_scale})
