"""The setup check (lesson 00): versions, device, where the weights come from, a measured time
estimate of every lesson's runs (``profiles.LESSONS``) at the profile's sizes, and what
``precision="auto"`` measures here (``nst_helpers.precision``) and whether the downloads work
(``downloads_report``: headers only, through pooch). It works offline and with
``NST_WEIGHTS=random``: it reads no weights and downloads nothing."""

from __future__ import annotations

import importlib.metadata
import platform
import unicodedata

import torch

from .. import precision, profiles
from ..files import cache_dir, download_reason
from ..i18n import N_, _
from ..options import Options
from ..samples import ENV_SAMPLES_URL, SAMPLES, sample_url
from ..transfer import prepare
from ..vgg import VGG19Features, resolve_device
from ..weights import (
    ENV_WEIGHTS_URL,
    JCJOHNSON_URL,
    caffe_available,
    download_url,
    hub_path,
    torchvision_url,
    weights_status,
)

PACKAGES = ("torch", "torchvision", "jupyterlab", "ipywidgets", "matplotlib", "pillow", "tqdm")
#: The lessons of ``profiles.LESSONS`` by name, in English (``estimates_report`` translates).
LESSON_NAMES = {name: name for name in (
    N_("01 VGG19 features"), N_("02 content representation"), N_("03 style representation"),
    N_("04 style transfer"), N_("05 convergence"), N_("06 loss landscape"),
    N_("07 beyond the paper"))}  # fmt: skip
#: Where the hardware has no lower precision, bf16 is timed (emulated, slowly) at this size.
EMULATED_SIZE = 48


def versions() -> dict[str, str]:
    """Python's and each course package's version ("missing" when not installed)."""
    found = {"python": platform.python_version()}
    for name in (*PACKAGES, "nst_helpers"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "missing"
    return found


def device_report() -> str:
    """Which device the lessons will use, in words."""
    device = resolve_device(None)
    if device.type == "cuda":
        return _("CUDA GPU: {name}").format(name=torch.cuda.get_device_name(0))
    if device.type == "mps":
        return _("Apple GPU (MPS)")
    cpu = _("CPU ({threads} threads); every lesson is sized to run on a CPU")
    return cpu.format(threads=torch.get_num_threads())


def weights_advice(weights: str | None = None) -> str:
    """Where ``load_vgg19(weights)`` will read VGG19's weights from (default: the profile's,
    ``$NST_WEIGHTS`` or "imagenet"), and what to do offline when they are not here yet."""
    weights = profiles.profile().weights if weights is None else weights
    text = _("VGG19 weights ({weights}): {status}")
    text = text.format(weights=weights, status=weights_status(weights))
    here = {"imagenet": lambda: hub_path(torchvision_url()).is_file(), "caffe": caffe_available}
    if weights in here and not here[weights]():
        text += "\n" + _("Without a network: run `python -m nst_helpers fetch-weights --out "
                         "vgg19.pth` where there is one, copy vgg19.pth here and set NST_WEIGHTS="
                         "/path/to/vgg19.pth (see the README, 'Offline labs').")  # fmt: skip
    return text


def unreachable(url: str, timeout: float = 5.0) -> str | None:
    """Why ``url`` cannot be downloaded, in a few words, or None when it answers (pooch asks for
    its headers only)."""
    import pooch

    try:
        if pooch.HTTPDownloader(timeout=timeout)(url, None, None, check_only=True):
            return None
        return _("not found")
    except Exception as exc:  # requests' errors: refused, timed out, a malformed address
        return download_reason(exc)


def downloads_report(weights: str | None = None, timeout: float = 5.0) -> str:
    """Whether the paper's sample images and VGG19's weights (default: the profile's) are here or
    can be downloaded; for a failed download, its address and the setting that fixes it (a mirror:
    ``$NST_SAMPLES_URL``, ``$NST_WEIGHTS_URL``; README, "Mirrors")."""
    weights = profiles.profile().weights if weights is None else weights
    images = cache_dir() / "images"
    missing = [n for n, s in SAMPLES.items() if s.sha256 and not (images / s.filename).is_file()]
    checks = [(N_("sample images"), ENV_SAMPLES_URL, sample_url(missing[0]) if missing else None)]
    here = {"imagenet": lambda: hub_path(torchvision_url()).is_file(), "caffe": caffe_available}
    if weights in here:
        url = download_url(torchvision_url() if weights == "imagenet" else JCJOHNSON_URL)
        checks.append((N_("VGG19 weights"), ENV_WEIGHTS_URL, None if here[weights]() else url))
    fix = {ENV_SAMPLES_URL: _("the lessons use offline samples until then"),
           ENV_WEIGHTS_URL: _("or copy the file into {folder}").format(
               folder=hub_path(JCJOHNSON_URL).parent)}  # fmt: skip
    lines = []
    for what, env, source in checks:
        reason = unreachable(source, timeout) if source else None
        line = _("{what}: here, nothing to download") if source is None else (
            _("{what}: {url} answers (downloaded on first use)") if reason is None else
            _("{what}: could not download {url} ({reason}); set {env} to a mirror folder holding "
              "the same files (README, 'Mirrors'); {fix}"))  # fmt: skip
        lines.append(line.format(what=_(what), url=source, reason=reason, env=env, fix=fix[env]))
    return "\n".join(lines)


def _timed(vgg: VGG19Features, size: int, names: list[str], repeats: int) -> dict:
    """``precision.probe`` of a style transfer (the paper's layers) at size × size px: from noise
    towards two random images, each of ``names`` timed ``repeats`` times after one warm-up."""
    g = torch.Generator().manual_seed(0)
    content, style = (torch.rand(1, 3, size, size, generator=g) for _ in range(2))
    p = prepare(content, style, Options(size=size, init="noise"), vgg)
    return precision.probe(vgg, p.objective, p.x0, names, repeats)


def seconds_per_evaluation(vgg: VGG19Features, size: int, repeats: int = 3) -> float:
    """Median seconds of one evaluation (forward + backward, the paper's layers, float32) at
    size × size px, after one warm-up evaluation."""
    return _timed(vgg, size, ["fp32"], repeats)["fp32"]["seconds"]


def estimate_lessons(vgg: VGG19Features, profile: profiles.Profile) -> dict[str, float]:
    """Seconds each lesson's runs should take here, measured at the profile's sizes (a point of a
    loss landscape's grid is a forward pass only: a third of an evaluation)."""
    sizes = ("size", "small_size", "tile_size")
    per_eval = {key: seconds_per_evaluation(vgg, getattr(profile, key)) for key in sizes}

    def steps(key: str | int) -> float:
        if isinstance(key, int):  # a fixed number of evaluations
            return key
        return profile.grid**2 / 3 if key == "grid" else getattr(profile, key)

    return {lesson: sum(n * steps(s) * per_eval[size] for n, size, s in runs)
            for lesson, runs in profiles.LESSONS.items()}  # fmt: skip


def _padded(text: str, width: int = 28) -> str:
    """``text`` followed by spaces up to ``width`` columns (a Chinese character takes two)."""
    columns = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - columns)


def estimates_report(estimates: dict[str, float]) -> str:
    """``estimate_lessons``' result as lines a learner reads: about how many minutes each lesson's
    optimisations take on this machine, then all lessons together."""
    lines = []
    for lesson, seconds in estimates.items():
        name = _padded(_(LESSON_NAMES.get(lesson, lesson)))
        line = _("{lesson} ~{minutes:5.1f} min") if seconds else _("{lesson}  (no optimisation)")
        lines.append(line.format(lesson=name, minutes=seconds / 60))
    total = sum(estimates.values()) / 60
    all_lessons = _padded(_("all lessons"))
    lines.append(_("{lesson} ~{minutes:5.1f} min").format(lesson=all_lessons, minutes=total))
    return "\n".join(lines)


def precision_report(vgg: VGG19Features, size: int) -> str:
    """What ``precision="auto"`` measures on this machine (issue 25; lesson 00): fp32 and every
    lower precision the device computes natively (``precision.candidates``), each timed per
    evaluation at ``size`` px (``precision.probe``: three after a warm-up), and the choice
    (``precision.decide``). Where the device has none (a CPU without AVX512-BF16, AVX512-FP16 or
    AMX), one sentence says so and fp32 is kept; bf16 is then timed beside fp32 at
    ``EMULATED_SIZE`` px, one evaluation after a warm-up, to show why: emulated, it is slower.
    """
    lower = precision.candidates(vgg.device)
    runs = [(size, _timed(vgg, size, ["fp32", *lower], 3))]
    if not lower:
        small = min(size, EMULATED_SIZE)
        runs.append((small, _timed(vgg, small, ["fp32", "bf16"], 1)))
    none = _("This {device} computes neither bf16 nor fp16 natively: both would be emulated in "
             "software, slower than fp32, so fp32 is kept. bf16 beside fp32 at a small size, one "
             "evaluation each after a warm-up:")  # fmt: skip
    lines = []
    for side, found in runs:
        fp32 = found["fp32"]
        for name, t in found.items():
            line = _("{name:>5} at {size:3d} px: {seconds:7.3f} s per evaluation")
            if name != "fp32":
                line += _(", {ratio:.2f}× fp32's time; loss {difference:+.2%} from fp32's")
            ratio, difference = t["seconds"] / fp32["seconds"], t["loss"] / (fp32["loss"] or 1) - 1
            lines.append(line.format(name=name, size=side, seconds=t["seconds"], ratio=ratio,
                                     difference=difference))  # fmt: skip
        if not lower and len(lines) == 1:
            lines.append(none.format(device=vgg.device.type.upper()))
    choice = precision.decide(runs[0][1]) if lower else "fp32"
    message = _('precision="auto" chooses {choice} here (a lower precision only when at '
                "least {speedup:g}× faster than fp32, its loss within {tolerance:.0%} of "
                "fp32's).").format(choice=choice, speedup=precision.SPEEDUP,
                                   tolerance=precision.TOLERANCE)  # fmt: skip
    return "\n".join([*lines, message])
