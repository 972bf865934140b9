"""Each notebook's introduction is followed by the list of the package functions it uses."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _link_cell(cell) -> bool:
    """The cells tools/links.py owns (the Colab/Binder badges and the Colab set-up cell)."""
    return bool(
        {"nst-open-links", "nst-colab-setup"} & set(cell.get("metadata", {}).get("tags", []))
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_introduction_lists_the_package_functions_used(path):
    nb = nbformat.read(path, as_version=4)
    ids = [c.get("id") for c in nb.cells]
    listing = nb.cells[ids.index(f"nb{path.name[:2]}-functions")]
    first_lesson_cell = next(i for i, c in enumerate(nb.cells[1:], 1) if not _link_cell(c))
    assert nb.cells.index(listing) == first_lesson_cell  # right after the title (and the links)
    assert listing.cell_type == "markdown" and "Package functions used" in listing.source
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    # nst.tr, through which every printed line goes (the Chinese lessons run the same code), is
    # the language's, not a lesson's
    for name in set(re.findall(r"\bnst\.([A-Za-z_]\w*)", code)) - {"tr"}:
        assert f"`nst.{name}`" in listing.source, f"{path.name}: nst.{name} is not listed"
