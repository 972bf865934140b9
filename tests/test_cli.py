"""The command line (``cli.py``): its flags are the ``Options`` fields with their defaults; it
writes its files and never overwrites silently; every expected failure is one line on stderr and
exit status 2, found before any long work where it can be; a run that ends early keeps what was
done and says why and what to try, naming the setting that actually caused it."""

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import os
import warnings
from pathlib import Path

import pytest
import torch

import nst_helpers as nst
from nst_helpers import cli
from nst_helpers.cli import build_parser, main
from nst_helpers.options import Options

from .conftest import smooth_image


@pytest.fixture
def images(tmp_path):
    content = nst.save_image(smooth_image(40, 48, seed=1), tmp_path / "content.png")
    style = nst.save_image(smooth_image(64, 64, seed=2), tmp_path / "style.jpg")
    return str(content), str(style)


def stylize(*args: str) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return main(["stylize", *args, "--weights", "random", "--quiet", "--device", "cpu"])


def one_line(capsys) -> str:
    """stderr of the last command: exactly one line, no traceback."""
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def stylize_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["stylize"]


def test_every_option_is_a_flag_with_the_same_default():
    """The flags are made from ``Options``: one place for each option and its default."""
    defaults = vars(stylize_parser().parse_args(["c.png", "s.png", "-o", "o.png"]))
    for field in dataclasses.fields(Options):
        if field.metadata.get("cli", True):
            assert defaults[field.name] == field.default, field.name
            assert "--" + field.name.replace("_", "-") in stylize_parser().format_help()


def test_a_warning_is_one_line_without_pythons_source_line(images, tmp_path, capsys):
    out = str(tmp_path / "w.png")
    args = ["stylize", *images, "-o", out, "--weights", "random", "--quiet", "--steps", "1"]
    from nst_helpers.transfer import default_vgg

    default_vgg.cache_clear()  # the network is built (and warns) in this run
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(args) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err and all(line.startswith("warning: ") for line in err), err
    assert any("random VGG19 weights" in line for line in err)


def test_help_shows_each_default_once_as_it_would_be_typed():
    text = " ".join(stylize_parser().format_help().split())
    assert "(default: None)" not in text and "('" not in text and text.count("(default:") > 10
    assert "(default: relu4_2)" in text and "(default: 1 2 3 10" in text
    assert "own size) (default" not in text and "(default: 0)" in text  # --seed's 0 is shown


def test_stylize_writes_the_result_the_snapshots_and_the_history(images, tmp_path, capsys):
    out, run = tmp_path / "out.png", tmp_path / "run"
    assert (
        stylize(*images, "-o", str(out), "--size", "32", "--steps", "12", "--snapshots", str(run))
        == 0
    )
    said = capsys.readouterr().out
    assert said.startswith("completed: 12 evaluations") and str(out) in said
    assert nst.load_image(out).shape == (1, 3, 27, 32)
    payload = json.loads((run / "run.json").read_text())
    assert payload["evaluations"] == 12 and len(payload["history"]) == 12
    assert sorted(p.name for p in run.glob("eval-*.png")) == [
        "eval-000001.png", "eval-000002.png", "eval-000003.png", "eval-000010.png"]  # fmt: skip


def test_layers_weights_and_the_options_beyond_the_paper_are_taken(images, tmp_path, capsys):
    content, style = images
    args = ["--content-layers", "conv2_2", "--style-layers", "relu1_1,relu2_1", "--beta", "1e6",
            "--style-blend", "1", "3", "--preserve-color", "luminance", "--tv-weight", "1e-3",
            "--pooling", "avg", "--optimizer", "adam", "--init", "noise",
            "--seed", "3"]  # fmt: skip
    run = tmp_path / "run"
    assert stylize(content, style, "waves", "-o", str(tmp_path / "o.png"), "--size", "32",
                   "--steps", "3", "--snapshots", str(run), *args) == 0  # fmt: skip
    settings = json.loads((run / "run.json").read_text())["settings"]
    assert settings["content_layers"] == ["conv2_2"] and settings["beta"] == 1e6
    assert settings["style_blend"] == [0.25, 0.75] and settings["pooling"] == "avg"
    assert settings["preserve_color"] == "luminance" and settings["seed"] == 3


def test_coarse_to_fine_ends_at_the_last_scale(images, tmp_path, capsys):
    out = tmp_path / "big.png"
    assert stylize(*images, "-o", str(out), "--scales", "24", "40", "--steps", "2") == 0
    assert "4 evaluations" in capsys.readouterr().out
    assert max(nst.load_image(out).shape[-2:]) == 40
    assert (
        stylize(*images, "-o", str(tmp_path / "o.png"), "--scales", "24", "40", "--size", "40") == 2
    )
    assert "--scales" in one_line(capsys)


@pytest.fixture
def no_run(monkeypatch):
    """Fail the test if a run starts (weights loaded, evaluations made)."""

    def refuse(*args, **kwargs):
        raise AssertionError("the run started before the arguments were checked")

    monkeypatch.setattr(cli, "run_style_transfer", refuse)
    monkeypatch.setattr(cli, "run_coarse_to_fine", refuse)


@pytest.mark.parametrize(
    "case", ["format", "ico too small", "parent is a file", "folder", "exists", "run exists",
             "run files", "run is a file", "weights missing", "zero steps", "bad layer",
             "bad device"],
)  # fmt: skip
def test_every_argument_is_checked_before_any_work(images, tmp_path, capsys, no_run, case):
    content, style = images
    out, extra = tmp_path / "out.png", []
    if case == "format":
        out = tmp_path / "result.wmf"  # Pillow knows the suffix but cannot write it
    elif case == "ico too small":
        out = tmp_path / "result.ico"  # .ico holds 256 px at most
    elif case == "parent is a file":
        out = Path(content) / "out.png"
    elif case == "folder":
        out = tmp_path
    elif case == "exists":
        out.write_bytes(b"mine")
    elif case == "run exists":
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / "run.json").write_text("{}")
        extra = ["--snapshots", str(tmp_path / "run")]
    elif case == "run files":
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / "result.png").write_bytes(b"mine")
        extra = ["--snapshots", str(tmp_path / "run")]
    elif case == "run is a file":
        extra = ["--snapshots", content]
    elif case == "weights missing":
        extra = ["--weights", str(tmp_path / "missing.pth")]
    elif case == "zero steps":
        extra = ["--steps", "0"]
    elif case == "bad layer":
        extra = ["--style-layers", "relu9_9"]
    else:
        extra = ["--device", "tpu9"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["stylize", content, style, "-o", str(out), "--quiet", *extra])
    assert code == 2 and one_line(capsys)
    if case == "exists":
        assert out.read_bytes() == b"mine"  # never replaced silently
    if case == "run files":
        assert (tmp_path / "run" / "result.png").read_bytes() == b"mine"


def test_an_objective_that_is_zero_everywhere_is_refused_before_any_work(images, tmp_path, capsys):
    assert stylize(*images, "-o", str(tmp_path / "o.png"), "--alpha", "0", "--beta", "0") == 2
    assert "nothing to optimise" in one_line(capsys) and not (tmp_path / "o.png").exists()


@pytest.mark.parametrize(
    "flag, value", [("--tv-weight", "1e40"), ("--beta", "1e40"), ("--alpha", "1e40")]
)
def test_an_overflow_before_any_step_names_the_setting_that_overflowed(
    images, tmp_path, capsys, flag, value
):
    assert stylize(*images, "-o", str(tmp_path / "o.png"), "--size", "32", flag, value,
                   *(["--init", "noise"] if flag == "--alpha" else [])) == 2  # fmt: skip
    err = one_line(capsys)
    assert flag in err and "--lr" not in err
    assert {"--tv-weight", "--beta", "--alpha"} - {flag} & set(err.split()) == set()


def test_a_diverging_run_keeps_its_best_image_and_is_told_a_smaller_learning_rate(
    images, tmp_path, capsys
):
    out = tmp_path / "diverged.png"
    args = [*images, "-o", str(out), "--size", "32", "--steps", "30", "--optimizer", "adam"]
    assert stylize(*args, "--lr", "1e30") == 2
    err = one_line(capsys)
    assert "--lr" in err and "kept evaluation" in err and str(out) in err and out.is_file()


def test_ctrl_c_keeps_what_was_done_and_says_so(images, tmp_path, capsys, monkeypatch):
    real_step = nst.StyleTransfer.step

    def step(self):
        if self.evaluations == 2:
            raise KeyboardInterrupt
        return real_step(self)

    monkeypatch.setattr(nst.StyleTransfer, "step", step)
    out = tmp_path / "interrupted.png"
    assert stylize(*images, "-o", str(out), "--size", "32", "--steps", "30") == 2
    err = one_line(capsys)
    assert "interrupted after 2 evaluations" in err and "run again" in err and out.is_file()


def test_a_save_that_fails_at_the_end_keeps_the_result_as_png_beside_it(
    images, tmp_path, capsys, monkeypatch
):
    out, run = tmp_path / "out.jpg", tmp_path / "run"
    real_replace = os.replace

    def disk_full(src, dst):  # the checks passed before the run; now the writes fail
        if Path(dst) in (out, run / "run.json"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", disk_full)
    assert (
        stylize(*images, "-o", str(out), "--size", "32", "--steps", "3", "--snapshots", str(run))
        == 2
    )
    err = one_line(capsys)
    assert (tmp_path / "out.png").is_file() and "out.png" in err
    assert (tmp_path / "run-1" / "run.json").is_file() and "run-1" in err


def test_running_out_of_memory_is_one_line_with_the_size(images, tmp_path, capsys, monkeypatch):
    def no_memory(*args, **kwargs):
        torch.empty(1 << 48, dtype=torch.uint8)

    monkeypatch.setattr(nst.StyleTransfer, "step", no_memory)
    assert stylize(*images, "-o", str(tmp_path / "o.png"), "--size", "32") == 2
    err = one_line(capsys)
    assert "out of memory" in err and "32 px" in err


FAILURES = [
    "no cuda",
    "html weights",
    "image missing",
    "weights as image",
    "gpu driver",
    "disk error",
]


@pytest.mark.parametrize("case", FAILURES)
def test_every_other_failure_is_one_line_and_exit_2(images, tmp_path, capsys, monkeypatch, case):
    content, style = images
    out, extra = tmp_path / "out.png", ["--weights", "random"]
    page = tmp_path / "vgg19.pth"
    page.write_text("<!DOCTYPE html><html><head><title>Sign in</title></head></html>")
    if case == "no cuda":
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
        extra += ["--device", "cuda"]
    elif case == "html weights":
        extra = ["--weights", str(page)]
    elif case == "image missing":
        content = str(tmp_path / "missing.png")
    elif case == "weights as image":
        torch.save({"0.weight": torch.zeros(1)}, tmp_path / "w.png")
        content = str(tmp_path / "w.png")
    elif case == "gpu driver":
        monkeypatch.setattr(
            cli, "run_style_transfer", _raise(RuntimeError("CUDA error: no kernel"))
        )
    else:
        monkeypatch.setattr(cli, "run_style_transfer", _raise(OSError(errno.EIO, "I/O error")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert (
            main(["stylize", content, style, "-o", str(out), "--size", "32", "--quiet", *extra])
            == 2
        )
    assert one_line(capsys) and not out.exists()


def _raise(exc):
    def fail(*args, **kwargs):
        raise exc

    return fail


def test_a_bug_is_not_hidden_it_gives_its_traceback_and_exit_1(images, tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "run_style_transfer", _raise(RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):  # Python prints it and exits 1
        stylize(*images, "-o", str(tmp_path / "out.png"))


def test_fetch_weights_offline_fails_in_one_line_with_the_ways_out(capsys):
    assert main(["fetch-weights", "--quiet"]) == 2
    assert "NST_WEIGHTS_URL" in one_line(capsys)
    assert main(["fetch-weights", "--out", "copy.bin"]) == 2
    assert ".pth" in one_line(capsys)


def test_fetch_weights_refuses_an_unwritable_out_before_downloading(tmp_path, capsys, monkeypatch):
    from nst_helpers import weights

    def no_download(*args, **kwargs):
        raise AssertionError("downloaded before --out was checked")

    monkeypatch.setattr(weights, "hub_file", no_download)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    for out in (a_file / "w.pth", *([locked / "w.pth"] if os.geteuid() != 0 else [])):
        assert main(["fetch-weights", "--out", str(out), "--quiet"]) == 2
        assert "not a writable folder" in one_line(capsys)


def test_info_says_where_the_weights_would_come_from_without_the_network(capsys, monkeypatch):
    monkeypatch.setenv("NST_WEIGHTS", "random")
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "torch" in out and "random weights" in out and "not here yet" in out


def test_when_nothing_beside_the_output_can_be_written_the_result_is_kept_in_the_cache(
    images, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "out" / "result.png"
    real_replace = os.replace

    def folder_gone(src, dst):  # the output's folder became unwritable during the run
        if Path(dst).parent == out.parent:
            raise OSError(errno.EACCES, "Permission denied")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", folder_gone)
    assert stylize(*images, "-o", str(out), "--size", "32", "--steps", "2") == 2
    kept = tmp_path / "nst-cache" / "unsaved" / "result.png"
    assert kept.is_file() and str(kept) in one_line(capsys)


@pytest.mark.parametrize("flag", [["--size", "100000"], ["--size", "64", "--style-scale", "1000"]])
def test_a_result_too_large_to_hold_is_refused_in_one_line(images, tmp_path, capsys, flag):
    """anishathalye/neural-style-like `--size 100000` grew until the OOM killer came (203 s)."""
    assert stylize(*images, "-o", str(tmp_path / "big.png"), *flag) == 2
    assert "size" in one_line(capsys) and not (tmp_path / "big.png").exists()


@pytest.mark.parametrize(
    ("args", "named"),
    [(["--size", "abc"], "--size"), (["--steps", "x"], "--steps"), (["--lr", "-1"], "--lr")],
)
def test_a_bad_flag_is_one_line_naming_the_flag(images, tmp_path, capsys, args, named):
    try:
        status = stylize(*images, "-o", str(tmp_path / "out.png"), *args)
    except SystemExit as exit:  # argparse: a value of the wrong type
        status = exit.code
    assert status == 2 and named in one_line(capsys)
