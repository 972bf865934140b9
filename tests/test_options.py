"""The options beyond the paper together (each extension's own tests: tests/extensions/): they run
bit-identically on the fused and plain paths, their settings are recorded and survive a saved
run, and bad values are refused before any work."""

from __future__ import annotations

import json
import math

import pytest
import torch

import nst_helpers as nst
from nst_helpers.errors import ParameterError
from nst_helpers.runs import load_run, save_run

from .conftest import smooth_image
from .test_transfer import CountingVGG


def mid(h: int, w: int, seed: int) -> torch.Tensor:
    """A smooth image in [0.25, 0.75]: recolouring it never reaches the clamp at 0 or 1."""
    return 0.25 + 0.5 * smooth_image(h, w, seed)


def make(content, style, vgg, **options) -> nst.StyleTransfer:
    options.setdefault("steps", 4)
    return nst.StyleTransfer(content, style, vgg=vgg, **options)


class PlainVGG(nst.VGG19Features):
    """``forward`` overridden: the engine takes the plain (unfused) path."""

    def forward(self, images, layers=None):
        return super().forward(images, layers)


def test_the_options_run_bit_identically_on_the_fused_and_plain_paths(vgg):
    plain_vgg = PlainVGG()
    plain_vgg.load_state_dict(vgg.state_dict())
    content, styles = mid(32, 40, 1), [smooth_image(48, 32, 2), smooth_image(40, 40, 3)]
    options = {
        "preserve_color": "luminance",
        "style_blend": [2, 1],
        "style_scale": 1.5,
        "tv_weight": 0.01,
        "steps": 4,
    }
    fused = make(content, styles, vgg, **options)
    plain = make(content, styles, plain_vgg, **options)
    assert fused._fused and not plain._fused
    a, b = fused.run(), plain.run()
    assert [r["total"] for r in a.history] == [r["total"] for r in b.history]
    assert torch.equal(a.image, b.image)


def test_settings_record_the_options_and_survive_save_and_load(vgg, content, style, tmp_path):
    defaults = make(content, style, vgg).settings
    assert {k: defaults[k] for k in ("styles", "style_blend", "style_scale")} == {
        "styles": 1,
        "style_blend": None,
        "style_scale": None,
    }
    assert defaults["preserve_color"] is None and defaults["tv_weight"] == 0.0
    result = make(
        content,
        [style, smooth_image(40, 40, 3)],
        vgg,
        style_blend=[1, 3],
        preserve_color="histogram",
        style_scale=1.2,
        tv_weight=0.5,
        steps=3,
    ).run()
    save_run(result, tmp_path / "run")
    loaded = load_run(tmp_path / "run")
    assert loaded.settings == json.loads(json.dumps(result.settings))
    assert loaded.settings["style_blend"] == [0.25, 0.75]
    assert loaded.settings["preserve_color"] == "histogram" and loaded.history == result.history


# --------------------------------------------------------------------------- coarse to fine


@pytest.mark.parametrize(
    "options, message",
    [
        ({"preserve_color": "lab"}, "preserve_color must be one of luminance, histogram or None"),
        ({"preserve_color": "luminance", "content": None}, "preserve_color='luminance' needs a"),
        ({"preserve_color": "histogram", "style": None}, "preserve_color='histogram' needs a"),
        ({"style_blend": [1, 1]}, "style_blend: 2 weights for 1 style image"),
        ({"style_blend": [1, 1, 1], "style": "two"}, "style_blend: 3 weights for 2 style images"),
        ({"style_blend": [-1, 2], "style": "two"}, "style_blend must be finite and ≥ 0"),
        ({"style_blend": [0, 0], "style": "two"}, "style_blend: the weights are all 0"),
        ({"style_blend": [1, math.nan], "style": "two"}, "style_blend must be finite"),
        ({"style_blend": "0.5", "style": "two"}, "style_blend must be a list of numbers"),
        ({"style_blend": [1], "style": None}, "style_blend needs style images"),
        ({"style": []}, "style: the list is empty"),
        ({"style": "with None"}, "style: a list of style images may not contain None"),
        ({"style_scale": 0}, "style_scale must be finite and > 0"),
        ({"style_scale": math.inf}, "style_scale must be finite and > 0"),
        ({"style_scale": "big"}, "style_scale must be a number"),
        ({"tv_weight": -0.1}, "tv_weight must be finite and ≥ 0"),
        ({"tv_weight": math.nan}, "tv_weight must be finite and ≥ 0"),
        ({"init": torch.rand(1, 3, 8, 8)}, r"init: the tensor is \(8, 8\)"),
    ],
)
def test_bad_option_values_are_refused_before_any_work(vgg, content, style, options, message):
    counting = CountingVGG(vgg)
    options = dict(options)
    c = options.pop("content", content)
    s = options.pop("style", style)
    s = {"two": [style, style], "with None": [style, None]}.get(s, s) if isinstance(s, str) else s
    with pytest.raises(ParameterError, match=message):
        make(c, s, counting, **options)
    assert counting.calls == 0
