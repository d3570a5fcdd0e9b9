"""The worker: status transitions, metrics, failures and control requests, with fake event sources."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

from omib_core.runs.jobs import pid_alive
from omib_core.runs.worker import PARENT_GONE_MESSAGE, Worker
from tests.runs import fakes
from tests.runs.conftest import start_worker, wait_for

EPOCH_METRICS = 5  # metrics per fake epoch event
STEP_METRICS = 2


def _run(store, run_id, source, **kwargs) -> int:
    return Worker(store, run_id, source=source, heartbeat_interval=0.2, **kwargs).run()


def test_queued_running_finished_with_metrics_and_artifacts(store, tiny):
    run_id = store.create_run(tiny, "alice", "a")
    seen = []

    def source(config, *, out_dir, cache_dir):
        for event in fakes.epochs(config, out_dir=out_dir):
            seen.append(store.get_run(run_id)["status"])
            yield event

    assert store.get_run(run_id)["status"] == "queued"
    assert _run(store, run_id, source) == 0
    run = store.get_run(run_id)
    assert set(seen) == {"running"}
    assert run["status"] == "finished" and run["error"] is None and run["pid"] == os.getpid()
    assert (run["epoch"], run["total_epochs"], run["device"]) == (4, 4, "cpu")
    assert run["summary"]["beta_over_Mu"] == 0.5 and run["result"]["test_metrics"] == {"accuracy": 0.8}
    df = store.read_metrics(run_id)
    assert (df["kind"] == "epoch").sum() == 4 * EPOCH_METRICS
    assert (df["kind"] == "step").sum() == 4 * fakes.STEPS_PER_EPOCH * STEP_METRICS
    assert not df.loc[df["name"] == "kl/a", "finite"].any()
    kinds = sorted(a["kind"] for a in store.list_artifacts(run_id))
    assert kinds == ["history", "result", "snapshot"]
    result = json.loads((store.run_dir(run_id) / "result.json").read_text())
    assert result["status"] == "finished" and result["run_id"] == run_id


def test_run_failed_event_keeps_metrics_and_error(store, tiny):
    run_id = store.create_run(tiny, "alice", "a")
    _run(store, run_id, fakes.failing)
    run = store.get_run(run_id)
    assert run["status"] == "failed" and run["error"] == "The loss became NaN at epoch 2; lower lr."
    assert len(store.read_metrics(run_id, kind="epoch")) == 2 * EPOCH_METRICS
    assert json.loads((store.run_dir(run_id) / "result.json").read_text())["status"] == "failed"


def test_unexpected_exception_gives_a_sentence_and_logs_the_traceback(store, tiny):
    run_id = store.create_run(tiny, "alice", "a")
    _run(store, run_id, fakes.crashing)
    run = store.get_run(run_id)
    assert run["status"] == "failed" and "unexpected error (ValueError)" in run["error"]
    assert "internal detail" not in run["error"] and "Traceback" not in run["error"]
    log = (store.run_dir(run_id) / "worker.log").read_text()
    assert "Traceback" in log and "internal detail" in log
    assert len(store.read_metrics(run_id, kind="epoch")) == EPOCH_METRICS  # the first epoch stands


def test_out_of_memory_and_invalid_config(store, tiny):
    run_id = store.create_run(tiny, "alice", "a")
    _run(store, run_id, fakes.out_of_memory)
    assert "ran out of memory" in store.get_run(run_id)["error"]
    bad = store.create_run({"train": {"epochs": 0}}, "alice", "bad")  # stored behind the launcher's back
    _run(store, bad, fakes.fast)
    run = store.get_run(bad)
    assert run["status"] == "failed" and "'epochs' parameter of TrainConfig" in run["error"]


def test_bound_run_writes_progress_and_result(store, tiny):
    run_id = store.create_run(tiny, "alice", "b", kind="bound")
    _run(store, run_id, fakes.bound)
    run = store.get_run(run_id)
    assert run["status"] == "finished" and run["result"]["M_u"] == 1 / 6
    assert run["result"]["h_joint"]["value"] == 2.0
    df = store.read_metrics(run_id)
    assert df["name"].unique().tolist() == ["bound/H(a)"] and df["value"].tolist() == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert [a["kind"] for a in store.list_artifacts(run_id)] == ["result"]


def test_bound_progress_rows_are_thinned(store, tiny):
    run_id = store.create_run(tiny, "alice", "b", kind="bound")
    _run(store, run_id, fakes.chatty_bound)
    run = store.get_run(run_id)
    assert run["status"] == "finished" and run["result"]["M_u"] is None and "negative" in run["result"]["failure"]
    values = store.read_metrics(run_id)["value"]
    assert 90 <= len(values) <= 101 and values.iloc[-1] == 1.0 and values.is_monotonic_increasing


def test_bound_run_can_be_stopped(store, tiny):
    run_id = store.create_run(tiny, "alice", "b", kind="bound")
    timer = threading.Timer(0.3, store.request_control, args=(run_id, "stop", "alice"))
    timer.start()
    _run(store, run_id, fakes.slow_bound)
    timer.join()
    assert store.get_run(run_id)["status"] == "stopped" and len(store.read_metrics(run_id)) > 0


def test_not_queued_run_is_left_alone(store, tiny):
    run_id = store.create_run(tiny, "alice", "a")
    store.request_control(run_id, "stop", "alice")
    assert _run(store, run_id, fakes.fast) == 0
    assert store.get_run(run_id)["status"] == "stopped" and store.read_metrics(run_id).empty
    assert _run(store, "0123456789ab", fakes.fast) == 2


def test_pause_step_resume_stop_in_a_worker_process(store, tiny):
    tiny["train"] = {"schedule": "fixed", "epochs": 60, "warmup_epochs": 0}
    run_id = store.create_run(tiny, "alice", "a")
    proc = start_worker(store, run_id, "slow")
    try:
        wait_for(lambda: (store.get_run(run_id)["epoch"] or 0) >= 1)
        store.request_control(run_id, "pause", "alice")
        wait_for(lambda: store.get_run(run_id)["status"] == "paused")
        n_rows, epoch = len(store.read_metrics(run_id)), store.get_run(run_id)["epoch"]
        time.sleep(0.4)
        assert len(store.read_metrics(run_id)) == n_rows  # no event pulled while paused

        store.request_control(run_id, "step", "alice")
        wait_for(lambda: (r := store.get_run(run_id))["epoch"] == epoch + 1 and r["status"] == "paused")
        time.sleep(0.3)
        assert store.get_run(run_id)["epoch"] == epoch + 1  # exactly one epoch, then paused again

        store.request_control(run_id, "resume", "alice")
        wait_for(lambda: store.get_run(run_id)["epoch"] >= epoch + 3)
        assert store.get_run(run_id)["status"] == "running"

        store.request_control(run_id, "stop", "alice")
        assert proc.wait(timeout=5) == 0
    finally:
        proc.kill()
    run = store.get_run(run_id)
    assert run["status"] == "stopped" and run["control"] is None and run["epoch"] < 60
    assert json.loads((store.run_dir(run_id) / "result.json").read_text())["status"] == "stopped"


def test_kill_minus_9_then_mark_interrupted(store, tiny):
    tiny["train"] = {"schedule": "fixed", "epochs": 200, "warmup_epochs": 0}
    run_id = store.create_run(tiny, "alice", "a")
    proc = start_worker(store, run_id, "slow")
    wait_for(lambda: (store.get_run(run_id)["epoch"] or 0) >= 2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=5)
    assert store.mark_interrupted(is_alive=pid_alive) == [run_id]
    run = store.get_run(run_id)
    assert run["status"] == "interrupted" and "stopped unexpectedly" in run["error"]
    # every epoch acknowledged in the runs row has all its metric rows (same transaction)
    assert len(store.read_metrics(run_id, kind="epoch")) == run["epoch"] * EPOCH_METRICS
    assert len(store.read_metrics(run_id, kind="step")) >= run["epoch"] * fakes.STEPS_PER_EPOCH * STEP_METRICS
    assert store.integrity_check()


def test_worker_exits_when_its_parent_dies(store, tiny):
    tiny["train"] = {"schedule": "fixed", "epochs": 200, "warmup_epochs": 0}
    run_id = store.create_run(tiny, "alice", "a")
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    proc = start_worker(store, run_id, "slow", parent_pid=parent.pid, heartbeat=0.3)
    try:
        wait_for(lambda: (store.get_run(run_id)["epoch"] or 0) >= 1)
        parent.kill()
        parent.wait()
        t0 = time.monotonic()
        assert proc.wait(timeout=5) == 3
        assert time.monotonic() - t0 < 3
    finally:
        parent.kill()
        proc.kill()
    run = store.get_run(run_id)
    assert run["status"] == "interrupted" and run["error"] == PARENT_GONE_MESSAGE
    assert store.integrity_check()
