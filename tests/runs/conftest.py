"""Fixtures of the run tests: a private store per test and helpers to start and wait for workers."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from omib_core.paths import REPO_ROOT
from omib_core.runs.store import RunStore

TINY = {
    "data": {"dataset": "sim-i", "params": {"n_samples": 200}},
    "train": {"schedule": "fixed", "epochs": 3, "warmup_epochs": 1},
}
# a real (torch) training run small enough for a test: SIM-I, 400 rows, a small model, 1 + 2 epochs, snapshots
TINY_REAL = {
    "data": {"dataset": "sim-i", "params": {"n_samples": 400, "reference": False}},
    "model": {"hidden_dim": 32, "z_dim": 16, "latent_dim": 16, "xi_dim": 16},
    "train": {
        "schedule": "fixed",
        "epochs": 2,
        "warmup_epochs": 1,
        "batch_size": 64,
        "device": "cpu",
        "log_every": 2,
        "snapshot_every": 1,
        "snapshot_max_points": 50,
    },
}


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05) -> object:
    """Poll until ``predicate()`` is truthy; fail the test after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def worker_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


def start_worker(store: RunStore, run_id: str, source: str, parent_pid: int | None = None, heartbeat: float = 0.3):
    """Start ``python -m omib_core.runs.worker`` for a run with a fake source."""
    cmd = [
        sys.executable,
        "-m",
        "omib_core.runs.worker",
        "--db",
        str(store.path),
        "--run",
        run_id,
        "--source",
        f"tests.runs.fakes:{source}",
        "--heartbeat",
        str(heartbeat),
    ]
    if parent_pid is not None:
        cmd += ["--parent-pid", str(parent_pid)]
    return subprocess.Popen(cmd, env=worker_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.fixture
def store(tmp_path) -> RunStore:
    s = RunStore(tmp_path / "omib.db")
    yield s
    s.close()


@pytest.fixture
def tiny() -> dict:
    return copy.deepcopy(TINY)
