# ruff: noqa: B023 - each waited-on closure is used within its own loop iteration
"""What a lecturer waits for, through the same path as the app: the run store, the scheduler with its warm spare
worker, and the grid worker (``JobManager(warm=True)``, as ``dashboard.serve`` builds it).

    .venv/bin/python bench/demo_latency.py [--repeat 3]

Measured from the submission (the click on Start / Queue / the demo button) to what the page can draw once its next
poll reads the store: a single run's first optimiser step (a metric row), the Home demo's three regimes (first
epoch of all three, all finished), the short in-class sweep and the full teaching sweep (the last run finished).
The draw cache is warmed first (a server that has shown the demo once); a browser's poll interval (1-3 s) comes on
top. Writes bench/results/demo_latency.json and .md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import write  # noqa: E402
from omib_core.runs.store import TERMINAL  # noqa: E402


def _wait(pred, timeout: float = 900.0, poll: float = 0.02) -> float:
    t0 = time.perf_counter()
    while not pred():
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError("timed out")
        time.sleep(poll)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="omib_demo_latency_"))
    os.environ["OMIB_DATA_DIR"] = str(tmp)
    from omib_core.data.draw_cache import load_cached
    from omib_core.paths import cache_dir
    from omib_core.presets import SHORT_SCALES, SHORT_SEEDS, TEACHING_REGIMES, preset_config
    from omib_core.runs.jobs import JobManager
    from omib_core.runs.store import RunStore
    from omib_core.runs.sweep_queue import submit_sweep
    from omib_core.sweeps import build_sweep, teaching_sweep

    store = RunStore(tmp / "omib.db")
    jobs = JobManager(store, gpu_available=False, warm=True, max_concurrent=1, max_queued_per_user=100)
    jobs.start_background(interval=1.0)
    base, scales, seeds = teaching_sweep()
    for s in seeds:  # warm the draw cache (and the linear reference) as a first demo would
        load_cached(base.data.replace(seed=s), cache_dir())
    load0 = os.getloadavg()
    res: dict[str, list[float]] = {}

    def add(k: str, v: float) -> None:
        res.setdefault(k, []).append(round(v, 2))
        print(k, round(v, 2), flush=True)

    def ready() -> None:  # a warm spare waiting, as between two clicks in class
        _wait(
            lambda: jobs._spare is not None and "ready" in (tmp / "warm-worker.out").read_text().split("warm spare")[-1]
        )

    def status(ids):
        return [store.get_run(i)["status"] for i in ids]

    for _ in range(args.repeat):
        ready()
        t0 = time.perf_counter()
        rid = jobs.submit(preset_config("teaching", beta_scale=30.0).to_dict(), owner="bench", name="single")
        _wait(lambda: (store.get_run(rid) or {}).get("step"))
        add("single run: first optimiser step (s)", time.perf_counter() - t0)
        _wait(lambda: status([rid])[0] in TERMINAL)
        add("single run: finished (s)", time.perf_counter() - t0)
        ready()
        planned = [(k, preset_config("teaching", beta_scale=v, snapshot_every=2)) for k, v in TEACHING_REGIMES.items()]
        t0 = time.perf_counter()
        _, ids = submit_sweep(jobs, planned, "bench")
        _wait(lambda: all((store.get_run(i) or {}).get("epoch") for i in ids))
        add("Home demo, 3 regimes: first epoch of all three (s)", time.perf_counter() - t0)
        _wait(lambda: all(s in TERMINAL for s in status(ids)))
        add("Home demo, 3 regimes: all finished (s)", time.perf_counter() - t0)
        assert status(ids) == ["finished"] * 3, status(ids)
    for label, sc, sd in (
        (f"short sweep {len(SHORT_SCALES)} x {SHORT_SEEDS}", SHORT_SCALES, seeds[:SHORT_SEEDS]),
        (f"full teaching sweep {len(scales)} x {len(seeds)}", scales, seeds),
    ):
        ready()
        planned = build_sweep(base, sc, sd, reseed_data=True)
        t0 = time.perf_counter()
        _, ids = submit_sweep(jobs, planned, "bench")
        _wait(lambda: all(s in TERMINAL for s in status(ids)))
        add(f"{label}: Queue to the last run finished (s)", time.perf_counter() - t0)
        assert status(ids) == ["finished"] * len(ids), status(ids)
    jobs.stop_background()
    load1 = os.getloadavg()
    lines = [
        "What a lecturer waits for, from the click (submission) to the store holding what the page draws; "
        "JobManager(warm=True) as in the app, draws cached, 1 torch thread. Command: `.venv/bin/python "
        f"bench/demo_latency.py --repeat {args.repeat}`. {os.cpu_count()} CPUs, load average "
        f"{tuple(round(x, 2) for x in load0)} -> {tuple(round(x, 2) for x in load1)}.",
        "",
        "| what | median (s) | all (s) |",
        "|---|---|---|",
    ]
    lines += [f"| {k} | {statistics.median(v):.2f} | {', '.join(f'{x:.2f}' for x in v)} |" for k, v in res.items()]
    write("demo_latency", {"results": res, "load_before": load0, "load_after": load1}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
