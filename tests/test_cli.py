"""The command line writes its files, refuses to overwrite, and documents every option."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest

import nst_helpers as nst
from nst_helpers.cli import main

from .conftest import smooth_image


@pytest.fixture
def images(tmp_path):
    content = nst.save_image(smooth_image(40, 48, seed=1), tmp_path / "content.png")
    style = nst.save_image(smooth_image(64, 64, seed=2), tmp_path / "style.jpg")
    return content, style


def stylize(*args: str) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return main(["stylize", *args, "--weights", "random", "--quiet", "--device", "cpu"])


def test_stylize_writes_the_result_snapshots_and_history(images, tmp_path, capsys):
    content, style = images
    out, runs = tmp_path / "out.png", tmp_path / "run"
    code = stylize(
        str(content),
        str(style),
        "-o",
        str(out),
        "--size",
        "32",
        "--steps",
        "12",
        "--snapshots",
        str(runs),
        "--init",
        "noise",
        "--pooling",
        "avg",
    )
    assert code == 0
    assert nst.load_image(out).shape == (1, 3, 27, 32)  # long side 32, aspect ratio kept
    run = json.loads((runs / "run.json").read_text())
    assert len(run["history"]) == 12 and run["snapshots"] == [1, 2, 3, 10]
    assert run["settings"]["pooling"] == "avg" and run["settings"]["init"] == "noise"
    assert sorted(p.name for p in runs.glob("eval-*.png")) == [
        "eval-000001.png",
        "eval-000002.png",
        "eval-000003.png",
        "eval-000010.png",
    ]
    assert "completed: 12 evaluations" in capsys.readouterr().out


def test_stylize_takes_layers_and_weights(images, tmp_path):
    content, style = images
    out = tmp_path / "early.png"
    code = stylize(
        str(content),
        str(style),
        "-o",
        str(out),
        "--size",
        "32",
        "--steps",
        "2",
        "--content-layers",
        "conv2_2",
        "--style-layers",
        "conv1_1,conv2_1",
        "--alpha",
        "1",
        "--beta",
        "1e5",
        "--optimizer",
        "adam",
        "--lr",
        "0.05",
    )
    assert code == 0 and out.is_file()


def test_stylize_never_overwrites_without_being_asked(images, tmp_path, capsys):
    content, style = images
    out = tmp_path / "out.png"
    out.write_bytes(b"precious")
    assert stylize(str(content), str(style), "-o", str(out), "--size", "32", "--steps", "1") == 2
    assert out.read_bytes() == b"precious"
    assert "--overwrite" in capsys.readouterr().err
    assert (
        stylize(
            str(content), str(style), "-o", str(out), "--size", "32", "--steps", "1", "--overwrite"
        )
        == 0
    )
    assert nst.load_image(out).shape[-1] == 32


def test_bad_input_gives_one_line_not_a_traceback(tmp_path, images, capsys):
    content, _ = images
    (tmp_path / "notes.jpg").write_text("not an image")
    code = stylize(str(content), str(tmp_path / "notes.jpg"), "-o", str(tmp_path / "x.png"))
    err = capsys.readouterr().err
    assert code == 2 and "notes.jpg" in err and "Traceback" not in err
    code = stylize(
        str(content), str(content), "-o", str(tmp_path / "x.png"), "--style-layers", "relu9_1"
    )
    assert code == 2 and "relu9_1" in capsys.readouterr().err


def test_help_documents_every_option():
    text = subprocess.run(
        [sys.executable, "-m", "nst_helpers", "stylize", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for option in (
        "--size",
        "--steps",
        "--alpha",
        "--beta",
        "--content-layers",
        "--style-layers",
        "--pooling",
        "--init",
        "--optimizer",
        "--seed",
        "--weights",
        "--snapshots",
        "--overwrite",
        "--lr",
        "--device",
        "--style-blend",
        "--style-scale",
        "--preserve-color",
        "--tv-weight",
        "--scales",
    ):
        assert option in text
    assert (
        "fetch-weights"
        in subprocess.run(
            [sys.executable, "-m", "nst_helpers", "--help"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )


def test_stylize_blends_several_styles_and_takes_the_options_beyond_the_paper(tmp_path, capsys):
    content = nst.save_image(0.25 + 0.5 * smooth_image(40, 50, seed=1), tmp_path / "c.png")
    style_a = nst.save_image(smooth_image(64, 64, seed=2), tmp_path / "a.png")
    style_b = nst.save_image(smooth_image(48, 64, seed=3), tmp_path / "b.png")
    out, runs = tmp_path / "out.png", tmp_path / "run"
    args = [str(content), str(style_a), str(style_b), "-o", str(out), "--size", "40"]
    args += ["--steps", "3", "--snapshots", str(runs), "--style-blend", "3", "1"]
    args += ["--preserve-color", "luminance", "--style-scale", "1.5", "--tv-weight", "0.01"]
    assert stylize(*args) == 0
    settings = json.loads((runs / "run.json").read_text())["settings"]
    assert settings["styles"] == 2 and settings["style_blend"] == [0.75, 0.25]
    assert settings["preserve_color"] == "luminance" and settings["style_scale"] == 1.5
    assert settings["tv_weight"] == 0.01
    result = nst.load_image(out)
    assert result.shape == (1, 3, 32, 40)
    expected = nst.rgb_to_yiq(nst.load_image(content, size=40))[:, 1:]
    iq = nst.rgb_to_yiq(result)[:, 1:]
    assert (iq - expected).abs().max() < 0.01  # the content's colours, up to 8-bit rounding
    assert "completed: 3 evaluations" in capsys.readouterr().out


def test_stylize_coarse_to_fine(images, tmp_path, capsys):
    content, style = images
    out, runs = tmp_path / "out.png", tmp_path / "run"
    code = stylize(
        str(content), str(style), "-o", str(out), "--scales", "24", "40", "--steps", "2",
        "--snapshots", str(runs), "--preserve-color", "histogram",
    )  # fmt: skip
    assert code == 0
    assert nst.load_image(out).shape == (1, 3, 33, 40)  # the last scale's size
    run = json.loads((runs / "run.json").read_text())
    assert len(run["history"]) == 4 and run["settings"]["scales"] == [24, 40]
    assert [p["long_side"] for p in run["settings"]["per_scale"]] == [24, 40]
    assert "completed: 4 evaluations" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--size", "40", "--scales", "24", "40"], "--size and --scales"),
        (["--style-blend", "1", "2"], "style_blend: 2 weights for 1 style image"),
        (["--scales", "40", "24"], "scales must be positive and increasing"),
        (["--tv-weight", "-1"], "tv_weight must be finite and ≥ 0"),
        (["--style-scale", "0"], "style_scale must be finite and > 0"),
    ],
)
def test_stylize_refuses_bad_option_values_in_one_line(images, tmp_path, capsys, extra, message):
    content, style = images
    out = tmp_path / "x.png"
    assert stylize(str(content), str(style), "-o", str(out), "--steps", "1", *extra) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not out.exists()


def test_fetch_weights_offline_fails_with_the_ways_out(capsys):
    assert main(["fetch-weights", "--quiet"]) == 2
    assert "NST_VGG19_WEIGHTS" in capsys.readouterr().err
