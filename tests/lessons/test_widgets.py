"""The shared widgets: an image picker that works offline, layer weights w_l, a log slider.
(Bad uploads and out-of-range values: tests/test_safety.py.)"""

from __future__ import annotations

import pytest

from nst_helpers.lessons.widgets import ImagePicker, LayerWeights, log_slider
from nst_helpers.samples import SAMPLES


def test_a_picker_offers_its_kind_and_every_offline_sample():
    picker = ImagePicker("style", "starry_night", "waves", kind="style")
    options = list(picker.dropdown.options)
    assert "starry_night" in options and "tubingen" not in options  # kind="style"
    assert {n for n, s in SAMPLES.items() if s.offline} <= set(options)  # usable without network
    assert picker.value == "starry_night"
    unknown = ImagePicker("image", "no such sample", "waves")  # an unknown default: the first
    assert unknown.value == unknown.dropdown.options[0]


def test_without_network_the_picker_shows_its_fallback_and_says_so():
    picker = ImagePicker("content", "tubingen", "grace_hopper", kind="content")
    with pytest.warns(UserWarning, match="tubingen"):  # the download is refused here
        image = picker.image(size=24)
    assert image.shape[:2] == (1, 3) and max(image.shape[-2:]) == 24
    assert "grace_hopper" in picker.message.value
    picker.dropdown.value = "grace_hopper"
    picker.image(size=24)
    assert picker.message.value == ""


def test_layer_weights_are_the_checked_layers_normalised_to_sum_to_one():
    weights = LayerWeights(["relu1_1", "relu2_1", "relu3_1"], selected=["relu3_1", "relu1_1"])
    assert weights.layers == ["relu1_1", "relu3_1"]  # network order
    weights.sliders["relu1_1"].value = 0.25
    weights.sliders["relu3_1"].value = 0.75
    assert weights.weights == pytest.approx({"relu1_1": 0.25, "relu3_1": 0.75})
    weights.sliders["relu1_1"].value = weights.sliders["relu3_1"].value = 0.0
    assert weights.weights == {"relu1_1": 0.5, "relu3_1": 0.5}  # all at 0: equal weights


def test_a_log_slider_spans_powers_of_ten():
    slider = log_slider("α/β", 1e-3, -5, -1)
    assert (slider.min, slider.max, slider.base) == (-5, -1, 10) and slider.value == 1e-3
