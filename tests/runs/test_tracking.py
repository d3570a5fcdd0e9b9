"""Runs tracked in MLflow (issue 22): against a sqlite:/// store and a real `mlflow server` on loopback, read back
with MLflow's own client; an unreachable or malformed tracking URI never fails a run."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402

from omib_core.cli import main  # noqa: E402
from omib_core.runs.recorder import Recorder  # noqa: E402
from omib_core.runs.tracking import flatten  # noqa: E402


def train_args(out: Path, *extra: str) -> list[str]:
    return [
        "train", "--dataset", "sim-i", "--param", "n_samples=400", "--schedule", "fixed", "--epochs", "3",
        "--warmup-epochs", "1", "--batch-size", "64", "--device", "cpu", "--quiet", "--out", str(out), *extra,
    ]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_back(uri: str) -> tuple[MlflowClient, list]:
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("OMIB Studio")
    assert exp is not None
    return client, client.search_runs([exp.experiment_id], max_results=50)


def test_a_cli_run_is_logged_to_a_sqlite_store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert main(train_args(tmp_path / "run")) == 0
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["mlflow"]["error"] is None and result["mlflow"]["run_id"]
    client, runs = read_back(uri)
    (run,) = [r for r in runs if r.info.run_id == result["mlflow"]["run_id"]]
    assert run.info.status == "FINISHED"
    assert run.data.params["data.dataset"] == "sim-i" and run.data.params["train.epochs"] == "3"
    assert run.data.tags["omib.task"] == "classification" and run.data.tags["omib.version"]
    assert run.data.tags["omib.dataset"] == "sim-i" and run.data.tags["omib.device"] == "cpu"
    metrics = run.data.metrics
    assert {"best_val/test/accuracy", "last/test/accuracy", "val/accuracy", "kl/v2", "r/v2"} <= set(metrics)
    assert metrics["best_val/test/accuracy"] == pytest.approx(result["selection"]["best_val"]["test"]["accuracy"])
    loss = client.get_metric_history(run.info.run_id, "loss")
    assert len(loss) >= 4 and len({m.step for m in loss}) == len(loss)  # the series, with its steps
    val = client.get_metric_history(run.info.run_id, "val/accuracy")
    assert len(val) == 3  # one per main epoch
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"result.json", "history.csv", "checkpoint.pt"} <= names


def test_sweep_members_are_children_of_one_parent(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    ids = []
    for i in range(2):
        rec = Recorder(
            tmp_path / f"m{i}", {"train": {"seed": i}}, tracking_tags={"omib.sweep_id": "sw1", "omib.name": f"m{i}"}
        )
        ids.append(rec.finish("stopped")["mlflow"]["run_id"])
    client, runs = read_back(uri)
    parents = [r for r in runs if r.data.tags.get("omib.parent") == "true"]
    assert len(parents) == 1 and parents[0].data.tags["omib.sweep_id"] == "sw1"
    children = [r for r in runs if r.info.run_id in ids]
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    assert {r.info.status for r in children} == {"KILLED"}
    assert parents[0].info.status == "FINISHED"  # the sweep ends with its last member
    # a second process of the same sweep (a grid shard) joins the same parent and leaves no duplicate behind
    from omib_core.runs import tracking

    tracking._PARENTS.clear()
    rec = Recorder(tmp_path / "m9", {}, tracking_tags={"omib.sweep_id": "sw1", "omib.name": "m9"})
    child = rec.finish("stopped")["mlflow"]["run_id"]
    _, runs = read_back(uri)
    assert [r.info.run_id for r in runs if r.data.tags.get("omib.parent") == "true"] == [parents[0].info.run_id]
    assert next(r for r in runs if r.info.run_id == child).data.tags["mlflow.parentRunId"] == parents[0].info.run_id


@pytest.mark.parametrize("uri", ["http://127.0.0.1:{port}", "nonsense://x"])
def test_an_unreachable_or_malformed_server_never_fails_the_run(tmp_path, monkeypatch, uri):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri.format(port=free_port()))  # nothing listens there
    t0 = time.perf_counter()
    assert main(train_args(tmp_path / "run")) == 0
    seconds = time.perf_counter() - t0
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["status"] == "finished" and result["test_metrics"]["accuracy"] > 0
    assert "Training was not affected" in result["mlflow"]["error"], result["mlflow"]
    assert seconds < 40, seconds  # bounded by the sink's finish wait, never MLflow's default minutes of retries


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """`mlflow server` on a free loopback port over a sqlite store."""
    root = tmp_path_factory.mktemp("mlflow_server")
    port = free_port()
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{root / 'db.sqlite'}",
           "--default-artifact-root", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
           "--workers", "1"]  # fmt: skip
    log = open(root / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ})
    url = f"http://127.0.0.1:{port}"
    import requests

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail((root / "server.log").read_text()[-3000:])
    yield url
    os.killpg(proc.pid, 15)
    proc.wait(timeout=30)
    log.close()


def test_a_run_is_logged_to_a_real_tracking_server_with_a_link(tmp_path, monkeypatch, mlflow_server):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    assert main(train_args(tmp_path / "run")) == 0
    info = json.loads((tmp_path / "run" / "result.json").read_text())["mlflow"]
    assert info["error"] is None
    assert info["link"] == f"{mlflow_server}/#/experiments/{info['experiment_id']}/runs/{info['run_id']}"
    client, runs = read_back(mlflow_server)
    run = next(r for r in runs if r.info.run_id == info["run_id"])
    assert run.info.status == "FINISHED" and "last/test/accuracy" in run.data.metrics
    assert {"result.json", "history.csv"} <= {a.path for a in client.list_artifacts(run.info.run_id)}


def test_flatten_gives_dotted_params():
    assert flatten({"train": {"beta": None, "epochs": 3}, "data": {"params": {}}, "name": "x"}) == {
        "train.beta": "null", "train.epochs": "3", "data.params": "{}", "name": "x",
    }  # fmt: skip


def test_export_mlflow_logs_runs_of_the_store(tmp_path, monkeypatch):
    """`python -m omib_core export-mlflow RUN_ID` logs a run trained before MLflow was set up: every metric row."""
    from omib_core.config import RunConfig
    from omib_core.paths import db_path
    from omib_core.runs.store import RunStore

    monkeypatch.setenv("OMIB_DATA_DIR", str(tmp_path / "data"))
    store = RunStore(db_path())
    rid = store.create_run(RunConfig().to_dict(), "ana", "old run")
    rows = [
        {"kind": "step", "stage": "main", "step": s, "epoch": 0, "name": "loss", "value": 1.0 / (s + 1)}
        for s in range(5)
    ]
    rows += [{"kind": "epoch", "stage": "main", "step": 4, "epoch": 0, "name": "val/accuracy", "value": 0.7}]
    store.append_metrics(rid, rows)
    store.set_status(rid, "running", only_from=("queued",))
    store.set_status(rid, "finished", only_from=("running",), result={"test_metrics": {"accuracy": 0.69}})
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert main(["export-mlflow", rid]) == 0
    client, runs = read_back(uri)
    (run,) = [r for r in runs if r.data.tags.get("omib.run_id") == rid]
    assert run.data.tags["omib.exported"] == "true" and run.data.tags["omib.name"] == "old run"
    rows = RunStore(db_path()).read_metrics(rid)
    for name in set(rows["name"]):
        assert len(client.get_metric_history(run.info.run_id, name)) == int((rows["name"] == name).sum()), name
    assert main(["export-mlflow"]) == 2  # nothing named: a sentence


def test_a_worker_run_is_logged_with_its_owner_and_the_store_links_to_it(tmp_path, monkeypatch, store, tiny):
    """A run of the job system (the app's Start, a queued sweep, the Ray backend's worker) is tagged with its owner
    and store id, and its stored result carries the MLflow run (the Train and Runs pages link to it)."""
    from omib_core.runs.worker import Worker
    from tests.runs import fakes

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    run_id = store.create_run(tiny, "alice", "worker run")
    assert Worker(store, run_id, source=fakes.fast, heartbeat_interval=0.2).run() == 0
    info = store.get_run(run_id)["result"]["mlflow"]
    assert info["error"] is None and info["run_id"]
    _, runs = read_back(uri)
    run = next(r for r in runs if r.info.run_id == info["run_id"])
    assert run.data.tags["omib.owner"] == "alice" and run.data.tags["omib.run_id"] == run_id
    assert run.data.tags["omib.link"] == f"train?run={run_id}" and run.info.status == "FINISHED"
