"""The process's memory, for runs that must fit a 1–2 GB Binder or JupyterHub pod.

PyTorch's CPU tensors come from the C heap (glibc's malloc on Linux). A run frees hundreds of MB
when it ends (activations, L-BFGS's history), but malloc keeps most of it, and a next run at
another size often cannot reuse it: a notebook's resident memory then climbs run after run.
``release_free_memory`` hands it back (measured in the README, "Speed and memory"); the engine
calls it before a run and every ``TRIM_EVERY`` evaluations. ``PeakRss`` measures a block's peak.
"""

from __future__ import annotations

import ctypes
import gc

#: Every TRIM_EVERY evaluations a run hands back the heap's free memory (engine.Engine.step).
TRIM_EVERY = 20


try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(None)  # the C library (glibc on Linux)
except (OSError, TypeError):
    _LIBC = None


def release_free_memory() -> None:
    """Hand the C heap's free memory back to the system (glibc's ``malloc_trim(0)``, a few ms; a
    no-op without glibc). Changes no tensor."""
    if trim := getattr(_LIBC, "malloc_trim", None):
        trim(0)


def _status_mb(field: str) -> float | None:
    """A ``/proc/self/status`` field (VmRSS, VmHWM) in MiB; None where it cannot be read."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def resident_mb() -> float | None:
    """The process's resident set size now, in MiB (Linux); None elsewhere."""
    return _status_mb("VmRSS")


def peak_resident_mb() -> float | None:
    """The process's peak resident set size (Linux's VmHWM), in MiB; None elsewhere."""
    return _status_mb("VmHWM")


class PeakRss:
    """The resident memory while a block runs, in MiB: ``start_mb`` on entry and ``peak_mb``, the
    most it reached inside (Linux's VmHWM, reset on entry by writing 5 to
    /proc/self/clear_refs). Both None where this cannot be measured (not Linux)."""

    def __init__(self) -> None:
        self.start_mb: float | None = None
        self.peak_mb: float | None = None

    def __enter__(self) -> PeakRss:
        gc.collect()
        release_free_memory()
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.start_mb = resident_mb()
        except OSError:
            self.start_mb = None
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak_mb = peak_resident_mb() if self.start_mb is not None else None
