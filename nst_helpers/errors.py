"""The package's exceptions: one line each, naming the file or parameter at fault.

Each also derives from the built-in exception a caller would expect (``ValueError`` for bad
values, ``OSError`` for files and the network, ``MemoryError``), so ``except ValueError`` works.
"""

from __future__ import annotations

import gc
import traceback
from types import TracebackType

import torch

from .memory import release_free_memory


class NSTError(Exception):
    """Base class of every error raised on purpose by ``nst_helpers``."""


class ParameterError(NSTError, ValueError):
    """A parameter is out of range or of the wrong kind (raised before any work starts)."""


class ImageError(NSTError, ValueError):
    """An image cannot be used: missing, not an image, damaged, too large or too small."""


class WeightsError(NSTError, OSError):
    """VGG19 weights could not be found, downloaded, read or verified."""


class DownloadError(NSTError, OSError):
    """A download failed (no network, refused, or its checksum did not match)."""


class OutputError(NSTError, OSError):
    """An output cannot be written where asked (checked before the run), or already exists."""


class RunOutOfMemoryError(NSTError, MemoryError):
    """A run needed more memory than the device has; the message says what to try."""


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is a failed allocation: ``MemoryError``, ``torch.OutOfMemoryError`` (GPU)
    or the ``RuntimeError`` of PyTorch's CPU allocator."""
    if isinstance(exc, RunOutOfMemoryError):
        return False
    oom = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)
    return isinstance(exc, MemoryError | oom) or (
        isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc)
    )


def out_of_memory_message(size: object, device: object) -> str:
    """The one wording: where, at what size, and what to try."""
    at = f" at {size} px" if size else ""
    where = f" on {device}" if device else ""
    cpu = " or device='cpu'" if str(device).startswith(("cuda", "mps")) else ""
    return f"out of memory{where}{at}: try a smaller size or fewer style layers{cpu}"


class translate_oom:  # noqa: N801 - used like a function: ``with translate_oom(size=…):``
    """A failed allocation inside the block becomes a one-line ``RunOutOfMemoryError``, after
    the failed computation's frames and memory are freed (so a notebook kernel stays usable)."""

    def __init__(self, size: object = None, device: object = None) -> None:
        self.size, self.device = size, device

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is not None and is_out_of_memory(exc):
            traceback.clear_frames(tb)  # drop the failed frames' tensors
            exc.__traceback__ = None
            del exc, tb
            _free_memory()
            raise RunOutOfMemoryError(out_of_memory_message(self.size, self.device)) from None


def _free_memory() -> None:
    gc.collect()
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()
    release_free_memory()
