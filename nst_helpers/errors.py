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
