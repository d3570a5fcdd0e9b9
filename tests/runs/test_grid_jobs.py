"""A grid job through the launcher (issue 18): submit_sweep queues one grid, one worker process trains every member,
each member is still a run of its own (rows, artifacts, controls), and a stop ends one member only."""

from __future__ import annotations

import copy

import pytest

from omib_core.config import RunConfig
from omib_core.errors import ConfigError
from omib_core.runs.budget import MB, estimate_grid
from omib_core.runs.jobs import JobManager
from omib_core.runs.store import TERMINAL, QueueFull
from omib_core.runs.sweep_queue import submit_sweep
from omib_core.sweeps import build_sweep
from tests.runs.conftest import TINY_REAL, wait_for


def _planned(epochs: int = 2, seeds=(0, 1)):
    d = copy.deepcopy(TINY_REAL)
    d["train"]["epochs"] = epochs
    return build_sweep(RunConfig.from_dict(d), [0.5, 50.0], list(seeds))


def _manager(store, **kw) -> JobManager:
    kw.setdefault("max_concurrent", 1)
    return JobManager(store, gpu_available=False, heartbeat_interval=0.3, **kw)


def test_a_grid_trains_in_one_worker_and_each_member_is_a_run(store):
    jobs = _manager(store)
    sweep_id, ids = submit_sweep(jobs, _planned(), "alice")
    assert {r["grid_id"] for r in store.list_runs()} == {sweep_id}
    started = jobs.tick()
    assert sorted(started) == sorted(ids)  # one slot: the whole grid started at once
    assert len({p for p in jobs.running_processes().values()}) == 1  # ... in one process
    jobs.start_background(interval=0.1)
    try:
        wait_for(lambda: all(r["status"] in TERMINAL for r in store.list_runs()), timeout=240, interval=0.2)
    finally:
        jobs.stop_background()
    runs = store.list_runs()
    assert [r["status"] for r in runs] == ["finished"] * 4, [r["error"] for r in runs]
    for r in runs:
        names = store.metric_names(r["id"])
        assert {"val/accuracy", "kl/v1", "r/v2"} <= set(names)
        kinds = {a["kind"] for a in store.list_artifacts(r["id"])}
        assert {"checkpoint", "snapshot", "history", "result"} <= kinds
        assert r["result"]["selection"]["last"]["test"]["accuracy"] > 0
    betas = sorted({round(r["summary"]["beta_over_Mu"], 3) for r in runs})
    assert betas == [0.5, 50.0]


def test_stopping_one_member_leaves_the_others_training(store):
    jobs = _manager(store)
    _, ids = submit_sweep(jobs, _planned(epochs=60), "alice")
    jobs.start_background(interval=0.1)
    try:
        wait_for(lambda: (store.get_run(ids[0]) or {}).get("epoch"), timeout=120, interval=0.1)
        jobs.control(ids[0], "stop", "alice")
        wait_for(lambda: store.get_run(ids[0])["status"] == "stopped", timeout=60, interval=0.1)
        assert all(store.get_run(i)["status"] == "running" for i in ids[1:])
        jobs.control(ids[1], "pause", "alice")
        wait_for(lambda: store.get_run(ids[1])["status"] == "paused", timeout=60, interval=0.1)
        epoch = store.get_run(ids[1])["epoch"]
        wait_for(lambda: store.get_run(ids[2])["epoch"] >= epoch + 2, timeout=120, interval=0.1)
        assert store.get_run(ids[1])["epoch"] == epoch  # frozen while the others go on
        jobs.control(ids[1], "resume", "alice")
        wait_for(lambda: all(store.get_run(i)["status"] in TERMINAL for i in ids), timeout=300, interval=0.2)
    finally:
        jobs.stop_background()
    assert [store.get_run(i)["status"] for i in ids] == ["stopped", "finished", "finished", "finished"]


def test_a_grid_too_large_for_the_memory_limit_is_refused_with_the_size_that_fits(store):
    d = copy.deepcopy(TINY_REAL)
    d["data"]["params"]["n_samples"] = 20000  # enough rows that each member's evaluation chunk weighs
    planned = build_sweep(RunConfig.from_dict(d), [0.1 * (i + 1) for i in range(6)], list(range(5)))
    one, full = estimate_grid([c for _, c in planned[:1]]), estimate_grid([c for _, c in planned])
    assert full.memory_bytes < 3 * one.memory_bytes  # the interpreter and the data draws are held once
    limit_mb = (one.memory_bytes + (full.memory_bytes - one.memory_bytes) // 2) / MB
    jobs = _manager(store, max_run_memory_mb=limit_mb, max_queued_per_user=100)
    with pytest.raises(
        ConfigError, match=r"This grid of 30 runs needs about .* largest grid of these runs that fits has"
    ):
        submit_sweep(jobs, planned, "alice")
    assert store.list_runs() == []


def test_killing_the_grid_worker_interrupts_every_member_and_keeps_their_rows(store):
    import os
    import signal

    jobs = _manager(store)
    _, ids = submit_sweep(jobs, _planned(epochs=200), "alice")
    jobs.tick()
    pid = jobs.running_processes()[ids[0]]
    wait_for(lambda: all((store.get_run(i) or {}).get("epoch") for i in ids), timeout=120, interval=0.1)
    before = {i: len(store.read_metrics(i)) for i in ids}
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: (jobs.tick(), all(store.get_run(i)["status"] == "interrupted" for i in ids))[1], timeout=30)
    for i in ids:
        assert len(store.read_metrics(i)) >= before[i] > 0
    assert store.integrity_check()


def test_a_large_grid_takes_one_worker_per_free_core_and_still_one_slot(store, monkeypatch):
    from omib_core.runs import jobs as jobs_module

    monkeypatch.setattr(jobs_module, "cpu_count", lambda: 2)
    jobs = _manager(store)
    assert jobs.grid_shards(30, 0) == 2 and jobs.grid_shards(11, 0) == 1 and jobs.grid_shards(30, 1) == 1
    monkeypatch.setenv("OMIB_GRID_SHARDS", "1")
    assert jobs.grid_shards(30, 0) == 1
    monkeypatch.delenv("OMIB_GRID_SHARDS")
    planned = build_sweep(RunConfig.from_dict(TINY_REAL), [0.5, 5.0, 50.0, 500.0], list(range(4)))
    _, ids = submit_sweep(jobs, planned, "alice")
    started = jobs.tick()
    assert sorted(started) == sorted(ids)
    pids = {jobs.running_processes()[i] for i in ids}
    assert len(pids) == 2  # two workers, 8 members each, in the one slot of max_concurrent=1
    jobs.start_background(interval=0.1)
    try:
        wait_for(lambda: all(r["status"] in TERMINAL for r in store.list_runs()), timeout=300, interval=0.2)
    finally:
        jobs.stop_background()
    assert [r["status"] for r in store.list_runs()] == ["finished"] * 16


def test_a_grids_members_are_queued_in_one_transaction(store):
    """A scheduler that ticks between two members' inserts would start part of a grid on its own: the members are
    inserted together, or not at all."""
    seen = []
    jobs = _manager(store)
    real = store.create_runs

    def watching(*a, **kw):
        seen.append(len(store.list_runs()))
        return real(*a, **kw)

    store.create_runs = watching
    _, ids = submit_sweep(jobs, _planned(), "alice")
    assert seen == [0] and len(ids) == 4  # one insert for the whole grid
    store.create_runs = real
    jobs.max_queued_per_user = 5
    with pytest.raises(ConfigError, match="needs 4 queued runs but you may queue only 1 more"):
        submit_sweep(jobs, _planned(), "alice")
    with pytest.raises(QueueFull):  # the store's own check, in the same transaction as the inserts
        store.create_runs([(TINY_REAL, "x"), (TINY_REAL, "y")], "alice", max_queued=5)
    assert len(store.list_runs()) == 4


def test_runs_that_cannot_share_a_grid_train_one_after_another_in_the_grid_worker(store):
    """A grid job whose data turn out not to fit one model (found only once loaded) trains its members in turn."""
    from omib_core.runs.grid_worker import GridWorker

    def refuse(configs, dirs, cache):
        raise ConfigError("These runs cannot train as one grid: their data have different shapes or tasks.")

    ids = [store.create_run(copy.deepcopy(TINY_REAL), "alice", f"m{i}", grid_id="g1") for i in range(2)]
    assert GridWorker(store, ids, engine=refuse).run() == 0
    assert [store.get_run(i)["status"] for i in ids] == ["finished", "finished"]
