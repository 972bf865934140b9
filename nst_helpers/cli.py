"""The command line: ``python -m nst_helpers {stylize, fetch-weights, fetch-samples, info}``.

``stylize`` runs the paper's optimisation and writes the result (with ``--snapshots DIR`` also the
snapshots and the loss history, to replay a long run in class: lesson 05). Its option flags are
made from ``options.Options`` (one place for every option and its default). ``fetch-weights``
and ``fetch-samples`` download ahead of time (Binder's build, an offline classroom). Every expected
failure is one line on stderr and exit status 2, before any long work where it can be known then.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .coarse_to_fine import run_coarse_to_fine
from .engine import Result
from .errors import NSTError
from .files import cache_dir, check_writable
from .images import check_output_path, save_image, unique_path
from .layers import LAYER_NAMES
from .options import Options
from .profiles import ENV_WEIGHTS
from .runs import check_run_dir, save_run
from .samples import SAMPLES, load_sample
from .transfer import run_style_transfer
from .vgg import resolve_device


def _layers(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def add_option_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per ``Options`` field (``--style-layers`` for ``style_layers``), with its default,
    help text and group; types from the field's annotation."""
    groups = {name: parser.add_argument_group(title) for name, title in (
        ("run", "the run"), ("method", "the paper's method"),
        ("beyond", "beyond the paper (Gatys et al. 2017, common tools)"))}  # fmt: skip
    for f in dataclasses.fields(Options):
        meta = f.metadata
        if not meta.get("cli", True):
            continue
        kind: dict[str, Any] = {
            "type": float if "float" in f.type else int if "int" in f.type else str
        }
        if f.type.startswith("tuple[str"):
            kind = {"type": _layers, "metavar": "LAYER,LAYER"}
        elif f.type.startswith("tuple["):
            kind["nargs"] = "*"
        if "choices" in meta:
            kind["choices"] = meta["choices"]
        flag = "--" + f.name.replace("_", "-")
        groups[meta["group"]].add_argument(flag, default=f.default, help=meta["help"], **kind)


class _DefaultsOnce(argparse.ArgumentDefaultsHelpFormatter):
    """Each default once, as typed (``relu4_2,relu5_1``, ``1 2 3``); none for None, False."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text, default = action.help or "", action.default
        if "default" in text or default is None or default is False or default == argparse.SUPPRESS:
            return text
        if isinstance(default, tuple):
            default = (",".join if action.metavar == "LAYER,LAYER" else " ".join)(map(str, default))
        return f"{text} (default: {default})"


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line, like every other failure here (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _as_flag(message: str) -> str:
    """A message that begins with an ``Options`` field names its flag: ``size …`` → ``--size …``."""
    names = {f.name for f in dataclasses.fields(Options)} | {"scales"}  # and run_coarse_to_fine's
    return re.sub(r"^(\w+)\b", lambda m: "--" + m[1].replace("_", "-") if m[1] in names else m[1],
                  message)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (every option documented in ``--help``, with its default)."""
    parser = _Parser(
        prog="python -m nst_helpers",
        description="Neural style transfer after Gatys, Ecker & Bethge (CVPR 2016).",
    )
    parser.add_argument("--version", action="version", version=f"nst_helpers {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    st = sub.add_parser(
        "stylize",
        help="render CONTENT in the style of STYLE (or a blend of several styles)",
        description="Minimise alpha*L_content + beta*L_style over the image (the paper's Eq. 7). "
        f"Images are files, URLs or sample names ({', '.join(SAMPLES)}).",
        formatter_class=_DefaultsOnce,
    )
    st.add_argument("content", help="content image: path, URL or sample name")
    st.add_argument("style", nargs="+", help="style image(s); several are blended (--style-blend)")
    out = st.add_argument_group("outputs")
    out.add_argument("-o", "--output", required=True, type=Path, help="result image (.png, .jpg)")
    out.add_argument("--snapshots", type=Path, metavar="DIR", help="also save the snapshots and "
                     "the loss history (run.json) in DIR, to replay in lesson 05")  # fmt: skip
    out.add_argument("--overwrite", action="store_true", help="replace an existing output")
    out.add_argument("--quiet", action="store_true", help="no progress bar")
    out.add_argument("--scales", type=int, nargs="+", metavar="PX", help="coarse to fine: "
                     "increasing long sides, e.g. 256 512 1024; --steps at each")  # fmt: skip
    add_option_flags(st)
    st.set_defaults(weights=os.environ.get(ENV_WEIGHTS) or Options.weights)
    fw = sub.add_parser("fetch-weights", help="download VGG19's weights into torch's hub cache")
    fw.add_argument("--caffe", action="store_true", help="jcjohnson's Caffe VGG19 instead")
    fw.add_argument("--out", type=Path, help="also write a features-only copy (~80 MB) here")
    fw.add_argument("--quiet", action="store_true", help="no progress bar")
    fs = sub.add_parser("fetch-samples", help="download and verify the paper's sample images")
    fs.add_argument("--quiet", action="store_true", help="no progress bars")
    sub.add_parser("info", help="versions, device and where the weights would come from")
    return parser


def _image(text: str) -> Any:
    """A sample's name loads the sample; anything else is a path or URL, loaded by the run."""
    return load_sample(text) if text in SAMPLES and not Path(text).exists() else text


def _advice(result: Result, options: Options) -> str:
    """What to try after a run that ended early, from how it ended (``Result`` fields)."""
    flag = {"content": "--alpha", "style": "--beta", "tv": "--tv-weight"}.get(result.nonfinite)
    if result.stop_reason == "non-finite" and result.ended_at <= 1:
        return f"the weights or the images overflow from the start: lower {flag or '--beta'}"
    if result.stop_reason == "non-finite":
        return "the optimisation diverged: try a smaller --lr" + (
            " or --optimizer adam" if options.optimizer == "lbfgs" else ""
        )
    if result.stop_reason == "out-of-memory":
        return "" if options.device != "cuda" else "or --device cpu"
    return "run again for all the evaluations"


def _write(result: Result, args: argparse.Namespace) -> str:
    """Write the image (and the run); a write that fails at the end keeps them beside the asked
    place (the image as PNG) and says where."""
    written = []
    try:
        written.append(f"wrote {save_image(result.image, args.output, overwrite=args.overwrite)}")
    except (OSError, ValueError) as exc:
        kept = _keep(lambda p: save_image(result.image, p), args.output.with_suffix(".png"))
        written.append(f"could not write {args.output} ({exc}); kept the image as {kept}")
    if args.snapshots is not None:
        try:
            written.append(
                f"the run in {save_run(result, args.snapshots, overwrite=args.overwrite)}"
            )
        except (OSError, ValueError) as exc:
            beside = args.snapshots.with_name(args.snapshots.name + "-1")
            kept = _keep(lambda p: save_run(result, p), beside)
            written.append(f"could not save the run in {args.snapshots} ({exc}); kept it in {kept}")
    return "; ".join(written)


def _keep(write: Any, path: Path) -> Path:
    """``write`` at a free name beside ``path``, else in ``cache_dir()/"unsaved"``: a result is
    never lost because its folder stopped being writable during the run."""
    try:
        return write(unique_path(path))
    except (OSError, ValueError):
        return write(unique_path(cache_dir() / "unsaved" / path.name))


def _stylize(args: argparse.Namespace) -> int:
    options = Options(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Options)
                         if f.metadata.get("cli", True)})  # fmt: skip
    check_output_path(args.output, overwrite=args.overwrite, flag="--overwrite")
    if args.snapshots is not None:
        check_run_dir(args.snapshots, overwrite=args.overwrite, flag="--overwrite")
    if (
        options.weights not in ("imagenet", "caffe", "random")
        and not Path(options.weights).is_file()
    ):
        raise NSTError(f"--weights {options.weights}: not 'imagenet', 'caffe', 'random' or a file")
    if args.scales and options.size is not None:
        raise NSTError("--size and --scales: give one (the last scale is the result's size)")
    content, styles = _image(args.content), [_image(s) for s in args.style]
    style = styles[0] if len(styles) == 1 else styles
    if args.scales:
        result = run_coarse_to_fine(content, style, args.scales, options, progress=not args.quiet)
    else:
        result = run_style_transfer(content, style, options, progress=not args.quiet)
    summary = f"{result.evaluations} evaluations in {result.seconds:.1f} s"
    if result.evaluations == 0:
        advice = _advice(result, options)
        print(f"error: {result.message}; nothing was written; {advice}", file=sys.stderr)
        return 2
    written = _write(result, args)
    if result.stop_reason == "completed" and "could not" not in written:
        print(f"completed: {summary}; {written}")
        return 0
    advice = _advice(result, options) if result.stop_reason != "completed" else "fix the output"
    print(f"error: {result.message}; {written}; {advice}", file=sys.stderr)
    return 2


def _fetch_weights(args: argparse.Namespace) -> int:
    from .files import atomic_write
    from .weights import JCJOHNSON_URL, hub_file, read_weights_file, torchvision_url

    if args.out is not None and (args.out.exists() or args.out.suffix != ".pth"):
        raise NSTError(f"--out {args.out}: give a new file name ending in .pth")
    if args.out is not None:  # before a 548 MB download, not after
        check_writable(args.out.absolute().parent, f"--out {args.out}")
    path = hub_file(JCJOHNSON_URL if args.caffe else torchvision_url(), progress=not args.quiet)
    print(f"VGG19 weights ready: {path}")
    if args.out is not None:
        import torch

        state, _ = read_weights_file(path)
        atomic_write(args.out, lambda f: torch.save(state, f))
        print(f"features-only copy: {args.out} (use it with NST_WEIGHTS={args.out})")
    return 0


def _info() -> int:
    import platform

    import torch
    import torchvision

    from .weights import weights_status

    print(f"nst_helpers {__version__}, Python {platform.python_version()}, torch "
          f"{torch.__version__}, torchvision {torchvision.__version__}")  # fmt: skip
    print(f"device: {resolve_device(None)} (CUDA available: {torch.cuda.is_available()})")
    weights = os.environ.get(ENV_WEIGHTS) or "imagenet"
    print(f"weights ({weights}): {weights_status(weights)}")
    print(f"Caffe weights (--weights caffe): {weights_status('caffe')}")
    print(f"layers: {', '.join(LAYER_NAMES)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (expected failures print one line, exit 2)."""
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():  # a warning is one line too, without a source line
        warnings.showwarning = lambda message, *_: print(f"warning: {message}", file=sys.stderr)
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        if args.command == "stylize":
            return _stylize(args)
        if args.command == "fetch-weights":
            return _fetch_weights(args)
        if args.command == "fetch-samples":
            from .samples import sample_path

            for name, sample in SAMPLES.items():
                if sample.sha256:
                    print(f"{name}: {sample_path(name, progress=not args.quiet)}")
            return 0
        return _info()
    except (NSTError, OSError) as exc:  # every expected failure: one line, exit 2
        message = _as_flag(" ".join(str(exc).split())) or type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # outside a run (a run catches it and keeps its result)
        print("error: interrupted (Ctrl-C) before the run began; nothing written", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # a GPU driver's failure is the machine's, not a bug here
        if not any(m in str(exc) for m in ("CUDA error", "cuDNN", "CUDNN", "MPS backend")):
            raise  # a bug: the traceback, exit 1
        print(
            f"error: the device failed ({str(exc).splitlines()[0]}); try --device cpu",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
