"""Torch threads for one CPU training job: 1 thread vs torch's default, alone and beside a competing load.

The competing load is a second process multiplying matrices with torch's default thread count (what
another training job or a careless notebook does). Each cell times ``--steps`` main-stage steps of the real
``train()`` loop on ``--n`` synthetic rows (see bench/speed.py). The result backs the thread policy of
``omib_core.device.apply_thread_policy`` (1 thread on CPU unless asked).

Run: ``.venv/bin/python bench/threads.py`` (writes bench/results/threads.json and threads.md).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed import machine, measure, summarise, synthetic, write  # noqa: E402

# a busy matmul loop with torch's default threads; it exits by itself when this process dies
LOAD = (
    "import os, torch\nparent = os.getppid()\na = torch.randn(768, 768)\n"
    "while os.getppid() == parent:\n    a = (a @ a).tanh()\n"
)

# helpers


def start_load() -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", LOAD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.0)  # let it import torch and spin up its threads
    return proc


def stop_load(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# main


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument(
        "--max-seconds", type=float, default=45.0, help="wall-time cap per cell (oversubscribed cells crawl)"
    )
    args = p.parse_args()
    default_threads = torch.get_num_threads()
    info = machine()
    ds = synthetic(args.n)
    measure(ds, 20, num_threads=1)  # warm-up: imports, allocator
    cells = []
    for load in (False, True):
        proc = start_load() if load else None
        try:
            for threads in (1, default_threads):
                r = summarise(
                    [measure(ds, args.steps, num_threads=threads, log_every=10, max_seconds=args.max_seconds)]
                )
                cells.append({"load": load, **r})
                print(cells[-1], flush=True)
        finally:
            if proc is not None:
                stop_load(proc)
    best = {
        load: max((c for c in cells if c["load"] == load), key=lambda c: c["samples_per_second_median"])
        for load in (False, True)
    }
    payload = {
        "what": "main-stage samples/s, 1 thread vs torch default, with and without a concurrent matmul process",
        "machine": info,
        "n_train": args.n,
        "steps": args.steps,
        "cells": cells,
        "best_threads": {"alone": best[False]["threads"], "under_load": best[True]["threads"]},
    }
    lines = [
        "# Threads: 1 vs torch default (CPU, default model, batch 256)",
        "",
        f"torch {info['torch']}, {info['cpu_count']} CPUs (default torch threads {default_threads}), "
        f"load average {info['load_average_1m']} at start (a shared machine: other jobs ran too). "
        f"Up to {args.steps} main-stage steps (or {args.max_seconds:g} s) on {args.n:,} rows per cell.",
        "",
        "| competing load process | threads | steps timed | samples/s (wall, median) | us/sample wall | us/sample CPU (all threads) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c in cells:
        lines.append(
            f"| {'yes' if c['load'] else 'no'} | {c['threads']} | {c['steps_timed']} | {c['samples_per_second_median']:,.0f} | {c['wall_us_per_sample']} | "
            f"{c['cpu_us_per_sample']} |"
        )
    lines.append(
        f"\nFastest: {payload['best_threads']['alone']} thread(s) alone, "
        f"{payload['best_threads']['under_load']} thread(s) under load.\n"
    )
    write("threads", payload, "\n".join(lines))


if __name__ == "__main__":
    main()
