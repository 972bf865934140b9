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
    """The allocation that failed, from the allocator's message ("2.0 GiB"), if it says."""
    import re

    found = re.search(r"allocate (\d+) bytes", text)
    if found:
        return _bytes(int(found.group(1)))
    found = re.search(r"[Tt]ried to allocate ([\d.]+ ?[KMGT]i?B)", text)
    return found.group(1) if found else None


def out_of_memory_message(
    exc: BaseException,
    size: object = None,
    device: object = None,
    *,
    cli: bool = False,
) -> str:
    """One line for an out-of-memory error: where, at what size, how much was asked, what to try.

    ``size`` is the result's size (an int long side, (H, W), or a list of scales); ``device`` where
    it ran; ``cli`` names the command line's options (``--size``) instead of the keywords.
    """
    text = str(exc)
    where = f" on {_device_words(str(device))}" if device is not None else ""
    if device is None and ("CUDA" in text or type(exc).__name__ == "OutOfMemoryError"):
        where = " on the GPU"
    elif device is None and "CPUAllocator" in text:
        where = " on the CPU"
    at = ""
    long_side: int | None = None
    if isinstance(size, int):
        at, long_side = f" at {size} px", size
    elif isinstance(size, tuple | list) and size and all(isinstance(v, int) for v in size):
        if isinstance(size, tuple) and len(size) == 2:
            at, long_side = f" at {size[0]}x{size[1]} px", max(size)
        else:
            at, long_side = f" at the scales {list(size)} px", max(size)
    asked = _requested(text)
    need = f" (an allocation of {asked} failed)" if asked else ""
    smaller = f" (e.g. {max(16, long_side // 2)})" if long_side else ""
    if cli:
        options = (
            f"a smaller --size{smaller}, coarse-to-fine (--scales, e.g. 256 512 with the large "
            "size last) or fewer --style-layers"
        )
    else:
        options = (
            f"a smaller size{smaller}, coarse-to-fine (scales=[256, 512, ...] ending at the "
            "large size) or fewer style_layers"
        )
    return f"out of memory{where}{at}{need}; try {options}"


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
            original = RuntimeError(exc.allocator_message)
            size = exc.size if exc.size is not None else self.size
            device = exc.device if exc.device is not None else self.device
            message = out_of_memory_message(original, size, device, cli=True)
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
