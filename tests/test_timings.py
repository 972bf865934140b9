"""One source for every lesson time: tools/timings.py writes the README tables and INSTRUCTORS.md
from benchmarks/results/peak_memory_<profile>.json, and --check fails when they disagree."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("nst_timings_tool", ROOT / "tools" / "timings.py")
timings = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = timings  # dataclasses look their module up there
spec.loader.exec_module(timings)


def test_the_repository_agrees_with_its_measurements(capsys):
    assert timings.main(["--check"]) == 0, capsys.readouterr().out


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The documents, the measurements and the lessons' names, in a scratch repository."""
    for name in timings.DOCUMENTS:
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "notebooks").mkdir()
    for stem in timings.lessons(ROOT):
        (tmp_path / "notebooks" / f"{stem}.ipynb").touch()
    results = tmp_path / "benchmarks" / "results"
    results.mkdir(parents=True)
    for profile in timings.MEASURED:
        source = ROOT / "benchmarks" / "results" / f"peak_memory_{profile}.json"
        if source.is_file():
            shutil.copy(source, results)
    return tmp_path


def measurement(root: Path, profile: str, seconds: dict[str, float]) -> None:
    rows = [
        {
            "notebook": f"{stem}.ipynb",
            "seconds": s,
            "kernel_cpu_seconds": 2 * s,
            "peak_rss_mb": 1000.0,
            "date": "2026-12-07",
            "machine": "Test CPU, 2 cores, torch 2.14.1",
            "other_cores_busy": 0.0,
            "slowest_cells": [[4, s - 5, "result = nst.run_style_transfer(content, style)"]],
        }
        for stem, s in seconds.items()
    ]
    data = {"profile": profile, "settings": timings.settings(profile), "notebooks": rows}
    path = root / "benchmarks" / "results" / f"peak_memory_{profile}.json"
    path.write_text(json.dumps(data))


def test_a_changed_measurement_is_caught_and_written(copy: Path, capsys):
    stems = timings.lessons(copy)
    measurement(copy, "lab", {stem: 100.0 + 60 * i for i, stem in enumerate(stems)})
    measurement(copy, "quick", {stem: 20.0 + 5 * i for i, stem in enumerate(stems)})
    assert timings.main(["--check", "--root", str(copy)]) == 1
    assert "README.md disagrees" in capsys.readouterr().out
    assert timings.main(["--root", str(copy)]) == 0
    assert timings.main(["--check", "--root", str(copy)]) == 0
    readme = (copy / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith(f"| `{stems[4]}`"))
    assert row.endswith("| ~5.5 min · ~40 s |")  # 100 + 240 s at lab, 20 + 20 s at quick
    assert "the whole sequence takes ~41 min" in " ".join(
        readme.split()
    )  # 8 · 100 + 60 · 28 = 2480 s
    zh = (copy / "README.zh-CN.md").read_text()
    assert "| 约 5.5 分钟 · 约 40 秒 |" in zh
    instructors = (copy / "INSTRUCTORS.md").read_text()
    assert f"| `{stems[4]}` | 5:40 | 11:20 | 1000 MB | 0:40 | 1:20 | 1000 MB |" in instructors
    assert "Not measured yet" not in instructors

    # one figure changed in the source: every document is stale
    measurement(copy, "quick", {stem: 21.0 + 5 * i for i, stem in enumerate(stems)})
    assert timings.main(["--check", "--root", str(copy)]) == 1
    assert "INSTRUCTORS.md disagrees" in capsys.readouterr().out
    timings.main(["--root", str(copy)])
    # one figure changed by hand in a document
    (copy / "README.md").write_text(readme.replace("~5.5 min · ~40 s", "~5 min · ~40 s"))
    assert timings.main(["--check", "--root", str(copy)]) == 1


def test_missing_lessons_read_not_measured(copy: Path, capsys):
    stems = timings.lessons(copy)
    measurement(copy, "lab", {stems[4]: 600.0})
    (copy / "benchmarks" / "results" / "peak_memory_quick.json").unlink(missing_ok=True)
    assert timings.main(["--root", str(copy)]) == 0
    readme = (copy / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith(f"| `{stems[0]}`"))
    assert row.endswith("| not measured · not measured |")
    assert "the lessons measured so far take ~10 min (00, 01, 02, 03, 05" in " ".join(
        readme.split()
    )
    assert "Not measured yet" in (copy / "INSTRUCTORS.md").read_text()


def test_a_measurement_of_other_profile_sizes_is_refused(copy: Path, capsys):
    measurement(copy, "quick", {timings.lessons(copy)[0]: 10.0})
    path = copy / "benchmarks" / "results" / "peak_memory_quick.json"
    data = json.loads(path.read_text())
    data["settings"]["size"] += 16
    path.write_text(json.dumps(data))
    assert timings.main(["--check", "--root", str(copy)]) == 1
    assert "re-measure" in capsys.readouterr().err


def test_busy_rows_are_flagged(copy: Path):
    stems = timings.lessons(copy)
    (copy / "benchmarks" / "results" / "peak_memory_quick.json").unlink(missing_ok=True)
    measurement(copy, "lab", {stems[0]: 30.0})
    path = copy / "benchmarks" / "results" / "peak_memory_lab.json"
    data = json.loads(path.read_text())
    data["notebooks"][0]["other_cores_busy"] = 1.5
    path.write_text(json.dumps(data))
    timings.main(["--root", str(copy)])
    assert f"| `{stems[0]}` | 0:30 † |" in (copy / "INSTRUCTORS.md").read_text()
    readme = " ".join((copy / "README.md").read_text().split())
    assert "Measured while the machine was busy (slower than idle): lab 00." in readme


@pytest.mark.parametrize(
    ("seconds", "en", "zh"),
    [(None, "not measured", "未测量"), (4, "~10 s", "约 10 秒"), (44, "~40 s", "约 40 秒"),
     (100, "~1.5 min", "约 1.5 分钟"), (646, "~11 min", "约 11 分钟")],
)  # fmt: skip
def test_rough_times(seconds, en, zh):
    assert timings.rough(seconds) == en
    assert timings.rough(seconds, "zh") == zh
