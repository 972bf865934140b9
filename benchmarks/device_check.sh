#!/usr/bin/env bash
# The GPU checks, for a task that is lent a CUDA machine (see README "Speed"): the CUDA rows of
# `make bench` and lesson 04 at the `paper` profile on CUDA (random weights: the same tensors and
# time as the real ones; the machine has no network). Results land in $OUT (default ./gpu-out).
#   bash benchmarks/device_check.sh
# Python packages the machine lacks (ipywidgets, nbclient, ipykernel, …) may wait as wheels in
# .whl/ (installed into /tmp/site); torch, torchvision, tqdm, Pillow and matplotlib must be there.
set -uo pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 NST_WEIGHTS=random
export NST_CACHE_DIR=/tmp/nst-cache
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, nst_helpers; print('torch', torch.__version__, torch.cuda.get_device_name(0))" \
    | tee -a "$OUT/gpu.txt"
timeout "${BENCH_TIMEOUT:-300}" python3 benchmarks/bench.py --no-cpu --no-subprocess \
    --sizes 128 256 512 1024 --early-sizes 128 256 512 --output "$OUT/bench-cuda.json" \
    2>&1 | tee "$OUT/bench-cuda.txt"
timeout "${NOTEBOOK_TIMEOUT:-300}" python3 benchmarks/peak_memory.py 04 --profile paper \
    --output "$OUT/lesson04-paper-cuda.json" 2>&1 | tee "$OUT/lesson04-paper-cuda.txt"
# A genuine CUDA out-of-memory error (the process limited to 2 % of the GPU): one line, and the
# process goes on with a smaller run.
timeout 120 python3 - <<'PY' 2>&1 | tee "$OUT/cuda-oom.txt"
import torch, nst_helpers as nst
torch.cuda.set_per_process_memory_fraction(0.02)
vgg = nst.load_vgg19("random", device="cuda")
image = torch.rand(1, 3, 2048, 2048)
try:
    nst.run_style_transfer(image, image, vgg=vgg, steps=3, progress=False)
    print("no out-of-memory error at 2048 px")
except nst.NSTError as exc:
    print(f"{type(exc).__name__}: {exc}")
small = torch.rand(1, 3, 128, 128)
result = nst.run_style_transfer(small, small, vgg=vgg, steps=3, progress=False)
print("afterwards, 128 px:", result.stop_reason, result.evaluations, "evaluations")
PY
