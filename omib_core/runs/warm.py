"""A warm spare worker: an interpreter that has already imported torch and the training code, waiting for a run.

    python -m omib_core.runs.warm --parent-pid PID

A fresh worker process pays ~4.8 s of interpreter start and imports before its first step (bench/ray_sweep.py).
The launcher (``JobManager(warm=True)``, the app's and the scheduler's) keeps one spare started ahead of time: when
a run starts it writes the worker's arguments to the spare's stdin as one JSON line and starts the next spare. The
spare then sends its output to the run's ``worker.out`` and runs ``omib_core.runs.worker.main`` with them, exactly
as a fresh worker would. It is still a spawned interpreter (never a fork: CUDA), started with the same environment,
and it does not touch the GPU before its run. A spare whose parent is gone, or whose stdin closes without a line,
exits.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import select
import sys
import time

WAIT_POLL = 1.0  # seconds between parent checks while waiting for a run
ENTRY_POINTS = ("omib_core.runs.worker", "omib_core.runs.grid_worker")  # what a spare may be asked to run


def _preload() -> None:
    """Import what every run needs (torch, the engine, the data generators, the metrics, scikit-learn's models)."""
    import torch  # noqa: F401

    import omib_core.analysis.metrics  # noqa: F401
    import omib_core.baselines  # noqa: F401
    import omib_core.bound  # noqa: F401
    import omib_core.data  # noqa: F401
    import omib_core.runs.grid_worker  # noqa: F401
    import omib_core.runs.worker  # noqa: F401
    import omib_core.train.grid  # noqa: F401


def _redirect(path: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def wait_for_job(parent_pid: int | None) -> dict | None:
    """Block until one JSON line arrives on stdin (``{"module": ..., "argv": [...], "out": path}``); None when the
    parent is gone or stdin closed."""
    from omib_core.runs.jobs import pid_alive

    buf = b""
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], WAIT_POLL)
        if ready:
            chunk = os.read(sys.stdin.fileno(), 65536)
            if not chunk:
                return None
            buf += chunk
            if b"\n" in buf:
                return json.loads(buf.split(b"\n", 1)[0])
        elif parent_pid is not None and not pid_alive(parent_pid):
            return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m omib_core.runs.warm", description="A warm spare worker.")
    p.add_argument("--parent-pid", type=int, default=None)
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    _preload()
    print(f"warm spare {os.getpid()} ready after {time.perf_counter() - t0:.1f} s", flush=True)
    job = wait_for_job(args.parent_pid)
    if not job:
        return 0
    if job.get("out"):
        _redirect(job["out"])
    module = str(job.get("module") or "omib_core.runs.worker")
    if module not in ENTRY_POINTS:
        print(f"warm spare: refusing to run {module!r}", file=sys.stderr)
        return 2
    return importlib.import_module(module).main(list(job["argv"]))


if __name__ == "__main__":
    sys.exit(main())
