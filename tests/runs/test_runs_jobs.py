"""The job launcher: validation at submit, limits, FIFO fair queue, concurrency cap, recovery."""

from __future__ import annotations

import time

import pytest

from omib_core.errors import ConfigError
from omib_core.runs.jobs import JobManager, QueueFull, fair_order, pid_alive
from omib_core.runs.store import PermissionDenied
from tests.runs.conftest import wait_for


def _manager(store, **kwargs) -> JobManager:
    kwargs.setdefault("max_concurrent", 1)
    return JobManager(store, source="tests.runs.fakes:fast", gpu_available=False, heartbeat_interval=0.3, **kwargs)


def test_invalid_config_refused_with_nothing_stored(store):
    jobs = _manager(store)
    with pytest.raises(ConfigError, match="'epochs' parameter of TrainConfig"):
        jobs.submit({"train": {"epochs": 0}}, owner="alice", name="bad")
    with pytest.raises(ConfigError, match="unknown section"):
        jobs.submit({"trian": {}}, owner="alice")
    with pytest.raises(ConfigError, match="needs an owner"):
        jobs.submit({}, owner="  ")
    with pytest.raises(ConfigError, match="kind"):
        jobs.submit({}, owner="alice", kind="sweep")
    assert store.list_runs() == []


def test_unknown_or_unreadable_datasets_are_refused_at_submit(store, tmp_path, monkeypatch):
    """Refused before queueing (not later by the worker): an unknown id, a bad loader parameter, a folder path
    on a server that reads no folders."""
    jobs = _manager(store)
    with pytest.raises(ConfigError, match="not queued: Unknown dataset 'no-such-data'"):
        jobs.submit({"data": {"dataset": "no-such-data"}}, owner="alice")
    with pytest.raises(ConfigError, match="no parameter"):
        jobs.submit({"data": {"dataset": "sim-i", "params": {"n_sample": 10}}}, owner="alice")
    monkeypatch.setenv("OMIB_FOLDER_DATASETS", "0")
    with pytest.raises(ConfigError, match="Folder paths are not accepted"):
        jobs.submit({"data": {"dataset": str(tmp_path)}}, owner="alice")
    assert store.list_runs() == []


def test_server_limits_from_environment(store, tiny, monkeypatch):
    monkeypatch.setenv("OMIB_MAX_EPOCHS", "3")
    monkeypatch.setenv("OMIB_MAX_SAMPLES", "100")
    monkeypatch.setenv("OMIB_MAX_QUEUED_PER_USER", "1")
    jobs = JobManager(store, gpu_available=False)
    with pytest.raises(ConfigError, match="at most 3 epochs"):
        jobs.submit(tiny, "alice")  # 3 + 1 warm-up
    tiny["train"] = {"schedule": "fixed", "epochs": 2, "warmup_epochs": 1}
    with pytest.raises(ConfigError, match="at most 100 samples"):
        jobs.submit(tiny, "alice")
    tiny["data"]["params"] = {"n_samples": 100}
    run_id = jobs.submit(tiny, "alice", "ok")
    assert store.get_run(run_id)["config"]["train"]["epochs"] == 2
    with pytest.raises(QueueFull, match="1 queued runs"):
        jobs.submit(tiny, "alice")
    jobs.submit(tiny, "bob")  # the limit is per user
    monkeypatch.setenv("OMIB_MAX_CONCURRENT", "zero")
    with pytest.raises(ConfigError, match="OMIB_MAX_CONCURRENT must be a positive whole number"):
        JobManager(store)


def test_submit_stores_the_full_validated_config(store):
    jobs = _manager(store)
    run_id = jobs.submit({"train": {"schedule": "fixed", "epochs": 2}}, "alice", sweep_id="sw1")
    run = store.get_run(run_id)
    assert run["config"]["model"]["latent_dim"] == 32 and run["name"] == "train sim-i" and run["sweep_id"] == "sw1"


def test_fair_order_across_users():
    queued = [{"id": i, "owner": o} for i, o in enumerate("aaab")]
    assert [r["id"] for r in fair_order(queued, {})] == [0, 3, 1, 2]
    # b has 2 going: a catches up first, then at 2 each b (who started before a's placed runs) goes first
    assert [r["id"] for r in fair_order(queued, {"b": 2})] == [0, 1, 3, 2]


def test_max_concurrent_one_runs_the_second_after_the_first(store, tiny):
    jobs = _manager(store)
    first = jobs.submit(tiny, "alice", "first")
    second = jobs.submit(tiny, "bob", "second")
    assert jobs.queue_position(first) == 1 and jobs.queue_position(second) == 2
    assert jobs.tick() == [first]
    assert store.get_run(second)["status"] == "queued" and jobs.queue_position(second) == 1
    assert jobs.tick() == []  # the slot is taken
    wait_for(lambda: jobs.tick() == [second] or store.get_run(second)["status"] != "queued", timeout=15)
    wait_for(lambda: jobs.tick() is not None and store.get_run(second)["status"] == "finished", timeout=15)
    a, b = store.get_run(first), store.get_run(second)
    assert a["status"] == "finished" and b["started_at"] >= a["ended_at"]
    assert jobs.queue_position(second) is None
    wait_for(lambda: (jobs.tick(), jobs.running_processes())[1] == {}, timeout=5)


def test_background_thread_and_control_permissions(store, tiny):
    tiny["train"] = {"schedule": "fixed", "epochs": 200, "warmup_epochs": 0}
    jobs = JobManager(
        store, max_concurrent=2, source="tests.runs.fakes:slow", gpu_available=False, heartbeat_interval=0.3
    )
    run_id = jobs.submit(tiny, "alice")
    jobs.start_background(interval=0.1)
    try:
        wait_for(lambda: (store.get_run(run_id)["epoch"] or 0) >= 1)
        with pytest.raises(PermissionDenied):
            jobs.control(run_id, "stop", "bob")
        jobs.control(run_id, "stop", "alice")
        wait_for(lambda: store.get_run(run_id)["status"] == "stopped", timeout=5)
        wait_for(lambda: jobs.running_processes() == {}, timeout=5)
    finally:
        jobs.stop_background()


def test_stop_ignored_by_a_stuck_worker_is_enforced(store, tiny):
    tiny["train"] = {"schedule": "fixed", "epochs": 200, "warmup_epochs": 0}
    jobs = JobManager(store, max_concurrent=1, source="tests.runs.fakes:slow", gpu_available=False, stop_grace=0.0)
    run_id = jobs.submit(tiny, "alice")
    jobs.tick()
    pid = jobs.running_processes()[run_id]
    wait_for(lambda: store.get_run(run_id)["status"] == "running" and store.get_run(run_id)["pid"] == pid)
    with store._tx() as c:  # a stop request the worker cannot see in time (as if stuck in a long step)
        c.execute("UPDATE runs SET control = 'stop', control_at = ? WHERE id = ?", (time.time() - 1, run_id))
    jobs._enforce_stops(store.list_runs(status="running"))
    wait_for(lambda: not pid_alive(pid), timeout=5)
    jobs.tick()  # reaps it: stop was asked, so stopped rather than interrupted
    assert store.get_run(run_id)["status"] == "stopped" and jobs.running_processes() == {}


def test_recover_marks_runs_whose_worker_is_gone(store, tiny):
    run_id = store.create_run(tiny, "alice", "a")
    store.claim(run_id)
    store.update_run(run_id, pid=2**22 + 12345)  # no such process
    jobs = _manager(store)
    assert jobs.recover() == [run_id]
    assert store.get_run(run_id)["status"] == "interrupted"
