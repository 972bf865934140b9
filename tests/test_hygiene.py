"""What the repository must never hold, and the conventions every notebook keeps."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import nbformat
import pytest

import nst_helpers as nst
from nst_helpers.errors import ParameterError

ROOT = Path(__file__).resolve().parents[1]
#: the lessons and their Chinese versions (notebooks/zh/, generated)
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted(
    (ROOT / "notebooks" / "zh").glob("*.ipynb")
)
NOTEBOOK_IDS = [p.relative_to(ROOT / "notebooks").as_posix() for p in NOTEBOOKS]
SHARED_IMAGES = ROOT.parent / "shared" / "sample-images"


def tracked_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in out.decode().split("\0") if name]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_notebooks_are_stored_without_outputs_or_execution_counts(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, (
                f"{path.name}: a cell has outputs (clear them before committing)"
            )
            assert cell.execution_count is None, f"{path.name}: a cell has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_notebooks_open_with_a_title_and_import_the_package(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert any("nst_helpers" in c.source for c in nb.cells if c.cell_type == "code")


def test_no_weights_and_no_large_files_are_tracked():
    for path in tracked_files():
        assert path.suffix not in {".pth", ".pt", ".ckpt", ".safetensors", ".h5"}, path
        if path.is_file():
            assert path.stat().st_size < 2_000_000, f"{path} is over 2 MB"


def test_the_shared_sample_images_are_not_committed():
    if not SHARED_IMAGES.is_dir():
        pytest.skip(f"{SHARED_IMAGES} is not present")
    shared = {hashlib.sha256(p.read_bytes()).hexdigest() for p in SHARED_IMAGES.glob("*.jpg")}
    for path in tracked_files():
        if path.is_file():
            assert hashlib.sha256(path.read_bytes()).hexdigest() not in shared, path


def test_the_default_profile_is_the_real_lesson(monkeypatch):
    monkeypatch.delenv("NST_PROFILE", raising=False)
    assert nst.profile().name == "lab"
    monkeypatch.setenv("NST_PROFILE", "smoke")
    assert nst.profile().name == "smoke"
    monkeypatch.setenv("NST_PROFILE", "huge")
    with pytest.raises(ParameterError, match="huge"):
        nst.profile()


def test_every_public_function_has_a_docstring():
    missing = [
        name
        for name in nst.__all__
        if callable(getattr(nst, name)) and not (getattr(nst, name).__doc__ or "").strip()
    ]
    assert not missing
