"""The package's layout as a specification: its layers import one way (errors, files, memory;
the paper; the options and the engine; the extensions; the transfer; then coarse to fine, runs,
the command line and the lessons), nothing but the lessons imports the notebook libraries,
importing the package loads none of them, no function is too long to read, and the package stays
small (≤ 7,000 lines)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "nst_helpers"

#: Each module's layer; a module may import only from its own layer or lower ones.
LAYERS = {
    0: {"errors", "files", "memory", "i18n"},
    1: {"layers", "weights", "vgg", "losses", "step"},
    2: {"options", "engine", "images", "samples", "profiles", "precision"},
    3: {"extensions"},
    4: {"transfer"},
    5: {"coarse_to_fine", "runs", "cli", "__main__", "lessons"},
}  # fmt: skip
NOTEBOOK_LIBRARIES = ("ipywidgets", "matplotlib", "IPython", "threading")


def module_layer(relative: Path) -> int | None:
    top = relative.parts[0].removesuffix(".py")
    for layer, names in LAYERS.items():
        if top in names:
            return layer
    return None


def imports_of(path: Path) -> list[tuple[str, int]]:
    """(imported module relative to the package, or an absolute name; line) of every import."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):  # imports for type annotations only do not count
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            node.body = []
    depth = len(path.relative_to(PACKAGE).parts) - 1
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = list(path.relative_to(PACKAGE).parts[:-1])
                up = parts[: len(parts) - (node.level - 1)] if node.level - 1 <= depth else []
                base = ".".join([*up, *(node.module.split(".") if node.module else [])])
                names = (
                    [base] if node.module else [f"{base}.{a.name}".strip(".") for a in node.names]
                )
                found += [("." + n, node.lineno) for n in names]
            else:
                found.append((node.module or "", node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
    own = "nst_helpers."  # absolute imports of the package's own modules count the same
    return [("." + n[len(own) :] if n.startswith(own) else n, line) for n, line in found]


def package_files() -> list[Path]:
    return sorted(
        p for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py",) or p.parent != PACKAGE
    )


@pytest.mark.parametrize("path", package_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_imports_only_its_own_layer_or_lower_ones(path):
    own = module_layer(path.relative_to(PACKAGE))
    assert own is not None, f"{path.relative_to(PACKAGE)} is in no layer: add it to LAYERS"
    for name, line in imports_of(path):
        if name.startswith("."):
            target = name[1:].split(".")[0]
            is_module = (PACKAGE / f"{target}.py").exists() or (PACKAGE / target).is_dir()
            # ``from . import __version__``: the package itself, which re-exports layers 1–4
            layer = module_layer(Path(target + ".py")) if is_module else 4
            assert layer is not None and layer <= own, (
                f"{path.relative_to(PACKAGE)}:{line} imports {name[1:]} (layer {layer}) "
                f"from layer {own}"
            )
        elif name.split(".")[0] in NOTEBOOK_LIBRARIES:
            assert path.relative_to(PACKAGE).parts[0] == "lessons" or own == 5, (
                f"{path.relative_to(PACKAGE)}:{line} imports {name}: only the lessons may"
            )


def test_the_engine_never_imports_an_extension_and_the_paper_never_the_engine():
    for path in package_files():
        layer = module_layer(path.relative_to(PACKAGE))
        targets = {n[1:].split(".")[0] for n, _ in imports_of(path) if n.startswith(".")}
        if layer is not None and layer <= 2:
            assert "extensions" not in targets and "transfer" not in targets, path
        if layer is not None and layer <= 1:
            assert "engine" not in targets, path


@pytest.mark.parametrize(
    "statement",
    [
        "import nst_helpers",
        "import nst_helpers.cli",
        "import nst_helpers.transfer, nst_helpers.coarse_to_fine",
    ],
)
def test_importing_the_package_or_the_command_line_loads_no_notebook_library(statement):
    """Nor any lesson module."""
    code = (
        f"{statement}\nimport sys\n"
        "print([m for m in sys.modules if m.split('.')[0] in "
        "('ipywidgets', 'matplotlib', 'IPython') or m.startswith('nst_helpers.lessons')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


MAX_FUNCTION, MAX_CLASS = 80, 300


@pytest.mark.parametrize("path", package_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_function_over_80_lines_and_no_class_over_300(path):
    too_long = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            lines = node.end_lineno - node.lineno + 1
            limit = MAX_CLASS if isinstance(node, ast.ClassDef) else MAX_FUNCTION
            if lines > limit:
                too_long.append(f"{node.name}: {lines} lines (limit {limit})")
    assert not too_long


def test_the_package_is_at_most_7000_lines():
    lines = sum(len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py"))
    assert lines <= 7000, lines
