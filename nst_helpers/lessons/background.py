"""The one way a panel runs an optimisation: in a background thread, or in the calling cell.

While a notebook cell runs, the kernel handles no widget events, so a Stop button read inside a
plain loop is never seen. A panel (``PanelRuns``) therefore hands its work to a ``BackgroundRun``,
which runs it in a thread and ends it with a ``threading.Event`` (the engine checks it before
every evaluation: Stop takes effect after the evaluation in progress, and the result keeps the best
image so far). The thread only assigns widget values (PNG bytes, label text, a progress bar's
value) and never uses ``with output:``. Headless callers and tests pass ``wait=True`` (or call
``wait()``), which joins the thread and re-raises an error the run met, with its traceback.

Where background threads are not supported (``runtime.panel_mode()``: Colab), the work runs in
the calling cell instead (``mode="foreground"``): the panel says so (``foreground_hint``), and the
run is stopped by interrupting the kernel (the engine ends it as "interrupted", keeping the best
image). Errors are reported alike in both modes: one line (``failed: TypeName: message``) for the
panel's status line, the exception kept for ``wait()``.
"""

from __future__ import annotations

import threading
import traceback
import weakref
from collections.abc import Callable
from typing import Any

from ..i18n import N_, _
from .runtime import PANEL_MODES, panel_mode

#: What a panel shows while a foreground run blocks the notebook (``foreground_hint()`` translates).
FOREGROUND_HINT = N_("running in this cell: interrupt the kernel (■) to stop")


def foreground_hint() -> str:
    """``FOREGROUND_HINT`` in the lessons' language."""
    return _(FOREGROUND_HINT)


def error_line(exc: BaseException) -> str:
    """An error as the one line a panel shows: ``failed: TypeName: message``."""
    text = str(exc).strip().splitlines()
    line = _("failed: {error}: {message}").format(
        error=type(exc).__name__, message=text[0] if text else ""
    )
    return line.rstrip(": ")


#: Every panel's runner, and the latest panel of each kind (weak: a panel no one refers to goes).
_RUNNERS: weakref.WeakSet[BackgroundRun] = weakref.WeakSet()
_LATEST: dict[type, weakref.ref] = {}


def stop_all(timeout: float = 30.0) -> int:
    """Stop every panel's run (``nst_helpers.lessons.stop_all()``: one call for the whole
    notebook) and wait up to ``timeout`` s for them to end, so their memory is handed back;
    returns how many were running."""
    running = [runner for runner in list(_RUNNERS) if runner.running]
    for runner in running:
        runner.stop()
    for runner in running:
        if runner.thread is not None:
            runner.thread.join(timeout)
    return len(running)


class BackgroundRun:
    """Runs a panel's work, one run at a time: ``start(work)``, ``stop()``, ``wait()``.

    ``report(line)`` shows one line of text (an error); ``finished()`` is called after every run,
    successful or not (to re-enable buttons). ``mode``: "thread" or "foreground" (default:
    ``runtime.panel_mode()``); ``name`` names the thread.
    """

    def __init__(
        self,
        *,
        report: Callable[[str], None],
        finished: Callable[[], None] | None = None,
        mode: str | None = None,
        name: str = "nst-panel",
    ) -> None:
        self.mode = panel_mode() if mode is None else mode
        if self.mode not in PANEL_MODES:
            raise ValueError(f"mode must be one of {', '.join(PANEL_MODES)}, not {self.mode!r}")
        self.report, self.finished, self.name = report, finished, name
        self.stop_event = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.traceback = ""
        self.thread: threading.Thread | None = None  # the last run's (None in foreground mode)
        self._pending = False
        self._lock = threading.Lock()
        _RUNNERS.add(self)

    @property
    def foreground(self) -> bool:
        """Whether runs block the calling cell (no Stop button; interrupt the kernel)."""
        return self.mode == "foreground"

    @property
    def running(self) -> bool:
        """Whether a run's thread is alive."""
        return self.thread is not None and self.thread.is_alive()

    def start(self, work: Callable[[], Any], *, wait: bool = False) -> Any:
        """Run ``work()`` (in a thread, or here in foreground mode); its return value becomes
        ``result``. In foreground mode, or with ``wait=True``, returns ``result`` once it is done
        (re-raising an error). RuntimeError while another run is in progress."""
        with self._lock:
            if self.running:
                raise RuntimeError(_("a run is in progress: press Stop (or call stop()) first"))
            self.stop_event.clear()
            self.result, self.error, self.traceback, self._pending = None, None, "", False
            self.thread = None
            if not self.foreground:
                self.thread = threading.Thread(
                    target=self._work, args=(work,), name=self.name, daemon=True
                )
                self.thread.start()
        if self.foreground:
            self._work(work)
        return self.wait() if wait or self.foreground else None

    def stop(self) -> None:
        """Ask the run to end after the evaluation in progress (the best image so far is kept)."""
        self.stop_event.set()

    def wait(self, timeout: float | None = None) -> Any:
        """Join the run's thread (up to ``timeout`` s) and return ``result``; re-raise an error
        the run met (once)."""
        if self.thread is not None:
            self.thread.join(timeout)
        if self._pending and not self.running:
            self._pending = False
            raise self.error  # type: ignore[misc]
        return self.result

    def _work(self, work: Callable[[], Any]) -> None:
        try:
            self.result = work()
        except Exception as exc:  # reported on one line, kept (with its traceback) for wait()
            self.error, self._pending = exc, True
            self.traceback = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            self.report(error_line(exc))
        finally:
            if self.finished is not None:
                self.finished()


class PanelRuns:
    """Mixed into every panel class: its runs through its ``runner`` (a ``BackgroundRun``), so all
    panels answer ``stop()``, ``wait()``, ``running``, ``result`` and ``error`` alike.

    A panel with ``run_button``, ``stop_button`` and ``status`` widgets can create its runner with
    ``_start_runs(mode, name)``, whose defaults show errors on the status line (``_report``) and
    re-enable Run after a run (``_finished``); ``_click(start)`` starts a run from a button.
    """

    runner: BackgroundRun

    def _start_runs(self, mode: str | None, name: str) -> None:
        """Create the runner; a run of the previous panel of this kind (the same cell run again)
        is stopped, and the panel says so (``stopped_earlier``): two optimisations at once would
        share the cores and the memory, and the earlier one's Stop button is gone."""
        earlier = _LATEST.get(type(self), lambda: None)()
        self.stopped_earlier = earlier is not None and earlier.running
        if self.stopped_earlier:
            earlier.stop()
            print(_("stopped the run of the earlier {panel}").format(panel=type(self).__name__))
        _LATEST[type(self)] = weakref.ref(self)
        self.runner = BackgroundRun(
            report=self._report, finished=self._finished, mode=mode, name=name
        )

    def _report(self, line: str) -> None:
        self.status.value = line  # type: ignore[attr-defined]

    def _finished(self) -> None:
        self.run_button.disabled, self.stop_button.disabled = False, True  # type: ignore[attr-defined]

    def _click(self, start: Callable[[], Any]) -> None:
        """``start()`` from a button: an error is shown on the status line, never raised (a button
        has no caller to raise to; a run's own error is shown there already)."""
        try:
            start()
        except Exception as exc:
            if exc is not self.runner.error:
                self.status.value = _("cannot start: {error}").format(error=exc)  # type: ignore[attr-defined]

    @property
    def _stop_event(self) -> threading.Event:
        return self.runner.stop_event

    @property
    def running(self) -> bool:
        """Whether a run's thread is alive."""
        return self.runner.running

    @property
    def result(self) -> Any:
        """The last finished run's ``Result`` (None before the first)."""
        return self.runner.result

    @property
    def error(self) -> BaseException | None:
        """The error the last run met, if any."""
        return self.runner.error

    def stop(self) -> None:
        """Ask the run to end after the evaluation in progress (the best image so far is kept)."""
        self.runner.stop()

    def wait(self, timeout: float | None = None) -> Any:
        """Join the run's thread (up to ``timeout`` s) and return its result; re-raise an error
        the run met."""
        return self.runner.wait(timeout)
