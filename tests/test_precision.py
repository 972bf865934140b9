"""Speed where the hardware allows, the formulas kept: channels_last changes only the rounding; a
lower precision covers the network's pass only (the Grams, losses, image and optimiser stay
float32); ``precision="auto"`` decides by measuring, keeps float32 where the hardware has no
lower precision, and remembers its answer per machine and size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

import nst_helpers as nst
from nst_helpers import losses, precision
from nst_helpers.errors import ParameterError
from nst_helpers.step import Objective, evaluate
from nst_helpers.vgg import VGG19Features

from .conftest import smooth_image

ROOT = Path(__file__).resolve().parents[1]


def contiguous_copy(vgg: VGG19Features) -> VGG19Features:
    other = VGG19Features(vgg.pooling, vgg.network)
    other.load_state_dict(vgg.state_dict())
    return other  # contiguous_format, as built


def test_the_network_runs_channels_last_on_the_cpu_and_that_changes_only_rounding(vgg):
    assert vgg.memory_format == torch.channels_last
    assert vgg.features[0].weight.is_contiguous(memory_format=torch.channels_last)
    plain = contiguous_copy(vgg)
    x = smooth_image(48, 40, seed=1)
    with torch.no_grad():
        a, b = vgg(x, ["relu1_1", "relu5_1"]), plain(x, ["relu1_1", "relu5_1"])
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5)
    content, style = smooth_image(32, 40, 1), smooth_image(32, 40, 2)
    runs = [
        nst.run_style_transfer(content, style, vgg=v, steps=5, progress=False) for v in (vgg, plain)
    ]
    totals = [[r["total"] for r in run.history] for run in runs]
    assert totals[0] == pytest.approx(totals[1], rel=1e-3)  # L-BFGS amplifies rounding a little


@pytest.mark.parametrize("lower", ["bf16", "fp16"])
def test_a_lower_precision_covers_the_network_only(vgg, lower, monkeypatch):
    seen = []
    real = losses.gram_matrix

    def gram(features):
        seen.append(features.dtype)
        return real(features)

    monkeypatch.setattr("nst_helpers.losses.gram_matrix", gram)
    content, style = smooth_image(32, 32, 1), smooth_image(32, 32, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fp32 = nst.StyleTransfer(content, style, vgg=vgg, steps=2)
        low = nst.StyleTransfer(content, style, vgg=vgg, steps=2, precision=lower)
    seen.clear()
    a, b = fp32.run(), low.run()
    assert set(seen) == {torch.float32}  # every Gram matrix in float32
    assert low.x.dtype == torch.float32 and low.x.grad.dtype == torch.float32
    assert b.settings["precision"] == lower and a.settings["precision"] == "fp32"
    assert b.history[0]["total"] == pytest.approx(a.history[0]["total"], rel=0.05)


def test_bf16_keeps_about_2_to_3_significant_digits_so_the_grams_stay_float32():
    """bfloat16 keeps 8 significant bits: 1 + 2⁻⁸ rounds to 1. A Gram entry sums M products, so
    computed in bfloat16 it would lose what the style loss compares."""
    assert torch.tensor(1 + 2**-8, dtype=torch.bfloat16).item() == 1.0
    assert torch.tensor(1 + 2**-7, dtype=torch.bfloat16).item() == 1 + 2**-7
    F = torch.rand(1, 8, 32, 32, generator=torch.Generator().manual_seed(0))
    exact = nst.gram_matrix(F.double())
    rounded = nst.gram_matrix(F.bfloat16()).double()
    assert ((rounded - exact).abs().max() / exact.abs().max()).item() > 1e-3


def test_fp16_scales_the_loss_so_its_backward_stays_in_range(vgg):
    content, style = smooth_image(32, 32, 1), smooth_image(32, 32, 2)
    transfer = nst.StyleTransfer(content, style, vgg=vgg, steps=3, precision="fp16", beta=1e12)
    result = transfer.run()
    assert transfer.objective.grad_scale is not None and transfer.objective.grad_scale < 1
    assert torch.isfinite(transfer.x.grad).all() and result.evaluations == 3


def test_an_overflowing_fp16_backward_skips_that_step_and_halves_the_scale(vgg):
    content, style = smooth_image(32, 32, 1), smooth_image(32, 32, 2)
    objective = nst.StyleTransfer(content, style, vgg=vgg, precision="fp16", steps=1).objective
    objective.grad_scale = 1e30  # certain to overflow float16
    x = content.clone().requires_grad_(True)
    ev = evaluate(x, vgg, objective)
    assert ev.finite and torch.equal(x.grad, torch.zeros_like(x))
    assert objective.grad_scale == 5e29 and objective.good_steps == 0


def timings(fp32: float, bf16: float, loss: float = 100.0) -> dict:
    return {"fp32": {"seconds": fp32, "loss": 100.0}, "bf16": {"seconds": bf16, "loss": loss}}


@pytest.mark.parametrize(
    "measured, chosen",
    [
        (timings(1.0, 0.5), "bf16"),  # twice as fast, same loss
        (timings(1.0, 0.9), "fp32"),  # not clearly faster
        (timings(1.0, 0.5, loss=110.0), "fp32"),  # faster, but its loss disagrees
        (timings(1.0, 30.0), "fp32"),  # emulated: far slower
    ],
)
def test_auto_takes_a_lower_precision_only_when_clearly_faster_and_in_agreement(measured, chosen):
    assert precision.decide(measured) == chosen


def _objective(vgg, size=32):
    content, style = smooth_image(size, size, 1), smooth_image(size, size, 2)
    return nst.StyleTransfer(content, style, vgg=vgg, steps=1).objective, content


def test_auto_keeps_fp32_without_probing_where_the_hardware_has_no_lower_precision(
    vgg, monkeypatch
):
    monkeypatch.setattr(precision, "candidates", lambda device: [])
    monkeypatch.setattr(precision, "probe", lambda *a, **k: pytest.fail("probed"))
    objective, x0 = _objective(vgg)
    assert precision.choose_precision(vgg, objective, x0) == "fp32"


def test_auto_measures_once_per_machine_and_size_and_remembers(vgg, monkeypatch, tmp_path):
    calls = []

    def fake_probe(vgg, objective, x0, precisions, evaluations=3):
        calls.append((list(x0.shape), precisions))
        return timings(1.0, 0.4)

    monkeypatch.setattr(precision, "candidates", lambda device: ["bf16"])
    monkeypatch.setattr(precision, "probe", fake_probe)
    objective, x0 = _objective(vgg)
    assert precision.choose_precision(vgg, objective, x0) == "bf16"
    assert precision.choose_precision(vgg, objective, x0) == "bf16" and len(calls) == 1
    saved = json.loads((tmp_path / "nst-cache" / "precision.json").read_text())
    assert [entry["choice"] for entry in saved.values()] == ["bf16"]
    objective64, x64 = _objective(vgg, 64)
    precision.choose_precision(vgg, objective64, x64)
    assert [c[0] for c in calls] == [[1, 3, 32, 32], [1, 3, 64, 64]]


def test_a_run_with_auto_records_what_it_chose(vgg, monkeypatch):
    monkeypatch.setattr(precision, "candidates", lambda device: [])
    content, style = smooth_image(32, 32, 1), smooth_image(32, 32, 2)
    result = nst.run_style_transfer(
        content, style, vgg=vgg, steps=1, precision="auto", progress=False
    )
    assert result.settings["precision"] == "fp32"


def test_the_probe_times_the_runs_own_evaluation_in_each_precision(vgg):
    objective, x0 = _objective(vgg)
    measured = precision.probe(vgg, objective, x0, ["fp32", "bf16"], evaluations=1)
    assert set(measured) == {"fp32", "bf16"} and all(m["seconds"] > 0 for m in measured.values())
    assert measured["bf16"]["loss"] == pytest.approx(measured["fp32"]["loss"], rel=0.05)


def test_a_cpu_without_bf16_keeps_fp32(tmp_path):
    """oneDNN limited to AVX2 (no AVX512-BF16, no AMX), as on CPUs without bf16 hardware."""
    code = (
        "import torch, json; from nst_helpers import precision; "
        "print(json.dumps(precision.candidates(torch.device('cpu'))))"
    )
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


def test_precision_is_an_option_and_a_flag():
    with pytest.raises(ParameterError, match="precision"):
        nst.Options(precision="fp8")
    assert nst.Options().precision == "fp32" and nst.profile("lab").precision == "auto"
    assert Objective.__dataclass_fields__["precision"].default == "fp32"


def test_auto_remembers_in_the_users_own_cache_when_the_course_cache_is_read_only(
    vgg, monkeypatch, tmp_path
):
    course, own = tmp_path / "course", tmp_path / "own"
    course.write_text("")  # nothing can be written under it, even by root (as in CI)
    monkeypatch.setenv("NST_CACHE_DIR", str(course))
    monkeypatch.setattr("platformdirs.user_cache_dir", lambda name: str(own))
    calls = []
    monkeypatch.setattr(precision, "candidates", lambda device: ["bf16"])
    monkeypatch.setattr(precision, "probe", lambda *a, **k: calls.append(1) or timings(1.0, 0.4))
    objective, x0 = _objective(vgg)
    assert precision.choose_precision(vgg, objective, x0) == "bf16"
    assert precision.choose_precision(vgg, objective, x0) == "bf16"
    assert len(calls) == 1 and (own / "precision.json").exists()
