"""The two commands: what `make lab` serves and what CI runs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_lab_binds_to_loopback_and_keeps_the_token():
    commands = subprocess.run(
        ["make", "-n", "lab", "PORT=8765"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.replace("\\\n", " ")
    lab = next(line for line in commands.splitlines() if "jupyter lab" in line)
    assert "--ServerApp.ip=127.0.0.1" in lab
    assert "--ServerApp.port=8765" in lab and "--ServerApp.root_dir=notebooks" in lab
    assert not re.search(r"token|password|0\.0\.0\.0|--ip=\*", lab, re.IGNORECASE)


def test_the_readme_says_how_to_open_the_lab_to_a_classroom_safely():
    readme = (ROOT / "README.md").read_text()
    assert "http://127.0.0.1:8888, with a token" in readme  # what `make lab` serves
    section = readme.split("## A course on JupyterHub", 1)[1].split("\n## ", 1)[0]
    advice = " ".join(section.split())
    assert "Never open a server to the room by disabling its token" in advice
    assert "binds to 127.0.0.1 with Jupyter's token" in advice
    assert "behind JupyterHub (each gets their own authenticated server)" in advice


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci
    assert [line.strip() for line in ci.splitlines() if line.startswith("make")] == ["make test"]
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme


def test_requirements_name_the_course_packages_with_ranges():
    text = (ROOT / "requirements.txt").read_text()
    for package in ("jupyterlab", "ipywidgets", "torch", "torchvision", "matplotlib", "pillow"):
        assert re.search(rf"^{package}>=", text, re.MULTILINE), package
    assert "==" not in text
