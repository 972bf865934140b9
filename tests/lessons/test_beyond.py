"""Lesson 07's helpers: a TV weight relative to a run's loss, the coarse-to-fine table, the same
run on several networks, and the command lines the lesson teaches."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import nbformat
import pytest
import torch

import nst_helpers as nst
from nst_helpers.cli import build_parser
from nst_helpers.coarse_to_fine import run_coarse_to_fine
from nst_helpers.errors import ParameterError
from nst_helpers.extensions.tv import total_variation
from nst_helpers.lessons import beyond

from ..conftest import smooth_image

ROOT = Path(__file__).resolve().parents[2]
LESSON = ROOT / "notebooks" / "07_beyond_the_paper.ipynb"


@pytest.fixture(scope="module")
def noisy_run(vgg):
    content, style = smooth_image(32, 40, 1), smooth_image(48, 32, 2)
    return nst.run_style_transfer(
        content, style, vgg=vgg, init="noise", steps=4, beta=1e4, progress=False
    )


def test_the_tv_weight_makes_tv_that_share_of_the_runs_loss(noisy_run):
    loss = noisy_run.history[noisy_run.best_evaluation - 1]["total"]
    tv = float(total_variation(noisy_run.image))
    for share in (0.1, 1.0, 0.0):
        weight = beyond.tv_weight_for(noisy_run, share)
        assert weight * tv == pytest.approx(share * loss, rel=1e-9)


@pytest.mark.parametrize("share", [-0.1, float("nan"), float("inf"), "0.1"])
def test_a_bad_share_is_refused(noisy_run, share):
    with pytest.raises(ParameterError, match="share must be a finite number"):
        beyond.tv_weight_for(noisy_run, share)


def test_a_flat_image_has_no_tv_weight(vgg):
    flat = nst.run_style_transfer(
        torch.full((1, 3, 32, 32), 0.5),
        smooth_image(32, 32, 2),
        vgg=vgg,
        steps=1,
        beta=0.0,
        progress=False,
    )
    with pytest.raises(ParameterError, match="flat"):
        beyond.tv_weight_for(flat, 0.1)


def test_the_scale_table_has_a_row_per_scale_and_a_total_per_run(vgg):
    content, style = smooth_image(32, 40, 1), smooth_image(48, 32, 2)
    direct = run_coarse_to_fine(content, style, [40], steps=4, vgg=vgg, progress=False)
    c2f = run_coarse_to_fine(content, style, [24, 40], steps=[2, 2], vgg=vgg, progress=False)
    table = beyond.scale_table({"direct": direct, "coarse to fine": c2f})
    lines = table.splitlines()
    assert lines[0].startswith("| run | scale (px) | evaluations | seconds | peak memory")
    rows = [line for line in lines[2:] if line.startswith("| ")]
    assert len(rows) == (1 + 1) + (2 + 1)  # scales, then one total per run
    assert rows[0].startswith("| direct | 32 × 40 | 4 |")
    assert rows[2].startswith("| coarse to fine | 19 × 24 | 2 |")
    assert rows[3].startswith("| coarse to fine | 32 × 40 | 2 |")
    best = c2f.history[c2f.best_evaluation - 1]["total"]
    assert rows[4].startswith("| **coarse to fine: all** | | **4** |")
    assert rows[4].endswith(f"| **{best:.4g}** |")
    assert table.endswith("peak resident memory.")  # says what was measured (a CPU run)


def test_the_scale_table_needs_per_scale_records(vgg):
    plain = nst.run_style_transfer(
        smooth_image(32, 32, 1), smooth_image(32, 32, 2), vgg=vgg, steps=1, progress=False
    )
    with pytest.raises(ParameterError, match="no per-scale record"):
        beyond.scale_table({"plain": plain})


def test_networks_without_weights_here_are_skipped_with_a_note(capsys, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("compare_networks downloaded a Caffe file")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    content, style = smooth_image(32, 32, 1), smooth_image(32, 32, 2)
    results = beyond.compare_networks(content, style, ("random", "caffe"), steps=2, progress=False)
    assert list(results) == ["torchvision (β = 1e+09)"]  # random weights, torchvision's scale
    result = results["torchvision (β = 1e+09)"]
    assert result.evaluations == 2 and result.snapshots == {}
    assert result.settings["pooling"] == "avg" and result.settings["init"] == "noise"
    assert "skipped 'caffe': no Caffe VGG19 file" in capsys.readouterr().out


# --------------------------------------------------------------------------- lesson 07's text


def lesson_commands() -> list[list[str]]:
    """Every ``python -m nst_helpers …`` line in notebook 07's Markdown (continuations joined,
    comments dropped), as argument lists."""
    text = "\n".join(c.source for c in nbformat.read(LESSON, as_version=4).cells)
    text = text.replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("python -m nst_helpers "):
            commands.append(shlex.split(line)[3:])
    return commands


def test_the_command_lines_of_lesson_07_are_accepted(monkeypatch):
    commands = lesson_commands()
    flags = {arg for args in commands for arg in args if arg.startswith("--")}
    for flag in ("--preserve-color", "--style-blend", "--style-scale", "--tv-weight", "--scales"):
        assert flag in flags, f"lesson 07 shows no command line with {flag}"
    parser = build_parser()
    for args in commands:
        args = ["1.0" if a == "W" else a for a in args]  # W: the weight section 4 prints
        parsed = parser.parse_args(args)
        if parsed.command == "stylize":
            assert parsed.output and len(parsed.style) >= 1
            if parsed.style_blend is not None:
                assert len(parsed.style_blend) == len(parsed.style)


def test_lesson_07_names_no_widget_it_does_not_show():
    """The browser test expects the panels a notebook's code names (tests/browser); lesson 07
    shows the blend panel and must not name the style-transfer control panel of lesson 04."""
    code = "\n".join(
        c.source for c in nbformat.read(LESSON, as_version=4).cells if c.cell_type == "code"
    )
    assert re.search(r"\bBlendExplorer\(", code)
    assert not re.search(r"(?i)dashboard", code)
