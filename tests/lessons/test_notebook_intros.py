"""Each notebook's introduction is followed by the list of the package functions it uses."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_introduction_lists_the_package_functions_used(path):
    nb = nbformat.read(path, as_version=4)
    listing = nb.cells[1]
    assert listing.cell_type == "markdown" and "Package functions used" in listing.source
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for name in set(re.findall(r"\bnst\.([A-Za-z_]\w*)", code)):
        assert f"`nst.{name}`" in listing.source, f"{path.name}: nst.{name} is not listed"
