"""The scheduler as its own process: one lease per store, refusal with a sentence, crash recovery, the web app's
embedded-scheduler decision (issue 12, item 1)."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time

import pytest

from omib_core.paths import REPO_ROOT
from omib_core.runs.scheduler import SchedulerBusy, SchedulerLease, live_lease, shared_manager
from omib_core.runs.store import RunStore
from tests.runs.conftest import TINY, wait_for

# a scheduler process on a fake source: python -m omib_core scheduler, with the test's source and fast heartbeats
SCHEDULER = """
import sys
from omib_core.runs.jobs import JobManager
from omib_core.runs.scheduler import run_scheduler
from omib_core.runs.store import RunStore
manager = JobManager(RunStore(sys.argv[1]), max_concurrent=1, source="tests.runs.fakes:slow", gpu_available=False,
                     heartbeat_interval=0.3)
sys.exit(run_scheduler(manager=manager, interval=0.2))
"""

LONG = copy.deepcopy(TINY)
LONG["train"]["epochs"] = 60  # 61 epochs x 4 steps x 30 ms: long enough to kill it mid-run


def _env(tmp_path) -> dict[str, str]:
    return {**os.environ, "OMIB_DATA_DIR": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)}


def _start_scheduler(store: RunStore, tmp_path, name: str) -> subprocess.Popen:
    log = open(tmp_path / f"{name}.log", "wb")
    return subprocess.Popen(
        [sys.executable, "-c", SCHEDULER, str(store.path)],
        cwd=REPO_ROOT,
        env=_env(tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _end(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _kill_worker(store: RunStore, run_id: str) -> None:
    run = store.get_run(run_id)
    if run and run["status"] in ("running", "paused") and run["pid"]:
        try:
            os.kill(run["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass


def _held_by(store: RunStore, pid: int) -> bool:
    lease = live_lease(store)
    return lease is not None and lease["pid"] == pid


def test_second_scheduler_is_refused_with_a_sentence_naming_the_holder(store, tmp_path):
    first = _start_scheduler(store, tmp_path, "first")
    try:
        wait_for(lambda: _held_by(store, first.pid), timeout=60, interval=0.1)
        second = subprocess.run(
            [sys.executable, "-m", "omib_core", "scheduler"],
            cwd=REPO_ROOT,
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode != 0
        assert "Another scheduler already runs the queue" in second.stderr
        assert f"pid {first.pid}" in second.stderr and "holds the lease until" in second.stderr
        assert first.poll() is None and _held_by(store, first.pid)  # the holder is untouched
    finally:
        _end(first)


def test_lease_is_exclusive_renewable_and_lost_to_a_takeover_after_expiry(store):
    a = SchedulerLease(store, ttl=0.5, renew_every=0.0)
    b = SchedulerLease(store, ttl=0.5, renew_every=0.0)
    a.acquire()
    with pytest.raises(SchedulerBusy, match=r"holds the lease until .* UTC"):
        b.acquire()
    assert a.renew_if_due()
    time.sleep(0.7)  # a stalled past its expiry: b may take over, and a must then stop scheduling
    b.acquire()
    assert not a.renew_if_due() and b.renew_if_due()
    a.release()  # not the holder any more: nothing changes
    assert store.read_lease()["holder"] == b.holder
    b.release()
    assert store.read_lease() is None


def test_kill_9_of_the_scheduler_mid_run_never_starts_a_run_twice_and_keeps_metrics(store, tmp_path):
    """A scheduler killed with SIGKILL mid-run: its worker notices, the run ends interrupted with every committed
    metric row kept; a new scheduler takes the lease and starts the next queued run, and no run is started twice."""
    first_run = store.create_run(LONG, "alice", "long")
    second_run = store.create_run(TINY, "bob", "next")
    first = _start_scheduler(store, tmp_path, "first")
    second = None
    try:
        wait_for(lambda: len(store.read_metrics(first_run)) >= 8, timeout=90, interval=0.1)
        started_at = store.get_run(first_run)["started_at"]
        assert store.get_run(second_run)["status"] == "queued"  # one slot: it waits
        os.killpg(first.pid, signal.SIGKILL)  # the scheduler only: its worker runs in a session of its own
        first.wait(10)
        acknowledged = len(store.read_metrics(first_run))
        assert live_lease(store) is None  # same host, dead pid: free without waiting for the expiry
        second = _start_scheduler(store, tmp_path, "second")
        wait_for(lambda: store.get_run(second_run)["status"] == "finished", timeout=90, interval=0.1)
        run = store.get_run(first_run)
        assert run["status"] in ("interrupted", "finished")  # interrupted here (local workers follow their parent)
        assert run["started_at"] == started_at
        assert len(store.read_metrics(first_run)) >= acknowledged
        for run_id in (first_run, second_run):
            log = (store.run_dir(run_id) / "worker.log").read_text()
            assert log.count(f"started run {run_id}") == 1, log
        assert _held_by(store, second.pid)
    finally:
        _end(first)
        _kill_worker(store, first_run)
        if second is not None:
            _end(second)


def test_web_app_embeds_a_scheduler_only_when_no_live_lease_is_held(tmp_path, monkeypatch):
    import omib_core.runs.scheduler as scheduler

    monkeypatch.setattr(scheduler, "_SHARED", None)
    store = RunStore(tmp_path / "a" / "omib.db")
    other = SchedulerLease(store)  # a scheduler process (alive: this pid) holds the lease
    other.holder = "scheduler-elsewhere"
    other.acquire()
    manager = shared_manager(store, interval=0.1)
    try:
        assert manager.lease is None and manager._thread is None  # reads and writes only
        run_id = manager.submit(TINY, "alice")
        time.sleep(0.5)
        assert store.get_run(run_id)["status"] == "queued"  # nobody here starts it
    finally:
        manager.stop_background()
        other.release()
    monkeypatch.setattr(scheduler, "_SHARED", None)
    free = RunStore(tmp_path / "b" / "omib.db")
    manager = shared_manager(free, interval=0.1)
    try:
        assert manager.lease is not None and manager.lease.held and manager._thread.is_alive()
        assert live_lease(free)["holder"] == manager.lease.holder
    finally:
        manager.stop_background()
    assert free.read_lease() is None  # released on a clean stop
    monkeypatch.setattr(scheduler, "_SHARED", None)
    monkeypatch.setenv("OMIB_SCHEDULER", "external")
    manager = shared_manager(RunStore(tmp_path / "c" / "omib.db"), interval=0.1)
    assert manager.lease is None and manager._thread is None
