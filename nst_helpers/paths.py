"""Where the package keeps what it downloads or converts (weights, sample images)."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that moves the package's cache folder.
ENV_CACHE = "NST_CACHE_DIR"


def cache_dir() -> Path:
    """The package's cache folder, created on first use.

    ``$NST_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/nst_helpers``, else ``~/.cache/nst_helpers``.
    """
    env = os.environ.get(ENV_CACHE)
    if env:
        root = Path(env).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "nst_helpers"
    root.mkdir(parents=True, exist_ok=True)
    return root
