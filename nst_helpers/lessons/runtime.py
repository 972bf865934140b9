"""Where the notebooks run, and whether the panels may optimise in a background thread.

The panels (the dashboard, the explorers) run an optimisation in a background thread and update
their widgets from it, so the notebook stays usable and a Stop button can end the run. That works
in JupyterLab, Jupyter Notebook, Binder and JupyterHub. It does not work in Google Colab: values
set on a widget from a background thread do not reach the page until some later cell runs
(googlecolab/colabtools#3373, open since 2023 and tracked by Google internally; the README's
"Google Colab" section has the sources). There the panels run in the foreground instead.

``NST_PANEL_MODE=thread`` or ``NST_PANEL_MODE=foreground`` overrides the automatic choice (say,
to try threads again once Colab fixes that issue, or to rehearse the Colab mode locally).
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
    if "google.colab" in sys.modules:
        return True
    try:
        importlib.import_module("google.colab")
    except ImportError:
        return False
    return True


def background_runs_supported() -> bool:
    """Whether the panels may run optimisations in a background thread that updates widgets.

    ``$NST_PANEL_MODE`` decides when set (``thread``: yes; ``foreground``: no; ``auto`` or empty:
    the automatic choice); otherwise yes everywhere except Google Colab.
    """
    mode = os.environ.get(ENV_PANEL_MODE, "").strip().lower()
    if mode == "thread":
        return True
    if mode == "foreground":
        return False
    if mode not in ("", "auto"):
        raise ParameterError(
            f"{ENV_PANEL_MODE}={mode!r} is not a panel mode; choose one of "
            f"{', '.join(PANEL_MODES)} (or leave it unset to choose automatically)"
        )
    return not running_in_colab()


def panel_mode() -> str:
    """ "thread" or "foreground": how a panel created now runs its optimisation."""
    return "thread" if background_runs_supported() else "foreground"
