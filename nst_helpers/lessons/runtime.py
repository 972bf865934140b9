"""Where the notebooks run, and whether the panels may optimise in a background thread.

The panels run an optimisation in a background thread that updates their widgets, so the notebook
stays usable and Stop works: in JupyterLab, Jupyter Notebook, Binder and JupyterHub, not in Google
Colab, where values set from a thread reach the page only when a later cell runs
(googlecolab/colabtools#3373; README, "Google Colab"): there the panels run in the foreground.
``NST_PANEL_MODE=thread`` or ``foreground`` overrides the automatic choice.
"""

from __future__ import annotations

import importlib
import os
import sys

from ..errors import ParameterError

ENV_PANEL_MODE = "NST_PANEL_MODE"
PANEL_MODES = ("thread", "foreground")


def running_in_colab() -> bool:
    """True in a Google Colab runtime: its ``google.colab`` module is loaded (Colab's kernel
    imports it when it starts) or importable (elsewhere the import fails)."""
    try:
        return "google.colab" in sys.modules or bool(importlib.import_module("google.colab"))
    except ImportError:
        return False


def background_runs_supported() -> bool:
    """Whether the panels may run optimisations in a background thread that updates widgets:
    ``$NST_PANEL_MODE`` when set (``thread``: yes; ``foreground``: no; ``auto`` or empty: the
    automatic choice), otherwise yes everywhere except Google Colab."""
    mode = os.environ.get(ENV_PANEL_MODE, "").strip().lower()
    if mode in PANEL_MODES:
        return mode == "thread"
    if mode not in ("", "auto"):
        modes = ", ".join(PANEL_MODES)
        raise ParameterError(f"{ENV_PANEL_MODE}={mode!r} is not a panel mode; choose one of "
                             f"{modes} (or leave it unset to choose automatically)")  # fmt: skip
    return not running_in_colab()


def panel_mode() -> str:
    """ "thread" or "foreground": how a panel created now runs its optimisation."""
    return "thread" if background_runs_supported() else "foreground"
