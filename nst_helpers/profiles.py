"""Run-size profiles for the notebooks: one switch, ``NST_PROFILE``, or in a lesson's first code
cell ``PROFILE = "quick"`` (then ``P = nst.profile(PROFILE)``) for that notebook alone.

- ``lab`` (the default): what a learner should see (main runs at 256 px).
- ``quick``: a slow machine, or self-study: the whole sequence in about five minutes on two
  CPU cores (measured: README). Half ``lab``'s side for the main runs (128 px, started from the
  photograph, so still recognisable) and a fifth to a quarter of its evaluations (below ~100 px an
  evaluation's cost shrinks far more slowly than the area, so the evaluation counts set the
  time); the series that start from noise (02's reconstructions, 03's textures, 06's seeds) are
  rough after 30 evaluations: their shapes show, their detail does not.
- ``smoke``: tiny images and a handful of evaluations, so every notebook runs in seconds in CI and
  in the browser tests (combine with ``NST_WEIGHTS=random`` where there are no real weights).
- ``paper``: the paper's settings (512 px, average pooling, white-noise start, long runs, and the
  authors' Caffe network when its file is here: ``load_vgg19(weights=P.weights)``); slow on a
  CPU, meant for a GPU.

Times are measured, never written here: ``benchmarks/peak_memory.py --profile lab|quick`` writes
``benchmarks/results/peak_memory_<profile>.json``, which ``tools/timings.py`` copies into README
and INSTRUCTORS.md. Lesson 00 estimates each lesson on the learner's machine from ``LESSONS``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import ParameterError

ENV_PROFILE = "NST_PROFILE"
#: The weights every profile uses when set: "random" (CI), "imagenet", "caffe" or a file.
ENV_WEIGHTS = "NST_WEIGHTS"
_NOTED: set[str] = set()  # profiles whose fallback note was printed (once per process)


@dataclass(frozen=True)
class Profile:
    """Sizes and lengths the notebooks use; every field is in pixels or evaluations."""

    name: str
    size: int  # long side of content/result images in the main runs
    steps: int  # evaluations of a full style transfer
    small_size: int  # long side for series of runs (reconstructions, grids, landscapes)
    small_steps: int  # evaluations per run in a series
    grid: int  # points per axis of a loss-landscape grid
    tile_size: int  # long side for the many runs of a small-multiples figure (04's 20-run grid)
    tile_steps: int  # evaluations per run of a small-multiples figure
    pooling: str = "max"
    init: str = "content"
    #: The network pass's precision (``Options.precision``): "auto" measures what is faster here.
    precision: str = "auto"
    #: The ``load_vgg19`` weights this profile asks for (None: the default, torchvision's);
    #: read it through ``weights``, which lets ``$NST_WEIGHTS`` override it.
    preferred_weights: str | None = None

    @property
    def weights(self) -> str:
        """What to pass as ``load_vgg19(weights=P.weights)``: ``$NST_WEIGHTS`` when set
        (``random`` for CI; a file path), else ``preferred_weights`` — for ``paper`` the authors'
        Caffe network when its file is in torch's hub cache (a note says where to get it when not)
        — else ``"imagenet"``."""
        override = os.environ.get(ENV_WEIGHTS)
        if override:
            return override
        if self.preferred_weights != "caffe":
            return self.preferred_weights or "imagenet"
        from .weights import AUTHORS_URL, caffe_available, hub_path

        if caffe_available():
            return "caffe"
        if self.name not in _NOTED:
            _NOTED.add(self.name)
            print(
                f"Note: profile {self.name!r} prefers the authors' Caffe VGG19, not on this "
                f"machine; using torchvision's weights. Put {AUTHORS_URL} at "
                f"{hub_path(AUTHORS_URL)} (or load_vgg19('caffe') downloads jcjohnson's)."
            )
        return "imagenet"


# fmt: off
#: The profiles, one row each: Profile(name, size, steps, small_size, small_steps, grid,
#: tile_size, tile_steps, ...).
PROFILES: dict[str, Profile] = {
    "lab": Profile("lab", 256, 300, 128, 150, 15, 96, 100),
    "quick": Profile("quick", 128, 80, 96, 30, 9, 64, 20),
    "smoke": Profile("smoke", 48, 4, 32, 3, 3, 32, 2, precision="fp32"),
    "paper": Profile("paper", 512, 1000, 256, 500, 25, 256, 300, pooling="avg", init="noise",
                     preferred_weights="caffe"),
}
# fmt: on
DEFAULT_PROFILE = "lab"


def profile(name: str | None = None) -> Profile:
    """The profile called ``name``, or ``$NST_PROFILE``, or ``lab``."""
    chosen = name or os.environ.get(ENV_PROFILE) or DEFAULT_PROFILE
    if chosen not in PROFILES:
        where = "profile" if name else ENV_PROFILE  # the argument, or the environment
        raise ParameterError(f"{where}={chosen!r} is not a profile: {', '.join(PROFILES)}")
    return PROFILES[chosen]


#: The runs each lesson makes, for the setup check's time estimate: notebook -> list of
#: (number of runs, "size" | "small_size" | "tile_size", "steps" | "small_steps" | "tile_steps" |
#: "grid" | a fixed number of evaluations). A "grid" entry counts grid² forward-only evaluations
#: (about a third of a full evaluation each).
LESSONS: dict[str, list[tuple[int, str, str | int]]] = {
    "01 VGG19 features": [],
    "02 content representation": [(5, "small_size", "small_steps")],
    "03 style representation": [(5, "small_size", "small_steps")],
    "04 style transfer": [
        (1, "size", "steps"),
        (6, "small_size", "small_steps"),
        (20, "tile_size", "tile_steps"),  # the α/β × layers grid
        (3, "tile_size", "tile_steps"),  # the three α/β runs (section 3)
        (2, "tile_size", 5),  # fp32 against bf16 (section 9; emulated bf16 takes longer)
    ],
    "05 convergence": [(1, "size", "steps"), (3, "small_size", "small_steps")],
    "06 loss landscape": [
        (2, "small_size", "grid"),
        (3, "small_size", "small_steps"),
        (1, "small_size", 37),  # the lines: 72 + 18 + 22 forward passes, a third each
    ],
    # 07: 15 tiles (3 colour, 1 blend panel, 5 blends, 3 style scales, 3 TV); the Caffe comparison
    # (2 more tiles) runs only where that file is. Section 5: a run at ``size`` and a coarse-to-fine
    # run with half its evaluations at ``small_size``, priced here as two runs at ``size`` (a
    # slight overestimate).
    "07 beyond the paper": [(15, "tile_size", "tile_steps"), (2, "size", "tile_steps")],
}
