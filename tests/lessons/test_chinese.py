"""The lessons in Chinese (NST_LANG=zh): every figure the lessons draw is titled and labelled in
Chinese with no missing glyph (no empty boxes, no mathtext), the panels' status lines say what the
browser tests look for, and the exercises' feedback is Chinese.

Each figure is drawn with matplotlib's default font list, so a function that forgets
``use_language_font()`` fails here (its Chinese would be drawn as boxes).
"""

from __future__ import annotations

import io
import re

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.text import Text

import nst_helpers as nst
from nst_helpers.engine import Result
from nst_helpers.lessons import (
    cjk_font,
    convergence,
    dashboard,
    exercises,
    explorers,
    features,
    landscape,
    plots,
    setup_check,
    weighting,
)

from ..conftest import smooth_image

matplotlib.use("agg")
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture(autouse=True)
def chinese(monkeypatch):
    """NST_LANG=zh, and matplotlib's default fonts: no CJK font until a lesson adds it."""
    monkeypatch.setenv("NST_LANG", "zh")
    monkeypatch.setitem(matplotlib.rcParams, "font.family", ["sans-serif"])
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def fake_result(last: int = 12, seed: int = 0) -> Result:
    history = [
        {
            "evaluation": k,
            "total": 10.0 / k,
            "content": 4.0 / k,
            "style": 6.0 / k,
            "seconds": 0.1 * k,
            "style_layers": {"relu1_1": 3.0 / k, "relu2_1": 3.0 / k},
            "content_layers": {"relu4_2": 4.0 / k},
        }
        for k in range(1, last + 1)
    ]
    snapshots = {k: smooth_image(24, 32, seed + k) for k in (1, 2, 3, 6, 10, last)}
    settings = {"alpha": 1.0, "beta": 1e9}
    return Result(snapshots[last], history, snapshots, last, "completed", last, settings)


def texts_of(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text().strip()]


def assert_chinese(fig: Figure) -> list[str]:
    """Draw ``fig``: no glyph may be missing, some text must be Chinese, none may use mathtext."""
    with cjk_font.missing_glyphs() as missing:
        fig.canvas.draw()
    texts = texts_of(fig)
    assert not missing, missing
    assert any(CJK.search(t) for t in texts), texts
    assert not [t for t in texts if CJK.search(t) and "$" in t]  # mathtext has no Chinese
    return texts


def assert_png_has_no_missing_glyph(make_png) -> None:
    """For figures rendered straight to PNG bytes (the panels' live plots)."""
    with cjk_font.missing_glyphs() as missing:
        png = make_png()
    assert png.startswith(b"\x89PNG") and not missing, missing


OWN_TITLE = "我的猫咪在窗台上晒太阳"  # a learner's own text: 咪 is not in the bundled subset


def own_title_png() -> bytes:
    cjk_font.use_language_font()
    fig = Figure(figsize=(4, 2))
    fig.subplots().set_title(OWN_TITLE)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def test_a_learners_own_title_is_drawn_with_the_systems_full_font():
    if cjk_font.system_font() is None:
        pytest.skip("no full Chinese font here (apt install fonts-noto-cjk)")
    assert cjk_font.uncovered(OWN_TITLE) == {"咪"}  # the bundled subset alone would draw a box
    assert_png_has_no_missing_glyph(own_title_png)


def test_without_a_system_font_the_bundled_one_names_a_missing_glyph_once(monkeypatch):
    monkeypatch.setattr(cjk_font, "system_font", lambda: None)
    with pytest.warns(cjk_font.MissingGlyphWarning, match="“咪”") as record:
        own_title_png()
    assert len({str(w.message) for w in record}) == 1 and "fonts-noto-cjk" in str(record[0].message)
    with cjk_font.missing_glyphs() as missing:
        own_title_png()
    assert len(missing) >= 1


# --------------------------------------------------------------------------- every figure


def test_loss_curves_and_image_grids():
    result = fake_result()
    texts = assert_chinese(plots.plot_history(result.history).figure)
    assert "优化过程中的损失" in texts
    assert any("总损失" in t for t in texts) and any("内容项" in t for t in texts)
    assert_chinese(plots.plot_runs({"seed 0": result, "seed 1": fake_result(seed=5)}).figure)
    assert_chinese(plots.plot_series({"L-BFGS": result}))
    image = smooth_image(24, 32, 1)
    texts = assert_chinese(
        plots.show_images({"content": image, "style": image}, suptitle="L-BFGS against Adam")
    )
    assert {"内容图", "风格图", "L-BFGS 与 Adam 的比较"} <= set(texts)


def test_convergence_figures_and_panels():
    result = fake_result()
    texts = assert_chinese(convergence.snapshot_grid(result, content=result.image))
    assert "第 10 次评估" in texts
    assert_chinese(convergence.plot_change(convergence.visible_change(result)).figure)
    scrubber = convergence.SnapshotScrubber(result)
    assert_png_has_no_missing_glyph(lambda: scrubber._loss_png(6))
    assert CJK.search(scrubber.label.value)
    frames, labels = convergence.gif_frames(result)
    assert labels[0] == "第 1 次评估" and len(frames) == len(result.snapshots)
    font = convergence._font(12)
    assert font is None or str(cjk_font.FONT_FILE) in str(getattr(font, "path", ""))


def test_landscape_figures():
    points = 3
    grid = np.arange(points * points, dtype=float).reshape(points, points) + 1.0
    values = {"total": grid, "content": grid / 2, "style": grid / 3}
    coords = np.linspace(-1.0, 1.0, points)
    s = landscape.LossSlice(coords, coords.copy(), values, "d1: to the style image", "d2: random")
    texts = assert_chinese(landscape.plot_slice(s))
    assert any("d1：指向风格图" in t for t in texts)
    ts = np.linspace(0.0, 1.0, 5)
    line = {t: np.linspace(1.0, 2.0, 5) for t in landscape.TERMS}
    fig = landscape.plot_line(
        ts, line, labels=("seed 0", "seed 1"), title="The losses on the line between two results"
    )
    assert "两个结果之间连线上的各项损失" in assert_chinese(fig)
    # the convexity summary: the terms' Chinese names, without the English right-alignment
    summary = landscape.convexity_summary({"total": [landscape.midpoint_convexity([1, 3, 1])]})
    assert summary.startswith("总损失：不是凸的")


def test_feature_figures(vgg):
    image = smooth_image(32, 40, 1)
    assert_chinese(features.plot_layer_sizes((64, 80)))
    assert_chinese(features.show_receptive_fields(image, layers=("relu1_1", "relu2_1")))
    assert_chinese(features.show_gradient_footprints(vgg, image, layers=("relu1_1", "relu2_1")))
    assert_chinese(features.show_layer_overview(vgg, image, layers=("relu1_1",), per_layer=2))
    comparison = features.compare_relu(vgg, image, "conv2_1")
    assert_chinese(features.plot_relu_comparison(comparison))
    grams = {"relu1_1": torch.rand(4, 4), "relu2_1": torch.rand(4, 4)}
    assert_chinese(features.plot_grams(grams, suptitle="Total loss from each start"))
    activation = vgg(image, ["relu2_1"])["relu2_1"].detach()
    assert_chinese(features._map_figure(image, activation, "relu2_1", 0))
    html = features.table_html(features.architecture_table((64, 80))).data
    assert "感受野" in html


def test_the_ratio_grid():
    results = {(r, d): fake_result() for r in (1e-4, 1e-3) for d in ("conv1_1", "conv2_1")}
    texts = assert_chinese(weighting.plot_ratio_grid(results))
    assert "所用的风格层" in texts


def test_the_dashboards_loss_plot_and_status_lines():
    assert_png_has_no_missing_glyph(lambda: dashboard.loss_png(fake_result().history))
    # the words the browser tests read in the Chinese dashboard's status line
    stopped = dashboard.result_text(
        Result(torch.zeros(1, 3, 4, 4), fake_result(7).history, {}, 7, "stopped", 5), 5000
    )
    finished = dashboard.result_text(fake_result(), 12)
    assert stopped.startswith("已停止：第 7 次评估") and "完成" not in stopped
    assert finished.startswith("完成：第 12 次评估")


# --------------------------------------------------------------------------- texts


def test_the_exercises_feedback_hints_and_solutions_are_chinese(capsys):
    feedback = exercises.check_content_loss(lambda F, P: ((F - P) ** 2).sum())
    assert feedback.status == "wrong" and "你忘了 ½" in feedback.message
    assert "✘ 还不对" in str(feedback) and "还不对" in feedback._repr_html_()
    assert "正确" in str(exercises.check_gram_matrix(nst.gram_matrix))
    unfinished = exercises.check_style_layer_loss(lambda F, A: None)
    assert "还是那个空的函数框架" in unfinished.message
    assert CJK.search(exercises.hint("gram_matrix"))
    exercises.show_solution("style_layer_loss")
    assert "参考答案（style_layer_loss）" in capsys.readouterr().out


def test_the_setup_checks_advice_and_estimates_are_chinese():
    assert CJK.search(setup_check.device_report())
    assert CJK.search(setup_check.weights_advice())
    report = setup_check.estimates_report({"01 VGG19 features": 0.0, "04 style transfer": 420.0})
    assert report.splitlines() == [
        "01 VGG19 的各层看到了什么     （没有优化）",  # 28 columns, a Chinese character is 2
        "04 风格迁移                  约   7.0 分钟",
        "全部课程                     约   7.0 分钟",
    ]


def test_the_explorers_labels_and_status_lines_are_chinese(vgg):
    panel = explorers.TextureExplorer(vgg, size=32, steps=2, mode="thread")
    assert panel.run_button.description == "合成" and panel.stop_button.description == "停止"
    assert panel.status.value.startswith("按“合成”开始")
    assert explorers.series_titles({("relu1_1",): fake_result()}) == ["conv1_1\n损失 0.833"]


def test_what_the_notebooks_print_and_title_is_chinese_in_a_chinese_lesson(monkeypatch):
    """The notebooks' own lines and titles go through ``nst.tr`` (issue 26): the same code prints
    English in the English lessons and Chinese here, with the same numbers; a name that is not in
    the catalog (a layer, a file) comes back as it is."""
    line = "{0:8} sees {1:3d} × {1:<3d} px; neighbouring values are {2} px apart"
    assert nst.tr(line, "conv1_2", 5, 1) == "conv1_2  看到   5 × 5   像素；相邻的值相距 1 像素"
    assert nst.tr("no violation") == "没有违反凸性" and nst.tr("NOT convex") == "不是凸的"
    assert (
        nst.tr("relu4_2") == "relu4_2"
        and nst.tr("{}, x = the content image", "a") == "a，x = 内容图"
    )
    fig = plots.show_images({nst.tr("noise, seed {}", 2): torch.rand(1, 3, 8, 8)})
    assert "噪声，随机种子 2" in " ".join(t.get_text() for t in fig.findobj(Text))
    monkeypatch.setenv("NST_LANG", "en")
    assert (
        nst.tr(line, "conv1_2", 5, 1)
        == "conv1_2  sees   5 × 5   px; neighbouring values are 1 px apart"
    )
