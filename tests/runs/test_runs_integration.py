"""The worker with the real training loop: a tiny SIM-I run from queued to finished (in-process: a worker
process would add a cold torch import)."""

from __future__ import annotations

import json

import pytest

from omib_core.runs.jobs import JobManager
from omib_core.runs.worker import Worker

REQUIRED = {
    "dataset",
    "seed",
    "beta",
    "M_u",
    "beta_over_Mu",
    "estimator",
    "r_final",
    "test_metrics",
    "val_metrics",
    "reference",
    "wall_seconds",
    "samples_per_second",
    "status",
    "error",
    "config",
}


@pytest.mark.slow  # generating SIM-I and importing the training stack take seconds here, not the worker
def test_tiny_real_training_run(store):
    config = {
        "data": {"dataset": "sim-i", "params": {"n_samples": 400, "reference": False}},
        "model": {"hidden_dim": 32, "z_dim": 16, "latent_dim": 16, "xi_dim": 16},
        "train": {
            "schedule": "fixed",
            "epochs": 2,
            "warmup_epochs": 1,
            "batch_size": 64,
            "device": "cpu",
            "log_every": 2,
            "snapshot_every": 1,
            "snapshot_max_points": 50,
        },
    }
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
