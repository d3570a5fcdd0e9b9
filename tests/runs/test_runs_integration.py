"""The worker with the real training loop: a tiny SIM-I run from queued to finished (in-process: a worker
process would add a cold torch import)."""

from __future__ import annotations

import copy
import json

import pytest

from omib_core.runs.jobs import JobManager
from omib_core.runs.worker import Worker
from tests.runs.conftest import TINY_REAL
from tests.runs.test_runs_recorder import REQUIRED  # the result keys every run reports


@pytest.mark.slow  # generating SIM-I and importing the training stack take seconds here, not the worker
def test_tiny_real_training_run(store):
    config = copy.deepcopy(TINY_REAL)
    run_id = JobManager(store, gpu_available=False).submit(config, "alice", "tiny")
    assert Worker(store, run_id, threads=1, heartbeat_interval=0.5).run() == 0
    run = store.get_run(run_id)
    assert run["status"] == "finished", run["error"]
    assert (run["epoch"], run["total_epochs"]) == (3, 3)
    assert run["summary"]["modalities"] and run["result"]["test_metrics"]
    sel = run["result"]["selection"]  # both selections reach the store, for the Train and Sweep pages
    assert (
        sel["last"]["epoch"] == 2 and sel["last"]["test"] and sel["best_val"]["test"] and sel["stopped_early"] is False
    )
    assert run["summary"]["schedule"]["batch_size"] == 64 and run["summary"]["schedule"]["mode"] == "fixed"
    names = set(store.metric_names(run_id))
    assert "loss" in names and any(n.startswith("val/") for n in names)
    epochs = store.read_metrics(run_id, kind="epoch")
    assert sorted(epochs["epoch"].unique().tolist()) == [0, 1, 2]
    kinds = {a["kind"] for a in store.list_artifacts(run_id)}
    assert {"history", "result"} <= kinds
    result = json.loads((store.run_dir(run_id) / "result.json").read_text())
    assert REQUIRED <= set(result) and result["status"] == "finished" and len(result["r_final"]) == 2
