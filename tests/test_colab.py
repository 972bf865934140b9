"""The notebooks' first code cell prepares a Google Colab runtime and does nothing elsewhere.

Colab itself cannot be reached from the test machines: each test executes the cell's real source
against a fake ``google.colab`` module and a fake ``subprocess.run`` (no pip, no network), with
``torch.cuda.is_available`` reporting a GPU or not.
"""

from __future__ import annotations

import os
import re
import sys

import pytest

from .colab_fakes import ROOT, load_links, run_setup_cell, setup_cells

CELLS = setup_cells()
NOTEBOOKS = sorted(CELLS)
EN_CELL = CELLS["notebooks/00_setup_check.ipynb"]


def test_every_notebook_has_the_set_up_cell_first_among_its_code_cells():
    import nbformat

    assert sorted(load_links().notebook_paths()) == NOTEBOOKS  # each has the cell
    for path in (ROOT / p for p in NOTEBOOKS):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert "nst-colab-setup" in code[0].metadata.get("tags", []), path.name


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_outside_colab_the_cell_does_nothing(notebook, monkeypatch):
    before = dict(os.environ)
    fake_run, _ = run_setup_cell(
        CELLS[notebook], monkeypatch, colab=False, installed=False, cuda=True
    )
    assert fake_run.commands == []  # no pip, no download, not even with a GPU
    assert dict(os.environ) == before
    assert "google.colab" not in sys.modules


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_a_fresh_colab_runtime_installs_the_course_without_touching_torch(notebook, monkeypatch):
    fake_run, colab = run_setup_cell(
        CELLS[notebook], monkeypatch, colab=True, installed=False, cuda=False
    )
    links = load_links()
    repo = links.read_repo()
    course, others = fake_run.pip_installs
    # the course itself from the repository named in pyproject.toml, without its dependencies
    assert "--no-deps" in course and course[-1] == repo.pip_url()
    # then the other requirements by bare name: pip installs what is missing, upgrades nothing
    assert others == ["--quiet", *links.colab_requirements()]
    assert all(re.fullmatch(r"[a-z0-9_.-]+", name) for name in others[1:])
    for args in fake_run.pip_installs:
        assert not any("torch" in a for a in args), args  # Colab's CUDA build stays as it is
        assert not {"-U", "--upgrade", "--force-reinstall", "--ignore-installed"} & set(args)
    assert fake_run.commands[-1][1:] == ["-m", "nst_helpers", "fetch-samples", "--quiet"]
    assert len(fake_run.commands) == 3
    assert colab.widget_manager_enabled == 1
    assert "NST_PROFILE" not in os.environ  # a CPU runtime keeps the default `lab` profile


def test_when_the_course_is_installed_nothing_is_installed_again(monkeypatch):
    fake_run, colab = run_setup_cell(EN_CELL, monkeypatch, colab=True, installed=True, cuda=False)
    assert fake_run.commands == []
    assert colab.widget_manager_enabled == 1  # a restarted kernel needs it again


def test_a_gpu_runtime_chooses_the_paper_profile(monkeypatch):
    run_setup_cell(EN_CELL, monkeypatch, colab=True, installed=True, cuda=True)
    assert os.environ["NST_PROFILE"] == "paper"
    import nst_helpers as nst
    from nst_helpers.vgg import resolve_device

    P = nst.profile()
    assert (P.name, P.size) == ("paper", 512)
    assert resolve_device().type == "cuda"  # the lessons use the GPU without being told


def test_a_profile_the_learner_chose_is_kept(monkeypatch):
    monkeypatch.setenv("NST_PROFILE", "smoke")
    run_setup_cell(EN_CELL, monkeypatch, colab=True, installed=True, cuda=True)
    assert os.environ["NST_PROFILE"] == "smoke"


def test_the_cell_needs_neither_ipython_nor_the_package_to_decide():
    # it must run first, before anything is installed: only the standard library and, on Colab,
    # google.colab and torch (both shipped by Colab)
    imports = set(re.findall(r"^\s*(?:import|from) ([\w.]+)", EN_CELL, flags=re.M))
    assert imports == {"importlib.util", "os", "subprocess", "sys", "google.colab", "torch"}


def test_the_cell_is_short():
    assert len(EN_CELL.splitlines()) <= 25
