"""Where the package keeps what it downloads or converts (weights, sample images)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import OutputError

#: Environment variable that moves the package's cache folder.
ENV_CACHE = "NST_CACHE_DIR"

#: Cache folders found writable in this process (checked once each).
_WRITABLE: set[Path] = set()


def cache_dir() -> Path:
    """The package's cache folder, created on first use.

    ``$NST_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/nst_helpers``, else ``~/.cache/nst_helpers``.
    A folder that cannot be created or written is refused with an ``OutputError`` (an
    ``OSError``) naming it and the variable it came from, instead of a raw errno.
    """
    env = os.environ.get(ENV_CACHE)
    if env:
        root, source = Path(env).expanduser(), f"${ENV_CACHE}"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "nst_helpers"
        source = "$XDG_CACHE_HOME" if xdg else "the default, ~/.cache"
    try:
        root.mkdir(parents=True, exist_ok=True)
        if root not in _WRITABLE:  # a probe file, made and removed at once
            with tempfile.TemporaryFile(dir=root, prefix=".nst-probe-"):
                pass
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(root) else ""
        raise OutputError(
            f"the cache folder {root} (from {source}) cannot be created or written: "
            f"{reason}{where}; set {ENV_CACHE} to a folder you can write"
            + (", or unset it" if env else "")
        ) from None
    _WRITABLE.add(root)
    return root
