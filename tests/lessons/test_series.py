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
    ax = plots.plot_losses(results["a"], ["total", "content", "relu1_1"])  # as recorded
    assert [line.get_label() for line in ax.lines] == ["total", "content", "E_l relu1_1"]
    ax = plots.plot_losses(results["a"])  # one run, no keys: plot_history's weighted parts
    assert len(ax.lines) == 3 + len(results["a"].history[0]["style_layers"])
    ax = plots.plot_losses(results, ["style"], relative=True)  # a series: one curve per run
    assert [line.get_label() for line in ax.lines] == ["a", "b"]
    assert all(line.get_ydata()[0] == 1.0 for line in ax.lines)
    assert "style loss / style loss at evaluation 1" in ax.get_ylabel()
    assert plots.plot_losses([], title="t").get_title() == "t (no evaluations yet)"
    plt.close("all")


def curves(ax) -> list:
    return [list(line.get_ydata()) for line in ax.lines]


def test_the_history_plot_shows_the_two_weighted_parts_that_make_the_total(vgg, content, style):
    result = run_series({"a": {}}, content, style, vgg=vgg, steps=3, progress=False)["a"]
    alpha, beta = result.settings["alpha"], result.settings["beta"]
    total, content_part, style_part, *layers = curves(plots.plot_history(result, "a title"))
    records = result.history
    assert total == pytest.approx([r["total"] for r in records])
    assert content_part == pytest.approx([alpha * r["content"] for r in records])
    assert style_part == pytest.approx([beta * r["style"] for r in records])  # β Σ w_l E_l
    assert [c + s for c, s in zip(content_part, style_part, strict=True)] == pytest.approx(total)
    assert [sum(v) for v in zip(*layers, strict=True)] == pytest.approx(style_part)  # β w_l E_l
    ax = plots.plot_history(result, layers=False)
    assert len(ax.lines) == 3 and ax.get_title() and ax.get_yscale() == "log"
    # the records alone (the dashboard's live plot): β is read back from L_total
    bare = curves(plots.plot_history(records))
    for drawn, expected in zip(bare, [total, content_part, style_part], strict=False):
        assert drawn == pytest.approx(expected)
    doubled = curves(plots.plot_history(records, beta=2 * beta))[2]
    assert doubled == pytest.approx([2 * s for s in style_part])
    plt.close("all")
