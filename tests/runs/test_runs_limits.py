"""Server limits of the job launcher: their defaults, the GPU rule with its CPU fallback, the wall-time limit per
run, and running out of memory (the run fails with a sentence, its metrics stay, the launcher keeps serving)."""

from __future__ import annotations

import json

import pytest

from omib_core.errors import ConfigError
from omib_core.runs.jobs import (
    DEFAULT_MAX_RUN_SECONDS,
    JobManager,
    default_max_concurrent,
    duration_text,
    pid_alive,
    time_limit_message,
)
from omib_core.runs.worker import Worker
from tests.runs import fakes
from tests.runs.conftest import wait_for

LIMIT_VARS = (
    "OMIB_MAX_CONCURRENT",
    "OMIB_THREADS_PER_JOB",
    "OMIB_MAX_EPOCHS",
    "OMIB_MAX_SAMPLES",
    "OMIB_MAX_RUN_SECONDS",
    "OMIB_MAX_QUEUED_PER_USER",
)


def _wait_done(jobs: JobManager, store, run_ids, timeout: float = 20.0) -> None:
    """Tick until every run has ended and its worker is reaped."""
    wait_for(
        lambda: (
            (jobs.tick(), all(store.get_run(r)["status"] in ("finished", "failed", "stopped") for r in run_ids))[1]
            and jobs.running_processes() == {}
        ),
        timeout=timeout,
        interval=0.1,
    )


@pytest.fixture
def no_limit_env(monkeypatch):
    for var in LIMIT_VARS:
        monkeypatch.delenv(var, raising=False)


def test_defaults_match_the_deploy_docs(store, tiny, no_limit_env, monkeypatch):
    jobs = JobManager(store, gpu_available=False)
    assert (jobs.max_epochs, jobs.max_samples, jobs.threads_per_job) == (500, 1_000_000, 1)
    assert jobs.max_run_seconds == DEFAULT_MAX_RUN_SECONDS == 6 * 3600 and jobs.max_queued_per_user == 40
    tiny["train"] = {"schedule": "fixed", "epochs": 495, "warmup_epochs": 10}
    with pytest.raises(ConfigError, match=r"at most 500 epochs per run, warm-up included \(OMIB_MAX_EPOCHS\)"):
        jobs.submit(tiny, "alice")
    tiny["train"] = {"schedule": "fixed", "epochs": 490, "warmup_epochs": 10}
    tiny["data"]["params"] = {"n_samples": 1_000_001}
    with pytest.raises(ConfigError, match=r"at most 1,000,000 samples per run \(OMIB_MAX_SAMPLES\)"):
        jobs.submit(tiny, "alice")
    tiny["data"]["params"] = {"n_samples": 1_000_000}
    jobs.submit(tiny, "alice")  # exactly at both limits: accepted
    cmd = jobs._worker_command(store.list_runs()[0])
    assert cmd[cmd.index("--threads") + 1] == "1" and cmd[cmd.index("--max-seconds") + 1] == "21600"
    assert jobs._worker_env()["OMP_NUM_THREADS"] == "1"
    monkeypatch.setenv("OMIB_MAX_RUN_SECONDS", "-5")
    with pytest.raises(ConfigError, match="OMIB_MAX_RUN_SECONDS must be a positive whole number"):
        JobManager(store)


def test_default_concurrency_from_cores_and_gpu(store, no_limit_env, monkeypatch):
    assert [default_max_concurrent(c, False) for c in (1, 2, 3, 16)] == [1, 1, 1, 8]
    assert [default_max_concurrent(c, True) for c in (1, 2, 16)] == [2, 2, 9]
    monkeypatch.setattr("omib_core.runs.jobs.cpu_count", lambda: 8)
    assert JobManager(store, gpu_available=True).max_concurrent == 5
    assert JobManager(store, gpu_available=False).max_concurrent == 4
    monkeypatch.setenv("OMIB_MAX_CONCURRENT", "3")
    assert JobManager(store, gpu_available=True).max_concurrent == 3


def test_one_gpu_job_at_a_time_the_rest_fall_back_to_cpu(store, tiny):
    tiny["train"] = {"schedule": "fixed", "epochs": 100, "warmup_epochs": 0}
    jobs = JobManager(
        store, max_concurrent=3, source="tests.runs.fakes:device_echo", gpu_available=True, heartbeat_interval=0.3
    )
    first = jobs.submit(tiny, "alice", "gets the GPU")
    second = jobs.submit(tiny, "bob", "falls back to the CPU")
    explicit = jobs.submit({**tiny, "train": {**tiny["train"], "device": "cuda"}}, "carol", "waits for the GPU")
    try:
        assert jobs.tick() == [first, second]  # the explicit cuda run waits although a slot is free
        assert jobs._on_gpu == {first: True, second: False}
        wait_for(lambda: store.get_run(first)["device"] and store.get_run(second)["device"])
        assert store.get_run(first)["device"] == "auto"  # train() resolves it to cuda on a real GPU host
        assert store.get_run(second)["device"] == "cpu"
        assert "the GPU is busy" in (store.run_dir(second) / "worker.log").read_text()
        assert jobs.tick() == [] and store.get_run(explicit)["status"] == "queued"
        jobs.control(first, "stop", "alice")
        wait_for(lambda: jobs.tick() == [explicit] or store.get_run(explicit)["status"] != "queued", timeout=15)
        assert jobs._on_gpu.get(explicit) is True and store.get_run(first)["status"] == "stopped"
    finally:
        for rid in (first, second, explicit):
            if store.get_run(rid)["status"] in ("queued", "running", "paused"):
                jobs.control(rid, "stop", "admin", is_admin=True)
        _wait_done(jobs, store, [first, second, explicit])


def test_wall_time_limit_fails_the_run_with_a_sentence_and_keeps_metrics(store, tiny):
    # ~60 s of fake training at 0.03 s per step
    tiny["train"] = {"schedule": "fixed", "epochs": 500, "warmup_epochs": 0}
    jobs = JobManager(
        store,
        max_concurrent=1,
        source="tests.runs.fakes:slow",
        gpu_available=False,
        max_run_seconds=5,
        heartbeat_interval=0.3,
    )
    run_id = jobs.submit(tiny, "alice")
    jobs.tick()
    _wait_done(jobs, store, [run_id])
    run = store.get_run(run_id)
    assert run["status"] == "failed" and run["error"] == time_limit_message(5)
    assert "limit of 5 s of wall time per run (OMIB_MAX_RUN_SECONDS)" in run["error"]
    assert 0 < run["epoch"] < 500 and run["ended_at"] - run["started_at"] < 15
    assert len(store.read_metrics(run_id, kind="epoch")) == run["epoch"] * 5  # every committed epoch kept
    assert json.loads((store.run_dir(run_id) / "result.json").read_text())["status"] == "failed"


def test_wall_time_limit_also_ends_a_paused_run(store, tiny):
    tiny["train"] = {"schedule": "fixed", "epochs": 500, "warmup_epochs": 0}
    run_id = store.create_run(tiny, "alice", "a")
    store.claim(run_id)
    store.request_control(run_id, "pause", "alice")  # seen before the first event: paused from the start
    assert Worker(store, run_id, source=fakes.slow, heartbeat_interval=0.2, max_seconds=1.0).run() == 0
    run = store.get_run(run_id)
    assert run["status"] == "failed" and "OMIB_MAX_RUN_SECONDS" in run["error"]


def test_bound_run_over_its_time_fails_with_the_sentence(store, tiny):
    run_id = store.create_run(tiny, "alice", "b", kind="bound")
    assert Worker(store, run_id, source=fakes.slow_bound, heartbeat_interval=0.2, max_seconds=0.5).run() == 0
    run = store.get_run(run_id)
    assert run["status"] == "failed" and "OMIB_MAX_RUN_SECONDS" in run["error"] and len(store.read_metrics(run_id))


def test_a_worker_stuck_past_its_time_is_ended_by_the_launcher(store, tiny):
    tiny["train"] = {"schedule": "fixed", "epochs": 50, "warmup_epochs": 0}
    jobs = JobManager(
        store,
        max_concurrent=1,
        source="tests.runs.fakes:stuck",
        gpu_available=False,
        max_run_seconds=3,
        stop_grace=1,
        heartbeat_interval=0.3,
    )
    run_id = jobs.submit(tiny, "alice")
    jobs.tick()
    pid = jobs.running_processes()[run_id]
    _wait_done(jobs, store, [run_id], timeout=20)
    run = store.get_run(run_id)
    assert not pid_alive(pid)
    assert run["status"] == "failed" and run["error"] == time_limit_message(3)
    assert len(store.read_metrics(run_id, kind="epoch")) == 5  # the epoch before it got stuck


@pytest.mark.parametrize("source", ["oom_after_epoch", "cuda_oom"])
def test_out_of_memory_fails_the_run_and_the_launcher_keeps_serving(store, tiny, source):
    jobs = JobManager(
        store, max_concurrent=1, source=f"tests.runs.fakes:{source}", gpu_available=False, heartbeat_interval=0.3
    )
    doomed = jobs.submit(tiny, "alice", "runs out of memory")
    jobs.tick()
    _wait_done(jobs, store, [doomed])
    run = store.get_run(doomed)
    assert run["status"] == "failed" and run["error"].startswith("The run ran out of memory; its estimated peak is")
    assert "Traceback" not in run["error"] and "GiB" not in run["error"]
    assert len(store.read_metrics(doomed, kind="epoch")) == 5  # the epoch committed before it stays
    assert json.loads((store.run_dir(doomed) / "result.json").read_text())["status"] == "failed"
    jobs.sources["train"] = "tests.runs.fakes:fast"  # the same launcher goes on with the next run
    after = jobs.submit(tiny, "bob", "next")
    jobs.tick()
    _wait_done(jobs, store, [after])
    assert store.get_run(after)["status"] == "finished"


def test_duration_text():
    assert [duration_text(s) for s in (21600, 5400, 90, 45, 1.5)] == ["6 h", "90 min", "90 s", "45 s", "1.5 s"]


def test_a_step_budget_above_the_server_limit_is_refused(store, monkeypatch) -> None:
    monkeypatch.setenv("OMIB_MAX_STEPS", "5000")
    jobs = JobManager(store)
    with pytest.raises(
        ConfigError, match=r"at most 5,000 optimizer steps per run \(OMIB_MAX_STEPS\)\. Got max_steps = 20,000"
    ):
        jobs.validate({"data": {"dataset": "sim-i"}, "train": {"max_steps": 20000}})
    assert jobs.validate({"train": {"max_steps": 5000}}).train.max_steps == 5000
