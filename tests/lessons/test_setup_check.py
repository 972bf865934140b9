"""The setup check's time estimate: every lesson's runs, priced at the profile's sizes."""

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
