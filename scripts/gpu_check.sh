#!/usr/bin/env bash
# The GPU check, for a lab GPU host as it is: offline, the host's Python with torch, numpy, pandas, scikit-learn,
# scipy, numba, pyarrow and pytest, and no streamlit, plotly, altair or umap-learn. It installs nothing (no venv,
# no pip) and runs only what needs no UI package:
#   1. the tests marked gpu (tests/core, tests/runs: their collection imports no UI package)
#   2. a default SIM-I run from the CLI, timed                          (GPU target: <= 5 s)
#   3. the grid engine: the 30-member teaching grid, bench/grid_speed.py (GPU target: <= 10 s)
#   4. the throughput benchmark, bench/speed.py
# Each step runs under `timeout`; the whole check ends within 8 minutes. Results, logs and summary.json /
# summary.md (each step's status and wall seconds, the targets met or missed) go to ${OUT:-gpu-check-out}.
#
#   scripts/gpu_check.sh [--device cuda|cpu] [--quick]
#     --device   the device every step uses (default cuda; cpu stands in for it on a machine without one)
#     --quick    shorter runs, for CI (or QUICK=1); targets are judged only on a full run on cuda
#   PYTHON     the interpreter (default python3), run with PYTHONPATH=<repo>
#   OUT        the results folder (default gpu-check-out)
# Exit status: 0 when every step passed or was skipped, 1 when a step failed (a missed target is not a failure).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
DEV=cuda
QUICK=${QUICK:-}
[ "$QUICK" = 0 ] && QUICK=
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEV=${2:?--device needs a value}; shift 2 ;;
    --device=*) DEV=${1#--device=}; shift ;;
    --quick) QUICK=1; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_check: unknown argument '$1'; use --device cuda|cpu and --quick" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
# the check's own data dir (bound cache, run store): nothing of the host's is read or written
export OMIB_DATA_DIR=${OMIB_DATA_DIR:-$OUT/data}
export OMIB_SKIP_UMAP_WARMUP=1
STEPS="$OUT/steps.tsv"
: > "$STEPS"
BUDGET_S=${GPU_CHECK_BUDGET_S:-450}  # every step shares it, so the whole check ends within 8 minutes
DEADLINE=$(( $(date +%s) + BUDGET_S ))

# helpers

now() { date +%s.%N; }

# step NAME LIMIT_S CMD...: run CMD under `timeout` (its limit, cut to what is left of the budget), its output to
# $OUT/NAME.log; record its status and wall seconds in $STEPS.
step() {
  local name=$1 limit=$2 left t0 rc wall status
  shift 2
  left=$(( DEADLINE - $(date +%s) - 5 ))
  if [ "$left" -lt 10 ]; then
    skip "$name" "no time left of the ${BUDGET_S} s budget: skipped"
    return
  fi
  [ "$left" -lt "$limit" ] && limit=$left
  echo "== $name: $*"
  t0=$(now)
  timeout --kill-after=5 "$limit" "$@" > "$OUT/$name.log" 2>&1
  rc=$?
  wall=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
  case $rc in
    0) status=passed ;;
    124|137) status="failed (timed out after $limit s)" ;;
    *) status="failed (exit $rc)" ;;
  esac
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$wall" "$*" >> "$STEPS"
  tail -5 "$OUT/$name.log"
  echo "== $name: $status in $wall s"
}

skip() {  # skip NAME LINE: a skipped step, with the line that says why
  printf '%s\tskipped\t\t%s\n' "$1" "$2" >> "$STEPS"
  echo "== $1: $2"
}

# main

echo "gpu_check: device $DEV${QUICK:+, quick}, python $PY, results in $OUT"
step environment 30 "$PY" - "$DEV" "$OUT/environment.json" <<'EOF'
import importlib.util, json, platform, sys
import torch
dev, path = sys.argv[1], sys.argv[2]
def present(name):
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False
env = {
    "python": platform.python_version(), "executable": sys.executable, "torch": torch.__version__,
    "cuda_available": torch.cuda.is_available(), "cuda_version": torch.version.cuda,
    "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, "device": dev,
    "ui_packages_present": {m: present(m) for m in ("streamlit", "plotly", "altair", "umap")},
}
json.dump(env, open(path, "w"), indent=2)
print(json.dumps(env, indent=2))
if dev.startswith("cuda") and not torch.cuda.is_available():
    sys.exit("--device cuda but torch sees no CUDA device; pass --device cpu to check on the CPU")
EOF
if ! grep -q "^environment	passed" "$STEPS"; then  # no torch, or no CUDA for --device cuda: nothing else can run
  for name in pytest_gpu sim_i grid speed; do skip "$name" "the environment step failed (see environment.log): skipped"; done
  "$PY" scripts/gpu_check_summary.py "$OUT" "$DEV" "${QUICK:-0}"
  exit 1
fi

# 1. the tests marked gpu, from the files under tests/core and tests/runs that carry the mark: collecting the
# others would import test-only packages the host lacks (hypothesis, h5py, ray). Without CUDA, tests/conftest.py
# skips them (pytest still exits 0). No plugin autoload: the host's plugins are none of this check's business.
mapfile -t GPU_TESTS < <(grep -rlE --include='test_*.py' 'pytest\.mark\.gpu|mark\.gpu\b' tests/core tests/runs | sort)
if [ ${#GPU_TESTS[@]} -eq 0 ]; then
  skip pytest_gpu "no test file under tests/core or tests/runs is marked gpu: skipped"
else
  step pytest_gpu 120 env PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 "$PY" -m pytest -m gpu -q -p no:cacheprovider \
    --junitxml="$OUT/pytest_gpu.xml" "${GPU_TESTS[@]}"
fi

# 2. a default SIM-I run (quick: 200 main-stage steps)
step sim_i 120 "$PY" -m omib_core train --dataset sim-i --device "$DEV" --quiet --out "$OUT/sim-i" \
  ${QUICK:+--min-steps 200 --max-steps 200}

# 3. the grid engine: the 30-member teaching grid
if [ -f bench/grid_speed.py ]; then
  step grid 120 "$PY" bench/grid_speed.py --device "$DEV" --out "$OUT/grid" ${QUICK:+--quick}
else
  skip grid "bench/grid_speed.py not present: skipped"
fi

# 4. the throughput benchmark (quick: two sizes, one round, 60 steps, no full epoch)
if [ -n "$QUICK" ]; then
  step speed 120 "$PY" bench/speed.py --device "$DEV" --out "$OUT/speed" \
    --sizes 10000,100000 --rounds 1 --steps 60 --full-epoch ""
else
  step speed 120 "$PY" bench/speed.py --device "$DEV" --out "$OUT/speed"
fi

"$PY" scripts/gpu_check_summary.py "$OUT" "$DEV" "${QUICK:-0}"
