"""The setup check (lesson 00): versions, device, where the weights come from, and the time
estimate: every lesson's runs (profiles.LESSONS), priced at the profile's sizes."""

from __future__ import annotations

import pytest

from nst_helpers import profiles
from nst_helpers.lessons import setup_check
from nst_helpers.profiles import LESSONS, PROFILES


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_lessons_refer_to_fields_of_every_profile(name: str) -> None:
    profile = PROFILES[name]
    for runs in LESSONS.values():
        for count, size_key, steps_key in runs:
            assert count >= 1
            assert size_key.endswith("size") and getattr(profile, size_key) >= 16
            assert getattr(profile, steps_key) >= 1


def test_estimate_prices_each_run_at_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    lab = profiles.profile("lab")
    per_eval = {lab.size: 1.0, lab.small_size: 0.1, lab.tile_size: 0.01}
    monkeypatch.setattr(setup_check, "seconds_per_evaluation", lambda vgg, size: per_eval[size])
    estimates = setup_check.estimate_lessons(None, lab)  # type: ignore[arg-type]
    assert set(estimates) == set(LESSONS)
    assert estimates["01 VGG19 features"] == 0
    # 04: one main run, six series runs (dashboard + five starts), the 20-run grid of tiles
    expected_04 = lab.steps * 1.0 + 6 * lab.small_steps * 0.1 + 20 * lab.tile_steps * 0.01
    assert estimates["04 style transfer"] == pytest.approx(expected_04)
    # 06: a loss-landscape grid costs a third of an evaluation per point (forward only)
    expected_06 = 2 * lab.grid**2 * 0.1 / 3 + 3 * lab.small_steps * 0.1
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
