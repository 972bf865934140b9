"""The control panel of notebook 04, without a browser: its run happens in a thread that headless
callers join, Stop ends it within a couple of evaluations keeping the best image so far, the live
view changes while it runs, and saving never overwrites unless asked."""

from __future__ import annotations

import threading
import time

import ipywidgets as w
import pytest
import torch

import nst_helpers as nst
from nst_helpers.errors import ImageError, ParameterError
from nst_helpers.lessons.dashboard import StyleDashboard
from nst_helpers.lessons.plots import png_bytes
from nst_helpers.options import DEFAULT_BETAS, paper_equivalent
from nst_helpers.vgg import VGG19Features


def make(vgg, **options) -> StyleDashboard:
    options.setdefault("size", 32)
    options.setdefault("steps", 6)
    # Offline samples: no download is attempted, so the tests need no network.
    return StyleDashboard(vgg, content="grace_hopper", style="waves", **options)


def classes(widget) -> list[str]:
    return list(widget._dom_classes)


def find(root, kind) -> list:
    found, todo = [], [root]
    while todo:
        widget = todo.pop()
        if isinstance(widget, kind):
            found.append(widget)
        todo.extend(getattr(widget, "children", ()))
    return found


def test_the_dom_contract_the_browser_tests_rely_on(vgg):
    dash = make(vgg)
    assert "nst-dashboard" in classes(dash)
    assert isinstance(dash.steps, w.BoundedIntText) and "nst-steps" in classes(dash.steps)
    assert dash.run_button.description == "Run" and "nst-run" in classes(dash.run_button)
    assert dash.stop_button.description == "Stop" and "nst-stop" in classes(dash.stop_button)
    assert isinstance(dash.live_image, w.Image) and "nst-live-image" in classes(dash.live_image)
    assert isinstance(dash.loss_plot, w.Image) and "nst-loss-plot" in classes(dash.loss_plot)
    assert "nst-status" in classes(dash.status)
    # every one of them is displayed inside the dashboard
    shown = find(dash, w.DOMWidget)
    for widget in (dash.steps, dash.run_button, dash.stop_button, dash.live_image, dash.loss_plot):
        assert widget in shown
    assert bytes(dash.loss_plot.value).startswith(b"\x89PNG")


def test_the_controls_describe_the_run_as_options(vgg):
    dash = make(vgg, size=48, steps=9)
    dash.content_layer.value = "relu2_2"
    dash.ratio.value = 1e-6
    dash.style_layers.boxes["relu5_1"].value = False
    dash.init.value = "noise"
    dash.seed.value = 3
    dash.pooling.value = "avg"
    o = dash.settings()
    assert isinstance(o, nst.Options) and o.content_layers == ("relu2_2",)
    assert o.style_layers == ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
    assert sum(o.style_weights.values()) == pytest.approx(1.0)
    assert o.alpha / o.beta == pytest.approx(1e-6)
    assert (o.init, o.seed, o.pooling, o.size, o.steps) == ("noise", 3, "avg", 48, 9)
    dash.optimizer.value = "adam"  # choosing Adam proposes Adam's learning rate
    assert dash.settings().lr == pytest.approx(0.02)


def test_no_style_layer_ticked_is_refused_before_a_run_and_shown_from_the_button(vgg):
    dash = make(vgg)
    for box in dash.style_layers.boxes.values():
        box.value = False
    with pytest.raises(ParameterError, match="tick at least one style layer"):
        dash.run(wait=True)
    dash.run_button.click()  # from the button: shown on the status line, not raised
    assert "cannot start" in dash.status.value and not dash.running
    assert not dash.run_button.disabled and dash.result is None


def test_a_headless_run_joins_the_thread_and_reports_finished(vgg):
    dash = make(vgg, steps=6)
    thread = dash.run(wait=True)
    assert isinstance(thread, threading.Thread) and not thread.is_alive()
    assert thread is not threading.main_thread()
    result = dash.result
    assert result.stop_reason == "completed" and result.evaluations == 6
    assert "finished" in dash.status.value and "evaluation 6" in dash.status.value
    assert not dash.run_button.disabled and dash.stop_button.disabled
    assert sorted(result.snapshots) == [1, 2, 3]  # the seed report's marks up to 6


def test_the_live_image_and_the_loss_plot_change_while_it_runs(vgg):
    dash = make(vgg, steps=12, update_every=5)
    before = (dash.live_image.value, dash.loss_plot.value)
    changes = {"image": 0, "plot": 0}
    dash.live_image.observe(lambda _: changes.__setitem__("image", changes["image"] + 1), "value")
    dash.loss_plot.observe(lambda _: changes.__setitem__("plot", changes["plot"] + 1), "value")
    dash.run(wait=True)
    # after evaluations 1, 5 and 10, and once more with the final (best) image
    assert changes == {"image": 4, "plot": 4}
    assert dash.live_image.value != before[0] and dash.loss_plot.value != before[1]
    assert dash.live_image.value == png_bytes(dash.result.image)


def test_stop_takes_effect_within_a_couple_of_evaluations_and_keeps_the_best_image(vgg):
    dash = make(vgg, steps=10_000, update_every=1000)
    dash.run()
    deadline = time.monotonic() + 60
    while (dash.transfer is None or dash.transfer.evaluations < 3) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert dash.running
    dash.stop()
    at_stop = dash.transfer.evaluations
    result = dash.wait(timeout=60)
    assert not dash.running
    assert result.stop_reason == "stopped"
    assert at_stop <= result.evaluations <= at_stop + 2
    best = min(range(result.evaluations), key=lambda i: result.history[i]["total"])
    assert result.best_evaluation == best + 1
    assert torch.equal(result.image, dash.transfer.best_image)
    assert "stopped" in dash.status.value
    assert f"evaluation {result.evaluations}" in dash.status.value


def test_a_second_run_is_refused_while_one_is_in_progress_and_allowed_after(vgg):
    dash = make(vgg, steps=10_000, update_every=1000)
    dash.run()
    try:
        with pytest.raises(RuntimeError, match="in progress"):
            dash.run()
    finally:
        dash.stop()
        dash.wait(timeout=60)
    dash.run(wait=True, steps=2)
    assert dash.result.evaluations == 2


def test_an_error_in_the_thread_is_shown_and_raised_to_a_waiting_caller(vgg, monkeypatch):
    dash = make(vgg)

    def broken(size=None):
        raise ImageError("cannot read that file")

    monkeypatch.setattr(dash.content_picker, "image", broken)
    with pytest.raises(ImageError, match="cannot read"):
        dash.run(wait=True)
    assert "failed" in dash.status.value
    assert not dash.run_button.disabled


def test_saving_never_overwrites_unless_asked(vgg, tmp_path):
    dash = make(vgg, steps=2)
    with pytest.raises(RuntimeError, match="no result"):
        dash.save(tmp_path / "out.png")
    dash.run(wait=True)
    first = dash.save(tmp_path / "out.png")
    second = dash.save(tmp_path / "out.png")
    assert (first.name, second.name) == ("out.png", "out-1.png")
    again = dash.save(tmp_path / "out.png", overwrite=True)
    assert again == first and not (tmp_path / "out-2.png").exists()
    dash.save_name.value = str(tmp_path / "from-button.png")
    dash.save_button.click()
    assert (tmp_path / "from-button.png").exists() and "Saved" in dash.save_message.value


def test_the_buttons_run_and_stop(vgg):
    dash = make(vgg, steps=10_000, update_every=1000)
    dash.run_button.click()
    deadline = time.monotonic() + 60
    while (dash.transfer is None or dash.transfer.evaluations < 1) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert "running" in dash.status.value
    dash.stop_button.click()
    result = dash.wait(timeout=60)
    assert result.stop_reason == "stopped" and "stopped" in dash.status.value


def test_the_other_pooling_uses_the_same_weights_with_that_pooling(vgg):
    dash = make(vgg, steps=1)
    dash.pooling.value = "avg"
    dash.run(wait=True)
    other = dash._network("avg")
    assert dash.result.settings["pooling"] == "avg" and other.pooling == "avg"
    assert other is dash._network("avg")  # built once
    pairs = zip(other.state_dict().values(), vgg.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)  # the loaded weights, not another network's
    dash.pooling.value = "max"  # the network it was given
    dash.run(wait=True)
    assert dash.result.settings["pooling"] == "max" and dash._network("max") is vgg


def test_switching_the_pooling_keeps_the_caffe_network_and_its_beta():
    """The paper profile loads the Caffe network with average pooling; choosing max pooling must
    not swap in torchvision's network under Caffe's β (a run ~1e5 times too content-heavy)."""
    caffe = caffe_vgg()
    dash = make(caffe, steps=1)
    dash.pooling.value = "avg"
    dash.run(wait=True)
    other = dash._network("avg")
    assert other.network == "caffe" and other.pooling == "avg"
    assert dash.result.settings["beta"] == pytest.approx(nst.default_beta(caffe), rel=1e-6)


def caffe_vgg() -> nst.VGG19Features:
    """A VGG19 with random weights that says its weights are the authors' Caffe ones."""
    torch.manual_seed(0)
    return VGG19Features("max", network="caffe")


def test_the_ratio_slider_starts_at_the_loaded_networks_default(vgg):
    caffe = caffe_vgg()
    dash = make(caffe)
    assert dash.ratio.value == pytest.approx(1 / DEFAULT_BETAS["caffe"], rel=1e-6)
    assert dash.ratio.min <= -5 < dash.ratio.max  # reaches the paper's own α/β region
    assert dash.settings().beta == pytest.approx(nst.default_beta(caffe), rel=1e-6)
    # the note names the network and gives the paper's equivalent for it: 1e-3 at 256², here 32²
    side = int(dash.size.value)
    expected = paper_equivalent(dash.ratio.value, (side, side), "caffe")
    assert "caffe's weights" in dash.ratio_note.value
    assert f"{expected:.0e}" in dash.ratio_note.value
    torchvision = make(vgg)
    assert torchvision.ratio.value == pytest.approx(1 / DEFAULT_BETAS["torchvision"], rel=1e-6)
    assert "torchvision's weights" in torchvision.ratio_note.value
    assert dash.ratio.value / torchvision.ratio.value > 1e4  # ~1e5 apart: not one shared start


def test_a_run_with_the_caffe_network_uses_its_default_beta():
    caffe = caffe_vgg()
    dash = make(caffe, steps=1)
    dash.run(wait=True)
    assert dash.result.settings["beta"] == pytest.approx(nst.default_beta(caffe), rel=1e-6)


def test_a_pre_relu_content_layer_gets_a_note_and_the_profiles_precision_is_used(vgg):
    dash = make(vgg, precision="bf16")
    assert dash.layer_note.value == ""  # relu4_2: the paper's conv4_2, nothing to say
    dash.content_layer.value = "conv4_2"
    assert "before the ReLU" in dash.layer_note.value and "relu4_2" in dash.layer_note.value
    assert dash.settings().content_layers == ("conv4_2",)
    assert dash.settings().precision == "bf16"
    dash.content_layer.value = "relu2_2"
    assert dash.layer_note.value == ""
