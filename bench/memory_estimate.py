"""The memory estimate against measured peak memory: 5 configs from small to large (issue 10, item 4).

For each config, ``omib_core.runs.budget.estimate`` gives the estimated peak; then a fresh interpreter trains the
run for a few epochs (the peak is reached in the first: generation, bound, linear reference, first snapshot) the way
a worker does (``omib_core.train.train`` with an out dir, so snapshots and the checkpoint are written), and its peak
resident set (``ru_maxrss`` from ``os.wait4`` of that child alone) is the measurement. The estimate is meant to be
conservative: at or above the measurement, within about 2x.

Run: ``.venv/bin/python bench/memory_estimate.py`` (about 2-4 min on 2 cores; writes
bench/results/memory_estimate.md and .json).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omib_core.config import RunConfig  # noqa: E402
from omib_core.runs.budget import MB, estimate  # noqa: E402

SHORT = {"schedule": "fixed", "epochs": 2, "warmup_epochs": 1, "snapshot_every": 1, "device": "cpu", "num_threads": 1}
CONFIGS = {
    "SIM-I defaults (10k rows)": {"data": {"dataset": "sim-i"}, "train": SHORT},
    "SIM-I 100k rows": {"data": {"dataset": "sim-i", "params": {"n_samples": 100000}}, "train": SHORT},
    "SIM-I wide (b1 = b2 = 512)": {"data": {"dataset": "sim-i", "params": {"b1": 512, "b2": 512}}, "train": SHORT},
    "SIM-I hidden 1024, 2 encoder layers": {
        "data": {"dataset": "sim-i"},
        "model": {"hidden_dim": 1024, "enc_layers": 2},
        "train": SHORT,
    },
    "uci-mfeat (6 views, bundled)": {"data": {"dataset": "uci-mfeat"}, "train": SHORT},
}
CHILD = """
import json, sys
from pathlib import Path
from omib_core.config import RunConfig
from omib_core.train import train
cfg = RunConfig.from_dict(json.loads(sys.argv[1]))
for event in train(cfg, out_dir=Path(sys.argv[2]), cache_dir=Path(sys.argv[2]) / "cache"):
    if type(event).__name__ == "RunFailed":
        print(event.message)
        sys.exit(1)
"""


def measure(config: dict) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one short training run in a fresh interpreter."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        t0 = time.time()
        proc = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(config), tmp], env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError(f"the run failed with code {proc.returncode}: {config}")
        return usage.ru_maxrss / 1024, time.time() - t0  # ru_maxrss is in KiB on Linux


def main() -> None:
    rows = []
    for name, config in CONFIGS.items():
        budget = estimate(RunConfig.from_dict(config))
        peak, seconds = measure(config)
        est = budget.memory_bytes / MB
        rows.append(
            {
                "config": name,
                "estimate_mb": round(est),
                "measured_mb": round(peak),
                "ratio": round(est / peak, 2),
                "dominant_part": budget.dominant(),
                "seconds": round(seconds, 1),
                "run_config": config,
                "parts_mb": {k: round(v / MB, 1) for k, v in budget.parts.items()},
            }
        )
        print(f"{name}: estimate {est:.0f} MB, measured {peak:.0f} MB, ratio {est / peak:.2f} ({seconds:.0f} s)")
    out = ROOT / "bench" / "results"
    (out / "memory_estimate.json").write_text(json.dumps({"rows": rows, "command": CMD}, indent=2) + "\n")
    lines = [
        "# Memory estimate against measured peak RSS",
        "",
        f"Command: `{CMD}` (each run in a fresh interpreter: {SHORT['warmup_epochs']} warm-up + {SHORT['epochs']} "
        "epochs, fixed schedule, snapshot every epoch, CPU, 1 thread; peak RSS from `os.wait4`).",
        "",
        "| config | estimate (MB) | measured peak RSS (MB) | estimate / measured | largest part |",
        "|---|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['config']} | {r['estimate_mb']:,} | {r['measured_mb']:,} | {r['ratio']:.2f} | {r['dominant_part']} |"
        )
    ok = all(1.0 <= r["ratio"] <= 2.0 for r in rows)
    lines += ["", f"Every estimate at or above the measurement and within 2x: {'yes' if ok else 'NO'}.", ""]
    (out / "memory_estimate.md").write_text("\n".join(lines))


CMD = ".venv/bin/python bench/memory_estimate.py"

if __name__ == "__main__":
    main()
