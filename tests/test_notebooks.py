"""Every notebook runs end to end under the smoke profile (NST_PROFILE=smoke NST_WEIGHTS=random)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_the_course_has_its_notebooks_in_order():
    assert NOTEBOOKS, "no notebooks found in notebooks/"
    prefixes = [p.name[:2] for p in NOTEBOOKS]
    assert prefixes == sorted(set(prefixes)), "each numeric prefix once, in order"
    assert prefixes[0] == "00"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_clean_under_the_smoke_profile(path, tmp_path, monkeypatch):
    monkeypatch.setenv("NST_PROFILE", "smoke")
    monkeypatch.setenv("NST_WEIGHTS", "random")
    monkeypatch.setenv("MPLBACKEND", "agg")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    nb = nbformat.read(path, as_version=4)
    # The kernel starts in a scratch folder, so files a lesson writes do not land in the repository.
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors
