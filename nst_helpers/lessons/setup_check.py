"""The setup check (lesson 00): versions, device, where the weights come from, and a measured time
estimate of every lesson's runs (``profiles.LESSONS``) at the profile's sizes. It works offline and
with ``NST_WEIGHTS=random``: it reads no weights and downloads nothing."""

from __future__ import annotations

import importlib.metadata
import platform
import statistics
import time
import unicodedata

import torch

from .. import profiles
from ..i18n import N_, _
from ..transfer import StyleTransfer
from ..vgg import VGG19Features, resolve_device
from ..weights import caffe_available, hub_path, torchvision_url, weights_status

PACKAGES = ("torch", "torchvision", "jupyterlab", "ipywidgets", "matplotlib", "pillow", "tqdm")
#: The lessons of ``profiles.LESSONS`` by name, in English (``estimates_report`` translates).
LESSON_NAMES = {
    "01 VGG19 features": N_("01 VGG19 features"),
    "02 content representation": N_("02 content representation"),
    "03 style representation": N_("03 style representation"),
    "04 style transfer": N_("04 style transfer"),
    "05 convergence": N_("05 convergence"),
    "06 loss landscape": N_("06 loss landscape"),
    "07 beyond the paper": N_("07 beyond the paper"),
}


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
    return _("CPU ({threads} threads); every lesson is sized to run on a CPU").format(
        threads=torch.get_num_threads()
    )


def weights_advice(weights: str | None = None) -> str:
    """Where ``load_vgg19(weights)`` will read VGG19's weights from (default: the profile's,
    ``$NST_WEIGHTS`` or "imagenet"), and what to do offline when they are not here yet."""
    weights = profiles.profile().weights if weights is None else weights
    text = _("VGG19 weights ({weights}): {status}").format(
        weights=weights, status=weights_status(weights)
    )
    here = {"imagenet": lambda: hub_path(torchvision_url()).is_file(), "caffe": caffe_available}
    if weights in here and not here[weights]():
        text += "\n" + _(
            "Without a network: run `python -m nst_helpers fetch-weights --out vgg19.pth` where "
            "there is one, copy vgg19.pth here and set NST_WEIGHTS=/path/to/vgg19.pth (see the "
            "README, 'Offline labs')."
        )
    return text


def seconds_per_evaluation(vgg: VGG19Features, size: int, repeats: int = 3) -> float:
    """Median seconds of one evaluation (forward + backward, the paper's layers) at size × size px,
    after one warm-up evaluation."""
    image = torch.rand(1, 3, size, size)
    transfer = StyleTransfer(image, image, vgg=vgg, steps=repeats + 1, snapshot_at=())
    transfer.step()  # warm-up (memory allocation, kernel selection)
    times = []
    for _repeat in range(repeats):
        start = time.perf_counter()
        transfer.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def estimate_lessons(vgg: VGG19Features, profile: profiles.Profile) -> dict[str, float]:
    """Seconds each lesson's optimisation runs should take here, measured at the profile's sizes."""
    per_eval = {
        "size": seconds_per_evaluation(vgg, profile.size),
        "small_size": seconds_per_evaluation(vgg, profile.small_size),
        "tile_size": seconds_per_evaluation(vgg, profile.tile_size),
    }
    estimates = {}
    for lesson, runs in profiles.LESSONS.items():
        total = 0.0
        for count, size_key, steps_key in runs:
            if steps_key == "grid":
                total += count * profile.grid**2 * per_eval[size_key] / 3
            else:
                total += count * getattr(profile, steps_key) * per_eval[size_key]
        estimates[lesson] = total
    return estimates


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
