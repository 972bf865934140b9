"""A class on the course's JupyterHub (hub/): the hub started on 127.0.0.1, learners created
through its REST API, every learner running lessons 00-03 at the same time in their own copy
through their own server's API (hub/loadtest.py), then each of ``loadtest.CHECKS`` on what was
recorded. The course cache holds VGG19 as a features-only file of random weights (the real ones
need the internet) and the sample images from a loopback server of ../shared/sample-images when
it is there (else the lessons use their offline samples). Marked ``hub``: part of ``make test``;
``make test-hub`` runs it alone, and NST_HUB_LEARNERS (default 2) and NST_HUB_PROFILE (default
smoke) size it: ``make test-hub NST_HUB_LEARNERS=8 NST_HUB_PROFILE=quick``."""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "hub"))
loadtest = importlib.import_module("loadtest")

LEARNERS = int(os.environ.get("NST_HUB_LEARNERS") or 2)
PROFILE = os.environ.get("NST_HUB_PROFILE") or "smoke"
OUTPUT = ROOT / "test-output" / "hub"
pytestmark = [pytest.mark.hub, pytest.mark.timeout(1200 if PROFILE == "smoke" else 14400)]


@pytest.fixture(scope="module")
def classroom() -> dict:
    if not (ROOT / "hub" / "node_modules" / ".bin" / "configurable-http-proxy").exists():
        pytest.fail("the hub's proxy is not installed: npm ci --prefix hub (make test does it)")
    opts = loadtest.Options(LEARNERS, PROFILE, cell_timeout=300, log=OUTPUT / "hub.log")
    report = loadtest.run(opts)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "report.json").write_text(json.dumps(report, indent=1))
    print(loadtest.table(report))
    return report


@pytest.mark.parametrize("check", list(loadtest.CHECKS))
def test_a_class_on_the_hub(classroom, check):
    wrong = loadtest.CHECKS[check](classroom)
    read_only = all(x["read_only"] for y in classroom["learners"] for x in y["lessons"])
    if check == "cache_read_only_for_learners" and not read_only:
        pytest.skip("the hub is not root: learners share its account, which owns the cache")
    assert not wrong, "\n".join(wrong)


def test_threads_are_the_cores_shared_out():
    course = importlib.import_module("course_hub")
    shares = {n: course.threads_per_learner(n, available=16) for n in (1, 4, 8, 16, 30)}
    assert shares == {1: 16, 4: 4, 8: 2, 16: 1, 30: 1}
    assert course.threads_per_learner(3, available=2) == 1


@pytest.mark.parametrize("spawner", ["systemd", "course"])
def test_the_hub_config_for_each_spawner(spawner, tmp_path, monkeypatch):
    """What `make hub` gives JupyterHub: the course cache and threads for every learner, the
    memory limit (systemd: the unit's MemoryMax; course: RLIMIT_DATA), passwords kept private."""
    from traitlets.config.loader import PyFileConfigLoader

    for name, value in {"NST_HUB_DIR": tmp_path, "NST_HUB_SPAWNER": spawner}.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.setenv("NST_HUB_LEARNERS", "30")
    c = PyFileConfigLoader("jupyterhub_config.py", path=str(ROOT / "hub")).load_config()
    env = c.Spawner.environment
    assert env["TORCH_HOME"] == str(tmp_path / "cache" / "torch")
    assert env["NST_CACHE_DIR"] == str(tmp_path / "cache" / "nst")
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"
    assert c.Spawner.mem_limit == "2G"
    assert c.JupyterHub.authenticator_class == "shared-password"
    assert (tmp_path / "passwords").stat().st_mode & 0o777 == 0o600
    if spawner == "systemd":
        assert c.JupyterHub.spawner_class == "systemdspawner.SystemdSpawner"
        assert c.SystemdSpawner.dynamic_users
        assert str(tmp_path / "cache") in c.SystemdSpawner.readonly_paths
    else:
        assert c.JupyterHub.spawner_class.__name__ == "CourseSpawner"
        assert c.CourseSpawner.home_dir_template == str(tmp_path / "homes" / "{username}")
