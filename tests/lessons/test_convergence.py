"""Watching a run converge (notebook 05): the gallery at the seed report's marks, the scrubber,
where the image stops changing, L-BFGS against Adam, a run exported as a labelled GIF, and a run
saved to disk and replayed."""

from __future__ import annotations

import shlex

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image

import nst_helpers as nst
from nst_helpers.cli import build_parser
from nst_helpers.engine import Result
from nst_helpers.errors import OutputError, ParameterError
from nst_helpers.images import to_pil
from nst_helpers.lessons import convergence as conv
from nst_helpers.lessons.plots import png_bytes
from nst_helpers.lessons.series import run_series
from nst_helpers.options import DEFAULT_SNAPSHOTS
from nst_helpers.runs import load_run, save_run

from ..conftest import smooth_image

matplotlib.use("agg")


@pytest.fixture(scope="module")
def run(vgg) -> Result:
    """One short run with snapshots at 1, 2, 3, 6, 9, 10 and 12 (made once: tests only read it)."""
    content, style = smooth_image(32, 40, seed=1), smooth_image(48, 32, seed=2)
    return nst.StyleTransfer(
        content, style, vgg=vgg, steps=12, snapshot_at=conv.dense_marks(12, frames=4)
    ).run()


def fake_result(snapshots: dict[int, torch.Tensor]) -> Result:
    last = max(snapshots)
    history = [
        {"evaluation": k, "total": 1.0 / k, "content": 0.5 / k, "style": 0.5 / k, "seconds": k}
        for k in range(1, last + 1)
    ]
    for r in history:
        r["style_layers"], r["content_layers"] = {}, {}
    return Result(snapshots[last], history, snapshots, last, best_evaluation=last)


def test_dense_marks_hold_the_seed_reports_marks_and_the_last_evaluation():
    marks = conv.dense_marks(300, frames=30)
    assert {1, 2, 3, 10, 20, 100, 300, 200} <= set(marks)  # both of the report's experiments
    assert marks == sorted(set(marks)) and marks[-1] == 300 and 30 <= len(marks) <= 40
    assert conv.dense_marks(4) == [1, 2, 3, 4]


def test_the_gallery_shows_content_style_and_the_marks_up_to_the_run_length(run, content, style):
    assert conv.gallery_marks(run) == [1, 2, 3, 10]  # 20, 100, … lie beyond 12 evaluations
    fig = conv.snapshot_grid(run, content=content, style=style)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["content", "style"] + [f"evaluation {k}" for k in (1, 2, 3, 10)]
    assert fig._suptitle is not None
    assert conv.gallery_marks(run, conv.SECOND_RUN_MARKS) == [10]
    with pytest.raises(ParameterError, match="no snapshots"):
        conv.snapshot_grid(run, [500, 1000])


def test_the_scrubber_shows_the_snapshot_the_slider_points_at(run):
    scrubber = conv.SnapshotScrubber(run)
    assert scrubber.slider.value == max(run.snapshots)
    assert "nst-scrubber" in scrubber._dom_classes
    shown = bytes(scrubber.image.value)
    scrubber.slider.value = 2
    assert bytes(scrubber.image.value) != shown
    assert bytes(scrubber.image.value) == png_bytes(run.snapshots[2])
    # the label splits L_total into its two weighted parts (Eq. 7), not the unweighted losses
    record, alpha, beta = run.history[1], run.settings["alpha"], run.settings["beta"]
    assert alpha * record["content"] + beta * record["style"] == pytest.approx(record["total"])
    label = scrubber.label.value
    assert label.startswith("evaluation 2 ·") and f"{record['total']:.4g}" in label
    assert f"{alpha * record['content']:.4g}" in label and f"{beta * record['style']:.4g}" in label
    assert bytes(scrubber.plot.value).startswith(b"\x89PNG")


def test_visible_change_finds_where_the_image_settles():
    grey = {k: torch.full((1, 3, 8, 8), v) for k, v in [(1, 0.0), (2, 0.5), (3, 0.9), (4, 0.901)]}
    grey[5] = torch.full((1, 3, 8, 8), 0.9)
    report = conv.visible_change(fake_result(grey), threshold=2.0)
    assert report.evaluations == [1, 2, 3, 4, 5]
    assert report.to_final[0] == pytest.approx(0.9 * 255, rel=1e-4)
    assert report.to_previous[1] == pytest.approx(0.5 * 255, rel=1e-4)
    assert report.settled_at == 3  # 3 and 4 are within 2 grey levels of 5
    assert "evaluation 3" in str(report)
    moving = {k: torch.full((1, 3, 4, 4), k / 10) for k in range(1, 6)}
    assert conv.visible_change(fake_result(moving)).settled_at is None
    ax = conv.plot_change(report)
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_the_optimisers_compared_run_and_their_final_losses_are_their_best(vgg, content, style):
    assert {c["optimizer"] for c in conv.OPTIMIZERS_COMPARED.values()} == {"lbfgs", "adam"}
    results = run_series(
        conv.OPTIMIZERS_COMPARED, content, style, vgg=vgg, steps=4, progress=False, snapshot_at=()
    )
    assert [r.settings["optimizer"] for r in results.values()] == ["lbfgs", "adam", "adam"]
    assert [r.settings["lr"] for r in results.values()] == [1.0, 0.02, 0.1]
    losses = conv.final_losses(results)
    for label, result in results.items():
        assert losses[label] == min(result.losses("total"))


def test_the_gif_has_one_labelled_frame_per_snapshot(run, tmp_path):
    frames, labels = conv.gif_frames(run)
    keys = sorted(run.snapshots)
    assert labels == [f"evaluation {k}" for k in keys]
    h, w = run.image.shape[-2:]
    assert frames[0].size[0] == w and frames[0].size[1] > h  # a label strip below the picture
    strip = np.asarray(frames[0])[h:]
    assert (strip < 128).any()  # the label is drawn
    picture = np.asarray(to_pil(run.snapshots[keys[0]]))  # the picture itself is untouched
    np.testing.assert_array_equal(np.asarray(frames[0])[:h], picture)

    path = conv.export_gif(run, tmp_path / "run.gif")
    with Image.open(path) as gif:
        assert gif.n_frames == len(keys) and gif.info.get("loop") == 0
    only = conv.export_gif(run, tmp_path / "marks.gif", marks=[1, 10, 500])
    with Image.open(only) as gif:
        assert gif.n_frames == 2


def test_the_gif_export_never_overwrites_unless_asked(run, tmp_path):
    path = conv.export_gif(run, tmp_path / "run.gif")
    before = path.read_bytes()
    with pytest.raises(OutputError, match="already exists"):
        conv.export_gif(run, path, marks=[1, 2])
    assert path.read_bytes() == before
    conv.export_gif(run, path, marks=[1, 2], overwrite=True)
    with Image.open(path) as gif:
        assert gif.n_frames == 2
    with pytest.raises(ParameterError, match=r"\.gif"):
        conv.export_gif(run, tmp_path / "run.png")
    assert not (tmp_path / "run.png").exists() and not list(tmp_path.glob(".*tmp*"))


def test_a_saved_run_is_found_and_replays_with_its_snapshots_and_history(run, tmp_path):
    assert conv.find_saved_run(tmp_path / "runs" / "demo") is None
    folder = save_run(run, tmp_path / "runs" / "demo")
    assert conv.find_saved_run(folder) == folder
    assert conv.find_saved_run(tmp_path / "runs") is None  # a run's own folder, not its parent
    replay = load_run(folder)
    assert replay.history == run.history
    assert sorted(replay.snapshots) == sorted(run.snapshots)
    for k, image in run.snapshots.items():  # PNG keeps 8 bits per channel
        assert (replay.snapshots[k] - image).abs().max() <= 0.5 / 255 + 1e-6
    assert conv.gallery_marks(replay) == conv.gallery_marks(run)
    frames, _ = conv.gif_frames(replay)
    assert len(frames) == len(run.snapshots)


def test_the_precompute_command_runs_what_lesson_05_shows():
    """Both of the report's series and the scrubber's marks, up to 8000 evaluations, in the
    folder lesson 05 looks in; the flags are the command line's own (they parse)."""
    assert conv.PRECOMPUTE_STEPS == 8000
    command = conv.precompute_command("tubingen", "starry_night", 256, init="content")
    argv = shlex.split(command)
    assert argv[:4] == ["python", "-m", "nst_helpers", "stylize"]
    args = build_parser().parse_args(argv[3:])
    assert (args.content, args.style, args.size, args.steps) == (
        "tubingen", ["starry_night"], 256, 8000)  # fmt: skip
    assert args.init == "content" and str(args.snapshots) == "notebooks/runs/tubingen-starry_night"
    marks = set(args.snapshot_at)
    assert set(DEFAULT_SNAPSHOTS) | set(conv.SECOND_RUN_MARKS) <= marks
    assert marks == set(conv.dense_marks(8000)) and max(marks) == 8000
    spaced = shlex.split(conv.precompute_command("a", "b", 64, folder="my runs/x", steps=12))
    args = build_parser().parse_args(spaced[3:])
    assert str(args.snapshots) == "my runs/x" and args.snapshot_at == list(range(1, 13))
    with pytest.raises(ParameterError, match="precision"):
        conv.precompute_command(precision="fp8")


def test_the_precompute_time_comes_from_the_runs_seconds_per_evaluation():
    """Seconds per evaluation × evaluations, scaled by the image area to the command's size."""
    shots = {1: torch.zeros(1, 3, 100, 200), 2: torch.zeros(1, 3, 100, 200)}
    result = fake_result(shots)  # 2 evaluations in 2 s: 1 s each
    result.settings = {"size": [100, 200], "device": "cpu"}
    text = conv.precompute_time(result, 200, steps=3600)
    assert "1.0 h" in text and "60 min" in text and "cpu" in text and "GPU" in text
    assert "4.0 h" in conv.precompute_time(result, 400, steps=3600)  # twice the side: 4× the area
