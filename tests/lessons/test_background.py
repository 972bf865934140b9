"""One way for every panel to run an optimisation (background.PanelRuns over a BackgroundRun): a
thread with a Stop event, or (Colab) the calling cell; an error becomes one line in the panel and
is re-raised, with its traceback, by wait()."""

from __future__ import annotations

import sys
import threading
import types

import pytest

from nst_helpers.errors import ParameterError
from nst_helpers.lessons import explorers, runtime
from nst_helpers.lessons.background import FOREGROUND_HINT, BackgroundRun, PanelRuns, error_line
from nst_helpers.lessons.dashboard import StyleDashboard


def test_a_thread_run_returns_its_result_and_stop_sets_the_event():
    lines: list[str] = []
    runner = BackgroundRun(report=lines.append, mode="thread")
    seen = {}

    def work():
        seen["thread"] = threading.current_thread()
        runner.stop_event.wait(30)
        return 42

    runner.start(work)
    runner.stop()
    assert runner.wait(30) == 42 and not runner.running and not lines
    assert seen["thread"] is not threading.current_thread()


@pytest.mark.parametrize("mode", ["thread", "foreground"])
def test_an_error_is_one_line_for_the_panel_and_raised_by_wait(mode):
    lines: list[str] = []
    finished: list[bool] = []
    runner = BackgroundRun(report=lines.append, finished=lambda: finished.append(True), mode=mode)

    def work():
        raise ValueError("boom\nsecond line")

    with pytest.raises(ValueError, match="boom"):
        runner.start(work, wait=True)
    assert lines == ["failed: ValueError: boom"] and finished == [True]
    assert "Traceback" in runner.traceback and "boom" in runner.traceback
    assert runner.wait() is None  # raised once


def test_foreground_runs_in_the_calling_thread():
    runner = BackgroundRun(report=print, mode="foreground")
    assert runner.start(threading.current_thread) is threading.current_thread()
    assert runner.thread is None and runner.foreground


def test_error_line_keeps_the_first_line():
    assert error_line(RuntimeError("")) == "failed: RuntimeError"
    assert error_line(KeyError("x")) == "failed: KeyError: 'x'"


def test_runtime_chooses_threads_except_on_colab(monkeypatch):
    monkeypatch.delenv(runtime.ENV_PANEL_MODE, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    if not runtime.running_in_colab():
        assert runtime.background_runs_supported() and runtime.panel_mode() == "thread"
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert runtime.running_in_colab()
    assert not runtime.background_runs_supported() and runtime.panel_mode() == "foreground"
    monkeypatch.setenv(runtime.ENV_PANEL_MODE, "thread")
    assert runtime.background_runs_supported()
    monkeypatch.setenv(runtime.ENV_PANEL_MODE, "sideways")
    with pytest.raises(ParameterError, match="thread, foreground"):
        runtime.background_runs_supported()


def test_panels_in_foreground_mode_show_the_hint_and_no_stop_button(vgg, monkeypatch):
    monkeypatch.setenv(runtime.ENV_PANEL_MODE, "foreground")
    ex = explorers.ReconstructionExplorer(vgg, size=32, steps=2, image="grace_hopper")
    assert ex.runner.foreground and FOREGROUND_HINT in ex.hint.value
    assert ex.stop_button not in ex.children[-4].children
    result = ex.run()  # no wait needed: it ran here
    assert result is not None and result.evaluations == 2
    dash = StyleDashboard(vgg, size=32, steps=1, content="grace_hopper", style="waves")
    assert dash.runner.foreground and FOREGROUND_HINT in dash.hint.value
    assert dash.run() is None and dash.result.evaluations == 1


class Panel(PanelRuns):
    """The smallest panel: a runner and nothing else (no buttons to re-enable, no status line)."""

    def __init__(self) -> None:
        self._start_runs("thread", "test-panel")

    def _finished(self) -> None:
        pass


class OtherPanel(Panel):
    pass


def _busy(panel: Panel) -> None:
    panel.runner.start(lambda: panel.runner.stop_event.wait(30))


def test_a_panel_made_again_stops_the_earlier_panels_run_and_says_so(capsys):
    first = Panel()
    _busy(first)
    other = OtherPanel()
    _busy(other)
    second = Panel()  # the cell run again: the first panel's run would go on unseen
    first.runner.wait(10)
    assert (
        not first.running and second.stopped_earlier and "earlier Panel" in capsys.readouterr().out
    )
    assert other.running  # another kind of panel is left alone
    other.stop()
    other.wait(10)


def test_stop_all_stops_every_panels_run_and_waits_for_them():
    from nst_helpers.lessons import stop_all

    panels = [Panel(), OtherPanel()]
    for panel in panels:
        _busy(panel)
    assert stop_all() == 2 and not any(p.running for p in panels)
    assert stop_all() == 0
