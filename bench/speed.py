"""Main-stage training throughput on CPU against the number of training rows N (SPEC section 7: linear in N).

Synthetic Gaussian data (two modalities of 32 features, 4 classes) with the default ModelConfig and
TrainConfig (batch 256), through the real ``train()`` generator: data resident on the device, batches by
index permutation. For each N the first ``--steps`` optimiser steps of the main stage are timed from the
StepEvents (``samples_per_second`` over each ``log_every`` window, the first window dropped as warm-up),
then the generator is closed. So every N does the same work per step; what may change with N is the cost of
the permutation, the gathers from a larger resident tensor, and memory. ``--full-epoch N`` also times one
complete epoch (training part, from the EpochEvent) for the listed sizes.

Run: ``.venv/bin/python bench/speed.py`` (writes bench/results/speed.json and speed.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omib_core.bound.result import BoundResult, Estimate  # noqa: E402
from omib_core.config import RunConfig, TrainConfig  # noqa: E402
from omib_core.data.dataset import MultimodalDataset  # noqa: E402
from omib_core.train import EpochEvent, RunFailed, RunStarted, StepEvent, train  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DEVICE = "cpu"  # --device: cpu here; cuda in scripts/gpu_check.sh
DIM, CLASSES, HOLDOUT = 32, 4, 1000
BOUND = BoundResult("gaussian", ("v1", "v2"), {}, None, Estimate("H_joint", 30.0), M_u=1 / 90, M_l=1 / 180)

# helpers


def synthetic(n_train: int, seed: int = 0) -> MultimodalDataset:
    """Gaussian views of a shared latent; ``n_train`` training rows plus 1,000 validation and test rows each."""
    rng = np.random.default_rng(seed)
    n = n_train + 2 * HOLDOUT
    latent = rng.standard_normal((n, 8), dtype=np.float32)
    mods = {
        m: latent @ rng.standard_normal((8, DIM), dtype=np.float32) + rng.standard_normal((n, DIM), dtype=np.float32)
        for m in ("v1", "v2")
    }
    y = (latent[:, :CLASSES]).argmax(1).astype(np.int64)
    split = np.zeros(n, dtype=np.int8)
    split[n_train : n_train + HOLDOUT] = 1
    split[n_train + HOLDOUT :] = 2
    return MultimodalDataset(f"gauss-{n_train}", mods, y, "classification", split)


def measure(
    ds: MultimodalDataset,
    steps: int,
    num_threads: int | None = 1,
    log_every: int = 20,
    full_epoch: bool = False,
    max_seconds: float | None = None,
) -> dict:
    """Time ``steps`` main-stage steps (or one full epoch) of the real loop on ``ds``.

    Wall rates come from the StepEvents; CPU time (``time.process_time``) is read by this consumer when each
    StepEvent arrives, and only windows inside one epoch count (no evaluation in them). On a shared machine
    the CPU time per sample is the steadier number: it leaves out time spent waiting for a core. With
    ``max_seconds`` the measurement also stops at the first StepEvent after that much wall time.
    """
    n_train = int((ds.split == 0).sum())
    spe = -(-n_train // 256)
    epochs = 1 if full_epoch else max(1, -(-steps // spe))
    cfg = RunConfig(
        train=TrainConfig(
            epochs=epochs,
            warmup_epochs=0,
            log_every=log_every,
            device=DEVICE,
            num_threads=num_threads,
            snapshot_every=0,
        )
    )
    t0 = time.perf_counter()
    setup_s, rates, cpu_us, epoch_rate, step, threads, last = None, [], [], None, 0, None, None
    gen = train(cfg, ds, bound=BOUND)
    try:
        for ev in gen:
            if isinstance(ev, RunStarted):
                setup_s = time.perf_counter() - t0
                threads = ev.num_threads
            elif isinstance(ev, StepEvent):
                now = time.process_time()
                if last is not None and last[0] == ev.epoch:
                    rates.append(ev.metrics["samples_per_second"])
                    cpu_us.append(1e6 * (now - last[1]) / ((ev.step - last[2]) * 256))
                last = (ev.epoch, now, ev.step)
                step = ev.step
                if not full_epoch and step >= steps:
                    break
                if max_seconds is not None and time.perf_counter() - t0 > max_seconds and len(rates) >= 2:
                    break
            elif isinstance(ev, EpochEvent):
                epoch_rate = ev.metrics["samples_per_second"]
                last = None
                if full_epoch:
                    break
            elif isinstance(ev, RunFailed):
                raise RuntimeError(ev.message)
    finally:
        gen.close()
    out = {
        "n_train": n_train,
        "steps": step,
        "threads": threads,
        "setup_seconds": round(setup_s, 2),
        "wall_rates": [round(r, 1) for r in rates],
        "cpu_us_per_sample": [round(c, 2) for c in cpu_us],
    }
    if full_epoch:
        out["epoch_samples_per_second"] = round(epoch_rate, 1) if epoch_rate else None
    return out


def summarise(cells: list[dict]) -> dict:
    """Pool the windows of several measurements of one size."""
    rates = [r for c in cells for r in c["wall_rates"]]
    cpu = [u for c in cells for u in c["cpu_us_per_sample"]]
    med = statistics.median(rates)
    return {
        "n_train": cells[0]["n_train"],
        "threads": cells[0]["threads"],
        "steps_timed": sum(c["steps"] for c in cells),
        "windows": len(rates),
        "setup_seconds": max(c["setup_seconds"] for c in cells),
        "samples_per_second_median": round(med, 1),
        "wall_us_per_sample": round(1e6 / med, 2),
        "cpu_us_per_sample": round(statistics.median(cpu), 2),
        "wall_rates": rates,
        "cpu_us_windows": cpu,
    }


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "default_torch_threads": torch.get_num_threads(),
    }


def write(name: str, payload: dict, table: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(table)
    print(table)


# main


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    p.add_argument("--out", default=None, help="results folder (default bench/results)")
    p.add_argument("--steps", type=int, default=300, help="main-stage steps per measurement")
    p.add_argument("--rounds", type=int, default=2, help="rounds over all sizes (interleaved against load drift)")
    p.add_argument("--full-epoch", default="100000", help="comma-separated sizes also timed over one full epoch")
    args = p.parse_args()
    global DEVICE, RESULTS
    DEVICE = args.device
    if args.out:
        RESULTS = Path(args.out)
    sizes = [int(s) for s in args.sizes.split(",")]
    full = {int(s) for s in args.full_epoch.split(",") if s}
    before = machine()
    data = {n: synthetic(n) for n in sizes}
    measure(data[sizes[0]], 20)  # warm-up: one-time imports (torch._dynamo via the optimiser), allocator
    cells: dict[int, list[dict]] = {n: [] for n in sizes}
    for _ in range(args.rounds):
        for n in sizes:
            cells[n].append(measure(data[n], args.steps))
            print(n, cells[n][-1]["cpu_us_per_sample"][:3], flush=True)
    runs = [summarise(cells[n]) for n in sizes]
    epochs = {n: measure(data[n], args.steps, full_epoch=True) for n in sizes if n in full}
    ref = next((r for r in runs if r["n_train"] == 100_000), runs[0])
    for r in runs:
        r["wall_vs_1e5"] = round(r["wall_us_per_sample"] / ref["wall_us_per_sample"], 3)
        r["cpu_vs_1e5"] = round(r["cpu_us_per_sample"] / ref["cpu_us_per_sample"], 3)
    after = machine()
    big = [r for r in runs if r["n_train"] >= 100_000]
    payload = {
        "what": "main-stage training throughput (default model, batch 256, 1 thread, CPU), real train() loop",
        "machine": before,
        "load_average_1m_after": after["load_average_1m"],
        "steps_per_measurement": args.steps,
        "rounds": args.rounds,
        "runs": runs,
        "full_epochs": list(epochs.values()),
        "target": "time per sample within +-20% from 1e5 to 1e6 rows",
        "target_met_cpu_time": all(abs(r["cpu_vs_1e5"] - 1) <= 0.2 for r in big),
        "target_met_wall_time": all(abs(r["wall_vs_1e5"] - 1) <= 0.2 for r in big),
    }
    lines = [
        "# Training speed vs N (CPU, 1 thread, default model, batch 256)",
        "",
        f"torch {before['torch']}, {before['cpu_count']} CPUs, load average {before['load_average_1m']} before / "
        f"{after['load_average_1m']} after: a shared machine, other jobs ran at the same time, so wall-clock rates "
        "are noisy and CPU time per sample (time this process actually ran) is the steadier measure. "
        f"{args.rounds} interleaved rounds of {args.steps} main-stage steps per size, medians over "
        "20-step windows.",
        "",
        "| N train rows | steps timed | samples/s (wall, median) | us/sample wall | us/sample CPU | CPU vs 1e5 | setup s |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {r['n_train']:,} | {r['steps_timed']} | {r['samples_per_second_median']:,.0f} | "
            f"{r['wall_us_per_sample']} | {r['cpu_us_per_sample']} | {r['cpu_vs_1e5']} | {r['setup_seconds']} |"
        )
    for n, e in epochs.items():
        lines.append(
            f"\nOne full epoch on {n:,} rows (training part, wall): {e['epoch_samples_per_second']:,.0f} samples/s."
        )
    met = payload["target_met_cpu_time"]
    lines.append(
        f"\nTarget (time per sample within +-20% from 1e5 to 1e6): {'met' if met else 'NOT met'} on CPU time; "
        f"{'met' if payload['target_met_wall_time'] else 'not met'} on wall time.\n"
    )
    write("speed", payload, "\n".join(lines))


if __name__ == "__main__":
    main()
