"""Background projections (omib_core.analysis.projection_jobs): keyed futures, one worker process, its failures.

The process tests run instant stand-ins in the worker (PCA through ``project_snapshot``, ``os.getpid``,
``time.sleep``): the real UMAP would compile numba for a minute on a cold machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from omib_core.analysis.embedding import pca_2d, project_snapshot
from omib_core.analysis.projection_jobs import WORKER_DIED, WORKER_NICE, ProjectionError, ProjectionJobs
from omib_core.errors import ConfigError, DataError

ROOT = Path(__file__).resolve().parents[2]


def _snapshot(path, n=60, d=6, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, d))
    np.savez(path, xi=x, target=np.arange(n) % 3)
    return x


def flag_then_sleep(path: str, seconds: float) -> None:
    """A job for the worker process: create ``path`` (the test sees the job has started there), then sleep."""
    Path(path).touch()
    time.sleep(seconds)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # the process may be reaped between the two reads: /proc then answers ENOENT or ESRCH
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (ProcessLookupError, FileNotFoundError):
        return False


def _wait_until_running(fut, timeout=30.0):
    deadline = time.time() + timeout
    while not (fut.running() or fut.done()):
        assert time.time() < deadline, "the job never started"
        time.sleep(0.01)


@pytest.fixture
def process_jobs():
    jobs = ProjectionJobs()
    yield jobs
    jobs.shutdown()


# keyed futures (a thread executor: the jobs are closures of this process)


def test_projection_jobs_reuse_futures_and_retry_failures():
    jobs = ProjectionJobs(executor="thread")
    gate = threading.Event()
    calls = []

    def slow():
        calls.append(1)
        gate.wait(5)
        return np.zeros((3, 2))

    f1 = jobs.submit(("p", "xi"), slow)
    f2 = jobs.submit(("p", "xi"), slow)
    assert f1 is f2 and not f1.done()
    gate.set()
    assert f1.result(5).shape == (3, 2) and len(calls) == 1

    def boom():
        raise RuntimeError("no")

    bad = jobs.submit("k", boom)
    with pytest.raises(RuntimeError):
        bad.result(5)
    assert jobs.get("k") is bad  # kept, so a page can show why, until someone submits again
    again = jobs.submit("k", lambda: np.ones((1, 2)))
    assert again is not bad and again.result(5).shape == (1, 2)
    jobs.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        jobs.submit("later", slow)


def test_projection_jobs_evict_oldest_finished():
    jobs = ProjectionJobs(executor="thread", max_entries=2)
    for k in range(4):
        jobs.submit(k, lambda: np.zeros((1, 2))).result(5)
    assert jobs.get(0) is None and jobs.get(3) is not None
    jobs.shutdown()


def test_projection_jobs_cancel_waiting_jobs_of_the_same_group():
    jobs = ProjectionJobs(executor="thread")
    gate = threading.Event()
    running = jobs.submit("frame1", lambda: (gate.wait(5), np.zeros((1, 2)))[1], group="viewer")
    _wait_until_running(running)
    waiting = jobs.submit("frame2", lambda: np.zeros((1, 2)), group="viewer")
    other = jobs.submit("frame9", lambda: np.zeros((1, 2)), group="someone else")
    last = jobs.submit("frame3", lambda: np.ones((1, 2)), group="viewer")
    assert waiting.cancelled() and jobs.get("frame2") is None
    assert not other.cancelled()  # another viewer's job is left alone
    gate.set()
    assert running.result(5).shape == (1, 2) and last.result(5)[0, 0] == 1.0
    jobs.shutdown()


def test_projection_jobs_refuse_an_unknown_executor():
    with pytest.raises(ValueError, match="'executor' parameter"):
        ProjectionJobs(executor="fork")


# one spawned worker process


def test_a_worker_process_projects_a_tiny_snapshot(process_jobs, tmp_path):
    before = {m for m in ("umap", "numba") if m in sys.modules}  # other tests in this process may have imported them
    x = _snapshot(tmp_path / "epoch_0001.npz")
    fut = process_jobs.submit(("snap", "xi"), project_snapshot, (str(tmp_path / "epoch_0001.npz"), "xi", 0, "pca"))
    coords = fut.result(60)
    assert coords.dtype == np.float32 and coords.shape == (60, 2)
    np.testing.assert_allclose(coords, pca_2d(x), rtol=1e-5, atol=1e-5)
    worker = process_jobs.submit("pid", os.getpid).result(30)
    assert worker != os.getpid()
    assert process_jobs.submit("pid again", os.getpid).result(30) == worker  # one long-lived worker
    env = {v: process_jobs.submit(v, os.getenv, (v,)).result(30) for v in ("NUMBA_NUM_THREADS", "NUMBA_CACHE_DIR")}
    assert env["NUMBA_NUM_THREADS"] == "1" and env["NUMBA_CACHE_DIR"].endswith("numba_cache")
    assert "NUMBA_NUM_THREADS" not in os.environ or os.environ["NUMBA_NUM_THREADS"] != "1"  # only the worker's
    assert process_jobs.submit("nice", os.nice, (0,)).result(30) == min(19, os.nice(0) + WORKER_NICE)
    assert {m for m in ("umap", "numba") if m in sys.modules} == before, "a job imported umap/numba here"


def test_the_worker_does_not_run_the_servers_main_script(process_jobs, tmp_path, monkeypatch):
    """Under Streamlit ``__main__`` is the app script; spawn would run it again in the worker (booting the app)."""
    import types

    marker = tmp_path / "ran"
    script = tmp_path / "app.py"
    script.write_text(f"open({str(marker)!r}, 'a').write('ran in a spawned process')\n")
    app_main = types.ModuleType("__main__")
    app_main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", app_main)
    assert process_jobs.submit("pid", os.getpid).result(60) != os.getpid()
    assert not marker.exists()
    assert sys.modules["__main__"] is app_main  # put back


def test_a_job_error_comes_back_as_its_sentence(process_jobs, tmp_path):
    np.savez(tmp_path / "evil.npz", xi=np.array([{"a": 1}, None], dtype=object))
    fut = process_jobs.submit("evil", project_snapshot, (str(tmp_path / "evil.npz"), "xi"))
    with pytest.raises(DataError, match="pickled"):
        fut.result(60)


def test_umap_threads_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("OMIB_UMAP_THREADS", "2")
    jobs = ProjectionJobs()
    try:
        assert jobs.submit("omp", os.getenv, ("OMP_NUM_THREADS",)).result(60) == "2"
    finally:
        jobs.shutdown()


def test_a_bad_thread_count_fails_the_job_with_a_sentence(monkeypatch):
    monkeypatch.setenv("OMIB_UMAP_THREADS", "many")
    jobs = ProjectionJobs()
    try:
        with pytest.raises(ConfigError, match="OMIB_UMAP_THREADS must be a positive whole number"):
            jobs.submit("pid", os.getpid).result(30)
        monkeypatch.setenv("OMIB_UMAP_THREADS", "1")
        assert jobs.submit("pid", os.getpid).result(60) != os.getpid()  # fixed: the retry starts a worker
    finally:
        jobs.shutdown()


def test_a_killed_worker_fails_its_job_with_a_sentence_then_a_fresh_worker_retries(process_jobs, tmp_path):
    _snapshot(tmp_path / "s.npz")
    first = process_jobs.submit("pid", os.getpid).result(60)
    stuck = process_jobs.submit("stuck", time.sleep, (60,))
    queued = process_jobs.submit(("s", "xi"), project_snapshot, (str(tmp_path / "s.npz"), "xi", 0, "pca"))
    time.sleep(0.5)  # let the worker start the sleep
    os.kill(first, signal.SIGKILL)  # as the kernel's OOM killer would
    with pytest.raises(ProjectionError) as e:
        stuck.result(30)
    assert str(e.value) == WORKER_DIED and WORKER_DIED.endswith(".")
    assert queued.result(60).shape == (60, 2)  # the job waiting behind it runs on a fresh worker
    retried = process_jobs.submit("stuck", os.getpid)  # the failed key is retried on the next submit
    second = retried.result(60)
    assert second != first and _alive(second) and not _alive(first)


def test_a_waiting_job_can_be_cancelled_while_the_worker_is_busy(process_jobs):
    running = process_jobs.submit("frame1", time.sleep, (1.0,), group="viewer")
    _wait_until_running(running)
    waiting = process_jobs.submit("frame2", os.getpid, group="viewer")
    last = process_jobs.submit("frame3", os.getpid, group="viewer")
    assert waiting.cancelled() and not running.cancelled()
    assert last.result(60) != os.getpid() and running.result(60) is None


def test_shutdown_ends_a_running_job_at_once(tmp_path):
    jobs = ProjectionJobs()
    worker = jobs.submit("pid", os.getpid).result(60)
    started = tmp_path / "started"
    running = jobs.submit("long", flag_then_sleep, (str(started), 60))
    waiting = jobs.submit("next", os.getpid)
    deadline = time.time() + 30
    while not started.exists():  # the long job is inside the worker process now (not merely handed over)
        assert time.time() < deadline, "the long job never started in the worker"
        time.sleep(0.01)
    assert not running.done() and not waiting.running()
    t = time.perf_counter()
    jobs.shutdown()
    with pytest.raises(ProjectionError):
        running.result(10)
    assert waiting.cancelled() and time.perf_counter() - t < 10
    deadline = time.time() + 10
    while _alive(worker) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(worker)


def test_the_worker_exits_when_its_parent_dies(tmp_path):
    code = (
        "import os, time\n"
        "from omib_core.analysis.projection_jobs import ProjectionJobs\n"
        "jobs = ProjectionJobs()\n"
        "print(jobs.submit('pid', os.getpid).result(60), flush=True)\n"
        "jobs.submit('busy', time.sleep, (120,))\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen(  # its stderr: its resource tracker reports the semaphores the kill leaked
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT
    )
    try:
        worker = int(parent.stdout.readline())
        assert _alive(worker)
    finally:
        parent.kill()  # SIGKILL: no clean-up code runs in the parent
        parent.wait(10)
    deadline = time.time() + 15
    while _alive(worker) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(worker), "the UMAP worker outlived the server process"


@pytest.mark.slow
def test_the_real_umap_runs_in_the_worker(process_jobs, tmp_path):
    """The page's own job, real UMAP on 60 points, in the worker (a cold numba cache compiles there for ~1 min)."""
    before = {m for m in ("umap", "numba") if m in sys.modules}
    _snapshot(tmp_path / "s.npz")
    coords = process_jobs.submit("umap", project_snapshot, (str(tmp_path / "s.npz"), "xi")).result(600)
    assert coords.shape == (60, 2) and np.isfinite(coords).all()
    assert {m for m in ("umap", "numba") if m in sys.modules} == before, "the fit imported umap/numba here"
