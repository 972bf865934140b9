"""The one runner of series of runs (notebooks 02–07) and the one loss-curve plot (the α/β grid,
another series: test_weighting.py)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from nst_helpers.errors import ParameterError
from nst_helpers.lessons import plots
from nst_helpers.lessons.series import run_series, series_summary


def test_a_series_keeps_its_keys_common_options_and_each_configs_own(vgg, content):
    results = run_series(
        {("relu1_1",): {"content_layers": ["relu1_1"]}, "deep": {"content_layers": ["relu2_2"]}},
        content,
        None,
        vgg=vgg,
        steps=2,
        progress=False,
        init="noise",
        snapshot_at=(),
    )
    assert list(results) == [("relu1_1",), "deep"]
    assert [r.settings["content_layers"] for r in results.values()] == [("relu1_1",), ("relu2_2",)]
    assert all(r.evaluations == 2 and r.settings["init"] == "noise" for r in results.values())
    assert series_summary(results).startswith("2 runs, 4 evaluations in ")


def test_one_progress_bar_counts_every_evaluation_of_the_series(vgg, content, style, capsys):
    results = run_series(
        {"short": {"steps": 1}, "long": {}}, content, style, vgg=vgg, steps=3, desc="series"
    )
    assert [r.evaluations for r in results.values()] == [1, 3]
    bar = capsys.readouterr().err
    assert "4/4" in bar and bar.count("\n") == 1  # one bar for the whole series, closed once


def test_a_bad_option_is_refused_before_its_run(vgg, content, style):
    with pytest.raises(ParameterError, match="steps"):
        run_series({"a": {"steps": 0}}, content, style, vgg=vgg, steps=2, progress=False)


def test_one_loss_plot_for_a_run_and_for_a_series(vgg, content, style):
    results = run_series(
        {"a": {}, "b": {"optimizer": "adam"}}, content, style, vgg=vgg, steps=3, progress=False
    )
    ax = plots.plot_losses(results["a"])  # one run: total, content, each E_l
    assert [line.get_label() for line in ax.lines][:2] == ["total", "content"]
    assert any(line.get_label().startswith("E_l ") for line in ax.lines)
    ax = plots.plot_losses(results, ["style"], relative=True)  # a series: one curve per run
    assert [line.get_label() for line in ax.lines] == ["a", "b"]
    assert all(line.get_ydata()[0] == 1.0 for line in ax.lines)
    assert "style loss / style loss at evaluation 1" in ax.get_ylabel()
    assert plots.plot_losses([], title="t").get_title() == "t (no evaluations yet)"
    plt.close("all")
