"""``Options``: every option of a run and its default in one place, checked once, before any work.
The options beyond the paper together (each extension's own tests: tests/extensions/)."""

from __future__ import annotations

import dataclasses
import inspect
import json
import math

import pytest
import torch

import nst_helpers as nst
from nst_helpers.errors import ParameterError
from nst_helpers.options import DEFAULT_SNAPSHOTS, Options
from nst_helpers.runs import load_run, save_run

from .conftest import smooth_image
from .test_transfer import CountingVGG


def test_the_defaults_are_the_papers_method_with_torchvisions_network():
    o = Options()
    assert o.content_layers == ("relu4_2",) and len(o.style_layers) == 5
    assert (o.alpha, o.beta, o.pooling, o.optimizer, o.init) == (
        1.0,
        None,
        "max",
        "lbfgs",
        "content",
    )
    assert o.snapshot_at == DEFAULT_SNAPSHOTS and o.steps == 300 and o.size is None


def test_replace_checks_again_and_refuses_unknown_names():
    o = Options().replace(steps=50, style_layers=["relu1_1", "relu1_1", "relu2_1"])
    assert o.steps == 50 and o.style_layers == ("relu1_1", "relu2_1")  # duplicates dropped
    with pytest.raises(ParameterError, match="stpes"):
        Options().replace(stpes=5)
    with pytest.raises(ParameterError, match="steps"):
        Options().replace(steps=0)


def test_run_style_transfer_shows_every_option_in_its_signature():
    shown = inspect.signature(nst.run_style_transfer).parameters
    for field in dataclasses.fields(Options):
        assert shown[field.name].default == field.default


@pytest.mark.parametrize(
    "options, name",
    [
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"steps": True}, "steps"),
        ({"alpha": -1}, "alpha"),
        ({"beta": math.nan}, "beta"),
        ({"lr": 0}, "lr"),
        ({"size": 0}, "size"),
        ({"size": (64, "a")}, "size"),
        ({"pooling": "mean"}, "pooling"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"init": "zeros"}, "init"),
        ({"content_layers": ["conv9_9"]}, "content_layers"),
        ({"style_weights": {"relu9_9": 1.0}}, "style_weights"),
        ({"style_weights": [1.0]}, "style_weights"),
        ({"snapshot_at": [0]}, "snapshot_at"),
        ({"snapshot_at": "often"}, "snapshot_at"),
        ({"preserve_color": "lab"}, "preserve_color"),
        ({"style_blend": [-1, 2]}, "style_blend"),
        ({"style_blend": [0, 0]}, "style_blend"),
        ({"style_blend": "0.5"}, "style_blend"),
        ({"style_scale": 0}, "style_scale"),
        ({"style_scale": math.inf}, "style_scale"),
        ({"tv_weight": -0.1}, "tv_weight"),
        ({"device": "no-such-device"}, "device"),
    ],
)
def test_a_bad_value_is_refused_in_one_line_naming_the_option(options, name):
    with pytest.raises(ParameterError, match=name) as info:
        Options(**options)
    assert "\n" not in str(info.value)


def mid(h: int, w: int, seed: int) -> torch.Tensor:
    """A smooth image in [0.25, 0.75]: recolouring it never reaches the clamp at 0 or 1."""
    return 0.25 + 0.5 * smooth_image(h, w, seed)


@pytest.mark.parametrize(
    "options, name",
    [
        ({"preserve_color": "luminance", "content": None, "init": "noise"}, "preserve_color"),
        ({"style_blend": [1, 1]}, "style_blend"),
        ({"style_blend": [1, 1, 1], "style": "two"}, "style_blend"),
        ({"style": []}, "style"),
        ({"style": "with None"}, "style"),
        ({"alpha": 0, "beta": 0}, "nothing to optimise"),
        ({"alpha": 0, "style": None}, "nothing to optimise"),
        ({"init": torch.rand(1, 3, 8, 8)}, "init"),
        ({"init": "style", "style": None}, "init"),
    ],
)
def test_values_that_do_not_fit_the_images_are_refused_before_any_work(
    vgg, content, style, options, name
):
    counting = CountingVGG(vgg)
    options = dict(options)
    c, s = options.pop("content", content), options.pop("style", style)
    s = {"two": [style, style], "with None": [style, None]}.get(s, s) if isinstance(s, str) else s
    with pytest.raises(ParameterError, match=name):
        nst.StyleTransfer(c, s, vgg=counting, steps=2, **options)
    assert counting.calls == 0


def test_the_options_beyond_the_paper_run_together(vgg):
    content, styles = mid(32, 40, 1), [smooth_image(48, 32, 2), smooth_image(40, 40, 3)]
    options = {"preserve_color": "luminance", "style_blend": [2, 1], "style_scale": 1.5}
    result = nst.StyleTransfer(content, styles, vgg=vgg, tv_weight=0.01, steps=4, **options).run()
    assert result.stop_reason == "completed" and result.evaluations == 4
    assert result.image.shape == (1, 3, 32, 40) and "tv" in result.history[-1]


def test_settings_record_the_options_and_survive_save_and_load(vgg, content, style, tmp_path):
    defaults = nst.StyleTransfer(content, style, vgg=vgg, steps=2).settings
    assert defaults["style_blend"] is None and defaults["preserve_color"] is None
    assert defaults["beta"] == 1e9 and defaults["size"] == list(content.shape[-2:])
    result = nst.StyleTransfer(
        content, [style, smooth_image(40, 40, 3)], vgg=vgg, style_blend=[1, 3],
        preserve_color="histogram", style_scale=1.2, tv_weight=0.5, steps=3,
    ).run()  # fmt: skip
    save_run(result, tmp_path / "run")
    loaded = load_run(tmp_path / "run")
    assert loaded.settings == json.loads(json.dumps(result.settings))
    assert loaded.settings["style_blend"] == [0.25, 0.75]
    assert loaded.settings["preserve_color"] == "histogram" and loaded.history == result.history
