"""Options beyond the paper, as a specification: each changes what it should and nothing else.

Colour preservation (Gatys et al. 2017, Sec. 5: luminance-only transfer, colour histogram
matching), several blended styles, the style scale, the squared total-variation term and
coarse-to-fine runs. Their defaults leave the paper's runs bit for bit as they were.
"""

from __future__ import annotations

import json
import math
import sys
import time

import pytest
import torch

import nst_helpers as nst
from nst_helpers.colour import color_statistics, luminance
from nst_helpers.errors import ParameterError
from nst_helpers.multiscale import RssSampler, upsample
from nst_helpers.runs import load_run, save_run

from .conftest import smooth_image
from .test_transfer import CountingVGG


def mid(h: int, w: int, seed: int) -> torch.Tensor:
    """A smooth image in [0.25, 0.75]: recolouring it never reaches the clamp at 0 or 1."""
    return 0.25 + 0.5 * smooth_image(h, w, seed)


def make(content, style, vgg, **options) -> nst.StyleTransfer:
    options.setdefault("steps", 4)
    return nst.StyleTransfer(content, style, vgg=vgg, **options)


def tv_reference(x: torch.Tensor) -> float:
    """Σ over channels and pixels of the squared differences to the next row and column."""
    total = 0.0
    _, c, h, w = x.shape
    for ch in range(c):
        for i in range(h):
            for j in range(w):
                if i + 1 < h:
                    total += (x[0, ch, i + 1, j] - x[0, ch, i, j]).item() ** 2
                if j + 1 < w:
                    total += (x[0, ch, i, j + 1] - x[0, ch, i, j]).item() ** 2
    return total


# --------------------------------------------------------------------------- colour maths


def test_yiq_is_the_ntsc_transform_and_its_exact_inverse():
    rgb = torch.rand(2, 3, 5, 7)
    torch.testing.assert_close(nst.yiq_to_rgb(nst.rgb_to_yiq(rgb)), rgb, rtol=0, atol=1e-6)
    red = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    assert nst.rgb_to_yiq(red).flatten().tolist() == pytest.approx([0.299, 0.595716, 0.211456])
    grey = torch.full((1, 3, 4, 4), 0.4)
    yiq = nst.rgb_to_yiq(grey)
    torch.testing.assert_close(yiq[:, 0], torch.full((1, 4, 4), 0.4))  # Y of grey is its value
    assert yiq[:, 1:].abs().max() < 1e-7  # and it has no chrominance


def test_match_luminance_gives_the_style_the_contents_mean_and_deviation():
    style_y, content_y = luminance(smooth_image(20, 30, 1)), 0.3 * luminance(mid(16, 16, 2))
    matched = nst.match_luminance(style_y, content_y)
    assert matched.shape == style_y.shape
    assert matched.mean().item() == pytest.approx(content_y.mean().item(), abs=1e-6)
    assert matched.std(unbiased=False).item() == pytest.approx(
        content_y.std(unbiased=False).item(), rel=1e-5
    )
    # an affine map of the style: the pattern stays, only its level and contrast change
    corr = torch.corrcoef(torch.stack([matched.flatten(), style_y.flatten()]))[0, 1]
    assert corr.item() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("method", ["eigen", "cholesky"])
def test_histogram_matching_gives_the_style_the_contents_colour_mean_and_covariance(method):
    style, content = smooth_image(24, 36, 3), mid(30, 20, 4)
    matched = nst.match_color_histogram(style, content, method=method, eps=0.0)
    mu, cov = color_statistics(matched)
    mu_c, cov_c = color_statistics(content)
    torch.testing.assert_close(mu, mu_c, rtol=0, atol=1e-6)
    torch.testing.assert_close(cov, cov_c, rtol=1e-4, atol=1e-7)
    default = nst.match_color_histogram(style, content, method=method)  # eps = 1e-5
    torch.testing.assert_close(color_statistics(default)[1], cov_c, rtol=5e-3, atol=1e-5)


def _near_grey_style(noise: bool) -> torch.Tensor:
    """The issue's example: a grey style in 8-bit steps, with or without ±1/255 colour noise."""
    grey = smooth_image(48, 48, seed=2).mean(1, keepdim=True).expand(1, 3, 48, 48)
    grey = (grey * 255).round() / 255
    if not noise:
        return grey
    g = torch.Generator().manual_seed(0)
    return (grey + torch.randint(-1, 2, grey.shape, generator=g) / 255).clamp(0, 1)


@pytest.mark.parametrize("method", ["eigen", "cholesky"])
def test_histogram_matching_does_not_turn_invisible_colour_noise_into_speckle(method):
    """Issue 16: a near-grey style with ±1/255 colour noise gave red/green speckle (a 1/255 input
    change moved the result by up to ~50/255); the exact-grey image gave a smooth result."""
    content = smooth_image(48, 48, seed=1)  # colourful
    exact, noisy = _near_grey_style(False), _near_grey_style(True)
    a = nst.match_color_histogram(exact, content, method=method).clamp(0, 1)
    b = nst.match_color_histogram(noisy, content, method=method).clamp(0, 1)
    change = (a - b).abs() * 255
    assert change.max() <= 6 and change.mean() <= 3  # a few /255, not speckle
    unregularised = nst.match_color_histogram(noisy, content, method=method, max_gain=None)
    assert (unregularised.clamp(0, 1) - a).abs().max() * 255 > 30  # what it was: speckle
    # a style that spreads in every colour direction is still matched exactly
    style = smooth_image(24, 36, 3)
    torch.testing.assert_close(
        nst.match_color_histogram(style, mid(30, 20, 4), method=method, eps=0.0),
        nst.match_color_histogram(style, mid(30, 20, 4), method=method, eps=0.0, max_gain=None),
    )


def test_luminance_matching_stretches_a_flat_style_at_most_max_gain_times():
    content_y = luminance(smooth_image(40, 40, 1))
    g = torch.Generator().manual_seed(0)
    flat = 0.5 + torch.randint(-1, 2, (1, 1, 40, 40), generator=g) / 255  # noise only
    matched = nst.match_luminance(flat, content_y)
    gain = matched.std(unbiased=False) / flat.std(unbiased=False)
    assert gain.item() == pytest.approx(nst.colour.MAX_GAIN, rel=1e-4)
    assert (matched - content_y.mean()).abs().max() * 255 < 5  # ±1/255 stays a few /255
    exact = nst.match_luminance(flat, content_y, max_gain=None)
    assert exact.std(unbiased=False).item() == pytest.approx(
        content_y.std(unbiased=False).item(), rel=1e-5
    )


def test_the_two_histogram_methods_differ_but_the_eigen_one_ignores_channel_order():
    style, content = smooth_image(24, 24, 5), mid(24, 24, 6)
    eigen = nst.match_color_histogram(style, content, method="eigen", eps=0.0)
    chol = nst.match_color_histogram(style, content, method="cholesky", eps=0.0)
    assert (eigen - chol).abs().max() > 1e-3
    order = [2, 0, 1]
    permuted = nst.match_color_histogram(style[:, order], content[:, order], eps=0.0)
    torch.testing.assert_close(permuted, eigen[:, order], rtol=0, atol=1e-5)


def test_colour_functions_refuse_bad_input():
    with pytest.raises(ParameterError, match="method must be one of eigen, cholesky"):
        nst.match_color_histogram(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4), method="pca")
    flat, colourful = torch.full((1, 3, 4, 4), 0.5), torch.rand(1, 3, 4, 4)
    with pytest.raises(ParameterError, match="singular"):
        nst.match_color_histogram(flat, colourful, eps=0, max_gain=None)
    shifted = nst.match_color_histogram(flat, colourful, eps=0)  # regularised: only shifted
    torch.testing.assert_close(shifted, colourful.mean((2, 3), keepdim=True).expand_as(flat))
    with pytest.raises(ParameterError, match="max_gain must be None or a finite number ≥ 1"):
        nst.match_color_histogram(flat, colourful, max_gain=0.5)
    with pytest.raises(ParameterError, match=r"rgb_to_yiq: expected a float image tensor"):
        nst.rgb_to_yiq(torch.rand(1, 4, 4, 4))


# --------------------------------------------------------------------------- preserve_color


def test_luminance_only_transfer_keeps_the_contents_chrominance(vgg):
    content, style = mid(32, 40, 1), smooth_image(48, 32, 2)
    transfer = make(
        content, style, vgg, preserve_color="luminance", steps=6, beta=1e6, snapshot_at=[1, 6]
    )
    assert transfer.x.shape == (1, 1, 32, 40)  # only the luminance is optimised
    result = transfer.run()
    content_yiq = nst.rgb_to_yiq(content)
    for image in (result.image, transfer.image, *result.snapshots.values()):
        assert image.shape == content.shape
        yiq = nst.rgb_to_yiq(image)
        torch.testing.assert_close(yiq[:, 1:], content_yiq[:, 1:], rtol=0, atol=1e-5)
    change = (nst.rgb_to_yiq(result.image)[:, 0] - content_yiq[:, 0]).abs().max()
    assert change > 1e-3  # while the luminance did change
    torch.testing.assert_close(result.snapshots[1], content, rtol=0, atol=1e-5)  # init: content


def test_luminance_only_transfer_feeds_the_network_grey_images_with_matched_luminance(vgg):
    content, style = mid(32, 40, 1), mid(48, 32, 2)
    transfer = make(content, style, vgg, preserve_color="luminance")
    content_y = luminance(content)
    grey_style = transfer.style_image
    assert torch.equal(grey_style[:, 0], grey_style[:, 1])
    assert torch.equal(grey_style[:, 0], grey_style[:, 2])  # three equal channels
    assert grey_style[:, :1].mean().item() == pytest.approx(content_y.mean().item(), abs=1e-5)
    assert grey_style[:, :1].std(unbiased=False).item() == pytest.approx(
        content_y.std(unbiased=False).item(), rel=1e-4
    )
    with torch.no_grad():
        p = vgg(content_y.repeat(1, 3, 1, 1), ["relu4_2"])["relu4_2"]
        a = nst.gram_matrix(vgg(grey_style, ["relu3_1"])["relu3_1"]) * (8 * 10) / (12 * 8)
    torch.testing.assert_close(transfer.content_targets["relu4_2"], p)
    torch.testing.assert_close(transfer.style_targets["relu3_1"], a)


def test_histogram_preserve_color_recolours_the_style_and_nothing_else(vgg):
    content, style = mid(32, 40, 1), smooth_image(48, 32, 2)
    plain = make(content, style, vgg)
    matched = make(content, style, vgg, preserve_color="histogram")
    expected = nst.match_color_histogram(style, content).clamp(0, 1)
    torch.testing.assert_close(matched.style_image, expected, rtol=0, atol=0)
    with torch.no_grad():
        a = nst.gram_matrix(vgg(expected, ["relu2_1"])["relu2_1"]) * (16 * 20) / (24 * 16)
    torch.testing.assert_close(matched.style_targets["relu2_1"], a)
    assert not torch.equal(matched.style_targets["relu2_1"], plain.style_targets["relu2_1"])
    assert torch.equal(matched.content_targets["relu4_2"], plain.content_targets["relu4_2"])
    assert torch.equal(matched.x, plain.x) and matched.x.shape == (1, 3, 32, 40)


# --------------------------------------------------------------------------- several styles


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
    with pytest.raises(ParameterError, match=r"style_scale=0.2 makes a style image .* 16 px"):
        make(content, style, counting, style_scale=0.2)
    assert counting.calls == 0


# --------------------------------------------------------------------------- total variation


def test_total_variation_is_the_sum_of_squared_neighbour_differences():
    x = torch.rand(1, 2, 4, 5, dtype=torch.float64, requires_grad=True)
    tv = nst.total_variation(x)
    assert tv.item() == pytest.approx(tv_reference(x.detach()), rel=1e-12)
    assert torch.autograd.gradcheck(nst.total_variation, (x,))
    assert nst.total_variation(torch.full((1, 3, 6, 6), 0.3)).item() == 0.0


def test_tv_weight_zero_is_todays_run(vgg, content, style):
    plain = make(content, style, vgg, steps=5).run()
    zero = make(content, style, vgg, steps=5, tv_weight=0.0).run()
    assert torch.equal(plain.image, zero.image)
    assert zero.history == [
        dict(r, seconds=z["seconds"]) for r, z in zip(plain.history, zero.history, strict=True)
    ]
    assert "tv" not in zero.history[0] and zero.settings["tv_weight"] == 0.0


def test_tv_weight_adds_the_term_and_smooths_the_result(vgg, content, style):
    options = {"init": "noise", "steps": 12, "beta": 1e4}
    plain = make(content, style, vgg, **options).run()
    smooth = make(content, style, vgg, tv_weight=0.05, **options).run()
    for r in smooth.history:
        assert r["total"] == pytest.approx(
            r["content"] + 1e4 * r["style"] + 0.05 * r["tv"], rel=1e-5
        )
    first = smooth.snapshots[1]
    assert smooth.history[0]["tv"] == pytest.approx(tv_reference(first), rel=1e-4)
    assert nst.total_variation(smooth.image) < 0.8 * nst.total_variation(plain.image)


# --------------------------------------------------------------------------- all of them


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


def test_coarse_to_fine_ends_at_the_top_size_and_counts_evaluations_exactly(vgg):
    content, style = smooth_image(32, 40, 1), smooth_image(48, 32, 2)
    counting = CountingVGG(vgg)
    result = nst.run_coarse_to_fine(content, style, [24, 40], steps=[3, 2], vgg=counting)
    assert result.image.shape == (1, 3, 32, 40)
    assert result.evaluations == len(result.history) == 5
    assert counting.calls == (2 + 3) + (2 + 2)  # targets once per scale, one pass per evaluation
    assert [r["evaluation"] for r in result.history] == [1, 2, 3, 4, 5]
    assert [r["scale"] for r in result.history] == [24, 24, 24, 40, 40]
    seconds = [r["seconds"] for r in result.history]
    assert seconds == sorted(seconds) and result.seconds == seconds[-1]
    assert 4 <= result.best_evaluation <= 5  # the best image of the last scale
    assert result.settings["scales"] == [24, 40] and result.settings["scale_steps"] == [3, 2]
    assert result.settings["steps"] == 5 and result.settings["size"] == [32, 40]
    per_scale = result.settings["per_scale"]
    assert [p["size"] for p in per_scale] == [[19, 24], [32, 40]]
    assert [p["evaluations"] for p in per_scale] == [3, 2]
    assert all(p["seconds"] > 0 and p["memory"] for p in per_scale)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_the_memory_of_a_scale_is_its_own_peak_not_the_process_high_water_mark():
    """A run's peak RSS is sampled while it runs, after the heap's free memory is handed back: a
    small run after a large one reports a small peak (ru_maxrss would repeat the large one)."""
    with RssSampler() as big:
        block = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
        block += 1
        time.sleep(0.05)
    del block
    with RssSampler() as small:
        time.sleep(0.05)
    assert big.start_mb is not None and big.peak_mb is not None
    assert big.peak_mb - big.start_mb > 48
    assert small.peak_mb - small.start_mb < 16
    assert small.start_mb < big.peak_mb - 32  # the 64 MiB went back to the system


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_coarse_to_fine_reports_each_scales_memory_at_start_and_peak(vgg, content, style):
    result = nst.run_coarse_to_fine(content, style, [24, 40], steps=2, vgg=vgg)
    for scale in result.settings["per_scale"]:
        assert scale["memory"] == "process peak RSS during this scale (sampled every 5 ms)"
        assert 0 < scale["start_memory_mb"] <= scale["peak_memory_mb"]


def test_each_scale_starts_from_the_previous_result_upsampled(vgg):
    content, style = smooth_image(32, 40, 1), smooth_image(48, 32, 2)
    result = nst.run_coarse_to_fine(
        content, style, [24, 40], steps=3, vgg=vgg, init="noise", snapshot_at=range(1, 7)
    )
    assert sorted(result.snapshots) == [1, 2, 3, 4, 5, 6]  # marks count over all scales
    assert result.snapshots[3].shape[-2:] == (19, 24) and result.snapshots[4].shape[-2:] == (32, 40)
    noise = torch.rand((1, 3, 19, 24), generator=torch.Generator().manual_seed(0))
    assert torch.equal(result.snapshots[1], noise)  # scale 1 starts from ``init``
    scale_1 = [r for r in result.history if r["scale"] == 24]
    best = min(scale_1, key=lambda r: r["total"])["evaluation"]
    # evaluation 4, the first at scale 2, is computed on scale 1's best image, upsampled
    assert torch.equal(result.snapshots[4], upsample(result.snapshots[best], (32, 40)))


def test_run_style_transfer_with_scales_is_a_coarse_to_fine_run(vgg, content, style, tmp_path):
    a = nst.run_style_transfer(content, style, vgg=vgg, scales=[24, 40], steps=2, progress=False)
    b = nst.run_coarse_to_fine(content, style, [24, 40], vgg=vgg, steps=2)
    assert a.evaluations == b.evaluations == 4 and a.image.shape == (1, 3, 32, 40)
    # not bit for bit: at some small sizes (19 × 24 here) the CPU kernels are not deterministic
    torch.testing.assert_close(a.image, b.image, rtol=0, atol=1e-4)
    assert [r["total"] for r in a.history] == pytest.approx([r["total"] for r in b.history])
    save_run(a, tmp_path / "run")
    assert load_run(tmp_path / "run").settings["per_scale"][1]["size"] == [32, 40]


def test_coarse_to_fine_keeps_the_options_at_every_scale(vgg):
    content, style = mid(32, 40, 1), smooth_image(48, 32, 2)
    result = nst.run_coarse_to_fine(
        content, style, [24, 40], steps=3, vgg=vgg, preserve_color="luminance", beta=1e6
    )
    iq = nst.rgb_to_yiq(result.image)[:, 1:]
    torch.testing.assert_close(iq, nst.rgb_to_yiq(content)[:, 1:], rtol=0, atol=1e-5)
    assert result.settings["preserve_color"] == "luminance"


def test_a_stopped_scale_ends_the_whole_run(vgg, content, style):
    def callback(transfer, record):
        if record["evaluation"] == 2:
            raise KeyboardInterrupt

    result = nst.run_coarse_to_fine(content, style, [24, 40], steps=3, vgg=vgg, callback=callback)
    assert result.stop_reason == "interrupted" and result.evaluations == 2
    assert len(result.settings["per_scale"]) == 1


@pytest.mark.parametrize(
    "scales, options, message",
    [
        ([], {}, "scales must be a non-empty list"),
        ("256", {}, "scales must be a non-empty list"),
        ([40, 24], {}, r"scales must be positive and increasing, not \[40, 24\]"),
        ([24, 24], {}, "scales must be positive and increasing"),
        ([0, 24], {}, "scales must be positive and increasing"),
        ([24.5, 40], {}, "scales must be whole numbers"),
        ([24, 40], {"steps": [3]}, "steps: 1 numbers for 2 scales"),
        ([24, 40], {"steps": [3, 0]}, "steps must be a whole number ≥ 1 or one per scale"),
        ([24, 40], {"size": 40}, "size and scales"),
        ([8, 40], {}, "at least 16 px"),
        ([24, 40], {"tv_weight": -1}, "tv_weight must be finite and ≥ 0"),
    ],
)
def test_bad_coarse_to_fine_values_are_refused_before_any_work(
    vgg, content, style, scales, options, message
):
    counting = CountingVGG(vgg)
    with pytest.raises((ParameterError, nst.ImageError), match=message):
        nst.run_coarse_to_fine(content, style, scales, vgg=counting, **options)
    assert counting.calls == 0


# --------------------------------------------------------------------------- bad values


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
