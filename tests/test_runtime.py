"""nst_helpers.lessons.runtime: Colab detection and the panels' thread-or-foreground choice."""

from __future__ import annotations

import sys

import pytest

from nst_helpers.errors import ParameterError
from nst_helpers.lessons.runtime import background_runs_supported, running_in_colab

from .colab_fakes import FakeColab


@pytest.fixture
def elsewhere(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.delenv("NST_PANEL_MODE", raising=False)


@pytest.fixture
def colab(monkeypatch):
    monkeypatch.delenv("NST_PANEL_MODE", raising=False)
    return FakeColab().install(monkeypatch)


def test_here_is_not_colab_and_threads_are_used(elsewhere):
    assert not running_in_colab()
    assert background_runs_supported()


def test_colab_is_recognised_and_runs_go_to_the_foreground(colab):
    assert running_in_colab()
    assert not background_runs_supported()


@pytest.mark.parametrize("where", ["elsewhere", "colab"])
@pytest.mark.parametrize(("mode", "threads"), [("thread", True), (" Foreground ", False)])
def test_nst_panel_mode_overrides_the_choice(where, mode, threads, request, monkeypatch):
    request.getfixturevalue(where)
    monkeypatch.setenv("NST_PANEL_MODE", mode)
    assert background_runs_supported() is threads


@pytest.mark.parametrize("mode", ["", "auto"])
def test_auto_or_empty_means_the_automatic_choice(mode, colab, monkeypatch):
    monkeypatch.setenv("NST_PANEL_MODE", mode)
    assert not background_runs_supported()


def test_a_wrong_mode_is_refused_with_the_choices(elsewhere, monkeypatch):
    monkeypatch.setenv("NST_PANEL_MODE", "threads")
    with pytest.raises(ParameterError, match="thread, foreground"):
        background_runs_supported()


def test_the_module_loads_nothing_beyond_the_package():
    """The panels call it before anything else: it must not load widgets, IPython or plots."""
    import subprocess

    code = (
        "import sys, nst_helpers; before = set(sys.modules);"
        "import nst_helpers.lessons.runtime as r; r.background_runs_supported();"
        "print(sorted(m for m in set(sys.modules) - before if not m.startswith('nst_helpers')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
