"""The process's memory, for runs that must fit a 1–2 GB Binder or JupyterHub pod.

PyTorch's CPU tensors come from the C heap (glibc's malloc on Linux). A style-transfer run frees
hundreds of MB when it ends (activations, L-BFGS's history), but malloc keeps most of it for later
and, fragmented by the previous run's tensor sizes, a next run at another size often cannot reuse
it: a notebook's resident memory then climbs run after run. ``release_free_memory`` hands it back;
``StyleTransfer`` calls it before each run starts (so a notebook's peak is its largest run's, not
the sum of its runs' leftovers) and every ``TRIM_EVERY`` evaluations during a run (the free memory
grows to 100–200 MB within ten evaluations at 256 px); measured in the README, "Speed and memory".
"""

from __future__ import annotations

import ctypes
import functools
import gc
import os

_STATM = "/proc/self/statm"


_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"


def peak_resident_mb() -> float | None:
    """The process's peak resident set size (Linux's VmHWM) in MiB; None where not readable."""
    try:
        with open(_STATUS) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_peak_resident() -> bool:
    """Reset the peak resident set size to the current one (Linux ≥ 4.0: "5" into
    /proc/self/clear_refs); whether it worked."""
    try:
        with open(_CLEAR_REFS, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class PeakRss:
    """The process's resident set size (RSS) while a block runs, in MiB: ``start_mb`` on entry,
    ``peak_mb`` the largest it reached inside the block (exact: Linux's VmHWM, reset on entry).

    On entry the free heap memory is released (``release_free_memory``), so ``peak_mb − start_mb``
    is about what the block itself needed, and blocks run one after the other compare (unlike
    ``getrusage``'s ru_maxrss, which never decreases). Both are None where this cannot be read
    (not Linux).
    """

    def __init__(self) -> None:
        self.start_mb: float | None = None
        self.peak_mb: float | None = None
        self._reset = False

    def __enter__(self) -> PeakRss:
        release_free_memory(collect_garbage=True)
        self.start_mb = resident_mb()
        self._reset = self.start_mb is not None and reset_peak_resident()
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak_mb = peak_resident_mb() if self._reset else None
        if self.peak_mb is None:
            self.start_mb = None


def resident_mb() -> float | None:
    """The process's resident set size now, in MiB (Linux: /proc/self/statm); None elsewhere."""
    try:
        with open(_STATM) as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd",
            "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
        )
    ]  # fmt: skip


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library's symbols (loaded once); None where they cannot be loaded."""
    try:
        return ctypes.CDLL(None)
    except (OSError, TypeError):
        return None


def free_heap_mb() -> float | None:
    """Memory the C heap holds free (glibc's ``mallinfo2().fordblks``, all arenas), in MiB; None
    without glibc ≥ 2.33."""
    mallinfo2 = getattr(_libc(), "mallinfo2", None)
    if mallinfo2 is None:
        return None
    mallinfo2.restype = _MallInfo2
    return mallinfo2().fordblks / 2**20


def release_free_memory(collect_garbage: bool = False, threshold_mb: float = 32.0) -> None:
    """Hand the C heap's free memory back to the system (glibc's ``malloc_trim(0)``; a no-op where
    there is no glibc: macOS, Windows, musl) when it holds more than ``threshold_mb`` free.
    Changes no tensor.

    Trimming costs a few ms, and the next run faults the pages back in (~60 ms), so a heap with
    little free memory (after small runs) is left alone. A finished run is freed by reference
    counting as soon as nothing refers to it, so no garbage collection is needed before a run;
    ``collect_garbage=True`` runs ``gc.collect()`` first (~0.2 s in a notebook kernel) and trims
    whatever is free, for measurements that must not count leftovers.
    """
    if collect_garbage:
        gc.collect()
    else:
        free = free_heap_mb()
        if free is not None and free < threshold_mb:
            return
    malloc_trim = getattr(_libc(), "malloc_trim", None)
    if malloc_trim is not None:
        malloc_trim(0)
