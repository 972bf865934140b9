"""What a learner sees: every notebook run in JupyterLab, in headless Chromium.

For each ``notebooks/NN_*.ipynb`` (whatever exists when the tests run): open it, Run All Cells,
wait until no cell is queued or running and the kernel is idle, then fail on

- an error output in any cell (read from the notebook model: outputs of type ``error``),
- a code cell that did not run,
- a widget view the kernel sent that the page does not render as a widget ("Error displaying
  widget", "Loading widget..." or the plain-text fallback of a front-end/back-end mismatch),
- a kind of widget the notebook's code names that is not in the page (``WIDGET_KINDS``).

A full screenshot of each notebook goes to ``test-output/browser/<notebook>.png``, pass or fail.
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

NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))

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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_clean_in_jupyterlab(path, notebook_page):
    problems = run_notebook(
        notebook_page, path.name, path.stem, expected_widgets(code_source(path))
    )
    assert_clean(notebook_page, path.name, problems)


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
    found = [line for line in problems if not line.startswith("cell ")]
    assert not found, report  # every widget kind named was found, and nothing else went wrong
    by_cell = {n: [p for p in problems if p.startswith(f"cell {n} ")] for n in range(1, 5)}
    assert not by_cell[1], report  # the working widgets
    assert any("Error displaying widget" in line for line in by_cell[2]), report
    assert any("RuntimeError: deliberate" in line for line in by_cell[3]), report
    assert any("did not run" in line for line in by_cell[4]), report


# --- the style-transfer dashboard: Run, watch it change, Stop ---------------------------------

DASHBOARD_NOTEBOOKS = [p for p in NOTEBOOKS if re.search(r"(?i)dashboard", code_source(p))]

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


def evaluation_count(status: str) -> int | None:
    match = re.search(r"evaluation\D{0,3}(\d+)", status, re.IGNORECASE)
    return int(match.group(1)) if match else None


@pytest.mark.skipif(
    not DASHBOARD_NOTEBOOKS,
    reason="no notebook uses the style-transfer dashboard yet (no 'dashboard' in any code cell)",
)
def test_the_dashboard_runs_updates_and_stops(notebook_page):
    nb = notebook_page
    page = nb.page
    path = DASHBOARD_NOTEBOOKS[0]
    through = dashboard_cell(path)
    expected = expected_widgets(code_source(path, through)) | {DASHBOARD: "the dashboard's cell"}
    problems = run_notebook(nb, path.name, f"{path.stem}-dashboard", expected, through=through)
    assert_clean(nb, path.name, problems)

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
        assert "finished" not in running.lower(), (
            f"the run of 5000 evaluations finished before Stop could be tested: {running!r}"
        )

        page.locator(STOP_BUTTON).first.click()
        nb.wait_until(
            JS_STATUS_HAS,
            [STATUS, "stopped"],
            15,
            "the status to say 'stopped' after Stop",
            lambda: f"status {status()!r}",
        )
        first = status()
        count = evaluation_count(first)
        assert count is not None, f"the status does not say 'evaluation N': {first!r}"
        page.wait_for_timeout(3_000)
        later = status()
        assert evaluation_count(later) == count, (
            f"evaluations go on after Stop: {first!r}, then 3 s later {later!r}"
        )
        image_stopped = page.evaluate(JS_LOOKS, LIVE_IMAGE)
        page.wait_for_timeout(1_000)
        assert page.evaluate(JS_LOOKS, LIVE_IMAGE) == image_stopped, (
            "the live image still changes after Stop"
        )
        print(f"dashboard: Run → {count} evaluations → Stop in {time.monotonic() - started:.1f} s")
    finally:
        save_screenshot(nb, f"{path.stem}-dashboard")
