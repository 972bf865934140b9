"""The optimisation: evaluations counted exactly, targets computed once, determinism, snapshots,
stopping, and clear errors before any work starts."""

from __future__ import annotations

import math
import threading

import pytest
import torch

import nst_helpers as nst
from nst_helpers.engine import Result
from nst_helpers.errors import ImageError, NSTError, OutputError, ParameterError
from nst_helpers.options import DEFAULT_SNAPSHOTS
from nst_helpers.runs import load_run, save_run

from .conftest import smooth_image


def make(content, style, vgg, **options) -> nst.StyleTransfer:
    options.setdefault("steps", 5)
    return nst.StyleTransfer(content, style, vgg=vgg, **options)


class CountingVGG(torch.nn.Module):
    """Wraps the network and counts forward passes."""

    def __init__(self, vgg):
        super().__init__()
        self.inner, self.calls = vgg, 0
        self.pooling = vgg.pooling

    @property
    def device(self):
        return self.inner.device

    def forward(self, images, layers=None):
        self.calls += 1
        return self.inner(images, layers)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
@pytest.mark.parametrize("steps", [1, 7, 23])
def test_steps_count_evaluations_exactly(vgg, content, style, optimizer, steps):
    counting = CountingVGG(vgg)
    result = make(content, style, counting, steps=steps, optimizer=optimizer).run()
    assert result.evaluations == len(result.history) == steps
    assert counting.calls == 2 + steps  # content and style targets once, then one per evaluation
    assert [r["evaluation"] for r in result.history] == list(range(1, steps + 1))


def test_lbfgs_one_evaluation_per_step_equals_one_long_lbfgs_run(vgg, content, style):
    """One evaluation per step follows exactly the iterates of a single long L-BFGS run."""
    steps = 8
    style = smooth_image(32, 40, seed=2)  # the result's size: A is the plain Gram (paper)
    transfer = make(content, style, vgg, steps=steps, alpha=1.0, beta=1e3)
    transfer.run()

    x = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS(
        [x], lr=1, max_iter=steps, tolerance_grad=-1, tolerance_change=-1, history_size=100
    )
    targets_c = {k: v.detach() for k, v in vgg(content, ["relu4_2"]).items()}
    targets_s = {
        k: nst.gram_matrix(v).detach() for k, v in vgg(style, nst.PAPER_STYLE_LAYERS).items()
    }
    calls = []

    def closure():
        opt.zero_grad()
        f = vgg(x, ("relu4_2", *nst.PAPER_STYLE_LAYERS))
        loss = nst.content_loss(f["relu4_2"], targets_c["relu4_2"]) + 1e3 * nst.style_loss(
            f, targets_s
        )
        loss.backward()
        calls.append(loss.item())
        return loss

    opt.step(closure)
    assert len(calls) == steps
    assert [r["total"] for r in transfer.history] == pytest.approx(calls, rel=1e-5)
    torch.testing.assert_close(transfer.x.detach(), x.detach(), rtol=1e-4, atol=1e-5)


def test_history_records_every_term_and_the_total_is_alpha_content_plus_beta_style(
    vgg, content, style
):
    result = make(content, style, vgg, alpha=2.0, beta=50.0, style_weights=[1, 0, 2, 0, 1]).run()
    for r in result.history:
        assert set(r["style_layers"]) == set(nst.PAPER_STYLE_LAYERS)
        e = r["style_layers"]
        assert r["style"] == pytest.approx(e["relu1_1"] + 2 * e["relu3_1"] + e["relu5_1"], rel=1e-5)
        assert r["total"] == pytest.approx(2.0 * r["content"] + 50.0 * r["style"], rel=1e-5)
        assert r["content"] == pytest.approx(r["content_layers"]["relu4_2"])
    assert all(
        a["seconds"] <= b["seconds"]
        for a, b in zip(result.history, result.history[1:], strict=False)
    )
    assert result.losses("relu3_1") == [r["style_layers"]["relu3_1"] for r in result.history]


@pytest.mark.parametrize("init", ["content", "noise"])
def test_the_loss_decreases_on_a_small_problem(vgg, content, style, init):
    result = make(content, style, vgg, steps=30, init=init, beta=1e4).run()
    losses = result.losses()
    assert min(losses[-5:]) < 0.5 * losses[0]
    assert (
        result.image.shape == content.shape and 0 <= result.image.min() and result.image.max() <= 1
    )


def test_the_result_is_the_evaluated_image_with_the_lowest_loss(vgg, content, style):
    transfer = make(content, style, vgg, steps=12, snapshot_at=range(1, 13))
    result = transfer.run()
    best = min(result.history, key=lambda r: r["total"])["evaluation"]
    assert result.best_evaluation == best
    assert torch.equal(result.image, result.snapshots[best])


def test_same_seed_same_inputs_give_bit_identical_results_on_the_cpu(vgg, content, style):
    a = make(content, style, vgg, steps=6, init="noise", seed=3).run()
    b = make(content, style, vgg, steps=6, init="noise", seed=3).run()
    c = make(content, style, vgg, steps=6, init="noise", seed=4).run()
    assert torch.equal(a.image, b.image)
    assert [r["total"] for r in a.history] == [r["total"] for r in b.history]
    assert not torch.equal(a.image, c.image)


def test_snapshots_at_the_requested_marks_capped_at_the_run_length(vgg, content, style):
    result = make(content, style, vgg, steps=12).run()
    assert sorted(result.snapshots) == [1, 2, 3, 10]  # the seed report's marks up to 12
    assert torch.equal(
        result.snapshots[1], content.clamp(0, 1)
    )  # evaluation 1 is the initial image
    custom = make(content, style, vgg, steps=4, snapshot_at=[2, 4, 9]).run()
    assert sorted(custom.snapshots) == [2, 4]
    assert DEFAULT_SNAPSHOTS == (1, 2, 3, 10, 20, 100, 300, 500, 1000, 2000, 4000, 6000)


def test_targets_are_computed_once_without_gradients(vgg, content, style):
    transfer = make(content, style, vgg)
    assert all(not t.requires_grad for t in transfer.style_targets.values())
    assert all(not t.requires_grad for t in transfer.content_targets.values())
    before = {k: v.clone() for k, v in transfer.style_targets.items()}
    transfer.run()
    assert all(torch.equal(before[k], transfer.style_targets[k]) for k in before)
    assert transfer.style_targets["relu2_1"].shape == (1, 128, 128)


def test_the_style_image_may_have_any_size_and_aspect_ratio(vgg, content):
    for size in [(16, 64), (80, 24)]:
        result = make(content, smooth_image(*size, seed=5), vgg, steps=2).run()
        assert result.image.shape == content.shape


def test_a_style_image_without_style_layers_is_a_content_only_run(vgg, content, style):
    """What the dashboard gives when every style layer is unticked."""
    result = make(content, style, vgg, style_layers=[], steps=2).run()
    assert result.stop_reason == "completed" and result.history[0]["style_layers"] == {}


def test_no_content_layers_is_a_style_only_run_that_may_start_from_the_photo(vgg, content, style):
    """``--content-layers ""`` keeps the content image as the start (init='content'): Fig. 1's
    texture synthesis begun from the photograph, not a refusal about a missing content image."""
    result = make(content, style, vgg, content_layers=[], steps=2).run()
    assert result.stop_reason == "completed" and result.history[0]["content"] == 0.0
    assert result.image.shape == content.shape


def test_texture_synthesis_without_content_and_reconstruction_without_style(vgg, style, content):
    texture = make(None, style, vgg, init="noise", size=(24, 24), steps=3).run()
    assert texture.image.shape == (1, 3, 24, 24) and texture.history[0]["content"] == 0.0
    recon = make(content, None, vgg, init="noise", content_layers=["conv2_2"], steps=3).run()
    assert recon.image.shape == content.shape and recon.history[0]["style_layers"] == {}


def test_the_stop_event_ends_the_run_with_a_valid_result(vgg, content, style):
    stop = threading.Event()

    def callback(transfer, record):
        if record["evaluation"] == 3:
            stop.set()

    result = make(content, style, vgg, steps=50, stop_event=stop, callback=callback).run()
    assert result.stop_reason == "stopped" and result.evaluations == 3
    assert result.image.shape == content.shape


def test_keyboard_interrupt_leaves_a_valid_result(vgg, content, style):
    def callback(transfer, record):
        if record["evaluation"] == 4:
            raise KeyboardInterrupt

    result = make(content, style, vgg, steps=50, callback=callback).run()
    assert result.stop_reason == "interrupted" and result.evaluations == 4
    assert torch.isfinite(result.image).all()


def test_a_non_finite_loss_stops_and_keeps_the_last_finite_image(vgg, content, style):
    def callback(transfer, record):
        if record["evaluation"] == 2:
            with torch.no_grad():
                transfer.x[0, 0, 0, 0] = math.nan

    transfer = make(content, style, vgg, steps=20, callback=callback)
    result = transfer.run()
    assert result.stop_reason == "non-finite" and "evaluation 3" in result.message
    assert len(result.history) == 2 and torch.isfinite(result.image).all()
    assert torch.isfinite(transfer.x).all()


def test_an_extreme_adam_learning_rate_is_survived(vgg, content, style):
    result = make(content, style, vgg, steps=15, optimizer="adam", lr=1e30).run()
    assert result.stop_reason in ("completed", "non-finite")
    assert torch.isfinite(result.image).all()
    assert all(math.isfinite(r["total"]) for r in result.history)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"content_layers": ["conv4_5"]}, r"content_layers.*'conv4_5'"),
        ({"content_layers": [], "style_layers": []}, "nothing to optimise"),
        ({"alpha": -1}, "alpha"),
        ({"beta": float("inf")}, "beta"),
        ({"style_weights": [1, 1]}, "style_weights"),
        ({"steps": 0}, "steps"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"style_weights": {"relu1_1": math.inf}}, "style_weights"),
        ({"size": 0}, "size"),
    ],
)
def test_bad_parameters_are_refused_before_any_work(vgg, content, style, options, message):
    counting = CountingVGG(vgg)
    with pytest.raises(ParameterError, match=message):
        make(content, style, counting, **options)
    assert counting.calls == 0


@pytest.mark.parametrize("size", [1.5, (24,), -3])
def test_texture_synthesis_sizes_are_checked_before_any_work(vgg, style, size):
    counting = CountingVGG(vgg)
    with pytest.raises(ParameterError, match="size"):
        make(None, style, counting, init="noise", size=size)
    assert counting.calls == 0


def test_non_finite_or_misshapen_images_are_refused_naming_them(vgg, content, style):
    bad = content.clone()
    bad[0, 1, 2, 3] = math.inf
    with pytest.raises(ImageError, match=r"content.*NaN"):
        make(bad, style, vgg)
    with pytest.raises(ImageError, match=r"style: not an image"):
        make(content, torch.rand(2, 3, 32, 32), vgg)
    with pytest.raises(ImageError, match=r"init.*NaN"):
        make(content, style, vgg, init=torch.full_like(content, math.nan))


def test_images_too_small_for_the_deepest_layer_say_the_minimum(vgg, style):
    with pytest.raises(ImageError, match="16 px"):
        make(torch.rand(1, 3, 12, 40), style, vgg)


def test_save_and_load_a_run(vgg, content, style, tmp_path):
    result = make(content, style, vgg, steps=11).run()
    save_run(result, tmp_path / "run")
    loaded = load_run(tmp_path / "run")
    assert loaded.history == result.history and loaded.stop_reason == "completed"
    assert sorted(loaded.snapshots) == [1, 2, 3, 10]
    assert (loaded.image - result.image).abs().max() <= 1 / 255
    with pytest.raises(OutputError, match="overwrite"):
        save_run(result, tmp_path / "run")


def test_a_folder_with_a_runs_file_names_but_no_run_is_not_overwritten_silently(
    vgg, content, style, tmp_path
):
    """Without run.json, a folder's result.png and eval-NNNNNN.png are still someone's files."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "result.png").write_bytes(b"my picture")
    (folder / "eval-000050.png").write_bytes(b"my snapshot")
    (folder / "notes.txt").write_text("kept")
    result = make(content, style, vgg, steps=2).run()
    with pytest.raises(OutputError, match=r"mine.*result\.png.*overwrite"):
        save_run(result, folder)
    assert (folder / "result.png").read_bytes() == b"my picture"
    assert (folder / "eval-000050.png").exists() and not (folder / "run.json").exists()
    save_run(result, folder, overwrite=True)  # asked for: replaced, and other files left alone
    assert not (folder / "eval-000050.png").exists() and (folder / "notes.txt").exists()


def test_an_interrupted_save_run_leaves_no_half_written_run_json(tmp_path, monkeypatch):
    from nst_helpers import files, runs

    result = Result(image=torch.zeros(1, 3, 4, 4), history=[], snapshots={}, evaluations=0)

    def half_written(path, write):  # writes half the file, then the disk is full
        def broken(f):
            f.write(b'{"format": ')
            raise OSError("disk full")

        return files.atomic_write(path, broken)

    save_run(result, tmp_path / "run")
    before = (tmp_path / "run" / "run.json").read_bytes()
    monkeypatch.setattr(runs, "atomic_write", half_written)
    with pytest.raises(OSError, match="disk full"):
        save_run(result, tmp_path / "new")
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["result.png"]
    with pytest.raises(OSError, match="disk full"):
        save_run(result, tmp_path / "run", overwrite=True)
    assert (tmp_path / "run" / "run.json").read_bytes() == before  # the earlier run, whole
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["result.png", "run.json"]


def test_a_style_image_of_another_size_is_compared_per_position(vgg, content):
    """E_l compares Grams of equal-size images (paper); for another size, A is scaled by M_x/M_s."""
    style = smooth_image(64, 48, seed=2)  # the result is 32 × 40
    transfer = make(content, style, vgg)
    f = vgg(style, ["relu2_1"])["relu2_1"]
    m_style, m_result = 32 * 24, 16 * 20
    expected = nst.gram_matrix(f) * (m_result / m_style)
    torch.testing.assert_close(transfer.style_targets["relu2_1"], expected)
    same = make(content, smooth_image(32, 40, seed=2), vgg)
    g = nst.gram_matrix(vgg(smooth_image(32, 40, seed=2), ["relu2_1"])["relu2_1"])
    assert torch.equal(same.style_targets["relu2_1"], g)  # equal sizes: exactly the paper's A


def test_tiling_the_style_image_leaves_its_target_nearly_unchanged(vgg, content):
    """Four copies of a texture have the same style: the per-position target barely moves."""
    tile = smooth_image(32, 32, seed=9)
    big = tile.repeat(1, 1, 2, 2)
    a = make(content, tile, vgg).style_targets["relu1_1"]
    b = make(content, big, vgg).style_targets["relu1_1"]
    assert ((a - b).norm() / a.norm()).item() < 0.1


def test_the_default_network_is_loaded_once_per_weights_pooling_and_device(monkeypatch):
    from nst_helpers import transfer

    loads = []
    monkeypatch.setattr(transfer, "load_vgg19", lambda *a, **k: loads.append(a) or object())
    transfer.default_vgg.cache_clear()
    cpu = torch.device("cpu")
    first = transfer.default_vgg("random", "max", cpu)
    assert transfer.default_vgg("random", "max", cpu) is first and len(loads) == 1
    assert transfer.default_vgg("random", "avg", cpu) is not first and len(loads) == 2
    transfer.default_vgg.cache_clear()


def test_running_out_of_memory_mid_run_keeps_the_best_image_so_far(vgg, content, style):
    """Nothing lost: like Stop, Ctrl-C or a non-finite loss, an allocation that fails after some
    evaluations ends the run with the best image kept and the one-line error as its message."""
    real_step = nst.StyleTransfer.step

    def step(self):
        if self.evaluations == 3:
            torch.empty(1 << 48, dtype=torch.uint8)  # the CPU allocator's genuine error
        return real_step(self)

    transfer = make(content, style, vgg, steps=10)
    transfer.step = step.__get__(transfer)
    result = transfer.run()
    assert result.stop_reason == "out-of-memory" and result.evaluations == 3
    assert "out of memory" in result.message and "40 px" in result.message
    assert f"kept evaluation {result.best_evaluation}'s image" in result.message
    assert isinstance(result.error, NSTError) and torch.isfinite(result.image).all()
    first = make(content, style, vgg, steps=10)
    first.step = (lambda self: torch.empty(1 << 48, dtype=torch.uint8)).__get__(first)
    with pytest.raises(NSTError, match="out of memory"):  # nothing to keep: raised
        first.run()


def test_overwriting_a_saved_run_leaves_none_of_the_old_runs_snapshots(
    vgg, content, style, tmp_path
):
    folder = tmp_path / "run"
    save_run(make(content, style, vgg, steps=11).run(), folder)
    (folder / "notes.txt").write_text("mine")
    save_run(make(content, style, vgg, steps=3).run(), folder, overwrite=True)
    assert sorted(p.name for p in folder.glob("eval-*.png")) == [
        "eval-000001.png",
        "eval-000002.png",
        "eval-000003.png",
    ]
    assert sorted(load_run(folder).snapshots) == [1, 2, 3] and (folder / "notes.txt").exists()


def test_numpy_whole_numbers_count_as_steps(vgg, content, style):
    import numpy as np

    assert make(content, style, vgg, steps=np.int64(2)).run().evaluations == 2


def test_a_pre_relu_content_layer_is_noted_because_the_papers_conv4_2_is_rectified(vgg):
    content, style = smooth_image(32, 32, 1), smooth_image(32, 32, 2)
    with pytest.warns(UserWarning, match="relu4_2"):
        nst.StyleTransfer(content, style, vgg=vgg, content_layers=["conv4_2"], steps=1)
