"""The precision of VGG19's pass, measured rather than guessed: ``precision="auto"``.

float32 is the course's exact arithmetic. bfloat16 (8 significant bits, float32's range) and
float16 (11 significant bits, at most 65504) make the convolutions faster where the hardware has
them: CPUs with AVX512-BF16 or AMX, and most GPUs. Only the network's pass runs lower (autocast,
``step.layer_terms``); the Gram matrices, the losses, the image and the optimiser stay float32, so
every formula of the lessons is computed as written. Lesson 04's box shows what bfloat16 does to a
Gram matrix computed in it, and lesson 00 what this machine measures.

``choose_precision`` keeps float32 where the hardware has neither lower precision (it would be
emulated, many times slower); elsewhere it times a few evaluations of the run's own objective in
float32 and in each lower precision, and takes the fastest that is at least ``SPEEDUP`` times
faster than float32 and whose loss agrees with float32's within ``TOLERANCE``. The answer is
cached per machine, network and size in ``cache_dir()/"precision.json"``.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from .files import atomic_write, cache_dir
from .step import Objective, evaluate

#: How much faster a lower precision must be than float32 to be chosen.
SPEEDUP = 1.2
#: How far (relative) its first loss may be from float32's.
TOLERANCE = 0.02


def candidates(device: torch.device) -> list[str]:
    """The lower precisions this device computes natively: bf16 on GPUs that have it and on CPUs
    with AVX512-BF16 or AMX (oneDNN's check), fp16 on CUDA and on CPUs with AVX512-FP16 or AMX."""
    if device.type == "cuda":
        return ["bf16", "fp16"] if torch.cuda.is_bf16_supported() else ["fp16"]
    if device.type != "cpu":
        return []
    mkldnn = torch.ops.mkldnn
    checks = {"bf16": "_is_mkldnn_bf16_supported", "fp16": "_is_mkldnn_fp16_supported"}
    return [
        name
        for name, check in checks.items()
        if hasattr(mkldnn, check) and getattr(mkldnn, check)()
    ]


def probe(
    vgg: torch.nn.Module, objective: Objective, x0: torch.Tensor, precisions: list[str],
    evaluations: int = 3,
) -> dict[str, dict[str, float]]:  # fmt: skip
    """{precision: {"seconds": per evaluation (median of ``evaluations`` after one to warm up),
    "loss": L_total at ``x0``}}: the run's own evaluation, timed in each precision."""
    found = {}
    for precision in precisions:
        o = dataclasses.replace(objective, precision=precision, grad_scale=None, good_steps=0)
        x, seconds, losses = x0.detach().clone().requires_grad_(True), [], []
        for _ in range(evaluations + 1):
            start = time.perf_counter()
            losses.append(evaluate(x, vgg, o).total)  # x.grad changes, x does not
            if x.device.type == "cuda":
                torch.cuda.synchronize()
            seconds.append(time.perf_counter() - start)
        found[precision] = {"seconds": statistics.median(seconds[1:]), "loss": losses[0]}
    return found


def decide(timings: dict[str, dict[str, float]]) -> str:
    """The fastest precision at least ``SPEEDUP`` × faster than fp32 whose loss agrees with fp32's
    within ``TOLERANCE`` (relative); fp32 when none is."""
    fp32, best = timings["fp32"], "fp32"
    for name, t in timings.items():
        agrees = abs(t["loss"] - fp32["loss"]) <= TOLERANCE * abs(fp32["loss"])
        if (
            agrees
            and fp32["seconds"] >= SPEEDUP * t["seconds"] < SPEEDUP * timings[best]["seconds"]
        ):
            best = name
    return best


def machine_key(vgg: torch.nn.Module, objective: Objective, x0: torch.Tensor) -> str:
    """What the answer depends on: the device, torch, threads, the network and the size."""
    device = x0.device
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_model()
    layers = sorted([*objective.content_targets, *objective.style_targets])
    pooling, threads = getattr(vgg, "pooling", ""), torch.get_num_threads()
    return json.dumps(
        [device.type, name, torch.__version__, threads, pooling, list(x0.shape), layers]
    )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(
                line.split(":", 1)[1].strip() for line in f if line.startswith("model name")
            )
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def _cache_files() -> list[Path]:
    """Where the measurements are kept: the package's cache folder, then (when that is a read-only
    course cache on a shared server) the user's own cache folder."""
    import platformdirs

    own = Path(platformdirs.user_cache_dir("nst_helpers")) / "precision.json"
    first = cache_dir() / "precision.json"
    return [first] if first == own else [first, own]


def choose_precision(vgg: torch.nn.Module, objective: Objective, x0: torch.Tensor) -> str:
    """``precision="auto"``: fp32, bf16 or fp16 for this run (see the module docstring), measured
    once per machine, network and size and then read from the cache."""
    key = machine_key(vgg, objective, x0)
    caches: list[dict[str, Any]] = []
    for path in _cache_files():
        try:
            caches.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            caches.append({})
        if key in caches[-1]:
            return caches[-1][key]["choice"]
    lower = candidates(x0.device)
    timings = probe(vgg, objective, x0, ["fp32", *lower]) if lower else {}
    entry = {"choice": decide(timings) if lower else "fp32", "timings": timings}
    for path, cache in zip(_cache_files(), caches, strict=True):
        try:  # a read-only course cache: the user's own cache folder keeps it instead
            atomic_write(
                path, lambda f, c={**cache, key: entry}: f.write(json.dumps(c, indent=1).encode())
            )
            break
        except OSError:
            continue
    return entry["choice"]
