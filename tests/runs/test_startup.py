"""Start-up: the launcher ``python -m dashboard.serve`` starts the job manager with the server, so recovery and the
queue do not wait for the first page load (issue 10, item 10)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from omib_core.paths import REPO_ROOT
from omib_core.runs.scheduler import get_shared, shared_manager
from omib_core.runs.store import RunStore
from tests.e2e.conftest import free_port
from tests.runs.conftest import TINY, wait_for


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_launcher_recovers_and_starts_the_queue_without_any_page_load(tmp_path):
    """A run left 'running' by a dead worker becomes interrupted and a queued run starts within seconds of the
    launch, with no HTTP request made to the server."""
    store = RunStore(tmp_path / "omib.db")
    dead = store.create_run(TINY, "alice", "left running")
    store.claim(dead)
    store.update_run(dead, pid=_dead_pid(), heartbeat=time.time())  # a fresh heartbeat: only the pid says dead
    queued = store.create_run(TINY, "bob", "waiting")
    env = {
        **os.environ,
        "OMIB_DATA_DIR": str(tmp_path),
        "OMIB_MAX_CONCURRENT": "1",
        "OMIB_SKIP_UMAP_WARMUP": "1",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "PYTHONPATH": str(REPO_ROOT),
    }
    cmd = [
        sys.executable,
        "-m",
        "dashboard.serve",
        "--server.port",
        str(free_port()),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
    ]
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: store.get_run(dead)["status"] == "interrupted", timeout=60, interval=0.2)
        wait_for(lambda: store.get_run(queued)["status"] != "queued", timeout=30, interval=0.2)
        wait_for(lambda: store.get_run(queued)["pid"], timeout=10, interval=0.1)  # claimed, then its pid recorded
        started = store.get_run(queued)
        assert started["status"] != "interrupted" and started["started_at"] is not None and started["pid"]
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        log.close()
        pid = store.get_run(queued)["pid"]
        if pid and store.get_run(queued)["status"] in ("running", "paused"):
            try:
                os.kill(pid, signal.SIGKILL)  # the worker the launcher started for this test
            except ProcessLookupError:
                pass
        store.close()


def test_one_shared_manager_per_process(tmp_path):
    """``shared_manager`` returns the same object on every call (the launcher's is the app's); asked for another
    store, it stops the old scheduler before taking the new one."""
    a = RunStore(tmp_path / "a" / "omib.db")
    b = RunStore(tmp_path / "b" / "omib.db")
    first = shared_manager(a, interval=0.1)
    try:
        assert shared_manager(RunStore(tmp_path / "a" / "omib.db")) is first and get_shared() is first
        assert shared_manager() is first  # no store given: the shared one, whatever OMIB_DATA_DIR says
        thread = first._thread
        assert thread is not None and thread.is_alive()
        second = shared_manager(b, interval=0.1)
        assert second is not first and get_shared() is second and not thread.is_alive()
    finally:
        manager = get_shared()
        if manager is not None:
            manager.stop_background()


@pytest.fixture(autouse=True)
def _no_leftover_shared_manager():
    import omib_core.runs.scheduler as scheduler

    saved = scheduler._SHARED
    yield
    scheduler._SHARED = saved
