"""The old home of coarse-to-fine runs (``from nst_helpers.multiscale import run_coarse_to_fine``
in saved notebooks keeps working): the extension now lives in ``extensions/coarse_to_fine.py``
and ``run_coarse_to_fine`` (which binds it to ``StyleTransfer``) in ``transfer.py``."""

from __future__ import annotations

from .extensions.coarse_to_fine import *  # noqa: F403
from .extensions.coarse_to_fine import (  # noqa: F401  (names saved notebooks import)
    PeakRss,
    RssSampler,
    check_scales,
    run_scales,
    steps_per_scale,
    upsample,
)
from .transfer import run_coarse_to_fine  # noqa: F401
