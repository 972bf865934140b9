"""A simulated Google Colab runtime for the tests: a fake ``google.colab`` module, a fake pip.

No network and no real Colab: the fakes record what the code under test asked for.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETUP_TAG = "nst-colab-setup"


@functools.cache
def load_links():
    """tools/links.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("nst_links_tool", ROOT / "tools" / "links.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


class FakeColab:
    """``google.colab`` with an ``output.enable_custom_widget_manager`` that counts its calls."""

    def __init__(self) -> None:
        self.widget_manager_enabled = 0
        self.module = types.ModuleType("google.colab")
        self.output = types.ModuleType("google.colab.output")
        self.output.enable_custom_widget_manager = self._enable
        self.module.output = self.output

    def _enable(self) -> None:
        self.widget_manager_enabled += 1

    def install(self, monkeypatch) -> FakeColab:
        if "google" not in sys.modules:
            monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
        monkeypatch.setitem(sys.modules, "google.colab", self.module)
        monkeypatch.setitem(sys.modules, "google.colab.output", self.output)
        return self


class FakeRun:
    """Stands in for ``subprocess.run``: records each command, runs nothing."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def __call__(self, command, *args, **kwargs):
        self.commands.append([str(part) for part in command])
        return subprocess.CompletedProcess(command, 0)

    @property
    def pip_installs(self) -> list[list[str]]:
        """The arguments after ``pip install`` of each pip command."""
        return [c[c.index("install") + 1 :] for c in self.commands if c[1:3] == ["-m", "pip"]]


def setup_cells(root: Path = ROOT) -> dict[str, str]:
    """Every notebook's Colab set-up cell source, by notebook path."""
    cells = {}
    for rel in load_links().notebook_paths(root):  # the notebooks `make links` writes
        nb = json.loads((root / rel).read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if SETUP_TAG in cell.get("metadata", {}).get("tags", []):
                cells[rel] = "".join(cell["source"])
    return cells


def run_setup_cell(
    source: str,
    monkeypatch,
    *,
    colab: bool,
    installed: bool,
    cuda: bool,
) -> tuple[FakeRun, FakeColab | None]:
    """Execute a set-up cell's source in a simulated runtime; return the fakes it used."""
    import torch

    fake_run = FakeRun()
    monkeypatch.setattr(subprocess, "run", fake_run)
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name == "nst_helpers" and not installed:
            return None
        return real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    fake = FakeColab().install(monkeypatch) if colab else None
    if not colab:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(source, "<colab set-up cell>", "exec"), {"__name__": "__main__"})
    return fake_run, fake
