#!/usr/bin/env bash
# Prepared GPU check, run in one call on a lent GPU machine:
#   tests marked gpu, a short CUDA training run from the CLI, and the throughput benchmark on CUDA.
# Writes everything under ${OUT:-gpu-check-out}.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT"
scripts/setup.sh --dev > "$OUT/setup.log" 2>&1 || { echo "setup failed"; tail -20 "$OUT/setup.log"; exit 1; }
.venv/bin/python -c "import torch; print('cuda', torch.cuda.is_available(), torch.version.cuda, torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')" | tee "$OUT/device.txt"
.venv/bin/python -m pytest -m gpu -q tests 2>&1 | tail -15 | tee "$OUT/pytest_gpu.txt"
.venv/bin/python -m omib_core train --dataset sim-i --device cuda --quiet --out "$OUT/sim-i-cuda" 2>&1 | tail -30 | tee "$OUT/train_cuda.txt"
.venv/bin/python bench/speed.py --device cuda --out "$OUT/speed_cuda" 2>&1 | tail -20 | tee "$OUT/speed_cuda.txt"
