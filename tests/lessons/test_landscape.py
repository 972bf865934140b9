"""The loss landscape (notebook 06): slices L(x + a·d1 + b·d2) whose centre is the loss at x, the
stated directions, forward passes only, and a midpoint-convexity check that tells a convex
function from a non-convex one."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

import nst_helpers as nst
from nst_helpers.engine import Result
from nst_helpers.errors import ParameterError
from nst_helpers.lessons import landscape as ls

from ..conftest import smooth_image

matplotlib.use("agg")


@pytest.fixture
def loss(vgg, content, style) -> ls.LossTerms:
    return ls.LossTerms(content, style, vgg=vgg)


def test_the_losses_of_a_batch_are_the_engines_losses_of_each_image(vgg, content, style, loss):
    images = torch.stack([content[0], torch.rand_like(content[0]), content[0] * 0.5])
    found = loss(images)
    assert set(found) == {"total", "content", "style"}
    for i in range(3):
        record = nst.StyleTransfer(content, style, vgg=vgg, init=images[i : i + 1]).step()
        for term in ("total", "content", "style"):
            assert float(found[term][i]) == pytest.approx(record[term], rel=1e-4, abs=1e-6)
    alpha, beta = loss.objective.alpha, loss.objective.beta
    torch.testing.assert_close(found["total"], alpha * found["content"] + beta * found["style"])


def test_the_targets_and_weights_are_the_options_given(vgg, content, style):
    loss = ls.LossTerms(content, style, nst.Options(alpha=2.0), vgg=vgg, beta=5.0)
    assert (loss.objective.alpha, loss.objective.beta) == (2.0, 5.0)
    assert list(loss.objective.content_targets) == ["relu4_2"]
    with pytest.raises(ParameterError, match="px"):
        loss(torch.rand(1, 3, 16, 16))
    with pytest.raises(ParameterError, match="tv_weight"):
        ls.LossTerms(content, style, vgg=vgg, tv_weight=1.0)


def test_losses_are_computed_without_gradients(content, style, loss):
    x = content.clone().requires_grad_(True)
    found = loss(x)
    assert not found["total"].requires_grad and x.grad is None


@pytest.mark.parametrize("points", [3, 5])
def test_a_slice_has_the_grid_shape_and_its_centre_is_the_loss_at_x(content, style, loss, points):
    d1 = ls.towards(content, style)
    d2 = ls.random_direction(content, seed=0, orthogonal_to=d1)
    s = ls.loss_slice(loss, content, d1, d2, points=points, span=0.5)
    assert s.a.shape == s.b.shape == (points,)
    assert s.a[points // 2] == 0.0 and s.a[0] == -0.5 and s.a[-1] == 0.5
    at_x = {t: float(v[0]) for t, v in loss(content).items()}
    for term in ("total", "content", "style"):
        assert s.values[term].shape == (points, points)
        assert s.centre[term] == pytest.approx(at_x[term], rel=1e-6, abs=1e-9)
    # rows are b, columns a: the point a = span, b = 0 is x + span·d1
    right = loss(content + 0.5 * d1)["total"][0]
    assert s.values["total"][points // 2, -1] == pytest.approx(float(right), rel=1e-5)
    assert s.centre["content"] == pytest.approx(0.0, abs=1e-6)  # x is the content image


def test_the_slice_needs_an_odd_number_of_points_and_a_positive_span(content, style, loss):
    d = ls.towards(content, style)
    with pytest.raises(ParameterError, match="points"):
        ls.loss_slice(loss, content, d, d, points=4)
    with pytest.raises(ParameterError, match="span"):
        ls.loss_slice(loss, content, d, d, points=3, span=0.0)


def test_the_directions_are_as_stated(content, style):
    d1 = ls.towards(content, style)
    assert d1.shape == content.shape  # the style image is resized to the content's size
    resized = torch.nn.functional.interpolate(
        style, size=content.shape[-2:], mode="bilinear", antialias=True, align_corners=False
    )
    torch.testing.assert_close(content + d1, resized)
    d2 = ls.random_direction(content, seed=1, orthogonal_to=d1)
    assert float((d1 * d2).sum()) == pytest.approx(0.0, abs=1e-3 * float(d1.norm()) ** 2)
    assert float(d2.norm()) == pytest.approx(float(d1.norm()), rel=1e-5)
    torch.testing.assert_close(d2, ls.random_direction(content, seed=1, orthogonal_to=d1))
    assert float(ls.random_direction(content, seed=2, norm=3.0).norm()) == pytest.approx(3.0)


def test_plot_slice_draws_surfaces_and_contours_with_labelled_axes(content, style, loss):
    d1 = ls.towards(content, style)
    s = ls.loss_slice(loss, content, d1, ls.random_direction(content, orthogonal_to=d1), points=3)
    s.d1, s.d2 = "the style image", "random"
    fig = ls.plot_slice(s)
    assert len([ax for ax in fig.axes if ax.name == "3d"]) == 3
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert len(titled) == 6
    assert all("along the style image" in ax.get_xlabel() for ax in titled)
    assert all("along random" in ax.get_ylabel() for ax in titled)


@pytest.mark.parametrize("mode", ["thread", "foreground"])
def test_the_explorer_recomputes_at_the_chosen_resolution(content, style, loss, mode):
    d1 = ls.towards(content, style)
    d2 = ls.random_direction(content, orthogonal_to=d1)
    problems = {"pair": (loss, content, d1, d2, "d1", "d2")}
    explorer = ls.SliceExplorer(problems, points=3, mode=mode)
    assert explorer.status.value == "press Compute"
    assert (explorer.stop_button in explorer.children[0].children) == (mode == "thread")
    explorer.points.value = 5
    explorer.run_button.click()  # a thread (the kernel stays free), or this cell (foreground)
    explorer.wait()
    assert len(explorer.slices["pair"].a) == 5 and "5×5" in explorer.status.value
    assert bytes(explorer.image.value).startswith(b"\x89PNG")
    assert not explorer.run_button.disabled and explorer.stop_button.disabled


def test_the_explorer_stops_between_rows_and_reports_errors_on_its_status_line(
    content, style, loss
):
    d1 = ls.towards(content, style)
    d2 = ls.random_direction(content, orthogonal_to=d1)
    calls = []

    def stopping(batch):  # Stop pressed while the first row is computed
        calls.append(1)
        explorer.stop()
        return loss(batch)

    explorer = ls.SliceExplorer({"pair": (stopping, content, d1, d2, "d1", "d2")}, points=5)
    assert explorer.compute() is None and len(calls) == 1
    assert explorer.status.value == "stopped after 1 of 5 rows" and "pair" not in explorer.slices

    def broken(batch):
        raise RuntimeError("the network is gone")

    explorer = ls.SliceExplorer({"pair": (broken, content, d1, d2, "d1", "d2")}, points=3)
    with pytest.raises(RuntimeError):
        explorer.compute()
    assert explorer.status.value == "failed: RuntimeError: the network is gone"
    assert not explorer.run_button.disabled
    explorer.status.value = ""
    explorer.run_button.click()  # from the button: shown on the status line, kept for wait()
    with pytest.raises(RuntimeError):
        explorer.wait()
    assert "the network is gone" in explorer.status.value


def test_midpoint_convexity_accepts_a_convex_function_and_rejects_a_double_well():
    convex = ls.check_line(lambda t: t * t, -2.0, 3.0, points=9)
    assert convex.convex_here and convex.worst <= 0
    double_well = ls.check_line(lambda t: (t * t - 1.0) ** 2, -1.5, 1.5, points=9)
    assert not double_well.convex_here
    # the worst triple: f(0) = 1 above the chord between t = ±1.125, relative to max f = f(±1.5)
    assert double_well.worst == pytest.approx((1.0 - (1.125**2 - 1.0) ** 2) / 1.5625)
    assert len(double_well.values) == 9
    assert not ls.check_line(np.sin, 0.0, 2 * np.pi).convex_here
    assert ls.check_line(np.exp, -3.0, 3.0).convex_here
    assert ls.midpoint_convexity([1.0, 1.0, 1.0 + 1e-12]).convex_here  # rounding is not a bump
    with pytest.raises(ParameterError):
        ls.midpoint_convexity([1.0, 2.0])


def test_the_check_works_in_many_dimensions_on_the_papers_terms():
    """½‖F − P‖² is convex in the features F; the Gram term is not (it is quartic in F)."""
    g = torch.Generator().manual_seed(0)
    target = torch.rand(1, 4, 3, 3, generator=g)
    f0, f1 = torch.randn(1, 4, 3, 3, generator=g), torch.randn(1, 4, 3, 3, generator=g)
    content = ls.check_line(lambda f: nst.content_loss(f, target), f0, f1)
    assert content.convex_here
    one = torch.ones(1, 1)  # a single feature (N = M = 1): E = (F² − A)²/4, a double well
    style = ls.check_line(
        lambda f: nst.style_layer_loss(f, one),
        torch.full((1, 1, 1, 1), -1.5),
        torch.full((1, 1, 1, 1), 1.5),
    )
    assert not style.convex_here


def test_random_lines_and_the_summary(content, style, loss):
    checks = ls.random_lines(loss, content, lines=2, points=5, seed=0)
    assert set(checks) == {"total", "content", "style"}
    assert all(len(v) == 2 and len(v[0].values) == 5 for v in checks.values())
    text = ls.convexity_summary(checks)
    assert text.count("\n") == 2 and "content" in text
    ts, values = ls.line_values(loss, content, torch.rand_like(content), points=7, extend=0.25)
    assert ts[0] == pytest.approx(-0.25) and ts[-1] == pytest.approx(1.25)
    assert values["total"][1] == pytest.approx(float(loss(content)["total"][0]), rel=1e-5)
    fig = ls.plot_line(ts, values)
    assert all(ax.get_title() and ax.get_ylabel() for ax in fig.axes)


def test_an_image_and_its_mirror_break_the_style_losss_convexity_by_construction(vgg):
    """The style image and its mirror image have (nearly) the style target's Gram matrices;
    their mean, a double exposure, has weaker correlations: E_l rises in the middle."""
    content, style = smooth_image(32, 40, seed=1), smooth_image(48, 32, seed=2)
    loss = ls.LossTerms(content, style, vgg=vgg)
    painting = content + ls.towards(content, style)  # the style image at the content's size
    mirror = torch.flip(painting, dims=[-1])
    checks = ls.segment_checks(loss, (painting, mirror), (content, mirror), points=5)
    assert [len(found) for found in checks.values()] == [2, 2, 2]  # one check per segment
    assert not checks["style"][0].convex_here and checks["style"][0].worst > 0.5
    ends = loss(torch.cat([painting, mirror, (painting + mirror) / 2]))["style"]
    assert ends[2] > 5 * max(ends[0], ends[1])


def fake_run(losses: list[float], seed: int) -> Result:
    history = [{"evaluation": k + 1, "total": v, "seconds": k} for k, v in enumerate(losses)]
    image = smooth_image(8, 8, seed)
    return Result(image, history, {}, len(losses), best_evaluation=len(losses))


def test_runs_still_falling_are_no_evidence_of_different_minima():
    falling = {
        f"seed {k}": fake_run([100 / (i + 1) + k / 10 for i in range(20)], k) for k in (0, 1)
    }
    text = ls.endings(falling)  # 2 % apart; each still fell by 10 % over its last 2 evaluations
    assert "5 … 5.1" in text and "2.0% apart" in text and "say nothing yet" in text
    flat = {f"seed {k}": fake_run([10.0 + k] * 20, k) for k in (0, 1)}
    text = ls.endings(flat)
    assert "10 … 11" in text and "10.0% apart" in text and "different minima" in text
    assert "last 2 evaluations they still fell by 0.0% … 0.0%" in text and "grey levels" in text
