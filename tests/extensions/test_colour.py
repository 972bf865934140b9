"""Colour preservation (Gatys et al. 2017, Sec. 5): luminance-only transfer and colour histogram
matching, the maths and the runs (``extensions/colour.py``)."""

from __future__ import annotations

import pytest
import torch

import nst_helpers as nst
from nst_helpers.errors import ParameterError
from nst_helpers.extensions.colour import (
    MAX_GAIN,
    color_statistics,
    luminance,
    match_color_histogram,
    match_luminance,
    rgb_to_yiq,
    yiq_to_rgb,
)

from ..conftest import smooth_image
from . import make, mid


def test_yiq_is_the_ntsc_transform_and_its_exact_inverse():
    rgb = torch.rand(2, 3, 5, 7)
    torch.testing.assert_close(yiq_to_rgb(rgb_to_yiq(rgb)), rgb, rtol=0, atol=1e-6)
    red = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    assert rgb_to_yiq(red).flatten().tolist() == pytest.approx([0.299, 0.595716, 0.211456])
    grey = torch.full((1, 3, 4, 4), 0.4)
    yiq = rgb_to_yiq(grey)
    torch.testing.assert_close(yiq[:, 0], torch.full((1, 4, 4), 0.4))  # Y of grey is its value
    assert yiq[:, 1:].abs().max() < 1e-7  # and it has no chrominance


def test_match_luminance_gives_the_style_the_contents_mean_and_deviation():
    style_y, content_y = luminance(smooth_image(20, 30, 1)), 0.3 * luminance(mid(16, 16, 2))
    matched = match_luminance(style_y, content_y)
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
    matched = match_color_histogram(style, content, method=method, eps=0.0)
    mu, cov = color_statistics(matched)
    mu_c, cov_c = color_statistics(content)
    torch.testing.assert_close(mu, mu_c, rtol=0, atol=1e-6)
    torch.testing.assert_close(cov, cov_c, rtol=1e-4, atol=1e-7)
    default = match_color_histogram(style, content, method=method)  # eps = 1e-5
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
    a = match_color_histogram(exact, content, method=method).clamp(0, 1)
    b = match_color_histogram(noisy, content, method=method).clamp(0, 1)
    change = (a - b).abs() * 255
    assert change.max() <= 6 and change.mean() <= 3  # a few /255, not speckle
    unregularised = match_color_histogram(noisy, content, method=method, max_gain=None)
    assert (unregularised.clamp(0, 1) - a).abs().max() * 255 > 30  # what it was: speckle
    # a style that spreads in every colour direction is still matched exactly
    style = smooth_image(24, 36, 3)
    torch.testing.assert_close(
        match_color_histogram(style, mid(30, 20, 4), method=method, eps=0.0),
        match_color_histogram(style, mid(30, 20, 4), method=method, eps=0.0, max_gain=None),
    )


def test_luminance_matching_stretches_a_flat_style_at_most_max_gain_times():
    content_y = luminance(smooth_image(40, 40, 1))
    g = torch.Generator().manual_seed(0)
    flat = 0.5 + torch.randint(-1, 2, (1, 1, 40, 40), generator=g) / 255  # noise only
    matched = match_luminance(flat, content_y)
    gain = matched.std(unbiased=False) / flat.std(unbiased=False)
    assert gain.item() == pytest.approx(MAX_GAIN, rel=1e-4)
    assert (matched - content_y.mean()).abs().max() * 255 < 5  # ±1/255 stays a few /255
    exact = match_luminance(flat, content_y, max_gain=None)
    assert exact.std(unbiased=False).item() == pytest.approx(
        content_y.std(unbiased=False).item(), rel=1e-5
    )


def test_the_two_histogram_methods_differ_but_the_eigen_one_ignores_channel_order():
    style, content = smooth_image(24, 24, 5), mid(24, 24, 6)
    eigen = match_color_histogram(style, content, method="eigen", eps=0.0)
    chol = match_color_histogram(style, content, method="cholesky", eps=0.0)
    assert (eigen - chol).abs().max() > 1e-3
    order = [2, 0, 1]
    permuted = match_color_histogram(style[:, order], content[:, order], eps=0.0)
    torch.testing.assert_close(permuted, eigen[:, order], rtol=0, atol=1e-5)


def test_colour_functions_refuse_bad_input():
    with pytest.raises(ParameterError, match="method must be one of eigen, cholesky"):
        match_color_histogram(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4), method="pca")
    flat, colourful = torch.full((1, 3, 4, 4), 0.5), torch.rand(1, 3, 4, 4)
    with pytest.raises(ParameterError, match="singular"):
        match_color_histogram(flat, colourful, eps=0, max_gain=None)
    shifted = match_color_histogram(flat, colourful, eps=0)  # regularised: only shifted
    torch.testing.assert_close(shifted, colourful.mean((2, 3), keepdim=True).expand_as(flat))
    with pytest.raises(ParameterError, match="max_gain must be None or a finite number ≥ 1"):
        match_color_histogram(flat, colourful, max_gain=0.5)
    with pytest.raises(ParameterError, match=r"rgb_to_yiq: expected a float image tensor"):
        rgb_to_yiq(torch.rand(1, 4, 4, 4))


# --------------------------------------------------------------------------- preserve_color


def test_luminance_only_transfer_keeps_the_contents_chrominance(vgg):
    content, style = mid(32, 40, 1), smooth_image(48, 32, 2)
    transfer = make(
        content, style, vgg, preserve_color="luminance", steps=6, beta=1e6, snapshot_at=[1, 6]
    )
    assert transfer.x.shape == (1, 1, 32, 40)  # only the luminance is optimised
    result = transfer.run()
    content_yiq = rgb_to_yiq(content)
    for image in (result.image, transfer.image, *result.snapshots.values()):
        assert image.shape == content.shape
        yiq = rgb_to_yiq(image)
        torch.testing.assert_close(yiq[:, 1:], content_yiq[:, 1:], rtol=0, atol=1e-5)
    change = (rgb_to_yiq(result.image)[:, 0] - content_yiq[:, 0]).abs().max()
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
    expected = match_color_histogram(style, content).clamp(0, 1)
    torch.testing.assert_close(matched.style_image, expected, rtol=0, atol=0)
    with torch.no_grad():
        a = nst.gram_matrix(vgg(expected, ["relu2_1"])["relu2_1"]) * (16 * 20) / (24 * 16)
    torch.testing.assert_close(matched.style_targets["relu2_1"], a)
    assert not torch.equal(matched.style_targets["relu2_1"], plain.style_targets["relu2_1"])
    assert torch.equal(matched.content_targets["relu4_2"], plain.content_targets["relu4_2"])
    assert torch.equal(matched.x, plain.x) and matched.x.shape == (1, 3, 32, 40)


# --------------------------------------------------------------------------- several styles
