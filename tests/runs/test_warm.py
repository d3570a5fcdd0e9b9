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


def test_a_grid_job_starts_in_the_warm_spare_too(store):
    from omib_core.config import RunConfig
    from omib_core.runs.sweep_queue import submit_sweep
    from omib_core.sweeps import build_sweep
    from tests.runs.conftest import TINY_REAL

    jobs = JobManager(store, gpu_available=False, heartbeat_interval=0.3, warm=True, max_concurrent=1)
    jobs.start_background(interval=0.2)
    try:
        spare = wait_for(lambda: jobs._spare, timeout=10)
        wait_for(lambda: "ready" in (store.data_dir / "warm-worker.out").read_text(), timeout=60, interval=0.2)
        _, ids = submit_sweep(jobs, build_sweep(RunConfig.from_dict(TINY_REAL), [0.5, 50.0], [0]), "alice")
        wait_for(lambda: all(store.get_run(i)["status"] == "finished" for i in ids), timeout=120, interval=0.1)
        assert {store.get_run(i)["pid"] for i in ids} == {spare.pid}  # one grid worker: the spare
    finally:
        jobs.stop_background()
