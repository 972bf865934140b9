"""The package's own exceptions: short messages that name the file or parameter at fault.

Each one also derives from the built-in exception a caller would expect (``ValueError`` for bad
values, ``OSError`` for files and the network), so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class NSTError(Exception):
    """Base class of every error raised on purpose by ``nst_helpers``."""


class ParameterError(NSTError, ValueError):
    """A parameter is out of range or of the wrong kind (raised before any work starts)."""


class ImageError(NSTError, ValueError):
    """An image cannot be used: missing, empty, not an image, truncated, too large or too small."""


class DownloadError(NSTError, OSError):
    """A download failed (no network, refused, interrupted, or the checksum did not match)."""


class WeightsError(NSTError, OSError):
    """VGG19 weights could not be found, read or verified."""


class ImageTensorError(ImageError, ParameterError):
    """An image tensor outside the documented domain (shape, dtype, NaN, values outside [0, 1]).

    Both an ``ImageError`` (what ``load_image`` raises) and a ``ParameterError`` (what the engine
    raises for its tensor arguments), so either ``except`` catches it.
    """


class OutputError(NSTError, OSError):
    """An output (image, GIF, run folder) cannot be written where asked (checked before the run)."""


class OutputExistsError(OutputError, FileExistsError):
    """An output already exists and overwriting was not asked for."""


class RunOutOfMemoryError(NSTError, MemoryError):
    """The run needed more memory than the device has; the message says what to try instead.

    ``allocator_message`` is what the allocator said, ``size`` and ``device`` what the run was
    (so that the command line can say the same in its own words: ``translate_oom(cli=True)``)."""

    def __init__(
        self, message: str, allocator_message: str = "", size: object = None, device: object = None
    ) -> None:
        super().__init__(message)
        self.allocator_message, self.size, self.device = allocator_message, size, device


# --------------------------------------------------------------------------- out of memory

#: What the allocators say when they fail (PyTorch's CPU allocator, CUDA, Apple's MPS, ROCm).
_OOM_MARKERS = (
    "DefaultCPUAllocator: can't allocate memory",
    "CUDA out of memory",
    "out of memory",
    "MPS backend out of memory",
    "HIP out of memory",
)
_UNITS = (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` means that an allocation failed (``MemoryError``, ``torch.OutOfMemoryError``
    on a GPU, or the ``RuntimeError`` of PyTorch's CPU allocator)."""
    if isinstance(exc, RunOutOfMemoryError):
        return False  # already translated
    if isinstance(exc, MemoryError):
        return True
    name = type(exc).__name__
    if name == "OutOfMemoryError":  # torch.OutOfMemoryError (torch.cuda.OutOfMemoryError)
        return True
    return isinstance(exc, RuntimeError) and any(m in str(exc) for m in _OOM_MARKERS)


def _device_words(device: str) -> str:
    if device == "cpu":
        return "the CPU"
    if device.startswith(("cuda", "mps")):
        return f"the GPU ({device})"
    return device


def _bytes(n: float) -> str:
    for unit, scale in _UNITS:
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} bytes"


def _requested(text: str) -> str | None:
    """The allocation that failed, from the allocator's message ("2.0 GiB"), if it says (or from
    this module's own message, "an allocation of 2.0 GiB failed", when that is all there is)."""
    import re

    found = re.search(r"allocate (\d+) bytes", text)
    if found:
        return _bytes(int(found.group(1)))
    found = re.search(r"[Tt]ried to allocate ([\d.]+ ?[KMGT]i?B)", text)
    if found is None:
        found = re.search(r"an allocation of ([\d.]+ ?[KMGT]i?B) failed", text)
    return found.group(1) if found else None


def _where(text: str, exc: BaseException, device: object) -> str:
    """ " on the CPU", " on the GPU (cuda:0)" … from ``device``, else from what was said."""
    import re

    if device is not None:
        return f" on {_device_words(str(device))}"
    if "CUDA" in text or type(exc).__name__ == "OutOfMemoryError":
        return " on the GPU"
    if "CPUAllocator" in text:
        return " on the CPU"
    said = re.match(r"out of memory on (the CPU|the GPU(?: \([^)]*\))?)", text)
    return f" on {said.group(1)}" if said else ""


def _halved(scales: list[int]) -> list[int]:
    """The scales with the last one halved (and the earlier ones that are no longer smaller
    dropped): ``[128, 2000]`` -> ``[128, 1000]``."""
    last = max(16, scales[-1] // 2)
    return [s for s in scales[:-1] if s < last] + [last]


def out_of_memory_message(
    exc: BaseException,
    size: object = None,
    device: object = None,
    *,
    cli: bool = False,
    scales: object = None,
) -> str:
    """One line for an out-of-memory error: where, at what size, how much was asked, what to try.

    ``size`` is the size that failed (an int long side, (H, W), or a list of scales); ``scales``
    the coarse-to-fine run's scales, if it was one (a list ``size`` counts as such); ``device``
    where it ran; ``cli`` names the command line's options (``--size``) instead of the keywords.
    What to try: a smaller size (with scales: a smaller last scale, as ``--size`` is not taken
    with ``--scales``), fewer style layers, and on a GPU the CPU. Not coarse-to-fine: its last
    scale needs as much memory as a plain run at that size (it saves time, not memory).
    """
    text = str(exc)
    where = _where(text, exc, device)
    at = ""
    long_side: int | None = None
    if isinstance(size, int):
        at, long_side = f" at {size} px", size
    elif isinstance(size, tuple | list) and size and all(isinstance(v, int) for v in size):
        if isinstance(size, tuple) and len(size) == 2:
            at, long_side = f" at {size[0]}x{size[1]} px", max(size)
        else:
            at, long_side = f" at the scales {list(size)} px", max(size)
            scales = list(size) if scales is None else scales
    if not (
        isinstance(scales, list | tuple) and scales and all(isinstance(v, int) for v in scales)
    ):
        scales = None
    asked = _requested(text)
    need = f" (an allocation of {asked} failed)" if asked else ""
    if scales is not None:
        fewer = _halved(list(scales))
        smaller = (
            f"a smaller last scale (e.g. --scales {' '.join(map(str, fewer))})"
            if cli
            else f"a smaller last scale (e.g. scales={fewer})"
        )
    else:
        half = f" (e.g. {max(16, long_side // 2)})" if long_side else ""
        smaller = f"a smaller --size{half}" if cli else f"a smaller size{half}"
    layers = "fewer --style-layers" if cli else "fewer style_layers"
    cpu = ""
    if "GPU" in where:  # the machine's memory is usually larger than the GPU's
        cpu = f", or {'--device cpu' if cli else 'device=' + repr('cpu')} (slower)"
    return f"out of memory{where}{at}{need}; try {smaller} or {layers}{cpu}"


def _said_size(text: str) -> int | tuple[int, int] | None:
    """The size an ``out_of_memory_message`` names ("at 512 px", "at 600x800 px"), if any."""
    import re

    found = re.search(r" at (\d+)(?:x(\d+))? px", text)
    if found is None:
        return None
    return int(found.group(1)) if found.group(2) is None else (int(found[1]), int(found[2]))


def out_of_memory_for_cli(
    error: RunOutOfMemoryError, size: object = None, device: object = None
) -> str:
    """The command line's wording of ``error`` (``out_of_memory_message(cli=True)``), rebuilt from
    what it keeps: the allocator's words, the size and the device that failed. ``size`` and
    ``device`` fill in what it lacks; a list ``size`` is the run's ``--scales``."""
    said = error.allocator_message or str(error)
    scales = size if isinstance(size, list) else None
    if scales is None and isinstance(error.size, list):
        scales = error.size
    failed = error.size if error.size is not None else _said_size(str(error))
    failed = failed if failed is not None else size
    where = error.device if error.device is not None else device
    return out_of_memory_message(RuntimeError(said), failed, where, cli=True, scales=scales)


def free_memory() -> None:
    """Hand back what a failed allocation left: Python's garbage, PyTorch's cached GPU blocks and
    the heap's free pages (so a notebook kernel stays usable after an out-of-memory error)."""
    import gc

    gc.collect()
    try:
        import torch

        if torch.cuda.is_initialized():
            torch.cuda.empty_cache()
    except Exception:  # best effort: never fail while recovering
        pass
    try:
        from .memory import release_free_memory

        release_free_memory()
    except Exception:
        pass


class translate_oom:  # noqa: N801 - used like a function: ``with translate_oom(size=...):``
    """Turn an out-of-memory error in the ``with`` block into a one-line ``RunOutOfMemoryError``.

    ``with translate_oom(size=512, device="cuda"): result = transfer.run()``: an allocation
    that fails (CPU or GPU) becomes ``RunOutOfMemoryError`` (``out_of_memory_message``). The
    failed frames' tensors are released first (their locals cleared, the GPU cache emptied), so
    the process, a notebook kernel or a panel can go on with a smaller run. Other exceptions pass
    unchanged.
    """

    def __init__(self, size: object = None, device: object = None, *, cli: bool = False) -> None:
        self.size, self.device, self.cli = size, device, cli

    def __enter__(self) -> translate_oom:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> bool:
        if isinstance(exc, RunOutOfMemoryError) and self.cli:  # translated by the engine: reword
            message = out_of_memory_for_cli(exc, self.size, self.device)
            size = exc.size if exc.size is not None else self.size
            device = exc.device if exc.device is not None else self.device
            raise RunOutOfMemoryError(message, exc.allocator_message, size, device) from None
        if exc is None or not is_out_of_memory(exc):
            return False
        import traceback

        message = out_of_memory_message(exc, self.size, self.device, cli=self.cli)
        said = str(exc)
        if tb is not None:
            traceback.clear_frames(tb)  # type: ignore[arg-type]  # drop the failed run's tensors
        exc.__traceback__ = None
        del exc, tb
        free_memory()
        raise RunOutOfMemoryError(message, said, self.size, self.device) from None
