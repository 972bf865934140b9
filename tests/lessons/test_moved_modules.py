"""The lesson modules' old paths (``nst_helpers.dashboard``, ``from nst_helpers import plots``)
are the moved modules themselves. That only the lessons import ipywidgets, matplotlib or IPython,
and that ``import nst_helpers`` loads none of them: tests/test_layout.py."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import nst_helpers

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "nst_helpers"
LESSON_ONLY = ("ipywidgets", "IPython")
MOVED = sorted(n for n, new in nst_helpers.MOVED_MODULES.items() if new.startswith("lessons."))


@pytest.mark.parametrize("name", MOVED)
def test_the_old_module_paths_are_the_moved_modules(name):
    moved = importlib.import_module(f"nst_helpers.lessons.{name}")
    assert importlib.import_module(f"nst_helpers.{name}") is moved
    assert getattr(nst_helpers, name) is moved
    namespace: dict = {}
    exec(f"from nst_helpers import {name} as old", namespace)
    assert namespace["old"] is moved
    assert moved.__spec__.name == f"nst_helpers.lessons.{name}"  # its own name, not the alias's


def test_old_style_imports_of_names_work():
    from nst_helpers.dashboard import StyleDashboard
    from nst_helpers.lessons.dashboard import StyleDashboard as MovedDashboard

    assert StyleDashboard is MovedDashboard
    with pytest.raises(AttributeError):
        nst_helpers.no_such_module  # noqa: B018
