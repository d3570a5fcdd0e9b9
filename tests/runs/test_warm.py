"""The warm spare worker (omib_core.runs.warm): a run starts in an interpreter that already imported torch."""

from __future__ import annotations

from omib_core.runs.jobs import JobManager, pid_alive
from tests.runs.conftest import TINY, wait_for


def test_a_run_starts_in_the_warm_spare_and_a_new_spare_takes_its_place(store):
    jobs = JobManager(
        store, source="tests.runs.fakes:fast", gpu_available=False, heartbeat_interval=0.3, warm=True, max_concurrent=1
    )
    jobs.start_background(interval=0.2)
    try:
        spare = wait_for(lambda: jobs._spare, timeout=10)
        wait_for(lambda: "ready" in (store.data_dir / "warm-worker.out").read_text(), timeout=60, interval=0.2)
        run_id = jobs.submit(TINY, "alice")
        wait_for(lambda: store.get_run(run_id)["status"] == "finished", timeout=60, interval=0.1)
        assert store.get_run(run_id)["pid"] == spare.pid  # the spare ran it
        assert jobs._spare is not None and jobs._spare.pid != spare.pid  # the next spare waits
        assert "worker pid" in (store.run_dir(run_id) / "worker.log").read_text()
        nxt = jobs._spare
    finally:
        jobs.stop_background()
    wait_for(lambda: not pid_alive(nxt.pid) or nxt.poll() is not None, timeout=10)


def test_without_warm_no_spare_is_started(store):
    jobs = JobManager(store, source="tests.runs.fakes:fast", gpu_available=False, heartbeat_interval=0.3)
    jobs.start_background(interval=0.2)
    try:
        run_id = jobs.submit(TINY, "alice")
        wait_for(lambda: store.get_run(run_id)["status"] == "finished", timeout=60, interval=0.1)
        assert jobs._spare is None
    finally:
        jobs.stop_background()
