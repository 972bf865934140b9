"""Peak resident memory and time of each notebook's kernel, run end to end (Binder's 1–2 GB).

    python benchmarks/peak_memory.py                      # every notebook, NST_PROFILE=lab
    python benchmarks/peak_memory.py 04 05 --profile lab  # some notebooks

Each notebook runs in a fresh kernel (nbclient); after the kernel exits, the peak resident set
size of the largest child process is read with ``getrusage(RUSAGE_CHILDREN)``, with the kernel's
CPU seconds (user + system; less sensitive than wall time to other jobs on the machine) and the
wall time of each code cell. Without real weights it uses ``NST_WEIGHTS=random``: the same
tensors, so the same memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_one(path: Path, profile: str, weights: str) -> dict[str, float | str]:
    """Execute one notebook in a child process (so its kernel is our grandchild: measured alone)."""
    code = f"""
import json, resource, sys, nbformat
from datetime import datetime
from nbclient import NotebookClient
nb = nbformat.read({str(path)!r}, as_version=4)
NotebookClient(nb, timeout=3600, kernel_name="python3",
               resources={{"metadata": {{"path": {str(ROOT / "notebooks")!r}}}}}).execute()
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
    if weights:
        env["NST_WEIGHTS"] = weights
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{path.name} failed:\n{out.stderr[-3000:]}")
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "notebook": path.name,
        "peak_rss_mb": round(measured["maxrss"] / 1024, 1),
        "seconds": round(time.perf_counter() - start, 1),
        "kernel_cpu_seconds": round(measured["cpu"], 1),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "slowest_cells": sorted(measured["cells"], key=lambda c: -c[1])[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefixes", nargs="*", help="notebook prefixes (e.g. 04); default all")
    parser.add_argument("--profile", default="lab")
    parser.add_argument("--weights", default=os.environ.get("NST_WEIGHTS", "random"))
    parser.add_argument("--output", type=Path, help="default benchmarks/results/peak_memory_P.json")
    args = parser.parse_args()
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.prefixes:
        notebooks = [p for p in notebooks if p.name[:2] in args.prefixes]
    rows = []
    for path in notebooks:
        row = run_one(path, args.profile, args.weights)
        print(
            f"{row['notebook']:<36} peak {row['peak_rss_mb']:>7.1f} MB  {row['seconds']:>7.1f} s "
            f"wall  {row['kernel_cpu_seconds']:>7.1f} s CPU  load {row['load_average']}"
        )
        for index, seconds, source in row["slowest_cells"]:
            print(f"    cell {index:>2}: {seconds:>6.1f} s  {source!r}")
        rows.append(row)
    out = args.output or ROOT / "benchmarks" / "results" / f"peak_memory_{args.profile}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    info = {"profile": args.profile, "weights": args.weights, "cores": os.cpu_count()}
    out.write_text(json.dumps({**info, "notebooks": rows}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
