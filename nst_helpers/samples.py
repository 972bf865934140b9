"""Sample images: the paper's content photo and paintings, and offline stand-ins.

The paper's images come from a pinned commit of jcjohnson/neural-style (``$NST_SAMPLES_URL``: a
mirror folder with the same file names), through pooch: downloaded once into
``cache_dir()/"images"``, checked against their SHA-256 whatever the source. The offline samples
need no network: matplotlib's photo of Grace Hopper and two textures drawn by code here.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path
from typing import NamedTuple

import torch

from .errors import DownloadError, ParameterError
from .files import cache_dir, fetch
from .i18n import _
from .images import Size, load_image, target_size

#: Where the paper's images are downloaded from (a pinned commit, so the files cannot change).
BASE_URL = (
    "https://raw.githubusercontent.com/jcjohnson/neural-style/"
    "07c4b8299f8fbdafec0c514fc820ff1d7ff62e46/examples/inputs/"
)
#: A mirror folder holding the same files (a campus mirror; the tests' loopback server).
ENV_SAMPLES_URL = "NST_SAMPLES_URL"


class Sample(NamedTuple):
    """A sample: its file, kind ("content" or "style"), title, credit, and its SHA-256 (None for
    the offline samples, which need no network)."""

    filename: str
    kind: str
    title: str
    credit: str
    sha256: str | None = None

    @property
    def offline(self) -> bool:
        return self.sha256 is None


SAMPLES: dict[str, Sample] = {
    "tubingen": Sample("tubingen.jpg", "content", "Neckarfront in Tübingen",
                       "photo by Andreas Praefcke, Wikimedia Commons, CC BY 3.0",
                       "e67d1869f01fd805385c681a80d9ebcf0f70ea4a5fe6127f0606bb1c7f4bf506"),
    "starry_night": Sample("starry_night.jpg", "style", "The Starry Night (1889)",
                           "Vincent van Gogh, public domain",
                           "0592ab0f7b51b3ce72608a95e53880bd93971e5b48f93a0ce8dfd3cbccf3d098"),
    "shipwreck": Sample("shipwreck.jpg", "style", "The Shipwreck of the Minotaur (c. 1810)",
                        "J. M. W. Turner, public domain",
                        "4f7cf34e3cd4a5daaf3f421f059ca9a01aaa2a3afd7243d6670c9c8bc001a213"),
    "the_scream": Sample("the_scream.jpg", "style", "The Scream (1893)",
                         "Edvard Munch, public domain",
                         "f3075cddeb974a9ee1d6418f7f33fd05185a7ac7dcb4288bd2805d499a9dcaee"),
    "woman_with_hat": Sample("woman-with-hat-matisse.jpg", "style", "Woman with a Hat (1905)",
                             "Henri Matisse, public domain",
                             "6a8b2383d9c110354a97a42c74bdcc5341be879cbb842ddb7ab5843dbdf56d53"),
    "grace_hopper": Sample("grace_hopper.jpg", "content", "Grace Hopper",
                           "U.S. Navy photo, public domain (matplotlib's sample data)"),
    "waves": Sample("waves.png", "style", "Waves (a generated texture)", "nst_helpers, CC0"),
    "mosaic": Sample("mosaic.png", "style", "Mosaic (generated stained glass)", "nst_helpers, CC0"),
}  # fmt: skip


def _get(name: str) -> Sample:
    if name not in SAMPLES:
        raise ParameterError(f"unknown sample {name!r}; valid names: {', '.join(SAMPLES)}")
    return SAMPLES[name]


def list_samples(kind: str | None = None) -> list[str]:
    """The samples' names, or those of one ``kind`` ("content" or "style")."""
    return [name for name, s in SAMPLES.items() if kind in (None, s.kind)]


def sample_url(name: str) -> str:
    """Where a paper sample is downloaded from (``$NST_SAMPLES_URL`` if set)."""
    base = os.environ.get(ENV_SAMPLES_URL) or BASE_URL
    return base.rstrip("/") + "/" + _get(name).filename


def sample_path(name: str, *, progress: bool = False) -> Path:
    """The local, verified file of a paper sample (downloaded on first use; ``DownloadError``
    naming the address when that fails) or of matplotlib's Grace Hopper."""
    sample = _get(name)
    if name == "grace_hopper":
        spec = importlib.util.find_spec("matplotlib")
        for folder in (spec.submodule_search_locations or []) if spec else []:
            path = Path(folder) / "mpl-data" / "sample_data" / sample.filename
            if path.is_file():
                return path
        raise DownloadError("matplotlib's sample grace_hopper.jpg was not found")
    if sample.offline:
        raise ParameterError(f"sample {name!r} is drawn by code, not a file: use load_sample")
    try:
        return fetch(sample_url(name), sample.sha256, cache_dir() / "images", sample.filename,
                     progress=progress)  # fmt: skip
    except DownloadError as exc:  # and the way out, for the command line and the API too
        raise DownloadError(_("{error}; set {env} to a mirror (README, 'Mirrors')").format(
            error=exc, env=ENV_SAMPLES_URL)) from exc  # fmt: skip


def load_sample(name: str, size: Size = None) -> torch.Tensor:
    """Sample ``name`` as float32 [1, 3, H, W] in [0, 1] at ``size`` (see ``load_image``)."""
    if name in TEXTURES:
        return TEXTURES[name](*target_size(512, 512, size))
    return load_image(sample_path(name), size=size)


def _grid(h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-centre coordinates (y, x), the long side spanning [0, 1]: resolution-free."""
    s = 1.0 / max(h, w)
    y = (torch.arange(h, dtype=torch.float64)[:, None] + 0.5) * s
    return y, (torch.arange(w, dtype=torch.float64)[None, :] + 0.5) * s


def _waves(h: int, w: int) -> torch.Tensor:
    """Swirling bands of blue, teal and yellow with dark contour lines (a Starry-Night stand-in)."""
    y, x = _grid(h, w)
    g = torch.Generator().manual_seed(1889)
    field = torch.zeros(h, w, dtype=torch.float64)
    for freq in (1.5, 3.0, 5.0, 9.0):  # plane waves at several scales
        angle, phase = (torch.rand(2, generator=g, dtype=torch.float64) * 6.2832).tolist()
        field += (
            torch.sin(
                6.2832
                * freq
                * (x * torch.cos(torch.tensor(angle)) + y * torch.sin(torch.tensor(angle)))
                + phase
            )
            / freq
        )
    for cy, cx in torch.rand(4, 2, generator=g, dtype=torch.float64).tolist():  # swirls
        r = torch.hypot(y - cy, x - cx)
        field += 0.6 * torch.sin(torch.atan2(y - cy, x - cx) * 2 + r * 25) * torch.exp(-4 * r)
    t = 0.45 * field + 0.5
    colour = torch.stack([0.5 + 0.45 * torch.cos(6.2832 * (t + o)) for o in (0.0, 0.1, 0.25)])
    lines = torch.exp(-((torch.sin(7.54 * field).abs() / 0.06) ** 2))
    return (colour * (1 - 0.7 * lines)).clamp(0, 1).float()[None]  # fmt: skip


def _mosaic(h: int, w: int) -> torch.Tensor:
    """Stained glass: Voronoi panes in jewel colours, brighter in the middle, with lead lines."""
    y, x = _grid(h, w)
    g = torch.Generator().manual_seed(1905)
    seeds = torch.rand(60, 2, generator=g, dtype=torch.float64) * torch.tensor([h, w]) / max(h, w)
    d = (y[None] - seeds[:, :1, None]) ** 2 + (x[None] - seeds[:, 1:, None]) ** 2
    d2, nearest = d.topk(2, dim=0, largest=False)
    jewels = torch.rand(60, 3, generator=g, dtype=torch.float64) ** 2 * 0.9 + 0.05
    colour = jewels[nearest[0]].permute(2, 0, 1)
    gap = (d2[1].sqrt() - d2[0].sqrt()) * max(h, w)  # ~ pixels to the nearest pane edge ×2
    shade = 1 - 0.6 * d2[0].sqrt() / (d2[0].sqrt() + d2[1].sqrt())
    return (colour * shade * (gap / 3).clamp(0, 1)).clamp(0, 1).float()[None]


#: The offline textures, drawn directly at the requested size (512 × 512 by default).
TEXTURES = {"waves": _waves, "mosaic": _mosaic}


def load_sample_or_fallback(
    name: str, fallback: str, size: Size = None
) -> tuple[torch.Tensor, str]:
    """Sample ``name``, or the offline sample ``fallback`` when it cannot be downloaded (with a
    one-line warning in the lesson's language saying why and what to set). Returns (the image,
    the name of the sample used): for lessons that must run offline."""
    if not _get(fallback).offline:
        raise ParameterError(f"fallback {fallback!r} needs the network; choose an offline sample")
    try:
        return load_sample(name, size), name
    except DownloadError as exc:
        warnings.warn(
            _("sample {name!r} unavailable ({reason}); using the offline sample {fallback!r} "
              "(set {env} to a mirror)").format(
                name=name, reason=exc.__cause__ or exc, fallback=fallback, env=ENV_SAMPLES_URL),
            stacklevel=2,
        )  # fmt: skip
    return load_sample(fallback, size), fallback
