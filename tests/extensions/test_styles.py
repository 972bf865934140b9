"""Several blended styles and the style scale (``extensions/styles.py``)."""

from __future__ import annotations

import pytest
import torch

import nst_helpers as nst
from nst_helpers.errors import ImageError

from ..conftest import smooth_image
from ..test_transfer import CountingVGG
from . import make


def test_blend_weights_one_and_zero_give_the_single_styles_targets(vgg, content):
    s1, s2 = smooth_image(48, 32, 2), smooth_image(40, 40, 3)
    single = make(content, s1, vgg).style_targets
    blended = make(content, [s1, s2], vgg, style_blend=[1, 0]).style_targets
    for name in nst.PAPER_STYLE_LAYERS:
        torch.testing.assert_close(blended[name], single[name], rtol=0, atol=0)
    only_second = make(content, [s1, s2], vgg, style_blend=[0, 2.5]).style_targets
    torch.testing.assert_close(
        only_second["relu1_1"], make(content, s2, vgg).style_targets["relu1_1"]
    )


@pytest.mark.parametrize("blend", [None, [0.5, 0.5], [3, 3]])
def test_equal_blends_give_the_average_gram(vgg, content, blend):
    s1, s2 = smooth_image(48, 32, 2), smooth_image(40, 40, 3)
    a1, a2 = make(content, s1, vgg).style_targets, make(content, s2, vgg).style_targets
    transfer = make(content, [s1, s2], vgg, style_blend=blend)
    for name in nst.PAPER_STYLE_LAYERS:
        torch.testing.assert_close(transfer.style_targets[name], (a1[name] + a2[name]) / 2)
    assert transfer.settings["style_blend"] == [0.5, 0.5] and transfer.settings["styles"] == 2


def test_a_blend_is_the_weighted_sum_with_normalised_weights(vgg, content):
    styles = [smooth_image(48, 32, 2), smooth_image(40, 40, 3), smooth_image(36, 36, 4)]
    singles = [make(content, s, vgg).style_targets["relu2_1"] for s in styles]
    transfer = make(content, styles, vgg, style_blend=(2, 1, 1))
    expected = 0.5 * singles[0] + 0.25 * singles[1] + 0.25 * singles[2]
    torch.testing.assert_close(transfer.style_targets["relu2_1"], expected)
    assert transfer.settings["style_blend"] == [0.5, 0.25, 0.25]
    assert len(transfer.style_images) == 3 and transfer.style_image is transfer.style_images[0]


def test_one_style_in_a_list_or_with_a_blend_of_one_weight_is_the_single_style(vgg, content, style):
    single = make(content, style, vgg).run()
    for options in ({"style": [style]}, {"style": style, "style_blend": [3.0]}):
        s = options.pop("style")
        again = make(content, s, vgg, **options).run()
        assert torch.equal(again.image, single.image)
        assert [r["total"] for r in again.history] == [r["total"] for r in single.history]


# --------------------------------------------------------------------------- style scale


def test_style_scale_sets_the_style_long_side_relative_to_the_result(vgg, content):
    style = smooth_image(48, 32, 2)  # the result is 32 × 40: long side 40
    assert make(content, style, vgg).style_image.shape[-2:] == (48, 32)  # default: as given
    one = make(content, style, vgg, style_scale=1.0)
    two = make(content, style, vgg, style_scale=2.0)
    assert one.style_image.shape[-2:] == (40, 27) and two.style_image.shape[-2:] == (80, 53)
    assert one.settings["style_scale"] == 1.0
    relative = (two.style_targets["relu1_1"] - one.style_targets["relu1_1"]).norm()
    assert relative / one.style_targets["relu1_1"].norm() > 1e-3  # other strokes, other Grams


def test_style_scale_one_with_files_loaded_at_size_changes_nothing(vgg, tmp_path):
    c = nst.save_image(smooth_image(40, 50, 1), tmp_path / "c.png")  # loaded at 32 × 40
    s = nst.save_image(smooth_image(64, 50, 2), tmp_path / "s.png")
    plain = make(c, s, vgg, size=40).run()
    scaled = make(c, s, vgg, size=40, style_scale=1.0).run()
    assert torch.equal(plain.image, scaled.image)
    assert [r["total"] for r in plain.history] == [r["total"] for r in scaled.history]


def test_a_style_scale_too_small_for_the_layers_is_refused(vgg, content, style):
    counting = CountingVGG(vgg)
    with pytest.raises(ImageError, match=r"style .* 16 px"):
        make(content, style, counting, style_scale=0.2)
    assert counting.calls == 0


# --------------------------------------------------------------------------- total variation
