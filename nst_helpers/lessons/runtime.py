"""Where the lessons run, and what that allows.

In JupyterLab and Notebook a panel runs its optimisation in a background thread, so its Stop
button works while it runs. Google Colab's front end does not keep a background thread's widget
updates flowing reliably, so there a panel runs in the calling cell instead (stop it by
interrupting the kernel). ``NST_PANEL_MODE=thread`` or ``foreground`` overrides the choice.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from ..errors import ParameterError

#: The environment variable that overrides how panels run: "thread" or "foreground".
ENV_PANEL_MODE = "NST_PANEL_MODE"
PANEL_MODES = ("thread", "foreground")


def running_in_colab() -> bool:
    """True inside Google Colab (``google.colab`` is loaded or importable)."""
    if "google.colab" in sys.modules:
        return True
    try:
        return importlib.util.find_spec("google.colab") is not None
    except (ImportError, ValueError):  # no "google" package at all, or a namespace oddity
        return False


def background_runs_supported() -> bool:
    """Whether panels run their optimisation in a background thread (with a working Stop button).

    ``NST_PANEL_MODE`` decides when set ("thread" or "foreground"); otherwise everywhere but
    Colab.
    """
    mode = os.environ.get(ENV_PANEL_MODE, "").strip().lower()
    if mode:
        if mode not in PANEL_MODES:
            raise ParameterError(
                f"{ENV_PANEL_MODE}={mode!r}: use one of {', '.join(PANEL_MODES)} (or unset it)"
            )
        return mode == "thread"
    return not running_in_colab()


def panel_mode() -> str:
    """ "thread" or "foreground": how a panel created now runs its optimisation."""
    return "thread" if background_runs_supported() else "foreground"
