"""The setup check (lesson 00): versions, device, where the weights come from, the time estimate
(every lesson's runs, profiles.LESSONS, priced at the profile's sizes) and what precision="auto"
measures here: fp32 against each lower precision the hardware has, or, without one, bf16 emulated
at a small size to show why fp32 is kept."""

from __future__ import annotations

import re

import pytest

from nst_helpers import precision, profiles
from nst_helpers.files import cache_dir
from nst_helpers.lessons import setup_check
from nst_helpers.profiles import LESSONS, PROFILES
from nst_helpers.weights import hub_path, torchvision_url

from ..conftest import serve, served_url


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_lessons_refer_to_fields_of_every_profile(name: str) -> None:
    profile = PROFILES[name]
    for runs in LESSONS.values():
        for count, size_key, steps_key in runs:
            assert count >= 1
            assert size_key.endswith("size") and getattr(profile, size_key) >= 16
            steps = steps_key if isinstance(steps_key, int) else getattr(profile, steps_key)
            assert steps >= 1


def test_estimate_prices_each_run_at_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    lab = profiles.profile("lab")
    per_eval = {lab.size: 1.0, lab.small_size: 0.1, lab.tile_size: 0.01}
    monkeypatch.setattr(setup_check, "seconds_per_evaluation", lambda vgg, size: per_eval[size])
    estimates = setup_check.estimate_lessons(None, lab)  # type: ignore[arg-type]
    assert set(estimates) == set(LESSONS)
    assert estimates["01 VGG19 features"] == 0
    # 04: one main run, six series runs (dashboard + five starts), the 20-run grid of tiles, the
    # three α/β tiles and 5 evaluations each in fp32 and bf16
    expected_04 = lab.steps * 1.0 + 6 * lab.small_steps * 0.1 + 23 * lab.tile_steps * 0.01 + 0.1
    assert estimates["04 style transfer"] == pytest.approx(expected_04)
    # 06: a loss-landscape grid costs a third of an evaluation per point (forward only), and so do
    # the points of its lines (about 112: 37 evaluations)
    expected_06 = 2 * lab.grid**2 * 0.1 / 3 + 3 * lab.small_steps * 0.1 + 37 * 0.1
    assert estimates["06 loss landscape"] == pytest.approx(expected_06)


def test_the_weights_line_says_where_they_come_from_without_reading_them(monkeypatch):
    from nst_helpers.weights import hub_path, torchvision_url

    monkeypatch.setenv("NST_WEIGHTS", "random")
    assert "random" in setup_check.weights_advice()  # the profile's weights: $NST_WEIGHTS
    missing = setup_check.weights_advice("imagenet")  # TORCH_HOME is empty here
    assert str(hub_path(torchvision_url())) in missing
    assert "fetch-weights" in missing and "NST_WEIGHTS=" in missing  # what to do offline
    hub_path(torchvision_url()).parent.mkdir(parents=True)
    hub_path(torchvision_url()).write_bytes(b"PK not really weights")  # never read as weights
    assert "fetch-weights" not in setup_check.weights_advice("imagenet")


def test_one_evaluation_is_timed_and_the_report_sums_the_lessons(vgg):
    assert setup_check.seconds_per_evaluation(vgg, 32, repeats=1) > 0
    report = setup_check.estimates_report({"01 VGG19 features": 0.0, "04 style transfer": 90.0})
    assert report.splitlines()[0].endswith("(no optimisation)")
    assert "1.5 min" in report.splitlines()[1] and report.splitlines()[-1].endswith("1.5 min")


def test_versions_and_device_are_reported():
    found = setup_check.versions()
    assert found["python"] and found["torch"] != "missing"
    assert setup_check.device_report()


def recorded_probes(monkeypatch, hardware: list[str], seconds: dict[str, float]) -> list:
    """Fake hardware with ``hardware`` lower precisions and probe timings ``seconds`` (the losses
    agree); returns the list of (size, precisions, evaluations) the report asks to time."""
    calls = []

    def probe(vgg, objective, x0, names, evaluations=3):
        calls.append((x0.shape[-1], list(names), evaluations))
        return {n: {"seconds": seconds[n], "loss": 10.0} for n in names}

    monkeypatch.setattr(precision, "candidates", lambda device: hardware)
    monkeypatch.setattr(precision, "probe", probe)
    return calls


def test_without_lower_precision_fp32_is_kept_and_bf16_timed_small_to_show_why(vgg, monkeypatch):
    calls = recorded_probes(monkeypatch, [], {"fp32": 0.1, "bf16": 0.8})
    report = setup_check.precision_report(vgg, 64)
    small = setup_check.EMULATED_SIZE
    assert calls == [(64, ["fp32"], 3), (small, ["fp32", "bf16"], 1)]  # one after a warm-up
    assert "8.00" in report  # bf16 takes 8 × fp32's time here
    assert " fp32 " in report.splitlines()[-1]  # the choice


@pytest.mark.parametrize(
    ("seconds", "choice"),
    [({"fp32": 1.0, "bf16": 0.5, "fp16": 0.7}, "bf16"), ({"fp32": 1.0, "bf16": 0.95}, "fp32")],
)
def test_with_lower_precisions_each_is_timed_at_the_size_and_the_choice_is_decides(
    vgg, monkeypatch, seconds, choice
):
    hardware = [n for n in seconds if n != "fp32"]
    calls = recorded_probes(monkeypatch, hardware, seconds)
    report = setup_check.precision_report(vgg, 48)
    assert calls == [(48, ["fp32", *hardware], 3)]  # nothing emulated is timed
    timings = {n: {"seconds": t, "loss": 10.0} for n, t in seconds.items()}
    assert precision.decide(timings) == choice and f" {choice} " in report.splitlines()[-1]
    assert len(report.splitlines()) == len(seconds) + 1  # a line per precision, then the choice


def test_the_real_probe_runs_at_a_tiny_size(vgg):
    report = setup_check.precision_report(vgg, 32).splitlines()
    assert report[0].lstrip().startswith("fp32") and len(report) >= 2


def test_a_failed_download_names_its_address_and_the_setting_that_fixes_it(monkeypatch):
    # conftest: NST_SAMPLES_URL and NST_WEIGHTS_URL are closed ports on 127.0.0.1
    samples, weights = setup_check.downloads_report("imagenet", timeout=2).splitlines()
    assert re.match(r"sample images: could not download http://127\.0\.0\.1:\d+/samples/", samples)
    assert "NST_SAMPLES_URL" in samples and "offline samples" in samples
    assert re.match(
        r"VGG19 weights: could not download http://127.0.0.1:\d+/weights/vgg19-", weights
    )
    assert "NST_WEIGHTS_URL" in weights and str(hub_path(torchvision_url()).parent) in weights
    monkeypatch.setenv("NST_LANG", "zh")  # lesson 00 in Chinese
    for line in setup_check.downloads_report("imagenet", timeout=2).splitlines():
        assert re.search(r"[\u4e00-\u9fff]{4}", line) and "127.0.0.1" in line and "_URL" in line
        assert not re.search(r"could not|mirror|set ", line), line


def test_a_mirror_that_answers_and_files_that_are_here(tmp_path, monkeypatch):
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "tubingen.jpg").write_bytes(b"asked for its headers only")
    httpd, _ = serve(tmp_path / "mirror")
    monkeypatch.setenv("NST_SAMPLES_URL", served_url(httpd))
    monkeypatch.setenv("NST_WEIGHTS_URL", served_url(httpd))
    try:
        samples, weights = setup_check.downloads_report("imagenet").splitlines()
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert (
        samples
        == f"sample images: {served_url(httpd)}tubingen.jpg answers (downloaded on first use)"
    )
    assert "could not download" in weights and "not found" in weights  # the mirror lacks it
    for name in ("tubingen", "starry_night", "shipwreck", "the_scream", "woman-with-hat-matisse"):
        (cache_dir() / "images").mkdir(parents=True, exist_ok=True)
        (cache_dir() / "images" / f"{name}.jpg").write_bytes(b"")
    hub_path(torchvision_url()).parent.mkdir(parents=True)
    hub_path(torchvision_url()).write_bytes(b"")
    assert setup_check.downloads_report("imagenet").splitlines() == [
        "sample images: here, nothing to download",
        "VGG19 weights: here, nothing to download",
    ]
    assert setup_check.downloads_report("random") == "sample images: here, nothing to download"
