"""The one way a panel runs an optimisation: in a background thread, or in the calling cell.

While a notebook cell runs, the kernel handles no widget events, so a Stop button read inside a
plain loop is never seen. A panel therefore hands its work to ``BackgroundRun``, which runs it in a
thread and ends it with a ``threading.Event`` (the engine checks it before every evaluation: Stop
takes effect after the evaluation in progress, and the result keeps the best image so far). The
thread only assigns widget values (PNG bytes, label text, a progress bar's value) and never uses
``with output:``. Headless callers and tests pass ``wait=True`` (or call ``wait()``), which joins
the thread and re-raises an error the run met, with its traceback.

Where background threads are not supported (``runtime.background_runs_supported()``: Colab), the
work runs in the calling thread instead (``mode="foreground"``): the panel says so, and the run is
stopped by interrupting the kernel (the engine ends it as "interrupted", keeping the best image).

Errors are reported the same way in both modes: one line (``failed: TypeName: message``) handed to
the panel's ``report`` (its status line), the exception kept for ``wait()``.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from ..i18n import N_, _
from .runtime import PANEL_MODES, panel_mode

#: What a panel shows while a foreground run blocks the notebook (in English: ``foreground_hint()``
#: gives it in the lessons' language).
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


class BackgroundRun:
    """Runs a panel's work, one run at a time; ``start(work)``, ``stop()``, ``wait()``.

    ``report(line)`` shows one line of text (an error); ``finished()`` is called after every run,
    successful or not (re-enable buttons). ``mode`` is "thread" or "foreground" (default: what
    ``runtime.panel_mode()`` says).
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
        self.report = report
        self.finished = finished
        self.name = name
        self.stop_event = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.traceback = ""
        self._pending = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def foreground(self) -> bool:
        """Whether runs block the calling cell (no Stop button; interrupt the kernel)."""
        return self.mode == "foreground"

    @property
    def thread(self) -> threading.Thread | None:
        """The last run's thread (None before the first run and in foreground mode)."""
        return self._thread

    @property
    def running(self) -> bool:
        """Whether a run's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, work: Callable[[], Any], *, wait: bool = False) -> Any:
        """Run ``work()`` (in a thread, or here in foreground mode); its return value becomes
        ``result``. ``wait=True`` joins the thread and returns ``result`` (re-raising an error).
        Raises RuntimeError while another run is in progress."""
        with self._lock:
            if self.running:
                raise RuntimeError(_("a run is in progress: press Stop (or call stop()) first"))
            self.stop_event.clear()
            self.result, self.error, self.traceback, self._pending = None, None, "", False
            if self.foreground:
                self._thread = None
            else:
                self._thread = threading.Thread(
                    target=self._work, args=(work,), name=self.name, daemon=True
                )
                self._thread.start()
        if self.foreground:
            self._work(work)
            return self.wait()
        return self.wait() if wait else None

    def stop(self) -> None:
        """Ask the run to end after the evaluation in progress (the best image so far is kept)."""
        self.stop_event.set()

    def wait(self, timeout: float | None = None) -> Any:
        """Join the run's thread (up to ``timeout`` s); re-raise an error it met (once)."""
        if self._thread is not None:
            self._thread.join(timeout)
        if self._pending and not self.running:
            self._pending = False
            assert self.error is not None
            raise self.error
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
    """A panel's runs through its ``runner`` (a ``BackgroundRun``): mixed into every panel class,
    so they all answer ``stop()``, ``wait()``, ``running``, ``result`` and ``error`` alike."""

    runner: BackgroundRun

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
