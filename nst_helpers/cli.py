"""The command line: ``python -m nst_helpers {stylize, fetch-weights, info}``.

``stylize`` runs the paper's optimisation and writes the result (and, with ``--snapshots DIR``, the
snapshots and the loss history, to replay a long run in class). ``fetch-weights`` downloads and
converts VGG19's weights ahead of time (Binder's build step, offline classrooms).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .caffe_weights import caffe_status, fetch_caffe_weights, where_to_get
from .devices import resolve_device
from .errors import NSTError, ParameterError
from .images import save_image
from .layers import LAYER_NAMES, PAPER_CONTENT_LAYERS, PAPER_STYLE_LAYERS
from .runs import save_run
from .samples import list_samples, load_sample, sample_path
from .transfer import (
    DEFAULT_ALPHA,
    DEFAULT_SNAPSHOTS,
    INITS,
    OPTIMIZERS,
    PRESERVE_COLORS,
    StyleTransfer,
    run_coarse_to_fine,
)
from .weights import fetch_weights, weights_status


def _layers(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _image_source(text: str, size: int | None):
    """A path or URL as given; a sample's name (e.g. ``tubingen``, ``grace_hopper``) loads it."""
    names = {s.name for s in list_samples()}
    if text in names and not Path(text).exists():
        return load_sample(text, size=size)
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (every option documented in ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="python -m nst_helpers",
        description="Neural style transfer after Gatys, Ecker & Bethge (CVPR 2016).",
    )
    parser.add_argument("--version", action="version", version=f"nst_helpers {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    st = sub.add_parser(
        "stylize",
        help="render CONTENT in the style of STYLE (or a blend of several styles)",
        description="Minimise alpha*L_content + beta*L_style over the image (the paper's Eq. 7). "
        "CONTENT and STYLE are image files, URLs or sample names "
        f"({', '.join(s.name for s in list_samples())}); several STYLEs are blended "
        "(--style-blend).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    st.add_argument("content", help="content image: path, URL or sample name")
    st.add_argument(
        "style", nargs="+", help="style image(s): path, URL or sample name; several are blended"
    )
    st.add_argument("-o", "--output", required=True, type=Path, help="result image (.png or .jpg)")
    st.add_argument(
        "--size",
        type=int,
        default=None,
        help="long side of the result, in pixels (default 256; not with --scales)",
    )
    st.add_argument(
        "--steps",
        type=int,
        default=300,
        help="evaluations (forward+backward passes), exactly; with --scales, at each scale",
    )
    st.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="content weight α")
    st.add_argument(
        "--beta",
        type=float,
        default=None,
        help="style weight β (only α/β matters); not given: the weights' own default, 1e9 for "
        "torchvision's (nst_helpers.defaults)",
    )
    st.add_argument(
        "--content-layers",
        type=_layers,
        default=list(PAPER_CONTENT_LAYERS),
        help="comma-separated content layers, e.g. relu4_2 or conv2_2",
    )
    st.add_argument(
        "--style-layers",
        type=_layers,
        default=list(PAPER_STYLE_LAYERS),
        help="comma-separated style layers (each weighted 1/|L|)",
    )
    st.add_argument(
        "--pooling",
        choices=("max", "avg"),
        default="max",
        help="max pooling (torchvision) or average pooling (the paper)",
    )
    st.add_argument(
        "--style-blend",
        type=float,
        nargs="+",
        default=None,
        metavar="W",
        help="weights of the style images, one per STYLE (normalised; default equal)",
    )
    st.add_argument(
        "--style-scale",
        type=float,
        default=None,
        help="style images' long side as a multiple of the result's (larger: bigger strokes; "
        "default: loaded at the result's size)",
    )
    st.add_argument(
        "--preserve-color",
        choices=PRESERVE_COLORS,
        default=None,
        help="keep the content's colours: luminance-only transfer, or the style recoloured to "
        "the content's colour histogram (Gatys et al. 2017, Sec. 5)",
    )
    st.add_argument(
        "--tv-weight",
        type=float,
        default=0.0,
        help="weight of the squared total-variation term (smooths noise; 0: off, the paper)",
    )
    st.add_argument(
        "--scales",
        type=int,
        nargs="+",
        default=None,
        metavar="PX",
        help="coarse-to-fine: increasing long sides, e.g. 256 512 1024; each run starts from the "
        "previous result, upsampled; the last is the result's size",
    )
    st.add_argument("--init", choices=INITS, default="content", help="initial image")
    st.add_argument("--optimizer", choices=OPTIMIZERS, default="lbfgs", help="optimiser")
    st.add_argument(
        "--lr",
        type=float,
        default=None,
        help="learning rate (default: 1 for L-BFGS, 0.02 for Adam)",
    )
    st.add_argument("--seed", type=int, default=0, help="seed of the noise initialisation")
    st.add_argument(
        "--weights",
        default=None,
        help="'imagenet', 'caffe' (the authors' network; its file from $NST_CAFFE_WEIGHTS or the "
        "cache, see fetch-weights --caffe), 'random' or a VGG19 weights file (default: "
        "$NST_WEIGHTS or imagenet)",
    )
    st.add_argument(
        "--device", default=None, help="cpu, cuda or mps (default: the fastest available)"
    )
    st.add_argument(
        "--snapshots",
        type=Path,
        default=None,
        metavar="DIR",
        help="also save snapshots at 1, 2, 3, 10, 20, 100, … evaluations and the loss "
        "history (run.json) in DIR",
    )
    st.add_argument(
        "--overwrite", action="store_true", help="replace an existing output file or run folder"
    )
    st.add_argument("--quiet", action="store_true", help="no progress bar")

    fw = sub.add_parser(
        "fetch-weights",
        help="download VGG19's ImageNet weights and cache the features-only copy (~80 MB)",
        description="Download torchvision's VGG19 weights (548 MB, hash-checked), keep only the "
        "convolutional part (~80 MB) in the package cache, and optionally copy it to --out for "
        "machines without a network (set NST_VGG19_WEIGHTS=FILE there).",
    )
    fw.add_argument("--out", type=Path, default=None, help="also write the features-only file here")
    fw.add_argument(
        "--caffe",
        action="store_true",
        help="the Caffe weights instead (weights='caffe'): jcjohnson's vgg19-d01eb7cb.pth, 548 MB, "
        "hash-checked, unless a Caffe file is already here",
    )
    fw.add_argument("--quiet", action="store_true", help="no progress bar")

    fs = sub.add_parser(
        "fetch-samples",
        help="download and verify the paper's sample images into the cache",
        description="Download the sample images from their pinned addresses (or $NST_SAMPLES_URL), "
        "verify their SHA-256 and keep them in the package cache with their credits.",
    )
    fs.add_argument("--quiet", action="store_true", help="no progress bars")

    sub.add_parser("info", help="versions, device and where the weights would come from")
    return parser


def _stylize(args: argparse.Namespace) -> int:
    if args.output.exists() and not args.overwrite:
        raise FileExistsError(f"{args.output} exists; pass --overwrite or choose another -o")
    if args.scales is not None and args.size is not None:
        raise ParameterError("--size and --scales: give one (the last scale is the result's size)")
    size = args.size if args.size is not None else 256
    top = size if args.scales is None else max(args.scales)
    content = _image_source(args.content, top)
    style_size = top if args.style_scale is None else max(1, round(args.style_scale * top))
    styles = [_image_source(text, style_size) for text in args.style]
    options = dict(
        steps=args.steps,
        alpha=args.alpha,
        beta=args.beta,
        content_layers=args.content_layers,
        style_layers=args.style_layers,
        pooling=args.pooling,
        init=args.init,
        optimizer=args.optimizer,
        lr=args.lr,
        seed=args.seed,
        weights=args.weights,
        device=args.device,
        snapshot_at=DEFAULT_SNAPSHOTS if args.snapshots else (),
        progress=not args.quiet,
        style_blend=args.style_blend,
        style_scale=args.style_scale,
        preserve_color=args.preserve_color,
        tv_weight=args.tv_weight,
    )
    style = styles[0] if len(styles) == 1 else styles
    if args.scales is not None:
        result = run_coarse_to_fine(content, style, args.scales, **options)
    else:
        result = StyleTransfer(content, style, size=size, **options).run()
    save_image(result.image, args.output, overwrite=args.overwrite)
    if args.snapshots:
        save_run(result, args.snapshots, overwrite=args.overwrite)
    print(
        f"{result.stop_reason}: {result.evaluations} evaluations in {result.seconds:.1f} s, "
        f"final loss {result.history[-1]['total']:.4g}; wrote {args.output}"
        + (f" and {args.snapshots}" if args.snapshots else "")
    )
    return 0 if result.stop_reason == "completed" else 1


def _info() -> int:
    import platform

    import torch
    import torchvision

    print(
        f"nst_helpers {__version__}, Python {platform.python_version()}, "
        f"torch {torch.__version__}, "
        f"torchvision {torchvision.__version__}"
    )
    print(f"device: {resolve_device(None)} (CUDA available: {torch.cuda.is_available()})")
    status = weights_status()
    print(
        f"weights: {status['found']}"
        if status["found"]
        else f"weights: not on this machine yet (downloaded on first use from {status['url']})"
    )
    caffe = caffe_status()
    if caffe["found"]:
        print(f"Caffe weights (weights='caffe'): {caffe['found']}; input {caffe['preprocessing']}")
    elif caffe["env_missing"]:
        print(f"Caffe weights (weights='caffe'): $NST_CAFFE_WEIGHTS = {caffe['env']} (missing!)")
    else:
        print(f"Caffe weights (weights='caffe'): not found. {where_to_get()}")
    print(f"layers: {', '.join(LAYER_NAMES)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (errors print one line, not a traceback)."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "stylize":
            return _stylize(args)
        if args.command == "fetch-weights":
            if args.caffe:
                path = fetch_caffe_weights(args.out, progress=not args.quiet)
                print(f"Caffe VGG19 weights ready (weights='caffe'): {path}")
                return 0
            path = fetch_weights(args.out, progress=not args.quiet)
            print(f"VGG19 features-only weights ready: {path}")
            return 0
        if args.command == "fetch-samples":
            for sample in list_samples():
                if not sample.offline:
                    path = sample_path(sample.name, progress=not args.quiet)
                    print(f"{sample.name}: {path}")
            return 0
        return _info()
    except (NSTError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
