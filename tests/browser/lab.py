"""A JupyterLab server for the browser tests, and a Playwright page that drives a notebook in it.

The server runs from the project's own environment (``sys.executable``), binds 127.0.0.1 on a free
port, requires a random token, keeps Jupyter's state (config, data, runtime, settings,
workspaces) in a temporary folder and serves a *copy* of the notebooks, so nothing a test does
(autosave, checkpoints, files a lesson writes) lands in the repository.

The page side reads the notebook through ``window.jupyterapp`` (exposed with
``--LabApp.expose_app_in_browser``): run-all is JupyterLab's own ``notebook:run-all-cells``
command, errors are read from the notebook *model* (outputs of type ``error``), and widgets are
checked in the DOM (what the learner sees) against the widget views the kernel sent.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = REPO / "notebooks"
OUTPUT_DIR = REPO / "test-output" / "browser"

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_ERROR_TEXT = "Error displaying widget"
WIDGET_LOADING_TEXT = "Loading widget..."

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # No host name resolves: the page can reach nothing but the server on 127.0.0.1.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
INSTALL_CHROMIUM = (
    "The browser tests need Debian's Chromium: install it with `sudo apt-get install chromium` "
    "(`.ci/run` does this when it is missing), or point NST_CHROMIUM at a Chromium binary. "
    "Set NST_SKIP_BROWSER=1 to skip the browser tests instead."
)

# JupyterLab user settings for a test server: every cell attached to the DOM (windowing would
# leave cells that are off screen out of it), no autosave, no news or update checks.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_chromium() -> str | None:
    """``$NST_CHROMIUM``, else ``chromium`` (Debian) or ``chromium-browser`` on the PATH."""
    candidates = [os.environ.get("NST_CHROMIUM"), shutil.which("chromium")]
    candidates += [shutil.which("chromium-browser"), "/usr/bin/chromium"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc; empty elsewhere): the kernels run in sessions
    of their own, so a signal to the server's process group does not reach them."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@dataclass
class LabServer:
    """A running ``jupyter lab``; :meth:`stop` ends it and its kernels whatever state it is in."""

    proc: subprocess.Popen
    url: str
    token: str
    root: Path
    log: Path
    kernels_seen: set[int] = field(default_factory=set)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def api(self, method: str, path: str, timeout: float = 10) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:  # 127.0.0.1 only
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """End every session and kernel (between tests: each notebook starts with a fresh one)."""
        try:
            for session in self.api("GET", "/api/sessions"):
                self.api("DELETE", f"/api/sessions/{session['id']}", timeout=30)
            for kernel in self.api("GET", "/api/kernels"):
                self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=30)
        except (OSError, urllib.error.URLError, ValueError):
            pass  # the server is gone or going; stop() cleans up

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.shutdown_kernels()
        leftovers = _descendants(self.proc.pid) if self.proc.poll() is None else []
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            if self.proc.poll() is not None:
                break
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        for pid in leftovers:  # kernels the server did not take down with it
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def copy_notebooks(dest: Path) -> Path:
    """The served root: a copy of notebooks/ without outputs, runs or checkpoints."""
    shutil.copytree(
        NOTEBOOK_DIR,
        dest,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "outputs", "runs", "__pycache__"),
    )
    return dest


def start_lab_server(
    root: Path, state: Path, log: Path, extra_args: list[str] | None = None, timeout: float = 120
) -> LabServer:
    """Start JupyterLab on ``root`` (state under ``state``), return once its API answers."""
    for sub in ("config", "data", "runtime", "settings", "workspaces", "cache", "ipython"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    for name, values in LAB_SETTINGS.items():
        path = state / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))

    token = secrets.token_hex(24)
    port = free_port()
    closed = free_port()  # nothing listens here: downloads fail at once, the offline fallbacks run
    bindir = str(Path(sys.executable).parent)
    env = dict(os.environ)
    for name in ("NST_VGG19_WEIGHTS", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH"):
        env.pop(name, None)
    env.update(
        {
            "PATH": os.pathsep.join([bindir, env.get("PATH", "")]),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            "JUPYTER_TOKEN": token,
            "JUPYTER_CONFIG_DIR": str(state / "config"),
            # The user data dir only: the environment's share/jupyter (the ipywidgets
            # labextension, the python3 kernelspec) stays on Jupyter's data path.
            "JUPYTER_DATA_DIR": str(state / "data"),
            "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "IPYTHONDIR": str(state / "ipython"),
            "MPLCONFIGDIR": str(state / "cache" / "matplotlib"),
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "NST_PROFILE": "smoke",
            "NST_WEIGHTS": "random",
            "NST_CACHE_DIR": str(state / "cache" / "nst"),
            "TORCH_HOME": str(state / "cache" / "torch"),
            "NST_SAMPLES_URL": f"http://127.0.0.1:{closed}/samples/",
            "NST_VGG19_URL": f"http://127.0.0.1:{closed}/vgg19-dcbb9e9d.pth",
        }
    )
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.open_browser=False",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        f"--LabApp.user_settings_dir={state / 'settings'}",
        f"--LabApp.workspaces_dir={state / 'workspaces'}",
        *(extra_args or []),
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
        cmd.append("--ServerApp.allow_root=True")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() can signal all of it
        )
    server = LabServer(proc, f"http://127.0.0.1:{port}", token, root, log)
    deadline = time.monotonic() + timeout
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with code {proc.returncode} while starting "
                    f"({' '.join(cmd[:3])}); server log {log}:\n{server.log_tail()}"
                )
            try:
                server.api("GET", "/api/status", timeout=5)
                return server
            except (OSError, urllib.error.URLError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"JupyterLab did not answer on {server.url} within {timeout:.0f} s; "
                    f"server log {log}:\n{server.log_tail()}"
                )
            time.sleep(0.5)
    except BaseException:
        server.stop()
        raise


# --- the page side ---------------------------------------------------------------------------

# Helpers installed in the page: find the notebook panel by path, describe its state.
JS_HELPERS = """
() => {
  if (window.__nst) return true;
  const panelFor = (path) => {
    const app = window.jupyterapp;
    if (!app || !app.shell) return null;
    for (const w of Array.from(app.shell.widgets('main'))) {
      if (w.context && w.context.path === path && w.content && w.sessionContext) return w;
    }
    return null;
  };
  const describe = (path) => {
    const p = panelFor(path);
    if (!p) return {found: false};
    const cells = p.content.widgets.map((cell, index) => {
      const model = cell.model;
      const info = {
        index,
        type: model.type,
        source: model.sharedModel.getSource(),
        count: model.type === 'code' ? model.executionCount : null,
        prompt: '',
        outputs: [],
        dom: [],
      };
      if (model.type !== 'code') return info;
      const prompt = cell.node.querySelector('.jp-InputPrompt');
      info.prompt = prompt ? prompt.textContent.trim() : '';
      for (let i = 0; i < model.outputs.length; i++) {
        const out = model.outputs.get(i).toJSON();
        info.outputs.push({
          type: out.output_type,
          mimes: Object.keys(out.data || {}),
          ename: out.ename || null,
          evalue: out.evalue || null,
          traceback: (out.traceback || []).join('\\n'),
        });
      }
      for (const node of cell.node.querySelectorAll('.jp-OutputArea-output')) {
        // outputs nested in an Output widget belong to the widget, not to the cell
        if (node.parentElement.closest('.jp-OutputArea-output')) continue;
        info.dom.push({
          mime: node.getAttribute('data-mime-type'),
          // a widget view renders as an element inside the output; the widget manager's
          // "Error displaying widget" and "Loading widget..." are text in the output itself
          widget: !!node.querySelector('.jupyter-widgets'),
          text: (node.textContent || '').slice(0, 300),
        });
      }
      return info;
    });
    return {
      found: true,
      kernel: p.sessionContext.kernelDisplayStatus,
      ready: p.sessionContext.isReady && p.context.isReady,
      cells,
    };
  };
  window.__nst = {panelFor, describe};
  return true;
}
"""

JS_NOTEBOOK_READY = """
(path) => {
  const app = window.jupyterapp;
  if (!app || !window.__nst) return false;
  const p = window.__nst.panelFor(path);
  return !!(p && p.context.isReady && p.sessionContext.isReady
            && p.sessionContext.session && p.sessionContext.session.kernel
            && p.sessionContext.kernelDisplayStatus === 'idle'
            && p.content.widgets.length > 0);
}
"""

JS_RUN_ALL = """
([path, through]) => {
  const app = window.jupyterapp;
  const p = window.__nst.panelFor(path);
  app.shell.activateById(p.id);
  let command = 'notebook:run-all-cells';
  if (through !== null && through + 1 < p.content.widgets.length) {
    p.content.activeCellIndex = through + 1;  // Run → Run All Above Selected Cell
    command = 'notebook:run-all-above';
  }
  window.__nstRunAll = {done: false, result: null, error: null};
  app.commands.execute(command).then(
    (result) => { window.__nstRunAll = {done: true, result, error: null}; },
    (error) => { window.__nstRunAll = {done: true, result: null, error: String(error)}; },
  );
  return command;
}
"""

JS_RUN_FINISHED = """
(path) => {
  const run = window.__nstRunAll;
  const p = window.__nst.panelFor(path);
  if (!run || !run.done || !p) return false;
  if (p.sessionContext.kernelDisplayStatus !== 'idle') return false;
  return !Array.from(p.node.querySelectorAll('.jp-InputPrompt'))
    .some((e) => e.textContent.includes('*'));
}
"""


# Characters the page draws as the missing-glyph box (tofu): every distinct non-ASCII character
# of the notebook's text (Markdown, code, outputs, widget labels) is drawn on a canvas in the font
# its element uses and compared with a character no font has (U+10FFFD, private use): equal
# pixels mean no installed font has it (where a font draws that character as nothing, a character
# drawn as nothing is the missing one). Text inside images (matplotlib's PNGs) is not seen here;
# tests/test_i18n.py checks the figures' titles.
JS_MISSING_GLYPHS = r"""
async () => {
  await document.fonts.ready;
  const root = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!root) return {error: 'no notebook is open'};
  const groups = new Map();
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el) continue;
    const chars = Array.from(node.nodeValue)
      .filter((c) => c.codePointAt(0) > 0x7e && !/\s/.test(c) && !/\p{Cf}|\p{Mn}/u.test(c));
    if (!chars.length) continue;
    const cs = getComputedStyle(el);
    const font = `${cs.fontStyle} ${cs.fontWeight} 32px ${cs.fontFamily}`;
    if (!groups.has(font)) groups.set(font, new Set());
    for (const c of chars) groups.get(font).add(c);
  }
  const canvas = document.createElement('canvas');
  canvas.width = 64;
  canvas.height = 48;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const draw = (font, c) => {
    ctx.clearRect(0, 0, 64, 48);
    ctx.font = font;
    ctx.textBaseline = 'middle';
    ctx.fillText(c, 4, 24);
    return ctx.getImageData(0, 0, 64, 48).data;
  };
  const same = (a, b) => {
    for (let i = 3; i < a.length; i += 4) if (a[i] !== b[i]) return false;
    return true;
  };
  const blank = (d) => d.every((v, i) => i % 4 !== 3 || v === 0);
  const missing = new Set();
  let checked = 0;
  for (const [font, chars] of groups) {
    const box = draw(font, '\u{10FFFD}');
    const boxIsBlank = blank(box);  // some fonts draw a missing glyph as nothing at all
    for (const c of chars) {
      checked += 1;
      const glyph = draw(font, c);
      if (boxIsBlank ? blank(glyph) : same(glyph, box)) missing.add(c);
    }
  }
  return {missing: Array.from(missing), checked};
}
"""


def _first_line(source: str) -> str:
    line = source.strip().splitlines()[0] if source.strip() else ""
    return line[:80]


class NotebookPage:
    """One Playwright page showing one notebook in JupyterLab."""

    def __init__(self, page: Any, server: LabServer, workspace: str):
        self.page = page
        self.server = server
        self.workspace = workspace
        self.path: str | None = None
        self.last_screenshot = ""
        self.ran_through: int | None = None
        self.console_errors: list[str] = []
        page.on(
            "console",
            lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: self.console_errors.append(f"page error: {exc}"))

    # -- diagnostics
    def diagnostics(self) -> str:
        parts = [f"server log ({self.server.log}):\n{self.server.log_tail(25)}"]
        if self.console_errors:
            parts.append("browser console errors:\n" + "\n".join(self.console_errors[-15:]))
        try:
            dialogs = self.page.locator(".jp-Dialog").all_inner_texts()
            if dialogs:
                parts.append("open dialogs: " + " | ".join(d.replace("\n", " ") for d in dialogs))
        except Exception:  # the page may be gone
            pass
        return "\n".join(parts)

    def state(self) -> dict:
        self.page.evaluate(JS_HELPERS)
        return self.page.evaluate("(path) => window.__nst.describe(path)", self.path)

    def _wait(self, js: str, timeout_s: float, what: str) -> None:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(js, arg=self.path, timeout=timeout_s * 1000, polling=250)
        except PlaywrightTimeout:
            state = {}
            try:
                state = self.state()
            except Exception:
                pass
            busy = [
                f"cell {c['index']} {c['prompt']}"
                for c in state.get("cells", [])
                if "*" in c.get("prompt", "")
            ]
            raise AssertionError(
                f"{self.path}: timed out after {timeout_s:.0f} s waiting for {what} "
                f"(kernel status: {state.get('kernel', 'unknown')}; still running: "
                f"{', '.join(busy) or 'none'})\n{self.diagnostics()}"
            ) from None

    def wait_until(
        self, js: str, arg: Any, timeout_s: float, what: str, details: Any = None
    ) -> Any:
        """Wait for ``js(arg)`` to be truthy; on timeout fail saying what was awaited, with
        ``details()`` (the current values) and the diagnostics."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            return self.page.wait_for_function(
                js, arg=arg, timeout=timeout_s * 1000, polling=200
            ).json_value()
        except PlaywrightTimeout:
            now = ""
            if details is not None:
                try:
                    now = f" ({details()})"
                except Exception as exc:  # the page may be gone
                    now = f" (could not read the page: {exc})"
            raise AssertionError(
                f"{self.path}: timed out after {timeout_s:.0f} s waiting for {what}{now}\n"
                f"{self.diagnostics()}"
            ) from None

    # -- actions
    def open(self, path: str, timeout_s: float = 120) -> None:
        """Open ``path`` in a fresh workspace and wait until its kernel is idle."""
        self.path = path
        url = (
            f"{self.server.url}/lab/workspaces/{quote(self.workspace)}/tree/{quote(path)}"
            f"?token={self.server.token}"
        )
        self.page.goto(url, wait_until="domcontentloaded", timeout=timeout_s * 1000)
        self._wait(
            "() => !!(window.jupyterapp && window.jupyterapp.shell)",
            timeout_s,
            "JupyterLab to load (window.jupyterapp)",
        )
        self.page.evaluate(JS_HELPERS)
        self._wait(JS_NOTEBOOK_READY, timeout_s, "the notebook to open and its kernel to be idle")
        # More room for the notebook (and its screenshot): close the file browser.
        self.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")

    def run_all(self, timeout_s: float = 300, through: int | None = None) -> None:
        """Run → Run All Cells (or, with ``through``, the cells up to and including that index),
        then wait until no cell is queued or running and the kernel is idle."""
        self.ran_through = through
        command = self.page.evaluate(JS_RUN_ALL, [self.path, through])
        self._wait(JS_RUN_FINISHED, timeout_s, "all cells to finish running")
        failed = self.page.evaluate("() => window.__nstRunAll.error")
        if failed:
            raise AssertionError(
                f"{self.path}: JupyterLab's {command} failed: {failed}\n{self.diagnostics()}"
            )
        self.settle_widgets()

    def settle_widgets(self, timeout_s: float = 30) -> None:
        """Give widget views time to leave "Loading widget..." (one still loading after that is
        reported by :meth:`problems`)."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(
                """(text) => !Array.from(document.querySelectorAll('.jp-OutputArea-output'))
                    .some((n) => !n.querySelector('.jupyter-widgets')
                                 && (n.textContent || '').includes(text))""",
                arg=WIDGET_LOADING_TEXT,
                timeout=timeout_s * 1000,
                polling=250,
            )
        except PlaywrightTimeout:
            pass

    def screenshot(self, name: str) -> Path:
        """The whole notebook: the viewport is made as tall as the notebook's content first."""
        OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
        target = OUTPUT_DIR / f"{name}.png"
        # The notebook scrolls inside its panel: scroll it to the top and measure how tall the
        # window must be to show all of it at once.
        height = self.page.evaluate(
            """() => {
              const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
              if (!panel) return 0;
              const scroller = panel.querySelector('.jp-WindowedPanel-outer')
                || panel.querySelector('.jp-Notebook');
              if (!scroller) return 0;
              scroller.scrollTop = 0;
              return scroller.scrollHeight + (window.innerHeight - scroller.clientHeight);
            }"""
        )
        size = self.page.viewport_size or {"width": 1400, "height": 900}
        tall = max(size["height"], min(int(height) + 20, 15000))
        self.page.set_viewport_size({"width": size["width"], "height": tall})
        self.page.wait_for_timeout(500)
        self.page.screenshot(path=str(target), full_page=True, timeout=30_000)
        self.page.set_viewport_size(size)
        return target

    # -- checks
    def glyph_problems(self) -> list[str]:
        """A line naming the characters of the open notebook's text that the page draws as
        empty boxes (none: an empty list)."""
        result = self.page.evaluate(JS_MISSING_GLYPHS)
        if result.get("error"):
            return [f"cannot check the glyphs: {result['error']}"]
        missing = result["missing"]
        if not missing:
            return []
        shown = ", ".join(f"{c} (U+{ord(c):04X})" for c in missing[:20])
        shown += ", …" if len(missing) > 20 else ""
        return [
            f"{len(missing)} character(s) show as empty boxes (no font has them): {shown}; "
            "Chinese text needs a CJK font (Debian: `apt-get install fonts-noto-cjk`)"
        ]

    def problems(self, expected_widget_selectors: dict[str, str] | None = None) -> list[str]:
        """Everything a learner would see go wrong, as readable lines (empty when all is well):
        error outputs, cells that did not run, widgets that did not render, missing widgets,
        characters no font draws."""
        state = self.state()
        if not state.get("found"):
            return [f"{self.path} is not open in JupyterLab"]
        found: list[str] = []
        views_in_model = 0
        for cell in state["cells"]:
            if cell["type"] != "code":
                continue
            where = f"cell {cell['index']} ({_first_line(cell['source'])!r})"
            if self.ran_through is not None and cell["index"] > self.ran_through:
                continue  # not meant to run
            if cell["source"].strip() and cell["count"] is None:
                found.append(f"{where} did not run (prompt {cell['prompt'] or '[ ]'})")
            for out in cell["outputs"]:
                if out["type"] == "error":
                    tb = strip_ansi(out["traceback"]).strip().splitlines()[-12:]
                    found.append(
                        f"{where} shows an error: {out['ename']}: {out['evalue']}\n    "
                        + "\n    ".join(tb)
                    )
            views = sum(WIDGET_VIEW_MIME in out["mimes"] for out in cell["outputs"])
            views_in_model += views
            rendered = [d for d in cell["dom"] if d["widget"]]
            if len(rendered) < views:
                shown = "; ".join(f"{d['mime']}: {d['text'][:80]!r}" for d in cell["dom"])
                shown = shown if len(shown) < 400 else shown[:400] + " …"
                found.append(
                    f"{where}: the kernel sent {views} widget view(s), the page renders "
                    f"{len(rendered)} (outputs shown: {shown or 'none'}); is the ipywidgets "
                    "labextension (jupyterlab_widgets) installed and matching ipywidgets?"
                )
            for d in cell["dom"]:
                if d["widget"]:
                    continue
                for text in (WIDGET_ERROR_TEXT, WIDGET_LOADING_TEXT):
                    if text in d["text"]:
                        found.append(f"{where} shows {d['text'].strip()[:200]!r}")
        # Also inside widgets (a child view of a box that failed): any output area's text.
        # Markdown and code are not searched, so a lesson may mention these words.
        outputs = self.page.evaluate(
            """() => Array.from(document.querySelectorAll('.jp-OutputArea'))
                 .map((n) => n.textContent || '').join('\\n')"""
        )
        for text in (WIDGET_ERROR_TEXT, WIDGET_LOADING_TEXT):
            if text in outputs and not any(text in f for f in found):
                found.append(f"an output (inside a widget) shows {text!r}")
        found += self.glyph_problems()
        for selector, why in (expected_widget_selectors or {}).items():
            if self.page.locator(f".jp-NotebookPanel:not(.lm-mod-hidden) {selector}").count() == 0:
                found.append(f"no {selector} in the page ({why})")
        if expected_widget_selectors and views_in_model == 0:
            found.append("the notebook uses widgets but no cell displayed one")
        return found
