"""Fixtures of the browser tests: one JupyterLab server and one headless Chromium per session,
a fresh browser context (and, afterwards, no kernels left) per test.

Chromium missing makes these tests fail with how to install it; ``NST_SKIP_BROWSER=1`` skips them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest

from .lab import (
    CHROMIUM_ARGS,
    INSTALL_CHROMIUM,
    OUTPUT_DIR,
    LabServer,
    NotebookPage,
    copy_notebooks,
    find_chromium,
    start_lab_server,
)

VIEWPORT = {"width": 1400, "height": 900}


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    if os.environ.get("NST_SKIP_BROWSER") == "1":
        pytest.skip("NST_SKIP_BROWSER=1: the browser tests are skipped")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail(
            "The browser tests need Playwright for Python: `pip install -r requirements-dev.txt` "
            "(make test does this). Set NST_SKIP_BROWSER=1 to skip them.",
            pytrace=False,
        )
    path = find_chromium()
    if path is None:
        pytest.fail(f"Chromium not found. {INSTALL_CHROMIUM}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def lab_server(chromium_executable, tmp_path_factory) -> Iterator[LabServer]:
    """JupyterLab on a copy of notebooks/, stopped (kernels included) whatever happens."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root = copy_notebooks(base / "root")
    try:
        server = start_lab_server(root, base / "state", OUTPUT_DIR / "jupyterlab.log")
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser(chromium_executable) -> Iterator:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        try:
            chromium = pw.chromium.launch(
                executable_path=chromium_executable,
                headless=True,
                args=CHROMIUM_ARGS,
                timeout=60_000,
            )
        except PlaywrightError as exc:
            pytest.fail(
                f"Chromium ({chromium_executable}) did not start: {exc}\n{INSTALL_CHROMIUM}",
                pytrace=False,
            )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        pw.stop()


@pytest.fixture
def notebook_page(browser, lab_server, request) -> Iterator[NotebookPage]:
    """A new page in a new browser context and a new JupyterLab workspace (nothing restored from
    an earlier test); its kernels are shut down afterwards."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    page = context.new_page()
    workspace = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:60]
    try:
        yield NotebookPage(page, lab_server, workspace)
    finally:
        context.close()
        lab_server.shutdown_kernels()
