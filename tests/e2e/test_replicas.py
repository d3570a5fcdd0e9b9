"""Two Streamlit servers and one scheduler process on one run store, in a real browser (issue 12, item 1).

A run is submitted on replica A and paused / resumed on replica B; the scheduler is killed with SIGKILL mid-run and
another one started: the run ends interrupted with every acknowledged metric row kept, it is never started twice,
and the new scheduler starts the next run submitted on A, which B then stops. Neither replica schedules: the
scheduler holds the store's lease, so their embedded schedulers stay off.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest

from dashboard.state import encode_config
from omib_core.config import DataConfig, RunConfig, TrainConfig
from omib_core.paths import REPO_ROOT
from omib_core.runs.scheduler import live_lease
from omib_core.runs.store import RunStore
from tests.e2e.conftest import start_app, stop_app
from tests.runs.conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONFIG = RunConfig(  # long enough to act on it mid-run; small enough to start fast
    data=DataConfig(dataset="sim-i", params={"n_samples": 2000}),
    train=TrainConfig(schedule="fixed", epochs=200, warmup_epochs=1, snapshot_every=0, log_every=5),
)
SCHEDULER = """
import sys
from omib_core.runs.jobs import JobManager
from omib_core.runs.scheduler import run_scheduler
from omib_core.runs.store import RunStore
sys.exit(run_scheduler(manager=JobManager(RunStore(sys.argv[1]), max_concurrent=1, gpu_available=False,
                                          heartbeat_interval=0.5), interval=0.3))
"""


def _scheduler(store: RunStore, log) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMIB_DATA_DIR": str(store.data_dir)}
    return subprocess.Popen(
        [sys.executable, "-c", SCHEDULER, str(store.path)],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _click(page, label: str) -> None:
    """Click the page's own button (not Streamlit's header 'Stop' of a running script) once it is enabled."""
    button = page.get_by_test_id("stMainBlockContainer").get_by_role("button", name=label)
    button.wait_for(timeout=60_000)
    page.wait_for_function(
        """(l) => [...document.querySelectorAll('[data-testid="stMainBlockContainer"] button')]
                  .some(b => b.innerText.includes(l) && !b.disabled)""",
        arg=label,
        timeout=60_000,
    )
    button.click()


def _submit(page, url: str) -> str:
    page.goto(f"{url}/train?cfg={encode_config(CONFIG)}")
    _click(page, "Start")
    page.wait_for_url(re.compile(r"[?&]run=[0-9a-f]{6,32}"), timeout=90_000)
    return re.search(r"[?&]run=([0-9a-f]{6,32})", page.url).group(1)


def test_two_replicas_one_scheduler_submit_control_and_a_scheduler_kill(tmp_path, browser):
    store = RunStore(tmp_path / "omib.db")
    procs = []
    scheduler = _scheduler(store, open(tmp_path / "scheduler1.log", "wb"))
    try:
        wait_for(lambda: (live_lease(store) or {}).get("pid") == scheduler.pid, timeout=60, interval=0.2)
        a, url_a = start_app(tmp_path, tmp_path / "a.log")
        procs.append(a)
        b, url_b = start_app(tmp_path, tmp_path / "b.log")
        procs.append(b)
        for log in ("a.log", "b.log"):  # the lease is held: neither replica embeds a scheduler
            assert "no embedded scheduler" in (tmp_path / log).read_text()
        contexts = [browser.new_context(), browser.new_context()]  # the session's chromium, one user per replica
        page_a, page_b = (c.new_page() for c in contexts)
        first = _submit(page_a, url_a)
        wait_for(lambda: len(store.read_metrics(first)) >= 5, timeout=180, interval=0.3)
        page_b.goto(f"{url_b}/train?run={first}")
        _click(page_b, "Pause")
        wait_for(lambda: store.get_run(first)["status"] == "paused", timeout=60, interval=0.2)
        _click(page_b, "Resume")
        wait_for(lambda: store.get_run(first)["status"] == "running", timeout=60, interval=0.2)
        wait_for(lambda: (store.get_run(first)["epoch"] or 0) >= 2, timeout=120, interval=0.2)

        os.killpg(scheduler.pid, signal.SIGKILL)  # mid-run; the worker lives in a session of its own
        scheduler.wait(10)
        acknowledged = store.read_metrics(first)
        wait_for(lambda: store.get_run(first)["status"] == "interrupted", timeout=60, interval=0.2)
        after = store.read_metrics(first)
        assert set(acknowledged["id"]) <= set(after["id"])  # no acknowledged row lost

        scheduler = _scheduler(store, open(tmp_path / "scheduler2.log", "wb"))
        wait_for(lambda: (live_lease(store) or {}).get("pid") == scheduler.pid, timeout=60, interval=0.2)
        second = _submit(page_a, url_a)
        wait_for(lambda: len(store.read_metrics(second)) >= 1, timeout=180, interval=0.3)
        page_b.goto(f"{url_b}/train?run={second}")
        _click(page_b, "Stop")
        wait_for(lambda: store.get_run(second)["status"] == "stopped", timeout=60, interval=0.2)
        for context in contexts:
            context.close()
        assert store.get_run(first)["status"] == "interrupted"  # not restarted by the new scheduler
        for run_id in (first, second):
            log = (store.run_dir(run_id) / "worker.log").read_text()
            assert log.count(f"started run {run_id}") == 1, log
    finally:
        for proc in procs:
            stop_app(proc)
        if scheduler.poll() is None:
            os.killpg(scheduler.pid, signal.SIGKILL)
        for run in store.list_runs(status=("running", "paused")):
            if run["pid"]:
                try:
                    os.kill(run["pid"], signal.SIGKILL)
                except ProcessLookupError:
                    pass
