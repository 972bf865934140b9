"""How close one evaluation of the style transfer comes to the bare VGG19 floor (``make bench``).

    python benchmarks/bench.py                 # the full run (a few minutes on 2 cores)
    python benchmarks/bench.py --quick         # a smoke test (small sizes, few repeats)
    python benchmarks/bench.py --sizes 256 512 --repeats 7 --threads 1

One *evaluation* is one forward pass through VGG19 and one backward pass to the image (one
closure call of L-BFGS). Its unavoidable cost, the *floor*, is torchvision's bare
``vgg19().features`` (out-of-place ReLUs, the same weights) up to the deepest layer used, forward
plus backward to the input, nothing else. The package's cost per evaluation is measured through
the public ``run_style_transfer`` (L-BFGS, the default snapshots, no progress bar): the wall time
of a run of n₂ evaluations minus that of a run of n₁, divided by n₂ − n₁, so the set-up (targets,
optimiser) cancels (n₁, n₂ = 2, 10 by default: a longer difference averages out more of the
machine's noise). Floor and package are measured interleaved in one process (floor, run n₁,
floor, run n₂ per repeat; each floor figure is the second of two back-to-back calls); each repeat
gives a ratio against the mean of its two floors, and the table shows medians with the min–max
spread over repeats.

Configurations: ``paper`` (content relu4_2; style relu1_1 … relu5_1; floor up to relu5_1) and
``early`` (content conv2_2; style conv1_1, conv1_2, conv2_1, conv2_2, conv3_1, pre-ReLU; max
pooling; floor up to conv3_1), where the Gram matrices of the large early maps weigh most.

Also measured: seconds per evaluation at the ``lab`` profile's size; L-BFGS's own step once its
history is full (the run-length difference sees a short history); loading the features-only
weights cache (time and peak resident memory of a fresh process: VmHWM on Linux); the peak
resident memory of a 512 px run (a fresh process); whether the random weights make subnormal
floats (which would slow both paths and distort the ratio); the floor in ``channels_last`` and
bfloat16/float16 autocast (what an optional faster mode could win; the package uses neither);
the ratios on CUDA when a GPU is present. Each time is also taken as process CPU time (the
"CPU time" ratio): with ``--threads 1`` that one hardly depends on other processes.

Random weights are used throughout (the real ones may not be downloadable): the cost of a
convolution does not depend on the values, as long as no subnormal floats appear (checked). The
flush-to-zero mode is left as PyTorch sets it, the same for floor and package.

Timings need a quiet machine: with several threads, every parallel operation waits for a core
that another process holds, which costs the package (more, smaller operations) more than the
floor. The table says so when the load average at the start exceeds 1.

Writes ``benchmarks/results/latest.json`` (or ``--output``) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
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

CONFIGS: dict[str, dict[str, Any]] = {
    "paper": {
        "content_layers": ("relu4_2",),
        "style_layers": ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
        "floor_to": "relu5_1",
        "target": 1.10,
    },
    "early": {
        "content_layers": ("conv2_2",),
        "style_layers": ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1"),
        "floor_to": "conv3_1",
        "target": 1.25,
    },
}


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


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "commit": git_commit(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if hasattr(os, "getloadavg"):
        info["load_average_at_start"] = [round(v, 2) for v in os.getloadavg()]
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


# --- the two things being compared ---------------------------------------------------------------
def load_networks(device: str) -> tuple[nst.VGG19Features, torch.nn.Sequential]:
    """The package's VGG19 (random weights) and torchvision's bare features with the same weights.

    torchvision's ReLUs are made out-of-place, as the package's (so ``convX_Y`` stays the pre-ReLU
    value); the floor network is frozen like the package's, so its backward computes no gradient
    for the weights either.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vgg = nst.load_vgg19("random", device=device)
        features = torchvision.models.vgg19(weights=None).features
    for module in features:
        if isinstance(module, torch.nn.ReLU):
            module.inplace = False
    features.load_state_dict(vgg.features.state_dict())
    return vgg, features.to(device).eval().requires_grad_(False)


def smooth_image(size: int, seed: int) -> torch.Tensor:
    """A deterministic smooth image [1, 3, size, size] in [0, 1] (photograph-like statistics)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, max(2, size // 16), max(2, size // 16), generator=g)
    return torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic").clamp(0, 1)


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


def floor_call(vgg: nst.VGG19Features, net: torch.nn.Module, size: int, device: str) -> Callable:
    """One forward of ``net`` on a normalised image, then one backward to the input."""
    x = vgg.normalize(smooth_image(size, seed=1).to(device))
    with torch.no_grad():
        grad = torch.ones_like(net(x))

    def call() -> None:
        xi = x.detach().requires_grad_(True)
        torch.autograd.backward(net(xi), grad)

    return call


def package_call(vgg: nst.VGG19Features, config: dict[str, Any], size: int, steps: int) -> Callable:
    """One whole ``run_style_transfer`` of ``steps`` evaluations (set-up included)."""
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
            progress=False,
        )

    return call


def spread(values: Sequence[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "values": list(values),
    }


def measure_ratio(
    vgg: nst.VGG19Features,
    features: torch.nn.Sequential,
    config_name: str,
    size: int,
    device: str,
    repeats: int,
    lengths: tuple[int, int],
) -> dict[str, Any]:
    """Floor and package, interleaved: per repeat floor, run n₁, floor, run n₂.

    Each floor figure is the second of two back-to-back calls: like the package's evaluations
    inside a run, it then finds the memory allocator warm (a cold call pays page faults for
    memory the runs in between gave back, which would flatter the package)."""
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
        floor_wall = (f1[0] + f2[0]) / 2
        floor_cpu = (f1[1] + f2[1]) / 2
        per_eval = (b[0] - a[0]) / (n2 - n1)
        per_eval_cpu = (b[1] - a[1]) / (n2 - n1)
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
        "target": config["target"] if device == "cpu" else None,
        "floor_s": spread(floors),
        "package_s_per_eval": spread(evals),
        "ratio": spread(ratios),
        "floor_cpu_s": spread(floors_cpu),
        "package_cpu_s_per_eval": spread(evals_cpu),
        "ratio_cpu_time": spread(ratios_cpu),
    }


# --- what an optional faster mode could gain ----------------------------------------------------
def floor_modes(
    vgg: nst.VGG19Features, features: torch.nn.Sequential, size: int, device: str, repeats: int
) -> dict[str, Any]:
    """The floor (to relu5_1) in other layouts and precisions, interleaved with the plain one.

    Not used by the package (it computes in float32, NCHW): the figures say what a
    ``channels_last`` or reduced-precision mode could win on this machine, before any loss is
    added. bfloat16 runs under ``torch.autocast`` (on CPUs with native bfloat16 support),
    float16 on CUDA.
    """
    import copy

    net = features[: LAYER_INDEX["relu5_1"] + 1]
    nhwc = copy.deepcopy(net).to(memory_format=torch.channels_last)
    x = vgg.normalize(smooth_image(size, seed=1).to(device))
    half = torch.float16 if device.startswith("cuda") else torch.bfloat16
    try:  # native bfloat16 (AVX-512 BF16 or AMX) on this CPU?
        low_ok = device.startswith("cuda") or torch.ops.mkldnn._is_mkldnn_bf16_supported()
    except (AttributeError, RuntimeError):
        low_ok = False

    def call(module: torch.nn.Module, layout: torch.memory_format, low: bool) -> Callable:
        def run() -> None:
            xi = x.contiguous(memory_format=layout).requires_grad_(True)
            with torch.autocast(device.split(":")[0], dtype=half, enabled=low):
                out = module(xi)
            out.float().sum().backward()

        return run

    calls = {"float32 NCHW (the floor)": call(net, torch.contiguous_format, False)}
    calls["float32 channels_last"] = call(nhwc, torch.channels_last, False)
    if low_ok:
        name = str(half).removeprefix("torch.")
        calls[f"{name} autocast NCHW"] = call(net, torch.contiguous_format, True)
        calls[f"{name} autocast channels_last"] = call(nhwc, torch.channels_last, True)
    times: dict[str, list[float]] = {k: [] for k in calls}
    for fn in calls.values():
        fn()
    for _ in range(repeats):
        for name, fn in calls.items():
            times[name].append(timed(fn, device)[0])
    return {"size": size, "device": device, "floor_s": {k: spread(v) for k, v in times.items()}}


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
    vgg: nst.VGG19Features, features: torch.nn.Sequential, size: int, repeats: int
) -> dict[str, Any]:
    """Count subnormal floats in the floor's activations and gradients and in the package's
    gradients at its loss layers (default α, β); time the floor with flush-to-zero on and off."""
    tiny = torch.finfo(torch.float32).tiny

    def count(t: torch.Tensor) -> int:
        a = t.detach().abs()
        return int(((a > 0) & (a < tiny)).sum())

    net = features[: LAYER_INDEX["relu5_1"] + 1]
    x = vgg.normalize(smooth_image(size, seed=1)).requires_grad_(True)
    acts = grads = 0
    h = x
    outs = []
    for module in net:
        h = module(h)
        h.register_hook(lambda g: outs.append(count(g)))
        acts += count(h)
    h.backward(torch.ones_like(h))
    grads = sum(outs) + count(x.grad)

    transfer = nst.StyleTransfer(
        smooth_image(size, seed=2), smooth_image(size, seed=3), vgg=vgg, steps=3, snapshot_at=None
    )
    objective = transfer.objective
    layers = [*objective.content_targets, *objective.style_targets]
    image = transfer.x.detach().clone().requires_grad_(True)
    feats = vgg(image, layers)
    pkg_grads: list[int] = []
    loss = objective.alpha * nst.content_loss(
        feats["relu4_2"], objective.content_targets["relu4_2"]
    ) + objective.beta * nst.style_loss(feats, objective.style_targets)
    for name in layers:
        feats[name].register_hook(lambda g: pkg_grads.append(count(g)))
    loss.backward()

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


# --- fresh processes: loading the weights, a 512 px run ------------------------------------------
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


def weight_loading() -> dict[str, Any]:
    """Time and peak RSS of ``load_vgg19(FILE)`` for a features-only weights file (random
    weights, the real file's keys and shapes) in a fresh process: what a lesson's first cell
    costs (torch.hub's full file is memory-mapped, so it reads about the same)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vgg19-features.pth"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.save(nst.load_vgg19("random", device="cpu").features.state_dict(), path)
        code = f"""
            import json, time
            import torch, nst_helpers as nst
            before = peak_mb()
            start = time.perf_counter()
            vgg = nst.load_vgg19({str(path)!r}, device="cpu")
            seconds = time.perf_counter() - start
            print(json.dumps({{"seconds": seconds, "peak_rss_mb": peak_mb(),
                              "rss_after_imports_mb": before}}))
        """
        runs = [child(code, {}) for _ in range(3)]
        file_mb = path.stat().st_size / 2**20
    best = min(runs, key=lambda r: r["seconds"])
    return {
        "file_mb": file_mb,
        "seconds": spread([r["seconds"] for r in runs]),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "rss_after_imports_mb": best["rss_after_imports_mb"],
    }


def run_memory(size: int, steps: int) -> dict[str, Any]:
    """Peak RSS of a whole ``run_style_transfer`` at ``size`` px (paper's layers) in a fresh
    process."""
    code = f"""
        import json, warnings
        import torch, nst_helpers as nst
        warnings.simplefilter("ignore")
        before = peak_mb()
        g = torch.Generator().manual_seed(0)
        content, style = torch.rand(1, 3, {size}, {size}, generator=g), torch.rand(
            1, 3, {size}, {size}, generator=g)
        nst.run_style_transfer(content, style, weights="random", device="cpu", steps={steps},
                               progress=False)
        print(json.dumps({{"peak_rss_mb": peak_mb(), "rss_after_imports_mb": before}}))
    """
    return {"size": size, "steps": steps, **child(code, {"NST_WEIGHTS": ""})}


# --- report --------------------------------------------------------------------------------------
def fmt(s: dict[str, float], digits: int = 3) -> str:
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['torch_threads']} torch threads), "
        f"torch {m['torch']}, torchvision {m['torchvision']}"
        + (f", GPU {m['gpu']}" if m.get("gpu") else "")
        + f"; commit {m['commit']}, {m['date']}; load average at start "
        f"{m.get('load_average_at_start')}.",
        "",
        "| configuration | device | size | floor s | package s / evaluation | ratio | "
        "ratio (CPU time) | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results["ratios"]:
        ok = ""
        if r["target"] is not None:
            ok = f"≤ {r['target']:.2f} " + ("✓" if r["ratio"]["median"] <= r["target"] else "✗")
        lines.append(
            f"| {r['config']} (to {r['floor_to']}) | {r['device']} | {r['size']} | "
            f"{fmt(r['floor_s'])} | {fmt(r['package_s_per_eval'])} | {fmt(r['ratio'], 2)} | "
            f"{fmt(r['ratio_cpu_time'], 2)} | {ok} |"
        )
    lines.append("")
    lines.append("Medians over repeats, (min–max) in brackets; floor and package interleaved.")
    load = m.get("load_average_at_start")
    if load and load[0] > 1.0:
        lines.append(
            f"- **Warning**: other processes were running (load average {load[0]:.1f} on "
            f"{m['cores']} cores). They share the cores, caches and memory bandwidth, and with "
            "several threads every parallel operation waits for a busy core, which costs the "
            "package (more, smaller operations) more than the floor: rerun on a quiet machine "
            "(`--threads 1` suffers least)."
        )
    lab = results.get("lab_profile")
    if lab:
        lines.append(
            f"- `lab` profile ({lab['size']} px, paper's layers): "
            f"{lab['s_per_eval']:.3f} s per evaluation on the CPU."
        )
    w = results.get("weight_loading")
    if w:
        lines.append(
            f"- Loading the features-only weights ({w['file_mb']:.0f} MB): "
            f"{fmt(w['seconds'])} s, peak RSS {w['peak_rss_mb']:.0f} MB "
            f"({w['rss_after_imports_mb']:.0f} MB after importing torch and the package)."
        )
    opt = results.get("lbfgs")
    if lab and opt:
        floor = next(
            r["floor_s"]["median"]
            for r in results["ratios"]
            if r["config"] == "paper" and r["size"] == opt["size"] and r["device"] == "cpu"
        )
        lines.append(
            f"- L-BFGS's own step with a full history ({opt['history']} pairs, {opt['size']} px): "
            f"{opt['s_per_step'] * 1000:.1f} ms, {100 * opt['s_per_step'] / floor:.1f} % of the "
            "floor (the ratios above see a short history)."
        )
    mem = results.get("run_memory")
    if mem:
        lines.append(
            f"- Peak RSS of a {mem['size']} px run ({mem['steps']} evaluations): "
            f"{mem['peak_rss_mb']:.0f} MB ({mem['rss_after_imports_mb']:.0f} MB after imports)."
        )
    d = results.get("subnormals")
    if d:
        lines.append(
            f"- Subnormal floats at {d['size']} px with the random weights: "
            f"{d['floor_subnormal_activations']} in the floor's activations, "
            f"{d['floor_subnormal_gradients']} in its gradients, "
            f"{d['package_subnormal_gradients']} in the package's gradients; floor "
            f"{d['floor_s_flush_off']:.3f} s with flush-to-zero off, "
            f"{d['floor_s_flush_on']:.3f} s with it on."
        )
    for modes in results.get("floor_modes", []):
        base = modes["floor_s"]["float32 NCHW (the floor)"]["median"]
        lines.append(
            f"- The floor in other modes ({modes['size']} px, {modes['device']}; not used by the "
            "package): "
            + "; ".join(
                f"{name} {v['median']:.3f} s (×{base / v['median']:.2f})"
                for name, v in modes["floor_s"].items()
            )
            + "."
        )
    if m.get("load_average_at_end"):
        lines.append(f"- Load average at the end: {m['load_average_at_end']}.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test: small, few repeats")
    parser.add_argument("--sizes", type=int, nargs="+", help="paper-layer sizes (px)")
    parser.add_argument("--early-sizes", type=int, nargs="+", help="early-layer sizes (px)")
    parser.add_argument("--repeats", type=int, help="repeats per measurement")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument(
        "--lengths",
        type=int,
        nargs=2,
        metavar=("N1", "N2"),
        help="the two run lengths whose difference gives the time per evaluation (default 2 10)",
    )
    parser.add_argument("--no-cuda", action="store_true", help="skip the CUDA section")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU section (GPU machines)")
    parser.add_argument("--no-subprocess", action="store_true", help="skip RSS/loading figures")
    parser.add_argument(
        "--output", type=Path, default=ROOT / "benchmarks" / "results" / "latest.json"
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    quick = args.quick
    sizes = args.sizes or ([64, 128] if quick else [128, 256, 512])
    early_sizes = args.early_sizes or ([64] if quick else [128, 256])
    lengths = tuple(args.lengths) if args.lengths else ((1, 3) if quick else (2, 10))

    def repeats_for(size: int) -> int:
        if args.repeats:
            return args.repeats
        if quick:
            return 2
        return 5 if size >= 512 else 7

    results: dict[str, Any] = {"machine": machine(), "ratios": []}
    devices = [] if args.no_cpu else ["cpu"]
    if torch.cuda.is_available() and not args.no_cuda:
        devices.append("cuda")
    for device in devices:
        vgg, features = load_networks(device)
        plan = [("paper", s) for s in sizes] + [("early", s) for s in early_sizes]
        for config_name, size in plan:
            r = measure_ratio(vgg, features, config_name, size, device, repeats_for(size), lengths)
            results["ratios"].append(r)
            print(
                f"{device} {config_name:5s} {size:4d} px: floor {fmt(r['floor_s'])} s, "
                f"package {fmt(r['package_s_per_eval'])} s/eval, ratio {fmt(r['ratio'], 2)}",
                flush=True,
            )
        if device == "cpu":
            lab_size = nst.profile("lab").size
            lab = [r for r in results["ratios"] if r["config"] == "paper" and r["size"] == lab_size]
            if not lab:
                lab = [
                    measure_ratio(
                        vgg, features, "paper", lab_size, device, repeats_for(lab_size), lengths
                    )
                ]
                results["ratios"].append(lab[0])
            results["lab_profile"] = {
                "size": lab_size,
                "s_per_eval": lab[0]["package_s_per_eval"]["median"],
            }
            results["lbfgs"] = lbfgs_overhead(lab_size, device)
            results["subnormals"] = subnormal_check(
                vgg, features, 64 if quick else 128, 2 if quick else 5
            )
        results.setdefault("floor_modes", []).append(
            floor_modes(vgg, features, 128 if quick else 256, device, 2 if quick else 5)
        )
    if not args.no_subprocess:
        results["weight_loading"] = weight_loading()
        results["run_memory"] = run_memory(128 if quick else 512, 2 if quick else 3)
    if hasattr(os, "getloadavg"):
        results["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    table = markdown(results)
    results["markdown"] = table
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1))
    print()
    print(table)
    print(f"\nwrote {args.output}")
    return results


if __name__ == "__main__":
    main()
