"""The lessons' code stays readable: no function over about 80 lines, no class over about 300."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LESSONS = Path(__file__).resolve().parents[2] / "nst_helpers" / "lessons"
MAX_FUNCTION, MAX_CLASS = 80, 300


@pytest.mark.parametrize("path", sorted(LESSONS.glob("*.py")), ids=lambda p: p.name)
def test_no_long_functions_or_classes(path):
    too_long = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            lines = node.end_lineno - node.lineno + 1
            limit = MAX_CLASS if isinstance(node, ast.ClassDef) else MAX_FUNCTION
            if lines > limit:
                too_long.append(f"{node.name}: {lines} lines (limit {limit})")
    assert not too_long
