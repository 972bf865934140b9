"""The command line: ``python -m nst_helpers {stylize, fetch-weights, info}``.

``stylize`` runs the paper's optimisation and writes the result (and, with ``--snapshots DIR``, the
snapshots and the loss history, to replay a long run in class). ``fetch-weights`` downloads and
converts VGG19's weights ahead of time (Binder's build step, offline classrooms).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .caffe_weights import caffe_status, fetch_caffe_weights, where_to_get
from .devices import resolve_device
from .engine import DEFAULT_LR
from .errors import (
    NSTError,
    ParameterError,
    RunOutOfMemoryError,
    out_of_memory_for_cli,
    translate_oom,
)
from .images import check_output_path, save_or_keep
from .layers import LAYER_NAMES, PAPER_CONTENT_LAYERS, PAPER_STYLE_LAYERS
from .runs import check_run_dir, save_run_or_keep
from .samples import list_samples, load_sample, sample_path
from .transfer import (
    DEFAULT_ALPHA,
    DEFAULT_SNAPSHOTS,
    INITS,
    OPTIMIZERS,
    PRESERVE_COLORS,
    Result,
    StyleTransfer,
    run_coarse_to_fine,
)
from .vgg import ENV_DEFAULT_WEIGHTS, WEIGHTS_CHOICES
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
    _add_run_options(st.add_argument_group("the run and its outputs"))
    _add_method_options(st.add_argument_group("the paper's method"))
    _add_beyond_options(st.add_argument_group("beyond the paper (Gatys et al. 2017, common tools)"))
    _add_download_commands(sub)
    return parser


def _add_run_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "-o", "--output", required=True, type=Path, help="result image (.png or .jpg)"
    )
    group.add_argument(
        "--size",
        type=int,
        default=None,
        help="long side of the result, in pixels (default 256; not with --scales)",
    )
    group.add_argument(
        "--steps",
        type=int,
        default=300,
        help="evaluations (forward+backward passes), exactly; with --scales, at each scale",
    )
    group.add_argument(
        "--snapshots",
        type=Path,
        default=None,
        metavar="DIR",
        help="also save snapshots at 1, 2, 3, 10, 20, 100, … evaluations and the loss "
        "history (run.json) in DIR",
    )
    group.add_argument(
        "--overwrite", action="store_true", help="replace an existing output file or run folder"
    )
    group.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_method_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="content weight α")
    group.add_argument(
        "--beta",
        type=float,
        default=None,
        help="style weight β (only α/β matters); not given: the weights' own default, 1e9 for "
        "torchvision's (nst_helpers.defaults)",
    )
    group.add_argument(
        "--content-layers",
        type=_layers,
        default=list(PAPER_CONTENT_LAYERS),
        help="comma-separated content layers, e.g. relu4_2 or conv2_2",
    )
    group.add_argument(
        "--style-layers",
        type=_layers,
        default=list(PAPER_STYLE_LAYERS),
        help="comma-separated style layers (each weighted 1/|L|)",
    )
    group.add_argument(
        "--pooling",
        choices=("max", "avg"),
        default="max",
        help="max pooling (torchvision) or average pooling (the paper)",
    )
    group.add_argument("--init", choices=INITS, default="content", help="initial image")
    group.add_argument("--optimizer", choices=OPTIMIZERS, default="lbfgs", help="optimiser")
    group.add_argument(
        "--lr",
        type=float,
        default=None,
        help="learning rate (default: 1 for L-BFGS, 0.02 for Adam)",
    )
    group.add_argument("--seed", type=int, default=0, help="seed of the noise initialisation")
    group.add_argument(
        "--weights",
        default=None,
        help="'imagenet', 'caffe' (the authors' network; its file from $NST_CAFFE_WEIGHTS or the "
        "cache, see fetch-weights --caffe), 'random' or a VGG19 weights file (default: "
        "$NST_WEIGHTS or imagenet)",
    )
    group.add_argument(
        "--device", default=None, help="cpu, cuda or mps (default: the fastest available)"
    )


def _add_beyond_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--style-blend",
        type=float,
        nargs="+",
        default=None,
        metavar="W",
        help="weights of the style images, one per STYLE (normalised; default equal)",
    )
    group.add_argument(
        "--style-scale",
        type=float,
        default=None,
        help="style images' long side as a multiple of the result's (larger: bigger strokes; "
        "default: loaded at the result's size)",
    )
    group.add_argument(
        "--preserve-color",
        choices=PRESERVE_COLORS,
        default=None,
        help="keep the content's colours: luminance-only transfer, or the style recoloured to "
        "the content's colour histogram (Gatys et al. 2017, Sec. 5)",
    )
    group.add_argument(
        "--tv-weight",
        type=float,
        default=0.0,
        help="weight of the squared total-variation term (smooths noise; 0: off, the paper)",
    )
    group.add_argument(
        "--scales",
        type=int,
        nargs="+",
        default=None,
        metavar="PX",
        help="coarse-to-fine: increasing long sides, e.g. 256 512 1024; each run starts from the "
        "previous result, upsampled; the last is the result's size",
    )


def _add_download_commands(sub: argparse._SubParsersAction) -> None:
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


def _check_outputs(args: argparse.Namespace) -> None:
    """Every output checked before any image, weight or evaluation: the result's name and format,
    its folder (a file on the way, not writable), an existing file, the snapshot folder."""
    check_output_path(args.output, overwrite=args.overwrite, flag="--overwrite", what="the result")
    if args.snapshots is not None:
        check_run_dir(args.snapshots, overwrite=args.overwrite, flag="--overwrite")


def _check_weights_choice(given: str | None) -> None:
    """--weights (or, without it, $NST_WEIGHTS) names a choice or a file; refused before any work
    otherwise, saying where the value came from (a typo in $NST_WEIGHTS is not in the command)."""
    value = given if given is not None else os.environ.get(ENV_DEFAULT_WEIGHTS)
    if not value or value in WEIGHTS_CHOICES:
        return
    origin = "--weights" if given is not None else f"${ENV_DEFAULT_WEIGHTS} (--weights not given)"
    path = Path(value).expanduser()
    if path.is_dir():
        raise ParameterError(
            f"{origin} = {value!r} is a folder, not a weights file: give the .pth file itself"
        )
    if not path.exists():
        raise ParameterError(
            f"{origin} = {value!r} is neither 'imagenet', 'caffe', 'random' nor an existing file"
            + ("" if given is not None else f"; fix or unset {ENV_DEFAULT_WEIGHTS}")
        )


#: What to try after each way a run can end early (the command line's wording; a non-finite loss
#: and running out of memory get theirs from ``_why``).
_NEXT = {
    "interrupted": "run again for all the evaluations (a new run starts from --init)",
    "stopped": "run again for all the evaluations",
}


def _lr(result: Result, args: argparse.Namespace) -> float:
    """The learning rate the run used (the optimiser's default when --lr was not given)."""
    lr = result.settings.get("lr", args.lr)
    return float(lr if lr is not None else DEFAULT_LR[args.optimizer])


def _why(
    result: Result, args: argparse.Namespace, steps: int, oom: BaseException | None = None
) -> tuple[str, str]:
    """(why the run ended early, what to try next), in the command line's words; each reason said
    once (no "interrupted: interrupted …"), and the advice fits the cause."""
    reason, n = result.stop_reason, result.evaluations
    if reason == "non-finite":
        found = re.search(r"the loss became (\S+) at evaluation (\d+)", result.message or "")
        value, k = (found.group(1), int(found.group(2))) if found else ("not finite", n + 1)
        if n == 0 and k <= 1:  # before any step: the learning rate played no part yet
            return (
                f"the loss was {value} at evaluation 1, before any optimisation step: the "
                "weights α/β (--alpha, --beta, --tv-weight) or the images make it overflow from "
                "the start, so the learning rate is not the cause",
                "run again with smaller weights (e.g. leave --beta at its default) or check "
                "the images",
            )
        lr, default = _lr(result, args), DEFAULT_LR[args.optimizer]
        smaller = f"{default:g}, the default" if lr > default else f"{lr / 10:g}"
        return (
            f"non-finite loss: the loss became {value} at evaluation {k} (the optimisation "
            "diverged)",
            f"run again with a smaller --lr (e.g. {smaller})"
            + (" or with --optimizer adam" if args.optimizer == "lbfgs" else ""),
        )
    if reason == "interrupted":
        if n == 0:
            return "interrupted (Ctrl-C) before the first evaluation finished", _NEXT[reason]
        return f"interrupted (Ctrl-C) after {n} of {steps} evaluations", _NEXT[reason]
    if reason == "stopped":
        if n == 0:
            return "stopped before the first evaluation finished", _NEXT[reason]
        return f"stopped after {n} of {steps} evaluations", _NEXT[reason]
    if reason == "out-of-memory":
        if not isinstance(oom, RunOutOfMemoryError):  # only the message: reword it
            oom = RunOutOfMemoryError(result.message or "out of memory")
        size = args.scales or (args.size if args.size is not None else 256)
        return out_of_memory_for_cli(oom, size, args.device), ""  # it says what to try
    return (result.message or reason).split(";")[0], _NEXT.get(reason, "")


def _kept(result: Result) -> str:
    """Which evaluation's image the result holds, and its loss (what "best" actually is)."""
    k = result.best_evaluation
    if 1 <= k <= len(result.history):
        return (
            f"the image of evaluation {k} (the lowest loss, {result.history[k - 1]['total']:.4g})"
        )
    return "the previous scale's result, upsampled"


def _write(result: Result, args: argparse.Namespace) -> str:
    """Write the image (and the run); a write that fails keeps them elsewhere. Returns what was
    written, in words, including any failure and where the files went instead."""
    image_at, image_error = save_or_keep(result.image, args.output, overwrite=args.overwrite)
    parts = [
        f"wrote {image_at}"
        if image_error is None
        else f"could not write {args.output} ({image_error}), so wrote it to {image_at}"
    ]
    if args.snapshots is not None:
        run_at, run_error = save_run_or_keep(result, args.snapshots, overwrite=args.overwrite)
        parts.append(
            f"the run in {run_at}"
            if run_error is None
            else f"could not save the run in {args.snapshots} ({run_error}), so saved it in "
            f"{run_at}"
        )
    return " and ".join(parts) + ("" if image_error is None else "; fix the output folder")


def _report(
    result: Result, args: argparse.Namespace, steps: int, oom: BaseException | None = None
) -> int:
    """One line: on stdout for a completed run (exit 0); on stderr after a stop or a failed
    write (exit 2), saying why, which evaluation's image was kept with what loss, and what next.
    ``oom``: the ``RunOutOfMemoryError`` of a run that ran out of memory (to word it for the
    command line)."""
    done = result.stop_reason == "completed"
    why, after = ("", "") if done else _why(result, args, steps, oom)
    if result.evaluations == 0:  # nothing was evaluated: the initial image is no result
        print(
            f"error: {why}; there is no result, so nothing was written"
            + (f"; {after}" if after else ""),
            file=sys.stderr,
        )
        return 2
    written = _write(result, args)
    n = result.evaluations
    summary = (
        f"{n} evaluation{'s' if n != 1 else ''} in {result.seconds:.1f} s; kept {_kept(result)}"
    )
    if result.stop_reason == "completed":
        if "could not" in written:
            print(f"error: completed: {summary}; {written}", file=sys.stderr)
            return 2
        print(f"completed: {summary}; {written}")
        return 0
    print(
        f"error: {why}; {summary}; {written}" + (f"; {after}" if after else ""),
        file=sys.stderr,
    )
    return 2


def _stylize(args: argparse.Namespace) -> int:
    _check_outputs(args)  # before any image, weights or evaluation
    if args.scales is not None and args.size is not None:
        raise ParameterError("--size and --scales: give one (the last scale is the result's size)")
    if args.device is not None:
        resolve_device(args.device)  # a device that cannot hold a tensor here: refused now
    _check_weights_choice(args.weights)
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
    steps = args.steps * (1 if args.scales is None else len(args.scales))
    transfer: StyleTransfer | None = None
    # an allocation that fails before the first evaluation: one line in the CLI's words; after
    # some evaluations the engine ends the run itself, keeping the best image and the error
    with translate_oom(size=args.scales or size, device=args.device, cli=True):
        if args.scales is not None:
            result = run_coarse_to_fine(content, style, args.scales, **options)
        else:
            transfer = StyleTransfer(content, style, size=size, **options)
            result = transfer.run()
    oom = getattr(transfer, "error", None) or getattr(result, "error", None)
    del transfer
    return _report(result, args, steps, oom)


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
    if status["found"] and status["problem"]:
        print(
            f"weights: {status['found']}, but it is not usable: {status['problem']}; fetch the "
            "right file with `python -m nst_helpers fetch-weights` (and delete this one if it is "
            "a failed download)"
        )
    elif status["found"]:
        print(f"weights: {status['found']}")
    else:
        print(f"weights: not on this machine yet (downloaded on first use from {status['url']})")
    caffe = caffe_status()
    label = "Caffe weights (weights='caffe')"
    if caffe["env"] and caffe["problem"]:
        print(
            f"{label}: $NST_CAFFE_WEIGHTS = {caffe['env']}, but it is not usable: "
            f"{caffe['problem']}. {where_to_get()}"
        )
    elif caffe["found"] and caffe["problem"]:
        print(
            f"{label}: {caffe['found']}, but it is not usable: {caffe['problem']}. {where_to_get()}"
        )
    elif caffe["found"]:
        print(f"{label}: {caffe['found']}; input {caffe['preprocessing']}")
    else:
        print(f"{label}: not found. {where_to_get()}")
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
    except (NSTError, OSError) as exc:  # every expected failure: one line, exit 2
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # outside a run (a run catches it and keeps its result)
        print(
            "error: interrupted (Ctrl-C) before the run began or while writing; "
            "no partial file was written",
            file=sys.stderr,
        )
        return 2
    except RuntimeError as exc:
        if not _is_device_failure(exc):
            raise  # a bug: the traceback, exit 1
        print(f"error: the device failed ({_one_line(exc)}); try --device cpu", file=sys.stderr)
        return 2


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line (its first line; OSErrors as "strerror: filename")."""
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.splitlines()[0].split()) if "\n" in text else text


def _is_device_failure(exc: RuntimeError) -> bool:
    """A GPU driver or runtime failure (not a bug of this package): CUDA, cuDNN, MPS errors."""
    text = str(exc)
    return any(m in text for m in ("CUDA error", "CUDNN_STATUS", "cuDNN error", "MPS backend"))


if __name__ == "__main__":
    sys.exit(main())
