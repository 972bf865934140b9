"""The command line writes its files, refuses to overwrite, and documents every option."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

import nst_helpers as nst
from nst_helpers import cli
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


# --------------------------------------------------------------------------- issue 16


def one_line(capsys) -> str:
    """stderr of the last command: exactly one line, no traceback."""
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err, err
    assert err.startswith("error: ")
    return err


def unwritable_folder(tmp_path):
    """A folder nothing can be written in: read-only by mode, or /proc where that is ignored."""
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o500)
        return folder / "out"
    if not Path("/proc/self").is_dir():
        pytest.skip("running as root without /proc: no folder is unwritable")
    return Path("/proc/nst-out")


@pytest.fixture
def no_run(monkeypatch):
    """Fail the test if the engine is reached (weights loaded, evaluations run)."""

    def refuse(*args, **kwargs):
        raise AssertionError("the run started before the outputs were checked")

    monkeypatch.setattr(cli, "StyleTransfer", refuse)
    monkeypatch.setattr(cli, "run_coarse_to_fine", refuse)


@pytest.mark.parametrize(
    "case", ["suffix", "parent is a file", "folder", "unwritable", "run exists", "run is a file"]
)
def test_every_output_is_checked_before_weights_or_any_evaluation(
    images, tmp_path, capsys, no_run, case
):
    content, style = images
    out, extra = tmp_path / "out.png", []
    if case == "suffix":
        out, expected = tmp_path / "result.jgp", "suffix '.jgp'"
    elif case == "parent is a file":
        out, expected = content / "out.png", f"{content}: it is a file, not a folder"
    elif case == "folder":
        out, expected = tmp_path, "is a folder; give a file name"
    elif case == "unwritable":
        out, expected = unwritable_folder(tmp_path) / "out.png", "is not writable"
    elif case == "run exists":
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / "run.json").write_text("{}")
        extra, expected = ["--snapshots", str(tmp_path / "run")], "pass --overwrite"
    else:
        extra, expected = ["--snapshots", str(content)], "it is a file, not a folder"
    assert stylize(str(content), str(style), "-o", str(out), "--steps", "40", *extra) == 2
    err = one_line(capsys)
    assert expected in err and "overwrite=True" not in err


def test_a_save_that_fails_at_the_end_keeps_the_result_and_says_where(
    images, tmp_path, capsys, monkeypatch
):
    content, style = images
    out, runs = tmp_path / "out.png", tmp_path / "run"
    real_replace = os.replace

    def disk_full(src, dst):  # the folders were fine before the run; now the writes fail
        if Path(dst) in (out, runs / "run.json"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", disk_full)
    args = [str(content), str(style), "-o", str(out), "--size", "32", "--steps", "3"]
    assert stylize(*args, "--snapshots", str(runs)) == 2
    err = one_line(capsys)
    kept, kept_run = tmp_path / "out-1.png", tmp_path / "run-1"
    assert f"could not write {out}" in err and "No space left on device" in err
    assert f"wrote it to {kept}" in err and f"saved it in {kept_run}" in err
    assert nst.load_image(kept).shape == (1, 3, 27, 32) and not out.exists()
    assert (kept_run / "run.json").is_file()


def test_a_result_is_kept_in_the_cache_when_nothing_beside_the_target_can_be_written(
    tmp_path, monkeypatch
):
    from nst_helpers.images import save_or_keep
    from nst_helpers.paths import cache_dir

    real_replace = os.replace
    out = tmp_path / "out.png"

    def only_the_cache(src, dst):
        if cache_dir() not in Path(dst).parents:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", only_the_cache)
    written, error = save_or_keep(torch.rand(1, 3, 8, 8), out)
    assert isinstance(error, OSError) and written == cache_dir() / "unsaved" / "out.png"
    assert written.is_file() and not out.exists()


def test_out_of_memory_is_one_line_with_the_size_and_keeps_what_was_done(
    images, tmp_path, capsys, monkeypatch
):
    content, style = images
    real_step = nst.StyleTransfer.step
    fail_at = {"n": 3}

    def step(self):
        if self.evaluations + 1 >= fail_at["n"]:
            torch.empty(1 << 48, dtype=torch.uint8)  # the CPU allocator's genuine error
        return real_step(self)

    monkeypatch.setattr(nst.StyleTransfer, "step", step)
    out = tmp_path / "out.png"
    args = [str(content), str(style), "--size", "32", "--steps", "10"]
    assert stylize(*args, "-o", str(out)) == 2
    err = one_line(capsys)
    assert err.startswith("error: out of memory on the CPU at 32 px") and "--size (e.g. 16)" in err
    assert "--scales" not in err and "kept the image of evaluation 2" in err and out.is_file()
    fail_at["n"] = 1  # at the first evaluation: nothing to keep
    out2 = tmp_path / "out2.png"
    assert stylize(*args, "-o", str(out2)) == 2
    err = one_line(capsys)
    assert "out of memory" in err and "Traceback" not in err and not out2.exists()
    assert "--size (e.g. 16)" in err  # in the command line's words, not the API's (size=)
    monkeypatch.setattr(nst.StyleTransfer, "step", real_step)  # the process is still usable
    assert stylize(*args, "-o", str(tmp_path / "out3.png")) == 0


def test_after_a_stop_it_says_why_which_image_was_kept_and_what_next(
    images, tmp_path, capsys, monkeypatch
):
    content, style = images
    out = tmp_path / "diverged.png"
    args = [str(content), str(style), "--size", "32", "--steps", "30"]
    assert stylize(*args, "-o", str(out), "--lr", "1e30") == 2
    err = one_line(capsys)
    assert "non-finite loss: the loss became" in err and "kept the image of evaluation" in err
    assert "the lowest loss" in err and f"wrote {out}" in err and "smaller --lr (e.g. 1," in err
    assert out.is_file()

    real_step = nst.StyleTransfer.step
    stop_at = {"n": 3}

    def step(self):
        if self.evaluations + 1 >= stop_at["n"]:
            raise KeyboardInterrupt
        return real_step(self)

    monkeypatch.setattr(nst.StyleTransfer, "step", step)
    out = tmp_path / "interrupted.png"
    assert stylize(*args, "-o", str(out)) == 2
    err = one_line(capsys)
    assert err.startswith("error: interrupted (Ctrl-C) after 2 of 30 evaluations; ")
    assert "kept the image of evaluation 2" in err and "run again" in err and out.is_file()
    stop_at["n"] = 1  # before the first evaluation finished: no result, nothing written
    out = tmp_path / "nothing.png"
    assert stylize(*args, "-o", str(out)) == 2
    err = one_line(capsys)
    assert err.startswith("error: interrupted (Ctrl-C) before the first evaluation finished")
    assert "nothing was written" in err and "finite" not in err and not out.exists()


def _raise(exc):
    def fail(*args, **kwargs):
        raise exc

    return fail


FAILURES = {  # case: what its one line says
    "no cuda": "device",
    "not a device": "is not a device",
    "weights file missing": "neither 'imagenet'",
    "html weights": "an HTML page",
    "caffe env html": "an HTML page",
    "image missing": "no such file",
    "weights as image": "a PyTorch file",
    "ctrl-c while loading": "interrupted (Ctrl-C)",
    "gpu driver": "try --device cpu",
    "disk error": "Input/output error",
    "argparse": "",
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_every_failure_of_the_command_line_is_one_line_and_exit_2(
    images, tmp_path, capsys, monkeypatch, case
):
    content, style = images
    expected = FAILURES[case]
    out = tmp_path / "out.png"
    args = [str(content), str(style), "-o", str(out), "--size", "32", "--steps", "2"]
    page = tmp_path / "vgg19.pth"
    page.write_text("<!DOCTYPE html><html><head><title>Sign in</title></head></html>")
    weights_file = tmp_path / "w.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, weights_file)
    command = ["stylize", *args, "--quiet"]
    if case == "no cuda":
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
        command += ["--device", "cuda", "--weights", "random"]
    elif case == "not a device":
        command += ["--device", "tpu9", "--weights", "random"]
    elif case == "weights file missing":
        command += ["--weights", str(tmp_path / "missing.pth")]
    elif case == "html weights":
        command += ["--weights", str(page)]
    elif case == "caffe env html":
        monkeypatch.setenv("NST_CAFFE_WEIGHTS", str(page))
        command += ["--weights", "caffe"]
    elif case == "image missing":
        command[1] = str(tmp_path / "missing.png")
    elif case == "weights as image":
        command[2] = str(weights_file)
    elif case == "ctrl-c while loading":
        monkeypatch.setattr(cli, "_image_source", _raise(KeyboardInterrupt()))
    elif case == "gpu driver":
        monkeypatch.setattr(cli, "StyleTransfer", _raise(RuntimeError("CUDA error: no kernel")))
    elif case == "disk error":
        monkeypatch.setattr(cli, "StyleTransfer", _raise(OSError(errno.EIO, "Input/output error")))
    else:
        with pytest.raises(SystemExit) as info:
            main(["stylize", str(content)])
        assert info.value.code == 2
        capsys.readouterr()
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(command) == 2
    assert expected in one_line(capsys)
    assert not out.exists()


def test_a_bug_is_not_hidden_it_gives_its_traceback_and_exit_1(images, tmp_path, monkeypatch):
    content, style = images
    monkeypatch.setattr(cli, "StyleTransfer", _raise(RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):  # Python prints it and exits 1
        stylize(str(content), str(style), "-o", str(tmp_path / "out.png"))


# --------------------------------------------------------------------------- newcomer's faults


@pytest.mark.parametrize("device", ["mps", "xla", "meta"])
def test_a_device_that_cannot_hold_a_tensor_here_is_refused_before_any_work(
    images, tmp_path, capsys, no_run, monkeypatch, device
):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    content, style = images
    out = tmp_path / "out.png"
    code = main(["stylize", str(content), str(style), "-o", str(out), "--device", device])
    assert code == 2
    err = one_line(capsys)
    assert f"device '{device}' is not available here: " in err
    assert "choose cpu or leave --device out" in err and not out.exists()


@pytest.mark.parametrize("caffe", [False, True], ids=["imagenet", "caffe"])
@pytest.mark.parametrize("case", ["parent is a file", "unwritable", "folder", "suffix", "exists"])
def test_fetch_weights_checks_out_before_any_download(
    images, tmp_path, capsys, monkeypatch, case, caffe
):
    from nst_helpers import caffe_weights, weights

    def refuse(*args, **kwargs):
        raise AssertionError("weights were loaded or downloaded before --out was checked")

    monkeypatch.setattr(weights, "imagenet_state_dict", refuse)
    monkeypatch.setattr(caffe_weights, "caffe_state_dict", refuse)
    content, _ = images
    if case == "parent is a file":
        out, expected = content / "x.pth", f"{content}: it is a file, not a folder"
    elif case == "unwritable":
        out, expected = unwritable_folder(tmp_path) / "x.pth", "is not writable"
    elif case == "folder":
        out, expected = tmp_path, f"--out {tmp_path} is a folder; give a file name, e.g."
    elif case == "suffix":
        out, expected = tmp_path / "vgg.jgp", "must end in .pth, e.g. " + str(tmp_path / "vgg.pth")
    else:
        out, expected = content.with_suffix(".pth"), "already exists; remove it or choose another"
        out.write_bytes(b"earlier")
    command = ["fetch-weights", "--quiet", "--out", str(out)] + (["--caffe"] if caffe else [])
    assert main(command) == 2
    err = one_line(capsys)
    assert expected in err and "Errno" not in err and ".part" not in err, err


def test_fetch_weights_names_out_when_the_final_write_fails(tmp_path, capsys, monkeypatch):
    from nst_helpers import weights

    source = tmp_path / "full.pth"
    weights.save_features_state_dict(weights.random_state_dict(), source)
    monkeypatch.setenv("NST_VGG19_WEIGHTS", str(source))
    out = tmp_path / "lab" / "vgg19.pth"
    real_replace = os.replace

    def disk_full(src, dst):
        if Path(dst) == out:
            raise OSError(errno.ENOSPC, "No space left on device", str(src))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", disk_full)
    assert main(["fetch-weights", "--quiet", "--out", str(out)]) == 2
    err = one_line(capsys)
    assert f"could not write the weights to {out} (No space left on device)" in err
    assert f"ready in {weights.features_cache_path()}" in err and ".part" not in err


@pytest.mark.parametrize("variable", ["NST_VGG19_WEIGHTS", "NST_CAFFE_WEIGHTS"])
@pytest.mark.parametrize("kind", ["html", "folder", "image"])
def test_info_says_when_the_weights_file_is_not_usable_and_why(
    tmp_path, capsys, monkeypatch, images, variable, kind
):
    if kind == "html":
        path, why = tmp_path / "vgg19.pth", "it is an HTML page titled 'Sign in'"
        path.write_text("<!DOCTYPE html><html><head><title>Sign in</title></head></html>")
    elif kind == "folder":
        path, why = tmp_path, "it is a folder, not a file"
    else:
        path, why = images[0], "it is a PNG image"
    monkeypatch.setenv(variable, str(path))
    assert main(["info"]) == 0  # info reports; it does not fail
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if str(path) in x)
    assert "not usable: " + why in line and "(missing!)" not in line, line
    assert ("fetch-weights" if variable == "NST_VGG19_WEIGHTS" else "vgg_conv.pth") in line


def test_a_loss_that_overflows_before_any_step_blames_the_weights_not_the_learning_rate(
    images, tmp_path, capsys
):
    content, style = images
    out = tmp_path / "out.png"
    args = [str(content), str(style), "-o", str(out), "--size", "32", "--steps", "5"]
    assert stylize(*args, "--beta", "1e300") == 2
    err = one_line(capsys)
    assert "at evaluation 1, before any optimisation step" in err and "--beta" in err
    assert "overflow from the start" in err and "nothing was written" in err
    assert "--lr" not in err and "--optimizer" not in err and not out.exists()


def test_adam_diverging_is_told_to_lower_its_learning_rate_not_to_use_adam(
    images, tmp_path, capsys
):
    content, style = images
    out = tmp_path / "out.png"
    args = [str(content), str(style), "-o", str(out), "--size", "32", "--steps", "20"]
    assert stylize(*args, "--optimizer", "adam", "--lr", "1e30") == 2
    err = one_line(capsys)
    assert err.startswith("error: non-finite loss: the loss became")
    assert "run again with a smaller --lr (e.g. 0.02, the default)" in err
    assert "--optimizer adam" not in err and out.is_file()


@pytest.mark.parametrize("how", ["--weights", "NST_VGG19_WEIGHTS", "NST_WEIGHTS"])
def test_weights_given_as_a_folder_are_called_a_folder(images, tmp_path, capsys, monkeypatch, how):
    content, style = images
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "vgg19.pth").write_bytes(b"")
    command = ["stylize", str(content), str(style), "-o", str(tmp_path / "out.png"), "--quiet"]
    if how == "--weights":
        command += ["--weights", str(folder)]
    elif how == "NST_VGG19_WEIGHTS":
        monkeypatch.setenv("NST_VGG19_WEIGHTS", str(folder))
        command += ["--weights", "imagenet"]
    else:
        monkeypatch.setenv("NST_WEIGHTS", str(folder))
    assert main([*command, "--size", "32", "--steps", "1"]) == 2
    err = one_line(capsys)
    assert "is a folder, not a" in err and "no such file" not in err and "delete" not in err
    assert "$NST_WEIGHTS" in err if how == "NST_WEIGHTS" else True


def test_a_typo_in_nst_weights_is_said_to_come_from_nst_weights(
    images, tmp_path, capsys, monkeypatch, no_run
):
    content, style = images
    monkeypatch.setenv("NST_WEIGHTS", "randm")
    command = ["stylize", str(content), str(style), "-o", str(tmp_path / "out.png")]
    assert main(command) == 2
    err = one_line(capsys)
    assert "$NST_WEIGHTS (--weights not given) = 'randm' is neither 'imagenet'" in err
    assert "fix or unset NST_WEIGHTS" in err


@pytest.mark.parametrize("command", [["info"], ["fetch-weights", "--quiet"]])
def test_a_cache_folder_that_cannot_be_made_names_nst_cache_dir(
    images, tmp_path, capsys, monkeypatch, command
):
    bad = images[0] / "cache"  # under a file: cannot be created, whoever runs it
    monkeypatch.setenv("NST_CACHE_DIR", str(bad))
    assert main(command) == 2
    err = one_line(capsys)
    assert f"the cache folder {bad} (from $NST_CACHE_DIR) cannot be created or written" in err
    assert "set NST_CACHE_DIR to a folder you can write" in err and "Errno" not in err


def test_a_plain_pickle_as_weights_gives_the_one_line_and_no_torch_warning(
    images, tmp_path, capsys
):
    import pickle

    content, style = images
    plain = tmp_path / "pickle.pth"
    plain.write_bytes(pickle.dumps({"features.0.weight": [0.0]}, protocol=4))
    command = ["stylize", str(content), str(style), "-o", str(tmp_path / "out.png"), "--quiet"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main([*command, "--weights", str(plain), "--size", "32", "--steps", "1"]) == 2
    assert "plain Python pickle" in one_line(capsys)
    assert not [w for w in caught if "pickle protocol" in str(w.message)], caught[0].message


def test_out_of_memory_with_scales_advises_a_smaller_last_scale_not_size(
    images, tmp_path, capsys, monkeypatch
):
    content, style = images
    real_step = nst.StyleTransfer.step

    def step(self):
        if max(self.settings["size"]) >= 48:  # the last scale runs out at once
            torch.empty(1 << 48, dtype=torch.uint8)
        return real_step(self)

    monkeypatch.setattr(nst.StyleTransfer, "step", step)
    out = tmp_path / "out.png"
    assert stylize(str(content), str(style), "-o", str(out), "--scales", "20", "48") == 2
    err = one_line(capsys)
    assert "out of memory on the CPU at 48 px" in err
    assert "try a smaller last scale (e.g. --scales 20 24) or fewer --style-layers" in err
    assert "--size" not in err and "coarse-to-fine" not in err


def _ran_out(size):
    """A run that ran out of memory after 2 evaluations, as the engine now ends one: a Result
    with stop_reason "out-of-memory", its message in the API's words."""
    from nst_helpers.errors import RunOutOfMemoryError, out_of_memory_message

    said = "DefaultCPUAllocator: can't allocate memory: you tried to allocate 4294967296 bytes"
    error = RunOutOfMemoryError(
        out_of_memory_message(RuntimeError(said), size, "cpu"), said, size, "cpu"
    )
    history = [{"total": 3.0 - k, "seconds": 0.1 * k} for k in (1, 2)]
    result = nst.Result(
        image=torch.rand(1, 3, 8, 8),
        history=history,
        snapshots={},
        evaluations=2,
        stop_reason="out-of-memory",
        message=str(error),
        best_evaluation=2,
    )
    return result, error


@pytest.mark.parametrize("scales", [False, True], ids=["size", "scales"])
def test_a_run_that_ends_out_of_memory_is_reported_in_the_command_lines_words(
    images, tmp_path, capsys, monkeypatch, scales
):
    content, style = images
    out = tmp_path / "out.png"
    if scales:  # coarse-to-fine returns the last finished scale's result, the error in words
        result, _ = _ran_out(64)
        monkeypatch.setattr(cli, "run_coarse_to_fine", lambda *a, **k: result)
        extra = ["--scales", "32", "64"]
    else:  # the engine keeps the error as engine.error

        def run(self):
            result, self.error = _ran_out(64)
            return result

        monkeypatch.setattr(nst.StyleTransfer, "run", run)
        extra = ["--size", "64"]
    assert stylize(str(content), str(style), "-o", str(out), *extra) == 2
    err = one_line(capsys)
    assert err.startswith("error: out of memory on the CPU at 64 px (an allocation of 4.0 GiB")
    assert "out-of-memory" not in err and "kept the image of evaluation 2" in err
    assert f"wrote {out}" in err and out.is_file()
    if scales:
        assert "try a smaller last scale (e.g. --scales 32) or fewer --style-layers" in err
        assert "--size" not in err and "scales=" not in err
    else:
        assert "try a smaller --size (e.g. 32) or fewer --style-layers" in err
        assert "size (e.g." in err and "style_layers" not in err
