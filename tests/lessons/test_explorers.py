"""The lesson 02/03/07 panels run a new optimisation per button press, in a background thread.

A reconstruction minimises only L_content at the chosen layer from white noise (paper Fig. 1,
bottom); a texture only L_style over the ticked layers with the sliders' weights (Fig. 1, top); a
blend the style loss against a weighted sum of two paintings' Gram matrices (lesson 07).
"""

from __future__ import annotations

import threading
import time

import pytest
import torch

import nst_helpers as nst
from nst_helpers.errors import ParameterError
from nst_helpers.lessons import explorers


def test_the_evaluations_slider_is_bounded_around_the_profile():
    lab = explorers.evaluations_slider(nst.profile("lab").small_steps)
    assert (lab.value, lab.min, lab.max, lab.step) == (150, 10, 600, 10)
    smoke = explorers.evaluations_slider(nst.profile("smoke").small_steps)
    assert (smoke.value, smoke.min, smoke.max) == (3, 1, 12)
    one = explorers.evaluations_slider(1)
    assert one.min == 1 and one.max >= one.value == 1


def test_a_reconstruction_runs_in_a_thread_on_the_chosen_layer(vgg):
    ex = explorers.ReconstructionExplorer(vgg, size=32, steps=3, layer="relu2_2")
    assert ex.run_button.description == "Reconstruct"
    assert "conv4_2 (relu4_2) ★" in [label for label, _ in ex.layer.options]
    assert "conv4_2, pre-ReLU" in [label for label, _ in ex.layer.options]
    ex.steps.value = 4
    result = ex.run(wait=True)
    assert result is ex.result and result.evaluations == 4
    assert list(result.history[0]["content_layers"]) == ["relu2_2"]  # L_content there only
    assert result.history[0]["style_layers"] == {} and result.settings["init"] == "noise"
    assert result.history[-1]["content"] < result.history[0]["content"]
    assert ex.progress.value == 4 and ex.progress.max == 4
    assert ex.status.value.startswith("completed") and "conv2_2" in ex.status.value
    assert ex.live_view.value[:4] == b"\x89PNG" and ex.target_view.value[:4] == b"\x89PNG"
    assert not ex.run_button.disabled and ex.stop_button.disabled
    assert not ex.running


def test_a_texture_uses_the_ticked_layers_and_their_weights(vgg):
    ex = explorers.TextureExplorer(vgg, size=32, steps=3, image="mosaic", fallback="waves")
    assert ex.run_button.description == "Synthesise"
    boxes, sliders = ex.layer_weights.boxes, ex.layer_weights.sliders
    for name in ("relu4_1", "relu5_1"):
        boxes[name].value = False
    sliders["relu1_1"].value = 0.5
    result = ex.run(wait=True)
    assert list(result.history[0]["style_layers"]) == ["relu1_1", "relu2_1", "relu3_1"]
    assert result.settings["style_weights"] == pytest.approx(
        {"relu1_1": 0.2, "relu2_1": 0.4, "relu3_1": 0.4}
    )
    assert result.history[0]["content_layers"] == {}  # only L_style
    assert result.settings["size"] == [32, 32]
    assert "conv1_1 … conv3_1" in ex.status.value


def test_no_layer_ticked_is_refused_with_a_message(vgg):
    ex = explorers.TextureExplorer(vgg, size=32, steps=3, image="waves")
    for box in ex.layer_weights.boxes.values():
        box.value = False
    with pytest.raises(ParameterError, match="tick at least one"):
        ex.run()
    ex.run_button.click()  # from the button: shown, not raised
    assert "cannot start" in ex.status.value and "tick" in ex.status.value
    assert not ex.running and not ex.run_button.disabled


def test_stop_ends_a_run_early_and_keeps_the_best_image(vgg):
    ex = explorers.ReconstructionExplorer(vgg, size=32, steps=3, layer="relu1_1")
    ex.steps.value = ex.steps.max
    started = threading.Event()

    original = ex._on_evaluation

    def slow(transfer, record):
        original(transfer, record)
        started.set()
        time.sleep(0.05)

    ex._on_evaluation = slow
    ex.run_button.click()  # the button path: a thread
    assert started.wait(30)
    assert ex.running and ex.run_button.disabled
    with pytest.raises(RuntimeError, match="in progress"):
        ex.run()
    ex.stop_button.click()
    result = ex.wait(30)
    assert result is not None and result.stop_reason == "stopped"
    assert result.evaluations < ex.steps.value
    assert ex.status.value.startswith("stopped")


def test_an_error_in_the_thread_is_reported_and_reraised_by_wait(vgg, monkeypatch):
    ex = explorers.ReconstructionExplorer(vgg, size=32, steps=3)

    def broken(transfer, record):
        raise ValueError("boom")

    monkeypatch.setattr(ex, "_on_evaluation", broken)
    with pytest.raises(ValueError, match="boom"):
        ex.run(wait=True)
    assert ex.status.value.startswith("failed") and "boom" in ex.status.value
    assert not ex.run_button.disabled


def test_a_blend_mixes_the_two_paintings_grams_with_the_sliders_weight(vgg):
    ex = explorers.BlendExplorer(
        vgg, size=32, steps=3, weight=0.25, style_a="waves", style_b="mosaic"
    )
    assert ex.run_button.description == "Run" and "nst-blend-explorer" in ex._dom_classes
    assert (ex.weight.min, ex.weight.max, ex.weight.value) == (0.0, 1.0, 0.25)
    result = ex.run(wait=True)
    assert result.settings["style_blend"] == pytest.approx([0.75, 0.25])  # A and B
    assert result.settings["init"] == "content" and result.evaluations == 3
    assert ex.status.value.startswith("completed") and "0.75 × A + 0.25 × B" in ex.status.value
    assert ex.target_view.value[:4] == b"\x89PNG" and ex.live_view.value[:4] == b"\x89PNG"

    ex.weight.value = 1.0  # painting B alone: its own Gram matrices are the targets
    only_b = ex.run(wait=True)
    direct = nst.StyleTransfer(
        ex.content_picker.image(32),
        ex.picker_b.image(32),
        vgg=vgg,
        steps=3,
        snapshot_at=(),
    ).run()
    assert list(only_b.settings["style_blend"]) == [0.0, 1.0]
    assert [r["total"] for r in only_b.history] == pytest.approx(
        [r["total"] for r in direct.history], rel=1e-5
    )


def test_side_by_side_joins_images_at_the_smallest_height():
    a, b = torch.rand(1, 3, 40, 30), torch.rand(1, 3, 20, 50)
    joined = explorers.side_by_side([a, b], gap=4)
    assert joined.shape == (1, 3, 20, 15 + 4 + 50)
    assert torch.equal(joined[..., 15:19], torch.ones(1, 3, 20, 4))  # the white gap
    assert torch.equal(joined[..., 19:], b)  # already at that height: unchanged


def test_series_titles_use_the_paper_names(vgg):
    image = nst.load_sample("mosaic", size=32)
    runs = {
        "relu4_2": nst.run_style_transfer(
            image, None, vgg=vgg, content_layers=["relu4_2"], steps=1, init="noise"
        ),
        ("relu1_1", "relu2_1"): nst.run_style_transfer(
            None, image, vgg=vgg, style_layers=["relu1_1", "relu2_1"], steps=1, init="noise"
        ),
    }
    titles = explorers.series_titles(runs)
    assert titles[0].startswith("conv4_2\nloss ")
    assert titles[1].startswith("conv1_1 + conv2_1\nloss ")


def test_plot_runs_draws_one_relative_curve_per_run(vgg):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nst_helpers.lessons import plots

    image = nst.load_sample("waves", size=32)
    runs = {
        name: nst.run_style_transfer(
            image, None, vgg=vgg, content_layers=[name], steps=3, init="noise", progress=False
        )
        for name in ("relu1_2", "relu2_2")
    }
    ax = plots.plot_runs(runs, key="content", title="series")
    assert [line.get_label() for line in ax.lines] == ["relu1_2", "relu2_2"]
    assert all(line.get_ydata()[0] == 1.0 for line in ax.lines)  # relative to evaluation 1
    assert list(ax.lines[0].get_xdata()) == [1, 2, 3]
    assert ax.get_title() == "series" and ax.get_xlabel() and "log" in ax.get_ylabel()
    ax = plots.plot_runs(runs, key="content", relative=False)
    assert ax.lines[0].get_ydata()[0] == runs["relu1_2"].history[0]["content"]
    plt.close("all")
