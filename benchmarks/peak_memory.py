"""Time and peak resident memory of each lesson's kernel, run end to end: the one measured source
of every lesson time the course states (README's lesson table, INSTRUCTORS.md; written there by
``python tools/timings.py``).

    python benchmarks/peak_memory.py --profile lab        # every lesson at the lab profile
    python benchmarks/peak_memory.py --profile quick      # every lesson at the quick profile
    python benchmarks/peak_memory.py 04 05 --profile lab  # some lessons: their rows are replaced

Each notebook runs in a fresh kernel (nbclient), in a fresh scratch folder (so lesson 05 never
replays a run saved by an earlier measurement: it computes its run, as a learner's first *Run All*
does), with the widgets' first runs and nothing clicked. After the kernel exits, the peak resident
set size of the largest child process is read with ``getrusage(RUSAGE_CHILDREN)``, with the
kernel's CPU seconds (user + system; less sensitive than wall time to other jobs on the machine)
and the wall time of each code cell. Without real weights it uses ``NST_WEIGHTS=random``: the same
tensors, so the same time and memory.

Writes ``benchmarks/results/peak_memory_<profile>.json``: the profile's sizes when measured, and
one row per lesson (wall and kernel CPU seconds, peak RSS in MB, the load average before and
after, how many cores other processes kept busy meanwhile, the slowest cells, the date and the
machine). Rows of lessons not run this time are kept when the profile's sizes are unchanged
(``--fresh`` drops them). Measure on an otherwise idle machine: ``tools/timings.py`` flags a
lesson during which other processes kept more than a quarter of a core busy.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nst_helpers.profiles import PROFILES  # noqa: E402


def machine() -> str:
    """The processor, its cores, torch's version and the device the lessons run on, in words."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    torch_version = importlib.metadata.version("torch").split("+")[0]
    text = f"{model}, {os.cpu_count()} cores, torch {torch_version}"
    threads = os.environ.get("OMP_NUM_THREADS")
    if threads:
        text += f", OMP_NUM_THREADS={threads}"
    import torch  # only to name the device the lessons will use

    if torch.cuda.is_available():
        text += f", GPU {torch.cuda.get_device_name(0)}"
    return text


def busy_cpu_seconds() -> float | None:
    """CPU seconds every process on the machine has used since boot (Linux; else None)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def run_one(path: Path, profile: str, weights: str) -> dict:
    """Execute one notebook in a child process (so its kernel is our grandchild: measured alone)."""
    code = f"""
import json, resource, sys, nbformat
from datetime import datetime
from nbclient import NotebookClient
nb = nbformat.read({str(path)!r}, as_version=4)
NotebookClient(nb, timeout=3600, kernel_name="python3",
               resources={{"metadata": {{"path": sys.argv[1]}}}}).execute()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
cells = []
for index, cell in enumerate(nb.cells):
    t = cell.get("metadata", {{}}).get("execution", {{}})
    if "iopub.execute_input" in t and "shell.execute_reply" in t:
        start = datetime.fromisoformat(t["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(t["shell.execute_reply"].replace("Z", "+00:00"))
        cells.append([index, round((end - start).total_seconds(), 1), cell.source[:50]])
print(json.dumps({{"maxrss": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime,
                  "cells": cells}}))
"""
    env = {**os.environ, "NST_PROFILE": profile, "MPLBACKEND": "agg"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if weights:
        env["NST_WEIGHTS"] = weights
    load_before = os.getloadavg()[0]
    ours_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_before = busy_cpu_seconds()
    with tempfile.TemporaryDirectory(prefix="nst-peak-") as scratch:
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code, scratch], env=env, capture_output=True, text=True
        )
        seconds = time.perf_counter() - start
    busy_after, ours_after = busy_cpu_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
    ours = sum(getattr(ours_after, f) - getattr(ours_before, f) for f in ("ru_utime", "ru_stime"))
    others = None  # cores other processes kept busy, on average, while this lesson ran
    if busy_before is not None and busy_after is not None:
        others = round(max(0.0, busy_after - busy_before - ours) / seconds, 2)
    if out.returncode != 0:
        raise SystemExit(f"{path.name} failed:\n{out.stderr[-3000:]}")
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "notebook": path.name,
        "peak_rss_mb": round(measured["maxrss"] / 1024, 1),
        "seconds": round(seconds, 1),
        "kernel_cpu_seconds": round(measured["cpu"], 1),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "other_cores_busy": others,
        "slowest_cells": sorted(measured["cells"], key=lambda c: -c[1])[:5],
        "date": datetime.now(timezone.utc).date().isoformat(),
        "machine": machine(),
    }


def settings(profile: str) -> dict:
    """The profile's sizes and evaluation counts (what the measurement depends on)."""
    fields = dataclasses.asdict(PROFILES[profile])
    fields.pop("name")
    return fields


def merged(out: Path, profile: str, rows: list[dict], fresh: bool) -> list[dict]:
    """``rows`` plus the rows of ``out`` for other lessons, when its profile sizes are the same."""
    if fresh or not out.is_file():
        return rows
    old = json.loads(out.read_text())
    if old.get("settings") != settings(profile):
        print(f"note: {out.name} measured other {profile} sizes: its other rows are dropped")
        return rows
    done = {row["notebook"] for row in rows}
    kept = [row for row in old.get("notebooks", []) if row["notebook"] not in done]
    return sorted(kept + rows, key=lambda row: row["notebook"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefixes", nargs="*", help="notebook prefixes (e.g. 04); default all")
    parser.add_argument("--profile", default="lab", choices=sorted(PROFILES))
    parser.add_argument("--weights", default=os.environ.get("NST_WEIGHTS", "random"))
    parser.add_argument("--output", type=Path, help="default benchmarks/results/peak_memory_P.json")
    parser.add_argument("--fresh", action="store_true", help="drop the rows of lessons not run")
    args = parser.parse_args()
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.prefixes:
        notebooks = [p for p in notebooks if p.name[:2] in args.prefixes]
    rows = []
    for path in notebooks:
        row = run_one(path, args.profile, args.weights)
        print(
            f"{row['notebook']:<36} peak {row['peak_rss_mb']:>7.1f} MB  {row['seconds']:>7.1f} s "
            f"wall  {row['kernel_cpu_seconds']:>7.1f} s CPU  load {row['load_average']}  "
            f"other processes: {row['other_cores_busy']} cores",
            flush=True,
        )
        for index, seconds, source in row["slowest_cells"]:
            print(f"    cell {index:>2}: {seconds:>6.1f} s  {source!r}")
        rows.append(row)
    out = args.output or ROOT / "benchmarks" / "results" / f"peak_memory_{args.profile}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    info = {"profile": args.profile, "settings": settings(args.profile), "weights": args.weights}
    rows = merged(out, args.profile, rows, args.fresh)
    out.write_text(json.dumps({**info, "notebooks": rows}, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out}; now: python tools/timings.py")


if __name__ == "__main__":
    main()
