"""Several worker processes writing to one store at once: no lock errors, nothing lost."""

from __future__ import annotations

import time

import pytest

from omib_core.runs.store import TERMINAL, RunStateError
from tests.runs.conftest import start_worker, wait_for


def test_four_workers_write_concurrently(store, tiny):
    tiny["data"]["params"]["parties"] = 4  # the fake source waits for all four before writing
    run_ids = [store.create_run(tiny, f"user{i}", f"run{i}") for i in range(4)]
    procs = [start_worker(store, run_id, "many_epochs") for run_id in run_ids]
    outputs = []
    for proc in procs:
        out, _ = proc.communicate(timeout=30)
        outputs.append(out.decode())
        assert proc.returncode == 0, out
    for run_id, out in zip(run_ids, outputs):
        run = store.get_run(run_id)
        assert run["status"] == "finished", run["error"]
        assert "locked" not in out and "locked" not in (store.run_dir(run_id) / "worker.log").read_text()
        df = store.read_metrics(run_id)
        assert len(df) == 200 * 2  # every committed epoch row is there, once
        assert df["epoch"].tolist() == sorted(df["epoch"].tolist())
        assert run["epoch"] == 200
    first_rows = [store.read_metrics(run_id, limit=1)["t"].iloc[0] for run_id in run_ids]
    ends = [store.get_run(run_id)["ended_at"] for run_id in run_ids]
    assert max(first_rows) < min(ends)  # they did write at the same time
    assert store.integrity_check()


def test_two_job_managers_on_one_database_start_each_run_once_within_the_cap(store, tiny):
    """Two servers' managers over one store: a queued run is claimed by one of them only, neither marks the other's
    live worker as dead, and together they keep a cap of 1 (each counts the runs the other started)."""
    from omib_core.runs.jobs import JobManager
    from omib_core.runs.store import RunStore

    other_store = RunStore(store.path)
    managers = [
        JobManager(s, max_concurrent=1, source="tests.runs.fakes:slow", gpu_available=False, heartbeat_interval=0.3)
        for s in (store, other_store)
    ]
    run_ids = [managers[i % 2].submit(tiny, f"user{i}", f"run{i}") for i in range(3)]
    started: list[tuple[int, str]] = []
    most_running = 0
    deadline, turn = time.monotonic() + 60, 0
    try:
        while not all(store.get_run(r)["status"] in TERMINAL for r in run_ids):
            assert time.monotonic() < deadline, [store.get_run(r)["status"] for r in run_ids]
            for i in (turn % 2, 1 - turn % 2):  # each manager gets the first look in turn
                started += [(i, r) for r in managers[i].tick()]
                most_running = max(most_running, len(store.list_runs(status=("running", "paused"))))
            time.sleep(0.05)
            turn += 1
    finally:
        for jobs in managers:
            wait_for(lambda jobs=jobs: (jobs.tick(), jobs.running_processes())[1] == {}, timeout=15)
        other_store.close()
    assert sorted(r for _, r in started) == sorted(run_ids), started  # each run started exactly once
    assert most_running == 1, "two managers with a cap of 1 ran two runs at once"
    for r in run_ids:
        run = store.get_run(r)
        assert run["status"] == "finished", (run["status"], run["error"])  # never marked dead by the other
    assert store.integrity_check()


def test_deleting_a_run_while_its_worker_still_writes_leaves_nothing_behind(store, tiny):
    """A run marked interrupted (its heartbeat looked stale) whose worker is in fact still writing is deleted: the
    late worker's writes must not bring back rows or a folder for a run that no longer exists."""
    run_id = store.create_run(tiny, "alice", "deleted mid-run")
    proc = start_worker(store, run_id, "long_writer")
    try:
        wait_for(lambda: len(store.read_metrics(run_id)) >= 10, timeout=30)
        with pytest.raises(RunStateError, match="stop it first"):  # a running run cannot be deleted
            store.delete_run(run_id, "alice")
        assert store.mark_interrupted(is_alive=lambda pid: False) == [run_id]
        store.delete_run(run_id, "alice")  # an interrupted one can, while its worker is in fact still writing
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode is not None and store.get_run(run_id) is None
    assert not store.run_dir(run_id).exists(), "the late worker re-created the deleted run's folder"
    assert store.list_artifacts(run_id) == []
    assert store.read_metrics(run_id).empty, "the late worker wrote metric rows for a deleted run"
    assert "Traceback" not in out.decode(), out.decode()
    assert store.integrity_check()
