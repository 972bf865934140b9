"""Faults a learner can cause: no network, bad uploads, out-of-range widget values."""

from __future__ import annotations

import datetime
import io
import socket
import warnings

import pytest
from PIL import Image

import nst_helpers as nst
from nst_helpers.widgets import ImagePicker, LayerWeights, log_slider


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to reach the network fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"the package touched the network: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_a_whole_offline_run_never_touches_the_network(no_network):
    content = nst.load_sample("grace_hopper", size=32)
    style = nst.load_sample("waves", size=32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vgg = nst.load_vgg19("random", device="cpu")
    result = nst.run_style_transfer(content, style, vgg=vgg, steps=2, progress=False)
    assert result.evaluations == 2
    assert nst.weights_status()["found"] is None  # looking for weights reads files only


def upload(picker: ImagePicker, name: str, data: bytes) -> None:
    picker.upload.value = (
        {
            "name": name,
            "type": "image/png",
            "size": len(data),
            "content": memoryview(data),
            "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
        },
    )


def test_a_bad_upload_shows_its_error_and_keeps_the_choice():
    picker = ImagePicker("content", "grace_hopper", "grace_hopper", kind="content")
    before = picker.value
    upload(picker, "holiday.jpg", b"this is not a picture")
    assert "Cannot use holiday.jpg" in picker.message.value
    assert picker.value == before and not any("holiday" in o for o in picker.dropdown.options)


def test_a_good_upload_joins_the_choices_and_loads():
    picker = ImagePicker("style", "waves", "waves", kind="style")
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 10, 10)).save(buffer, format="PNG")
    upload(picker, "red.png", buffer.getvalue())
    assert picker.value == "upload: red.png"
    image = picker.image(size=20)
    assert image.shape == (1, 3, 10, 20) and image[0, 0].mean() > 0.7


def test_widgets_constrain_their_values():
    weights = LayerWeights()
    slider = weights.sliders["relu1_1"]
    slider.value = 5.0
    assert slider.value == 1.0
    slider.value = -2.0
    assert slider.value == 0.0
    for box in weights.boxes.values():
        box.value = False
    assert weights.layers == [] and weights.weights == {}
    ratio = log_slider("α/β", 1e-9, -12, -2)
    ratio.value = 1e3
    assert ratio.value == pytest.approx(1e-2)
