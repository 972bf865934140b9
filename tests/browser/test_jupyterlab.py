"""What a learner sees: every notebook run in JupyterLab, in headless Chromium.

For each ``notebooks/NN_*.ipynb`` and each Chinese ``notebooks/zh/NN_*.ipynb`` (whatever exists
when the tests run): open it, Run All Cells, wait until no cell is queued or running and the
kernel is idle, then fail on

- an error output in any cell (read from the notebook model: outputs of type ``error``),
- a code cell that did not run,
- a widget view the kernel sent that the page does not render as a widget ("Error displaying
  widget", "Loading widget..." or the plain-text fallback of a front-end/back-end mismatch),
- a kind of widget the notebook's code names that is not in the page (``WIDGET_KINDS``; a
  Chinese notebook is expected to show what its English one does: the code is the same),
- a character of the page's text that no font draws (an empty box: a CJK font is missing).

A full screenshot of each notebook goes to ``test-output/browser/<notebook>.png`` (the Chinese
ones ``zh-<notebook>.png``), pass or fail.
The server runs under ``NST_PROFILE=smoke NST_WEIGHTS=random``; see ``lab.py`` for how it starts.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest

from .lab import NOTEBOOK_DIR, NotebookPage

pytestmark = pytest.mark.browser

ENGLISH = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
CHINESE = sorted((NOTEBOOK_DIR / "zh").glob("[0-9][0-9]_*.ipynb"))  # generated (make zh)
NOTEBOOKS = ENGLISH + CHINESE


def served(path: Path) -> str:
    """The notebook's path on the server (its root is a copy of notebooks/): zh/04_….ipynb."""
    return path.relative_to(NOTEBOOK_DIR).as_posix()


def label(path: Path) -> str:
    """The test id and screenshot name: 04_style_transfer, zh-04_style_transfer."""
    return served(path).removesuffix(".ipynb").replace("/", "-")


def english_of(path: Path) -> Path:
    """The English lesson a (Chinese) notebook is made from: the same code."""
    return NOTEBOOK_DIR / path.name


def language_of(path: Path) -> str:
    return "zh" if path.parent.name == "zh" else "en"


OPEN_TIMEOUT_S = 120  # page load + kernel start
RUN_TIMEOUT_S = 300  # Run All Cells of one notebook under the smoke profile

# A notebook whose code matches a pattern must show each of its selectors somewhere in the page.
# Kept deliberately simple: ipywidgets' names, and the course's own panels by what they are made
# of (nst_helpers/lessons/explorers.py, landscape.py: a Run button and a slider, plus a layer
# dropdown for the reconstruction explorer and, for lesson 07's blend panel, its class
# nst-blend-explorer and the painting dropdowns; nst_helpers/lessons/dashboard.py: class
# nst-dashboard). Any other widget is still covered by the general check that every widget view
# the kernel sent renders as a widget.
WIDGET_KINDS: list[tuple[str, tuple[str, ...], str]] = [
    (r"\b\w*Slider\b", (".widget-slider",), "a slider"),
    (r"\bDropdown\b", (".widget-dropdown",), "a dropdown"),
    (r"\bButton\b", (".widget-button",), "a button"),
    (r"\binteract(ive|_manual)?\b", (".widget-interact",), "an interact panel"),
    (r"\b\w+Explorer\(", (".widget-button", ".widget-slider"), "an explorer panel"),
    (r"\bReconstructionExplorer\(", (".widget-dropdown",), "the reconstruction explorer"),
    (
        r"\bBlendExplorer\(",
        (".nst-blend-explorer", ".widget-dropdown", ".widget-slider"),
        "the two-painting blend panel",
    ),
    (
        r"(?i)dashboard",
        (".nst-dashboard", ".widget-button", ".widget-slider", ".widget-dropdown"),
        "the style-transfer dashboard",
    ),
]


def code_source(path: Path, through: int | None = None) -> str:
    """The notebook's code (of the cells up to index ``through``)."""
    cells = nbformat.read(path, as_version=4).cells
    cells = cells if through is None else cells[: through + 1]
    return "\n".join(cell.source for cell in cells if cell.cell_type == "code")


def expected_widgets(source: str) -> dict[str, str]:
    """Selector → why it is expected, for the widget kinds ``source`` names."""
    expected: dict[str, str] = {}
    for pattern, selectors, what in WIDGET_KINDS:
        if re.search(pattern, source):
            for selector in selectors:
                expected.setdefault(selector, f"the code names {what}")
    return expected


def run_notebook(
    nb: NotebookPage,
    name: str,
    screenshot: str,
    expected: dict[str, str],
    through: int | None = None,
) -> list[str]:
    """Open, run all (or the cells up to index ``through``), return the problems found (see
    ``NotebookPage.problems``); the screenshot is taken even when a step fails."""
    try:
        nb.open(name, timeout_s=OPEN_TIMEOUT_S)
        nb.run_all(timeout_s=RUN_TIMEOUT_S, through=through)
        return nb.problems(expected)
    finally:
        nb.last_screenshot = save_screenshot(nb, screenshot)


def assert_clean(nb: NotebookPage, name: str, problems: list[str]) -> None:
    assert not problems, (
        f"{name} in JupyterLab:\n" + "\n".join(problems) + f"\n{nb.last_screenshot}"
    )


def save_screenshot(nb: NotebookPage, name: str) -> str:
    try:
        return f"screenshot: {nb.screenshot(name)}"
    except Exception as exc:  # never hide the real failure behind a screenshot failure
        return f"(no screenshot: {exc})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[label(p) for p in NOTEBOOKS])
def test_notebook_runs_clean_in_jupyterlab(path, notebook_page):
    # the widget kinds from the English code (a Chinese comment may drop a word like "dashboard")
    expected = expected_widgets(code_source(english_of(path)))
    problems = run_notebook(notebook_page, served(path), label(path), expected)
    assert_clean(notebook_page, served(path), problems)


# --- the checks themselves: they see working widgets and catch broken ones ------------------

SELF_TEST_CELLS = [
    "import ipywidgets as widgets\n"
    "from IPython.display import display\n"
    "display(widgets.IntSlider(3), widgets.Dropdown(options=['a', 'b']),\n"
    "        widgets.Button(description='Go'))\n"
    "widgets.interact(lambda n: n, n=(0, 10))",
    # A widget view whose model the front end never gets: what a learner sees when front end
    # and kernel disagree about a widget ("Error displaying widget: model not found").
    "from IPython.display import display\n"
    "display({'application/vnd.jupyter.widget-view+json':\n"
    "         {'model_id': 'no-such-model', 'version_major': 2, 'version_minor': 0},\n"
    "         'text/plain': 'a broken widget'}, raw=True)",
    # U+F0000 (private use): no font has it, so it is drawn as an empty box
    "print('a character no font has: \\U000f0000')",
    "raise RuntimeError('deliberate')",
    "print('never runs: the error above stops Run All')",
]


def test_the_checks_see_widgets_and_catch_errors_and_broken_widgets(lab_server, notebook_page):
    """A generated notebook (in the server's temporary root, never in notebooks/) with working
    widgets, a broken widget, an error and a cell the error keeps from running."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_markdown_cell("# Browser-test self-check")]
    nb.cells += [nbformat.v4.new_code_cell(source) for source in SELF_TEST_CELLS]
    name = "_browser_self_check.ipynb"
    nbformat.write(nb, lab_server.root / name)
    expected = expected_widgets("\n".join(SELF_TEST_CELLS))
    assert set(expected) == {
        ".widget-slider",
        ".widget-dropdown",
        ".widget-button",
        ".widget-interact",
    }

    problems = run_notebook(notebook_page, name, "_browser_self_check", expected)
    report = "\n".join(problems)
    boxes = [line for line in problems if "empty boxes" in line]
    assert len(boxes) == 1 and "1 character(s)" in boxes[0] and "(U+F0000)" in boxes[0], report
    found = [line for line in problems if not line.startswith("cell ") and line not in boxes]
    assert not found, report  # every widget kind named was found, and nothing else went wrong
    by_cell = {n: [p for p in problems if p.startswith(f"cell {n} ")] for n in range(1, 6)}
    assert not by_cell[1], report  # the working widgets
    assert any("Error displaying widget" in line for line in by_cell[2]), report
    assert not by_cell[3], report  # the box is found in the page, not as a cell's error
    assert any("RuntimeError: deliberate" in line for line in by_cell[4]), report
    assert any("did not run" in line for line in by_cell[5]), report


# --- the style-transfer dashboard: Run, watch it change, Stop ---------------------------------

# The first lesson with the dashboard, and its Chinese version.
_DASHBOARD_LESSON = [p for p in ENGLISH if re.search(r"(?i)dashboard", code_source(p))][:1]
DASHBOARD_NOTEBOOKS = _DASHBOARD_LESSON + [
    p for p in CHINESE if p.name in {q.name for q in _DASHBOARD_LESSON}
]

# The dashboard's DOM contract (nst_helpers/lessons/dashboard.py): CSS classes on its widgets.
DASHBOARD = ".nst-dashboard"
STEPS_INPUT = ".nst-steps input"
RUN_BUTTON = ".nst-run"
STOP_BUTTON = ".nst-stop"
LIVE_IMAGE = ".nst-live-image"
LOSS_PLOT = ".nst-loss-plot"
STATUS = ".nst-status"

# What an image widget shows now: its <img>'s src (a new blob: URL on every update), or, for a
# plot that is not an <img>, its markup.
JS_LOOKS = """
(selector) => {
  const el = document.querySelector(selector);
  if (!el) return null;
  const img = el.tagName === 'IMG' ? el : el.querySelector('img');
  return img ? img.getAttribute('src') : el.innerHTML;
}
"""
JS_CHANGED = """
([selector, before]) => {
  const el = document.querySelector(selector);
  if (!el) return false;
  const img = el.tagName === 'IMG' ? el : el.querySelector('img');
  const now = img ? img.getAttribute('src') : el.innerHTML;
  return !!now && now !== before;
}
"""
JS_STATUS_HAS = """
([selector, word]) => {
  const el = document.querySelector(selector);
  return !!el && (el.textContent || '').toLowerCase().includes(word);
}
"""


def dashboard_cell(path: Path) -> int:
    """The first code cell that names the dashboard other than in an import: the one that shows
    it. The test runs the notebook up to that cell only (the rest is covered above)."""
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            code = line.split("#", 1)[0]
            if re.search(r"(?i)dashboard", code) and not re.match(r"\s*(from|import)\s", code):
                return index
    raise AssertionError(f"{path.name}: no code cell creates the dashboard")


# What the status line says, per language (nst_helpers/locale/: the Chinese texts).
STATUS_WORDS = {
    "en": {"stopped": "stopped", "finished": "finished", "count": r"evaluation\D{0,3}(\d+)"},
    "zh": {"stopped": "已停止", "finished": "完成", "count": r"第\s*(\d+)\s*次评估"},
}


def evaluation_count(status: str, language: str = "en") -> int | None:
    match = re.search(STATUS_WORDS[language]["count"], status, re.IGNORECASE)
    return int(match.group(1)) if match else None


@pytest.mark.skipif(
    not DASHBOARD_NOTEBOOKS,
    reason="no notebook uses the style-transfer dashboard yet (no 'dashboard' in any code cell)",
)
@pytest.mark.parametrize("path", DASHBOARD_NOTEBOOKS, ids=[label(p) for p in DASHBOARD_NOTEBOOKS])
def test_the_dashboard_runs_updates_and_stops(path, notebook_page):
    nb = notebook_page
    page = nb.page
    words = STATUS_WORDS[language_of(path)]
    through = dashboard_cell(path)
    expected = expected_widgets(code_source(path, through)) | {DASHBOARD: "the dashboard's cell"}
    name = served(path)
    problems = run_notebook(nb, name, f"{label(path)}-dashboard", expected, through=through)
    assert_clean(nb, name, problems)

    def status() -> str:
        return page.locator(STATUS).first.inner_text(timeout=5_000)

    try:
        dashboard = page.locator(DASHBOARD).first
        dashboard.scroll_into_view_if_needed()
        for selector in (STEPS_INPUT, RUN_BUTTON, STOP_BUTTON, LIVE_IMAGE, LOSS_PLOT, STATUS):
            assert page.locator(selector).count() > 0, f"the dashboard has no {selector}"

        steps = page.locator(STEPS_INPUT).first
        steps.fill("5000")
        steps.press("Enter")
        steps.evaluate("(e) => e.blur()")  # BoundedIntText sends its value on change
        nb.wait_until(
            "(sel) => document.querySelector(sel).value === '5000'",
            STEPS_INPUT,
            10,
            "the number of evaluations to read 5000 (a smaller max would clamp it)",
            lambda: f"it reads {steps.input_value()!r}",
        )
        image_before = page.evaluate(JS_LOOKS, LIVE_IMAGE)
        plot_before = page.evaluate(JS_LOOKS, LOSS_PLOT)

        started = time.monotonic()
        page.locator(RUN_BUTTON).first.click()
        nb.wait_until(
            JS_CHANGED,
            [LIVE_IMAGE, image_before],
            90,
            "the live image to change after Run",
            lambda: f"status {status()!r}",
        )
        nb.wait_until(
            JS_CHANGED,
            [LOSS_PLOT, plot_before],
            90,
            "the loss plot to update after Run",
            lambda: f"status {status()!r}",
        )
        running = status()
        assert words["finished"] not in running.lower(), (
            f"the run of 5000 evaluations finished before Stop could be tested: {running!r}"
        )

        page.locator(STOP_BUTTON).first.click()
        nb.wait_until(
            JS_STATUS_HAS,
            [STATUS, words["stopped"]],
            15,
            f"the status to say {words['stopped']!r} after Stop",
            lambda: f"status {status()!r}",
        )
        first = status()
        count = evaluation_count(first, language_of(path))
        assert count is not None, f"the status does not say which evaluation: {first!r}"
        page.wait_for_timeout(3_000)
        later = status()
        assert evaluation_count(later, language_of(path)) == count, (
            f"evaluations go on after Stop: {first!r}, then 3 s later {later!r}"
        )
        image_stopped = page.evaluate(JS_LOOKS, LIVE_IMAGE)
        page.wait_for_timeout(1_000)
        assert page.evaluate(JS_LOOKS, LIVE_IMAGE) == image_stopped, (
            "the live image still changes after Stop"
        )
        print(f"dashboard: Run → {count} evaluations → Stop in {time.monotonic() - started:.1f} s")
    finally:
        save_screenshot(nb, f"{label(path)}-dashboard")
