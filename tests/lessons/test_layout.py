"""The lessons live apart from the engine: ``import nst_helpers`` loads no widget or plotting
library, only ``nst_helpers/lessons`` imports them, and the old module paths still work."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import nst_helpers

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "nst_helpers"
LESSON_ONLY = ("ipywidgets", "IPython")
MOVED = sorted(name.rsplit(".", 1)[1] for name in nst_helpers.MOVED_MODULES)


def loaded_after(code: str) -> list[str]:
    """The top-level modules loaded in a fresh interpreter after running ``code``."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=120,
    ).stdout
    return json.loads(out.splitlines()[-1])


def test_importing_the_package_loads_no_lesson_module_nor_widgets():
    modules = loaded_after("import nst_helpers")
    assert not [m for m in modules if m.split(".")[0] in LESSON_ONLY]
    assert not [m for m in modules if m.startswith("nst_helpers.lessons")]


@pytest.mark.xfail(
    reason="samples.py imports matplotlib.cbook (the engine's part of issue 15 removes it)",
    strict=False,
)
def test_importing_the_package_loads_no_matplotlib():
    assert not [m for m in loaded_after("import nst_helpers") if m.startswith("matplotlib")]


def imports_of(path: Path) -> set[str]:
    found = re.findall(r"^\s*(?:from|import)\s+([A-Za-z_][\w.]*)", path.read_text(), re.M)
    return {name.split(".")[0] for name in found}


def test_only_the_lessons_import_ipywidgets_and_ipython():
    for path in PACKAGE.glob("*.py"):
        assert not imports_of(path) & set(LESSON_ONLY), path.name


def test_the_engine_never_imports_the_lessons():
    for path in PACKAGE.glob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*from \.lessons|^\s*import nst_helpers\.lessons", text, re.M), (
            path.name
        )


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
