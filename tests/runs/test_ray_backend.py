"""The Ray backend against a real Ray cluster started on loopback by the test: a head with 2 CPUs plus a second node
joined to it (the multi-node path on one machine). Few tests on purpose: Ray is heavy (issue 12, item 2)."""

from __future__ import annotations

import copy
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from omib_core.paths import REPO_ROOT
from omib_core.runs.jobs import JobManager
from omib_core.runs.ray_backend import ClusterUnreachable, RayBackend, RayRun
from omib_core.runs.store import RunStore
from tests.e2e.conftest import free_port
from tests.runs.conftest import TINY, TINY_REAL, wait_for

RAY = Path(sys.executable).with_name("ray")
NO_AUTH = {"RAY_AUTH_MODE": "disabled"}  # a private loopback cluster: no token (and none written to ~/.ray)

LONG = copy.deepcopy(TINY)
LONG["train"]["epochs"] = 150  # slow fake: 151 epochs x 4 steps x 30 ms, long enough to act on it mid-run


# the cluster


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout.split()
    children: dict[int, list[int]] = {}
    for child, parent in zip(out[::2], out[1::2], strict=True):
        children.setdefault(int(parent), []).append(int(child))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _stop_node(proc: subprocess.Popen) -> None:
    """Stop one ``ray start --block`` and every process it started (this cluster's only: no global ``ray stop``)."""
    family = [proc.pid, *_descendants(proc.pid)]
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    for pid in family:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _answers(address: str) -> bool:
    try:
        RayBackend(address).check()
    except ClusterUnreachable:
        return False
    return True


def _ray_start(args: list[str], log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "RAY_USAGE_STATS_ENABLED": "0",
        "OMP_NUM_THREADS": "1",
        **NO_AUTH,
    }
    cmd = [str(RAY), "start", "--block", "--node-ip-address=127.0.0.1", "--object-store-memory=80000000", *args]
    return subprocess.Popen(cmd, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)


@pytest.fixture(scope="module")
def ray_cluster():
    pytest.importorskip("ray")
    import ray

    saved = {k: os.environ.get(k) for k in NO_AUTH}
    os.environ.update(NO_AUTH)  # this process is the cluster's driver
    port = free_port()
    temp = Path(tempfile.mkdtemp(prefix="omibray-", dir="/tmp"))  # short: Ray's socket paths have a length limit
    head = _ray_start(
        [
            "--head",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            f"--temp-dir={temp}",
            "--disable-usage-stats",
        ],
        temp / "head.log",
    )
    nodes = [head]
    address = f"127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(address), timeout=120, interval=0.5)
        nodes.append(_ray_start([f"--address={address}", "--num-cpus=1"], temp / "node2.log"))
        ray.init(address=address, logging_level="WARNING", log_to_driver=False)
        wait_for(lambda: ray.cluster_resources().get("CPU", 0) >= 3, timeout=120, interval=0.5)
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2
        yield address
    finally:
        ray.shutdown()
        for proc in reversed(nodes):
            _stop_node(proc)
        shutil.rmtree(temp, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _manager(store: RunStore, address: str, source: str | None = "tests.runs.fakes:slow", **kw) -> JobManager:
    kw.setdefault("max_concurrent", 3)
    return JobManager(store, source=source, gpu_available=False, heartbeat_interval=0.3, ray=RayBackend(address), **kw)


# tests


def test_unreachable_cluster_is_refused_at_submit_with_the_address(store):
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    jobs = JobManager(store, gpu_available=False, ray=RayBackend(address))
    with pytest.raises(ClusterUnreachable, match=f"Ray cluster at {address} .*does not answer.*OMIB_RAY_ADDRESS"):
        jobs.submit(TINY, "alice")
    assert store.list_runs() == []


def test_queued_runs_wait_while_the_cluster_is_down(store, caplog):
    address = f"127.0.0.1:{free_port()}"
    run_id = store.create_run(TINY, "alice", "queued before the cluster went away")
    jobs = JobManager(store, gpu_available=False, ray=RayBackend(address))  # no max_concurrent: it asks the cluster
    assert jobs.tick() == [] and jobs.tick() == []
    assert store.get_run(run_id)["status"] == "queued"  # nothing lost, nothing claimed
    assert f"Queued runs wait: the Ray cluster at {address}" in caplog.text


def test_a_real_short_run_end_to_end_through_the_scheduler(ray_cluster, store):
    """The real train(config) on a Ray node: events come back, the scheduler writes them; the checkpoint and the
    snapshots arrive as local files; the device column says where it ran."""
    jobs = _manager(store, ray_cluster, source=None)
    run_id = jobs.submit(TINY_REAL, "alice", "real")
    jobs.start_background(interval=0.2)
    try:
        wait_for(lambda: store.get_run(run_id)["status"] not in ("queued", "running"), timeout=240, interval=0.5)
    finally:
        jobs.stop_background()
    run = store.get_run(run_id)
    assert run["status"] == "finished", (run["error"], (store.run_dir(run_id) / "worker.log").read_text()[-3000:])
    assert run["epoch"] == 3 and run["device"].startswith("cpu @ ") and run["result"]["test_metrics"]
    assert len(store.read_metrics(run_id, kind="epoch")) > 0
    checkpoint = store.list_artifacts(run_id, kind="checkpoint")
    assert checkpoint and Path(checkpoint[0]["path"]).is_file()
    assert Path(checkpoint[0]["path"]).is_relative_to(store.run_dir(run_id))
    snapshots = store.list_artifacts(run_id, kind="snapshot")
    assert snapshots and all(Path(s["path"]).is_file() for s in snapshots)


def test_a_grid_job_trains_on_one_actor_and_each_member_is_a_run(ray_cluster, store):
    """Issue 18: a sweep's grid runs as one Ray actor (one vectorised model); each member keeps its own rows,
    artifacts (written here from the bytes the actor sends back) and result; a stop ends one member only."""
    from omib_core.config import RunConfig
    from omib_core.runs.sweep_queue import submit_sweep
    from omib_core.sweeps import build_sweep

    d = copy.deepcopy(TINY_REAL)
    d["train"]["epochs"] = 40
    planned = build_sweep(RunConfig.from_dict(d), [0.5, 50.0], [0, 1])
    jobs = _manager(store, ray_cluster, source=None)
    _, ids = submit_sweep(jobs, planned, "alice")
    jobs.start_background(interval=0.2)
    try:
        wait_for(lambda: (store.get_run(ids[0]) or {}).get("epoch"), timeout=240, interval=0.2)
        jobs.control(ids[0], "stop", "alice")
        wait_for(lambda: all(store.get_run(i)["status"] not in ("queued", "running") for i in ids), timeout=300)
    finally:
        jobs.stop_background()
    runs = [store.get_run(i) for i in ids]
    assert [r["status"] for r in runs] == ["stopped", "finished", "finished", "finished"], [r["error"] for r in runs]
    assert len({r["device"] for r in runs[1:]}) == 1 and runs[1]["device"].startswith("cpu @ ")  # one actor
    for r in runs[1:]:
        ckpt = store.list_artifacts(r["id"], kind="checkpoint")
        assert ckpt and Path(ckpt[0]["path"]).is_file() and Path(ckpt[0]["path"]).is_relative_to(store.run_dir(r["id"]))
        assert r["result"]["selection"]["last"]["test"]["accuracy"] > 0


def test_a_four_run_sweep_on_the_two_node_cluster(ray_cluster, store):
    jobs = _manager(store, ray_cluster, source="tests.runs.fakes:fast")
    ids = [jobs.submit(TINY, "alice", f"sweep {i}", sweep_id="s1") for i in range(4)]
    jobs.start_background(interval=0.1)
    try:
        wait_for(lambda: all(store.get_run(i)["status"] == "finished" for i in ids), timeout=180, interval=0.3)
    finally:
        jobs.stop_background()
    for run_id in ids:
        run = store.get_run(run_id)
        assert run["epoch"] == 4 and run["result"]["epochs"] == 4 and " @ " in run["device"]
        assert len(store.read_metrics(run_id)) == 4 * (4 * 2 + 5)  # per epoch: 4 steps x 2 metrics, 5 epoch metrics
        assert (store.run_dir(run_id) / "snap_0.npz").read_bytes() == b"x"  # written by the node, shipped back
    assert jobs.ray.reused >= 1  # 4 runs on 3 slots: the 4th takes an actor that ended its run
    assert jobs.ray._idle == []  # the scheduler's stop gave the idle actors' CPUs back


def test_a_killed_ray_worker_interrupts_the_run_and_keeps_its_metrics(ray_cluster, store):
    jobs = _manager(store, ray_cluster)
    run_id = jobs.submit(LONG, "alice", "to kill")
    jobs.start_background(interval=0.1)
    try:
        wait_for(lambda: len(store.read_metrics(run_id)) >= 20, timeout=120, interval=0.2)
        handle = jobs._procs[run_id]
        assert isinstance(handle, RayRun) and handle.where["pid"] != os.getpid()
        acknowledged = len(store.read_metrics(run_id))
        os.kill(handle.where["pid"], signal.SIGKILL)  # the Ray worker process that runs the actor
        wait_for(lambda: store.get_run(run_id)["status"] == "interrupted", timeout=60, interval=0.2)
    finally:
        jobs.stop_background()
    run = store.get_run(run_id)
    assert "Ray worker running this run" in run["error"] and "metrics saved before that are kept" in run["error"]
    assert len(store.read_metrics(run_id)) >= acknowledged
    assert (store.run_dir(run_id) / "history.csv").is_file()


def test_pause_step_resume_and_stop_behave_as_locally(ray_cluster, store):
    jobs = _manager(store, ray_cluster)
    run_id = jobs.submit(LONG, "alice", "controlled")
    jobs.start_background(interval=0.1)
    try:
        wait_for(lambda: (store.get_run(run_id)["epoch"] or 0) >= 1, timeout=120, interval=0.2)
        jobs.control(run_id, "pause", "alice")
        wait_for(lambda: store.get_run(run_id)["status"] == "paused", timeout=30, interval=0.1)
        time.sleep(0.5)
        held = store.get_run(run_id)["epoch"]
        time.sleep(1.0)
        assert store.get_run(run_id)["epoch"] == held  # paused: no event is pulled
        jobs.control(run_id, "step", "alice")
        wait_for(lambda: store.get_run(run_id)["epoch"] == held + 1, timeout=30, interval=0.1)
        wait_for(lambda: store.get_run(run_id)["status"] == "paused", timeout=30, interval=0.1)
        jobs.control(run_id, "resume", "alice")
        wait_for(lambda: store.get_run(run_id)["epoch"] >= held + 3, timeout=30, interval=0.1)
        jobs.control(run_id, "stop", "alice")
        wait_for(lambda: store.get_run(run_id)["status"] == "stopped", timeout=30, interval=0.1)
        wait_for(lambda: run_id not in jobs.running_processes(), timeout=30, interval=0.1)
    finally:
        jobs.stop_background()
    assert store.get_run(run_id)["epoch"] < 151
    jobs.delete(run_id, "alice")
    assert store.get_run(run_id) is None and not store.run_dir(run_id).exists()


def test_a_gpu_run_on_a_cluster_without_gpus_fails_with_a_sentence(ray_cluster, store):
    config = copy.deepcopy(TINY)
    config["train"]["device"] = "cuda"
    jobs = _manager(store, ray_cluster, source="tests.runs.fakes:fast")
    run_id = jobs.submit(config, "alice", "gpu")
    queued = jobs.submit(TINY, "alice", "cpu")  # the other runs go on
    jobs.start_background(interval=0.1)
    try:
        wait_for(lambda: store.get_run(run_id)["status"] == "failed", timeout=60, interval=0.2)
        wait_for(lambda: store.get_run(queued)["status"] == "finished", timeout=60, interval=0.2)
    finally:
        jobs.stop_background()
    error = store.get_run(run_id)["error"]
    assert f"Ray cluster at {ray_cluster} has none" in error and "set device to auto or cpu" in error
