"""Coarse-to-fine runs (``coarse_to_fine.py``): a loop of plain runs at increasing sizes."""

from __future__ import annotations

import sys
import time

import pytest
import torch

from nst_helpers.coarse_to_fine import run_coarse_to_fine, upsample
from nst_helpers.errors import ImageError, ParameterError
from nst_helpers.extensions.colour import rgb_to_yiq
from nst_helpers.memory import PeakRss
from nst_helpers.runs import load_run, save_run

from .conftest import smooth_image
from .extensions import mid
from .test_transfer import CountingVGG


def test_coarse_to_fine_ends_at_the_top_size_and_counts_evaluations_exactly(vgg):
    content, style = smooth_image(32, 40, 1), smooth_image(48, 32, 2)
    counting = CountingVGG(vgg)
    result = run_coarse_to_fine(content, style, [24, 40], steps=[3, 2], vgg=counting)
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
    assert all(p["seconds"] > 0 for p in per_scale)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_the_memory_of_a_scale_is_its_own_peak_not_the_process_high_water_mark():
    """A run's peak RSS is measured while it runs, after the heap's free memory is handed back: a
    small run after a large one reports a small peak (ru_maxrss would repeat the large one)."""
    with PeakRss() as big:
        block = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
        block += 1
        time.sleep(0.05)
    del block
    with PeakRss() as small:
        time.sleep(0.05)
    assert big.start_mb is not None and big.peak_mb is not None
    assert big.peak_mb - big.start_mb > 48
    assert small.peak_mb - small.start_mb < 16
    assert small.start_mb < big.peak_mb - 32  # the 64 MiB went back to the system


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_coarse_to_fine_reports_each_scales_memory_at_start_and_peak(vgg, content, style):
    result = run_coarse_to_fine(content, style, [24, 40], steps=2, vgg=vgg)
    for scale in result.settings["per_scale"]:
        assert 0 < scale["start_memory_mb"] <= scale["peak_memory_mb"]


def test_each_scale_starts_from_the_previous_result_upsampled(vgg):
    content, style = smooth_image(32, 40, 1), smooth_image(48, 32, 2)
    result = run_coarse_to_fine(
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


def test_a_coarse_to_fine_run_is_saved_and_replayed_like_any_run(vgg, content, style, tmp_path):
    result = run_coarse_to_fine(content, style, [24, 40], vgg=vgg, steps=2, progress=False)
    save_run(result, tmp_path / "run")
    assert load_run(tmp_path / "run").settings["per_scale"][1]["size"] == [32, 40]


def test_coarse_to_fine_keeps_the_options_at_every_scale(vgg):
    content, style = mid(32, 40, 1), smooth_image(48, 32, 2)
    result = run_coarse_to_fine(
        content, style, [24, 40], steps=3, vgg=vgg, preserve_color="luminance", beta=1e6
    )
    iq = rgb_to_yiq(result.image)[:, 1:]
    torch.testing.assert_close(iq, rgb_to_yiq(content)[:, 1:], rtol=0, atol=1e-5)
    assert result.settings["preserve_color"] == "luminance"


def test_a_stopped_scale_ends_the_whole_run(vgg, content, style):
    def callback(transfer, record):
        if record["evaluation"] == 2:
            raise KeyboardInterrupt

    result = run_coarse_to_fine(content, style, [24, 40], steps=3, vgg=vgg, callback=callback)
    assert result.stop_reason == "interrupted" and result.evaluations == 2
    assert len(result.settings["per_scale"]) == 1


@pytest.mark.parametrize(
    "scales, options, message",
    [
        ([], {}, "scales"),
        ([40, 24], {}, "scales"),
        ([24, 24], {}, "scales"),
        ([24, 40], {"steps": [3]}, "steps"),
        ([24, 40], {"steps": [3, 0]}, "steps"),
        ([24, 40], {"size": 40}, "size and scales"),
        ([8, 40], {}, "scales"),
        ([24, 40], {"tv_weight": -1}, "tv_weight"),
    ],
)
def test_bad_coarse_to_fine_values_are_refused_before_any_work(
    vgg, content, style, scales, options, message
):
    counting = CountingVGG(vgg)
    with pytest.raises((ParameterError, ImageError), match=message):
        run_coarse_to_fine(content, style, scales, vgg=counting, **options)
    assert counting.calls == 0


# --------------------------------------------------------------------------- bad values


def test_a_run_out_of_memory_at_a_later_scale_keeps_the_earlier_scales(
    vgg, content, style, monkeypatch
):
    from nst_helpers import coarse_to_fine
    from nst_helpers.errors import RunOutOfMemoryError

    real = coarse_to_fine.run_style_transfer

    def run_or_fail(content_k, style_k, options, **run):
        if options.size == 40:
            raise RunOutOfMemoryError("out of memory at 40 px: try a smaller size")
        return real(content_k, style_k, options, **run)

    monkeypatch.setattr(coarse_to_fine, "run_style_transfer", run_or_fail)
    result = run_coarse_to_fine(content, style, [24, 40], steps=3, vgg=vgg, progress=False)
    assert result.stop_reason == "out-of-memory" and result.evaluations == 3
    assert max(result.image.shape[-2:]) == 24 and "40 px" in result.message


def test_a_run_stopped_in_an_early_scale_keeps_that_scales_image(vgg, content, style):
    def stop_at_2(transfer, record):
        if record["evaluation"] == 2:
            raise KeyboardInterrupt

    result = run_coarse_to_fine(
        content, style, [24, 40], steps=4, vgg=vgg, callback=stop_at_2, progress=False
    )
    assert result.stop_reason == "interrupted" and max(result.image.shape[-2:]) == 24
    assert [p["long_side"] for p in result.settings["per_scale"]] == [24]


def test_callbacks_see_evaluations_numbered_over_all_scales(vgg, content, style):
    seen = []

    def callback(transfer, record):
        seen.append((record["evaluation"], record["scale"]))

    run_coarse_to_fine(
        content, style, [24, 40], steps=2, vgg=vgg, progress=False, callback=callback
    )
    assert seen == [(1, 24), (2, 24), (3, 40), (4, 40)]
