"""The job launcher: validates submissions, queues them, and starts worker processes.

One ``JobManager`` per server process (the app holds it with ``st.cache_resource``). ``submit`` stores a
queued run; ``tick`` (called by a background thread every second) reaps finished workers, marks runs whose
worker is gone as interrupted, ends workers that ignored a stop request, and starts queued runs, oldest first
but fair across users, while fewer than ``max_concurrent`` run and at most one of them uses the GPU. Each
worker is a fresh interpreter (``subprocess.Popen``, never fork: CUDA) in its own session, so a click, a
closed tab or Ctrl+C in the server's terminal cannot kill it; it exits by itself when this process dies.

Limits come from the environment: ``OMIB_MAX_CONCURRENT``, ``OMIB_THREADS_PER_JOB``, ``OMIB_MAX_EPOCHS``,
``OMIB_MAX_SAMPLES``, ``OMIB_MAX_QUEUED_PER_USER`` (constructor arguments win).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from omib_core.config import RunConfig
from omib_core.errors import ConfigError, OmibError
from omib_core.runs.paths import REPO_ROOT
from omib_core.runs.store import ACTIVE, INTERRUPTED_MESSAGE, KINDS, RunStore

log = logging.getLogger(__name__)

DEFAULT_MAX_QUEUED_PER_USER = 20
STOP_GRACE = 10.0  # seconds a worker has to honour a stop request before it is terminated


class QueueFull(OmibError, ValueError):
    """A user already has as many queued runs as the server allows."""


# helpers


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` exists and is not a zombie (always True on Windows: heartbeats decide there)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return True  # no /proc (macOS): the kill probe said it exists


def env_int(name: str, default: int | None = None) -> int | None:
    """A positive int from the environment, ``default`` when unset; a sentence when it is not one."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"The environment variable {name} must be a positive int. Got {raw!r} instead.")
    return value


def fair_order(queued: Sequence[Mapping[str, Any]], active_per_owner: Mapping[str, int]) -> list[Mapping[str, Any]]:
    """The order queued runs would start in: each next run goes to the owner with the fewest runs going.

    Args:
        queued: queued runs, oldest first (dicts with ``owner``).
        active_per_owner: running/paused runs per owner.
    """
    lanes: dict[str, deque] = {}
    for i, run in enumerate(queued):
        lanes.setdefault(run["owner"], deque()).append((i, run))
    counts = {owner: active_per_owner.get(owner, 0) for owner in lanes}
    order = []
    while lanes:
        owner = min(lanes, key=lambda o: (counts[o], lanes[o][0][0]))
        order.append(lanes[owner].popleft()[1])
        counts[owner] += 1
        if not lanes[owner]:
            del lanes[owner]
    return order


def _count_owners(runs: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for run in runs:
        counts[run["owner"]] = counts.get(run["owner"], 0) + 1
    return counts


# main class


class JobManager:
    """Queue, start, watch and control worker processes for the runs of one run store.

    Args:
        store: the run store.
        max_concurrent: runs going (running or paused) at once; default ``$OMIB_MAX_CONCURRENT`` or half the CPUs.
        max_queued_per_user: queued runs one user may have; default ``$OMIB_MAX_QUEUED_PER_USER`` or 20.
        python: the interpreter that runs workers.
        source, bound_source: ``"module:callable"`` replacing the default train / bound source (tests).
        threads_per_job: torch thread cap per worker; default ``$OMIB_THREADS_PER_JOB`` (None = config decides).
        max_epochs, max_samples: submission limits; default ``$OMIB_MAX_EPOCHS`` / ``$OMIB_MAX_SAMPLES``.
        gpu_available: whether ``device="auto"`` means the GPU; None = ask torch when first needed.
        stop_grace: seconds a worker has to honour a stop before it is terminated.
        env: extra environment variables for workers.
        heartbeat_interval: passed to workers (seconds between heartbeats and parent checks).
    """

    def __init__(
        self,
        store: RunStore,
        max_concurrent: int | None = None,
        max_queued_per_user: int | None = None,
        python: str = sys.executable,
        *,
        source: str | None = None,
        bound_source: str | None = None,
        threads_per_job: int | None = None,
        max_epochs: int | None = None,
        max_samples: int | None = None,
        gpu_available: bool | None = None,
        stop_grace: float = STOP_GRACE,
        env: Mapping[str, str] | None = None,
        heartbeat_interval: float | None = None,
    ) -> None:
        self.store = store
        self.max_concurrent = max_concurrent or env_int("OMIB_MAX_CONCURRENT", max(1, (os.cpu_count() or 2) // 2))
        self.max_queued_per_user = max_queued_per_user or env_int(
            "OMIB_MAX_QUEUED_PER_USER", DEFAULT_MAX_QUEUED_PER_USER
        )
        self.python = python
        self.sources = {"train": source, "bound": bound_source}
        self.threads_per_job = threads_per_job or env_int("OMIB_THREADS_PER_JOB")
        self.max_epochs = max_epochs or env_int("OMIB_MAX_EPOCHS")
        self.max_samples = max_samples or env_int("OMIB_MAX_SAMPLES")
        self._gpu_available = gpu_available
        self.stop_grace = stop_grace
        self.env = dict(env or {})
        self.heartbeat_interval = heartbeat_interval
        self._procs: dict[str, subprocess.Popen] = {}
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()

    # submissions

    def validate(self, config: Mapping[str, Any], kind: str = "train") -> RunConfig:
        """The ``RunConfig`` of a submission, or a ``ConfigError`` sentence (config or server limits)."""
        if kind not in KINDS:
            raise ConfigError(f"The run kind must be one of {KINDS}. Got {kind!r} instead.")
        cfg = RunConfig.from_dict(dict(config))
        total = cfg.train.epochs + cfg.train.warmup_epochs
        if kind == "train" and self.max_epochs is not None and total > self.max_epochs:
            raise ConfigError(
                f"This server allows at most {self.max_epochs} epochs per run, warm-up included. Got "
                f"{cfg.train.epochs} + {cfg.train.warmup_epochs} = {total}; lower epochs or warmup_epochs."
            )
        n = cfg.data.params.get("n_samples")
        if self.max_samples is not None and isinstance(n, (int, float)) and n > self.max_samples:
            raise ConfigError(
                f"This server allows at most {self.max_samples} samples per run. Got n_samples = {n}; lower it."
            )
        return cfg

    def submit(
        self, config: Mapping[str, Any], owner: str, name: str = "", kind: str = "train", sweep_id: str | None = None
    ) -> str:
        """Validate a config and queue a run; returns its id. Nothing is stored when validation fails.

        Raises:
            ConfigError: invalid config, or over a server limit.
            QueueFull: the owner has too many queued runs.
        """
        cfg = self.validate(config, kind)
        if not isinstance(owner, str) or not owner.strip():
            raise ConfigError(f"A run needs an owner (a user name). Got {owner!r} instead; sign in first.")
        queued = self.store.list_runs(owner=owner, status="queued")
        if len(queued) >= self.max_queued_per_user:
            raise QueueFull(
                f"You already have {len(queued)} queued runs, the most this server allows; wait for some to start "
                "or stop a few."
            )
        name = str(name) if name else f"{kind} {cfg.data.dataset}"
        return self.store.create_run(cfg.to_dict(), owner, name, kind=kind, sweep_id=sweep_id)

    def control(self, run_id: str, action: str, user: str, is_admin: bool = False) -> str:
        """Pause, resume, step or stop a run (owner or admin); returns its status after the request."""
        return self.store.request_control(run_id, action, user, is_admin)

    def delete(self, run_id: str, user: str, is_admin: bool = False) -> None:
        """Delete a run that is not going (owner or admin)."""
        self.store.delete_run(run_id, user, is_admin)

    # queue

    def queue_order(self) -> list[str]:
        """Ids of the queued runs in the order they would start."""
        queued = self.store.list_runs(status="queued", oldest_first=True)
        active = self.store.list_runs(status=ACTIVE)
        return [r["id"] for r in fair_order(queued, _count_owners(active))]

    def queue_position(self, run_id: str) -> int | None:
        """1 for the next run to start, 2 for the one after, ...; None when the run is not queued."""
        order = self.queue_order()
        return order.index(run_id) + 1 if run_id in order else None

    # scheduler

    def tick(self) -> list[str]:
        """One scheduler pass: reap, mark the dead, enforce stops, start queued runs. Returns the ids started."""
        with self._lock:
            self._reap()
            self.store.mark_interrupted(is_alive=self._is_alive)
            active = self.store.list_runs(status=ACTIVE)
            self._enforce_stops(active)
            return self._start_queued(active)

    def recover(self) -> list[str]:
        """At start-up: mark runs whose worker is gone as interrupted; returns their ids."""
        with self._lock:
            return self.store.mark_interrupted(is_alive=self._is_alive)

    def start_background(self, interval: float = 1.0) -> threading.Thread:
        """Run ``recover()`` then ``tick()`` every ``interval`` seconds in a daemon thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return self._thread
        self._halt.clear()
        self._thread = threading.Thread(target=self._loop, args=(interval,), name="omib-jobs", daemon=True)
        self._thread.start()
        return self._thread

    def stop_background(self, timeout: float = 5.0) -> None:
        """Stop the background thread (workers keep running)."""
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def running_processes(self) -> dict[str, int]:
        """Run id -> pid of the workers this manager started and that have not been reaped."""
        with self._lock:
            return {run_id: p.pid for run_id, p in self._procs.items()}

    def _loop(self, interval: float) -> None:
        try:
            self.recover()
        except Exception:
            log.exception("job recovery failed")
        while True:
            try:
                self.tick()
            except Exception:
                log.exception("job scheduler tick failed (retrying)")
            if self._halt.wait(interval):
                return

    def _is_alive(self, pid: int) -> bool:
        for proc in self._procs.values():
            if proc.pid == pid:
                return proc.poll() is None
        return pid_alive(pid)

    def _reap(self) -> None:
        for run_id, proc in list(self._procs.items()):
            code = proc.poll()
            if code is None:
                continue
            del self._procs[run_id]
            run = self.store.get_run(run_id)
            if run is None or run["status"] not in ACTIVE:
                continue
            if run["control"] == "stop":
                self.store.set_status(run_id, "stopped", only_from=ACTIVE)
            else:
                self.store.set_status(run_id, "interrupted", only_from=ACTIVE, error=INTERRUPTED_MESSAGE)
            log.warning("worker of run %s exited with code %s before the run ended", run_id, code)

    def _enforce_stops(self, active: Sequence[Mapping[str, Any]]) -> None:
        now = time.time()
        for run in active:
            proc = self._procs.get(run["id"])
            if proc is None or run["control"] != "stop" or run["control_at"] is None:
                continue
            waited = now - float(run["control_at"])
            if waited > 2 * self.stop_grace:
                proc.kill()
            elif waited > self.stop_grace:
                proc.terminate()

    def _start_queued(self, active: Sequence[Mapping[str, Any]]) -> list[str]:
        slots = self.max_concurrent - len(active)
        if slots <= 0:
            return []
        gpu_busy = any(self._needs_gpu(r["config"]) for r in active)
        queued = self.store.list_runs(status="queued", oldest_first=True)
        started = []
        for run in fair_order(queued, _count_owners(active)):
            if slots <= 0:
                break
            gpu = self._needs_gpu(run["config"])
            if (gpu and gpu_busy) or not self.store.claim(run["id"]):
                continue
            if self._launch(run):
                started.append(run["id"])
                slots -= 1
                gpu_busy = gpu_busy or gpu
        return started

    def _needs_gpu(self, config: Mapping[str, Any] | None) -> bool:
        device = str(((config or {}).get("train") or {}).get("device", "auto"))
        if device.startswith("cuda"):
            return True
        if device != "auto":
            return False
        if self._gpu_available is None:
            import torch

            self._gpu_available = bool(torch.cuda.is_available())
        return self._gpu_available

    def _worker_command(self, run: Mapping[str, Any]) -> list[str]:
        cmd = [
            self.python,
            "-m",
            "omib_core.runs.worker",
            "--db",
            str(self.store.path),
            "--data-dir",
            str(self.store.data_dir),
            "--run",
            run["id"],
            "--parent-pid",
            str(os.getpid()),
        ]
        source = self.sources.get(run["kind"])
        if source:
            cmd += ["--source", source]
        if self.threads_per_job:
            cmd += ["--threads", str(self.threads_per_job)]
        if self.heartbeat_interval:
            cmd += ["--heartbeat", str(self.heartbeat_interval)]
        return cmd

    def _worker_env(self) -> dict[str, str]:
        env = {**os.environ, **self.env}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        if self.threads_per_job:
            for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                env[var] = str(self.threads_per_job)
        return env

    def _launch(self, run: Mapping[str, Any]) -> bool:
        folder = self.store.run_dir(run["id"])
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / "worker.out", "ab") as out:
                proc = subprocess.Popen(
                    self._worker_command(run),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=self._worker_env(),
                    start_new_session=True,
                )
        except OSError as exc:
            self.store.set_status(
                run["id"],
                "failed",
                only_from=ACTIVE,
                error=f"The worker process could not be started ({exc.strerror or exc}); check that {self.python} "
                "exists and the disk is not full, then submit the run again.",
            )
            return False
        self._procs[run["id"]] = proc
        self.store.update_run(run["id"], pid=proc.pid)
        return True
