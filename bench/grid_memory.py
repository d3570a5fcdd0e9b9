"""Peak memory of a grid job against one run: each trained in a fresh process, as a worker would.

    .venv/bin/python bench/grid_memory.py

One teaching run (``train``), then the 6 x 5 teaching grid (``train_grid``), each in its own interpreter with the
draws cached; peak resident memory from ``getrusage``. Also the submit-time estimate (``runs/budget.py``:
``estimate`` and ``estimate_grid``) beside each, which must not be below it. Target: the 30-member grid <= 3 x one
run. Writes bench/results/grid_memory.json and .md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import write  # noqa: E402

CHILD = r"""
import json, resource, sys, torch
torch.set_num_threads(1)
from omib_core.paths import cache_dir
from omib_core.sweeps import build_sweep, teaching_sweep
from omib_core.train import train
from omib_core.train.grid import train_grid
base, scales, seeds = teaching_sweep()
configs = [c for _, c in build_sweep(base, scales, seeds, reseed_data=True)]
if sys.argv[1] == "one":
    for _ in train(configs[0], cache_dir=cache_dir()):
        pass
else:
    for _ in train_grid(configs, cache_dir=cache_dir()):
        pass
print(json.dumps({"maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def peak(which: str) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", CHILD, which], env=env, capture_output=True, text=True, check=True)
    return int(json.loads(out.stdout.strip().splitlines()[-1])["maxrss_kb"]) * 1024


def main() -> None:
    from omib_core.runs.budget import MB, estimate, estimate_grid
    from omib_core.sweeps import build_sweep, teaching_sweep

    base, scales, seeds = teaching_sweep()
    configs = [c for _, c in build_sweep(base, scales, seeds, reseed_data=True)]
    peak("one")  # the first call draws and caches the data; measure after
    one, grid = peak("one"), peak("grid")
    est_one, est_grid = estimate(configs[0]).memory_bytes, estimate_grid(configs).memory_bytes
    ratio = grid / one
    md = (
        "Peak resident memory, each in a fresh interpreter (draws cached), 1 torch thread. Command: "
        "`.venv/bin/python bench/grid_memory.py`\n\n"
        "| what | measured peak | estimate at submit | estimate / measured |\n|---|---|---|---|\n"
        f"| one teaching run | {one / MB:.0f} MB | {est_one / MB:.0f} MB | {est_one / one:.2f} |\n"
        f"| the 6 x 5 grid (30 runs, one process) | {grid / MB:.0f} MB | {est_grid / MB:.0f} MB | {est_grid / grid:.2f} |\n"
        f"\nGrid / one run: **{ratio:.2f} x** (target <= 3 x: **{'met' if ratio <= 3 else 'MISSED'}**).\n"
    )
    write(
        "grid_memory",
        {"one_bytes": one, "grid_bytes": grid, "ratio": ratio, "estimate_one": est_one, "estimate_grid": est_grid},
        md,
    )


if __name__ == "__main__":
    main()
