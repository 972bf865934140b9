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


def check_writable_folder(folder: Path | str, what: str = "the output") -> Path:
    """Raise ``OutputError`` unless files can be written in ``folder`` (created later if missing).

    Walks up to the nearest folder that exists: a *file* on the way (``c.png/out.png`` where
    ``c.png`` is a file) or a folder where nothing can be written (permissions, a read-only disk)
    is refused now, before any work, with a message naming it. Creates nothing (a probe file is
    made and removed at once in the existing folder).
    """
    folder = Path(folder).expanduser()
    existing = folder
    while not existing.exists() and not existing.is_symlink() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(
            f"cannot write {what} in {folder}: {existing} is a file, not a folder"
            if existing != folder
            else f"cannot write {what} in {folder}: it is a file, not a folder"
        )
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".nst-probe-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OutputError(
            f"cannot write {what} in {folder}: {existing} is not writable ({reason}); "
            "choose another folder"
        ) from None
    return folder
