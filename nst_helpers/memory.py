"""The process's memory, for runs that must fit a 1–2 GB Binder or JupyterHub pod.

PyTorch's CPU tensors come from the C heap (glibc's malloc on Linux). A style-transfer run frees
hundreds of MB when it ends (activations, L-BFGS's history), but malloc keeps most of it for later
and, fragmented by the previous run's tensor sizes, a next run at another size often cannot reuse
it: a notebook's resident memory then climbs run after run. ``release_free_memory`` hands it back;
``StyleTransfer`` calls it before each run starts, so a notebook's peak is its largest run's, not
the sum of its runs' leftovers (measured in the README, "Speed and memory").
"""

from __future__ import annotations

import ctypes
import gc
import os

_STATM = "/proc/self/statm"


def resident_mb() -> float | None:
    """The process's resident set size now, in MiB (Linux: /proc/self/statm); None elsewhere."""
    try:
        with open(_STATM) as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def release_free_memory() -> None:
    """Collect garbage (earlier runs caught in reference cycles) and hand the C heap's free memory
    back to the system (glibc's ``malloc_trim(0)``; a no-op where there is no glibc: macOS,
    Windows, musl). Takes milliseconds; changes no tensor."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass
