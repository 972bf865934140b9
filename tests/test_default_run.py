"""What a default run walks: the thin helper's promise, measured.

A default ``run_style_transfer(content, style, steps=3)`` with random weights (the network built
and cached inside the call) enters at most 450 lines of the package's function bodies — each
entered function's whole ``def`` counted once, docstring included — and computes its losses with
the plain formulas the lessons teach: ``gram_matrix`` (Eq. 3), ``content_loss`` (Eq. 1) and
``style_layer_loss`` (Eq. 4) on every evaluation. ``import nst_helpers`` loads at most 16 of
the package's modules (the formulas, the step, the engine and what they need: VGG19 and its
weights' loader, options, images, files, messages) and installs no import hook; the lessons'
modules, the extensions and the command line are imported when used.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import warnings
from pathlib import Path

import torch

import nst_helpers as nst
from nst_helpers import losses, transfer

from .conftest import smooth_image

PACKAGE = Path(nst.__file__).resolve().parent
BUDGET = 450


def outermost_defs(path: Path) -> list[tuple[int, int]]:
    """(first line incl. decorators, last line) of every function not nested in another one."""
    found: list[tuple[int, int]] = []

    def visit(node: ast.AST, inside: bool) -> None:
        for child in ast.iter_child_nodes(node):
            is_def = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if is_def and not inside:
                first = min([d.lineno for d in child.decorator_list] + [child.lineno])
                found.append((first, child.end_lineno))
            visit(child, inside or is_def)

    visit(ast.parse(path.read_text()), False)
    return found


def traced_run(**options) -> tuple[dict[tuple[str, int], int], set[str]]:
    """The package's functions a run enters ({(file, first line): lines}) and the names of the
    code objects called (to see which formulas ran)."""
    called: set[tuple[str, int, str]] = set()

    def profile(frame, event, arg):
        code = frame.f_code
        if event == "call" and code.co_filename.startswith(str(PACKAGE)):
            called.add((code.co_filename, code.co_firstlineno, code.co_name))

    transfer.default_vgg.cache_clear()  # the network is built inside the traced call
    content, style = smooth_image(64, 64, seed=1), smooth_image(64, 64, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sys.setprofile(profile)
        try:
            nst.run_style_transfer(content, style, **options)
        finally:
            sys.setprofile(None)
    entered: dict[tuple[str, int], int] = {}
    for filename, line, _ in called:
        for first, last in outermost_defs(Path(filename)):
            if first <= line <= last:
                entered[(filename, first)] = last - first + 1
    return entered, {name for _, _, name in called}


def test_a_default_run_enters_at_most_450_lines_of_the_package():
    entered, _ = traced_run(steps=3, weights="random")
    total = sum(entered.values())
    by_file: dict[str, int] = {}
    for (filename, _), lines in entered.items():
        by_file[Path(filename).name] = by_file.get(Path(filename).name, 0) + lines
    assert total <= BUDGET, f"{total} lines: {sorted(by_file.items(), key=lambda kv: -kv[1])}"


def test_every_evaluation_computes_the_plain_formulas_the_lessons_teach(monkeypatch):
    counts = {"gram_matrix": 0, "content_loss": 0, "style_layer_loss": 0}
    for name in counts:
        real = getattr(losses, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            counts[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(losses, name, counted)
    monkeypatch.setattr("nst_helpers.step.content_loss", losses.content_loss)
    monkeypatch.setattr("nst_helpers.step.style_layer_loss", losses.style_layer_loss)
    monkeypatch.setattr("nst_helpers.step.gram_matrix", losses.gram_matrix)
    vgg = nst.load_vgg19("random", device="cpu")
    content, style = smooth_image(32, 32, seed=1), smooth_image(32, 32, seed=2)
    nst.run_style_transfer(content, style, vgg=vgg, steps=3, progress=False)
    # one content layer and five style layers per evaluation (and five Grams for the targets)
    assert counts == {"gram_matrix": 3 * 5 + 5, "content_loss": 3, "style_layer_loss": 3 * 5}


def test_the_step_the_run_calls_has_no_custom_backward():
    """No torch.autograd.Function anywhere in the package: autograd differentiates the formulas."""
    for path in PACKAGE.rglob("*.py"):
        assert "autograd.Function" not in path.read_text(), path


def test_importing_the_package_loads_at_most_16_of_its_modules_and_no_hook():
    code = (
        "import sys; before = list(sys.meta_path); import nst_helpers\n"
        "mods = [m for m in sys.modules if m.split('.')[0] == 'nst_helpers']\n"
        "print(len(mods), sys.meta_path == before)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    count, same_hooks = out.stdout.split()
    assert int(count) <= 16 and same_hooks == "True", out.stdout


def test_the_package_has_no_hand_written_http():
    for path in PACKAGE.rglob("*.py"):
        imports = {
            alias.name.split(".")[0] if isinstance(node, ast.Import) else (node.module or "")
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        assert not imports & {"urllib", "http", "http.client", "requests", "urllib.request"}, path


def test_a_run_gives_the_same_losses_as_the_formulas_by_hand(vgg):
    """The engine adds bookkeeping, not arithmetic: its first record is Eq. 7 at the content."""
    content, style = smooth_image(32, 32, seed=1), smooth_image(32, 32, seed=2)
    result = nst.run_style_transfer(content, style, vgg=vgg, steps=1, beta=1e3, progress=False)
    F = vgg(content, ["relu4_2", *nst.PAPER_STYLE_LAYERS])
    A = nst.style_targets(vgg, style, nst.PAPER_STYLE_LAYERS, (32, 32))
    with torch.no_grad():
        expected = nst.total_loss(0.0, nst.style_loss(F, A), 1.0, 1e3)
    assert result.history[0]["content"] == 0.0  # it starts at the content image
    assert abs(result.history[0]["total"] - float(expected)) <= 1e-5 * float(expected)
