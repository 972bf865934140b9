"""Peak resident memory of each notebook's kernel, run end to end (for Binder's 1–2 GB limit).

    python benchmarks/peak_memory.py                      # every notebook, NST_PROFILE=lab
    python benchmarks/peak_memory.py 04 05 --profile lab  # some notebooks

Each notebook runs in a fresh kernel (nbclient); after the kernel exits, the peak resident set
size of the largest child process is read with ``getrusage(RUSAGE_CHILDREN)``. Without real
weights it uses ``NST_WEIGHTS=random``: the same tensors, so the same memory.
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
import resource, sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read({str(path)!r}, as_version=4)
NotebookClient(nb, timeout=3600, kernel_name="python3",
               resources={{"metadata": {{"path": {str(ROOT / "notebooks")!r}}}}}).execute()
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""
    env = {**os.environ, "NST_PROFILE": profile, "MPLBACKEND": "agg"}
    if weights:
        env["NST_WEIGHTS"] = weights
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{path.name} failed:\n{out.stderr[-3000:]}")
    peak_kib = int(out.stdout.strip().splitlines()[-1])
    return {
        "notebook": path.name,
        "peak_rss_mb": round(peak_kib / 1024, 1),
        "seconds": round(time.perf_counter() - start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefixes", nargs="*", help="notebook prefixes (e.g. 04); default all")
    parser.add_argument("--profile", default="lab")
    parser.add_argument("--weights", default=os.environ.get("NST_WEIGHTS", "random"))
    args = parser.parse_args()
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.prefixes:
        notebooks = [p for p in notebooks if p.name[:2] in args.prefixes]
    rows = []
    for path in notebooks:
        row = run_one(path, args.profile, args.weights)
        print(f"{row['notebook']:<36} peak {row['peak_rss_mb']:>7.1f} MB  ({row['seconds']} s)")
        rows.append(row)
    out = ROOT / "benchmarks" / "results" / f"peak_memory_{args.profile}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"profile": args.profile, "notebooks": rows}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
