"""The job launcher: validates submissions, queues them, and starts worker processes.

One ``JobManager`` per process: ``omib_core.runs.scheduler.shared_manager()`` creates the web server's (with an
embedded scheduler when no other process holds the store's lease) and ``python -m omib_core scheduler`` runs one as
its own process; with ``ray`` (``OMIB_RAY_ADDRESS``) train runs execute on a Ray cluster (``ray_backend``).
``submit`` stores a queued run; ``tick`` (called by a background thread every second) reaps finished workers, marks
runs whose worker is gone as interrupted, ends workers that ignored a stop request or outlived the time limit,
and starts queued runs, oldest first but fair across users, while fewer than ``max_concurrent`` run. At most one of them
uses the GPU: a run on ``device="auto"`` that finds the GPU busy starts on the CPU instead (an explicit
``cuda`` run waits). Each worker is a fresh interpreter (``subprocess.Popen``, never fork: CUDA) in its own
session, so a click, a closed tab or Ctrl+C in the server's terminal cannot kill it; it exits by itself when
this process dies.

Limits come from the environment (constructor arguments win), with these defaults:

    OMIB_MAX_CONCURRENT       half the CPU cores (at least 1), plus 1 for the GPU job when there is a GPU
    OMIB_MAX_QUEUED_PER_USER  40
    OMIB_THREADS_PER_JOB      1 (torch threads per worker)
    OMIB_MAX_EPOCHS           500 (per run, warm-up included)
    OMIB_MAX_SAMPLES          1,000,000 (``n_samples`` of a generated dataset)
    OMIB_MAX_RUN_SECONDS      21,600 (6 h of wall time per run; then it fails with a sentence, metrics kept)
    OMIB_MAX_RUN_MEMORY_MB    80 % of the machine's memory / max concurrent runs (estimated peak per run, at submit)
    OMIB_MAX_RUN_WORK         1e15 floating-point operations per run (estimated at submit)
    OMIB_GRID_SHARDS          worker processes one grid job may use (default: one per free core, >= 6 members each)
    OMIB_WARM_WORKERS         1 (the app's and the scheduler's managers keep a warm spare worker; 0 turns it off)

At submit the run's peak memory and work are estimated from its config (``omib_core.runs.budget``) and a run over
either limit is refused with a sentence naming the parameter that dominates and a value that fits.
"""

from __future__ import annotations

import json
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
from omib_core.env import env_int
from omib_core.errors import ConfigError, OmibError
from omib_core.paths import REPO_ROOT, WORKER_OUT
from omib_core.run_states import ACTIVE, QUEUED
from omib_core.runs import budget as run_budget
from omib_core.runs.store import INTERRUPTED_MESSAGE, KINDS, RunStore
from omib_core.runs.store import QueueFull as QueueFull  # re-exported: callers catch jobs.QueueFull

log = logging.getLogger(__name__)

DEFAULT_MAX_QUEUED_PER_USER = 40  # the default teaching sweep (6 betas x 5 seeds = 30 runs) must fit
DEFAULT_THREADS_PER_JOB = 1
DEFAULT_MAX_EPOCHS = 500
DEFAULT_MAX_STEPS = (
    100_000  # main-stage optimizer steps per run (TrainConfig.max_steps); the auto schedule stays under it
)
DEFAULT_MAX_SAMPLES = 1_000_000
DEFAULT_MAX_RUN_SECONDS = 6 * 3600
STOP_GRACE = 10.0  # seconds a worker has to honour a stop request before it is terminated


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


def check_dataset(cfg: RunConfig) -> None:
    """Refuse, before anything is queued, a dataset id this server does not know or will not read (a folder path
    when folders are off, a deleted upload) and loader parameters it does not take or values they refuse. Nothing is loaded here."""
    from omib_core.data import get_info  # the data package is numpy/pandas only: cheap to import

    try:
        info = get_info(cfg.data.dataset)
    except OmibError as e:
        raise ConfigError(f"The run was not queued: {e}") from None
    info.validate(cfg.data.params)  # names and values, each by its declaration


def cpu_count() -> int:
    """CPU cores this process may use (its affinity mask, e.g. a container's cpuset), else ``os.cpu_count()``."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_max_concurrent(cpus: int, gpu: bool) -> int:
    """Runs at once by default: half the CPU cores (at least 1), plus one for the GPU job when there is a GPU.

    A CPU job keeps about one core busy (one torch thread, plus the data pipeline); the GPU job mostly waits on
    the device, so it gets a slot of its own rather than one taken from the CPU jobs.
    """
    return max(1, int(cpus) // 2) + (1 if gpu else 0)


def duration_text(seconds: float) -> str:
    """``21600`` -> ``'6 h'``, ``5400`` -> ``'90 min'``, ``45`` -> ``'45 s'`` (for limit sentences)."""
    seconds = float(seconds)
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def time_limit_message(seconds: float) -> str:
    """The sentence of a run ended by the wall-time limit (the worker and the launcher both use it)."""
    return (
        f"This run reached the server's limit of {duration_text(seconds)} of wall time per run "
        "(OMIB_MAX_RUN_SECONDS) and was stopped; the metrics saved so far are kept. Train fewer epochs or samples, "
        "or ask the admin to raise the limit."
    )


def fair_order(
    queued: Sequence[Mapping[str, Any]],
    active_per_owner: Mapping[str, int],
    last_started: Mapping[str, float] | None = None,
) -> list[Mapping[str, Any]]:
    """The order queued runs will start in: round-robin by owner.

    Each next run goes to the owner with the fewest runs going or already placed ahead in this order (their
    running/paused runs plus their queued runs placed so far); among those, to the owner who started a run least
    recently (never first), then to the oldest queued run. A placed run counts as started "now", so one owner's
    3 queued runs alternate with another owner's 1 instead of all going first. The scheduler and
    ``queue_position`` both use this order, so the position a user is shown is the one the run starts at (with
    one slot; with more, runs may finish in another order).

    Args:
        queued: queued runs, oldest first (dicts with ``owner``).
        active_per_owner: running/paused runs per owner.
        last_started: owner -> unix time their most recent run started (``RunStore.last_started``).
    """
    lanes: dict[str, deque] = {}
    for i, run in enumerate(queued):
        lanes.setdefault(run["owner"], deque()).append((i, run))
    counts = {owner: active_per_owner.get(owner, 0) for owner in lanes}
    started = {owner: float((last_started or {}).get(owner, float("-inf"))) for owner in lanes}
    clock = max([0.0, *(t for t in started.values() if t != float("-inf"))])
    order = []
    while lanes:
        owner = min(lanes, key=lambda o: (counts[o], started[o], lanes[o][0][0]))
        order.append(lanes[owner].popleft()[1])
        counts[owner] += 1
        clock += 1.0
        started[owner] = clock  # placed: it starts after every start so far
        if not lanes[owner]:
            del lanes[owner]
    return order


def job_keys(runs: Sequence[Mapping[str, Any]]) -> set[str]:
    """The jobs behind these runs: a grid job's members (one worker, one slot) count once."""
    return {r.get("grid_id") or r["id"] for r in runs}


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
        max_concurrent: runs going (running or paused) at once; default ``$OMIB_MAX_CONCURRENT``, else
            ``default_max_concurrent`` of the cores and GPU present (decided when first needed).
        max_queued_per_user: queued runs one user may have; default ``$OMIB_MAX_QUEUED_PER_USER`` or 40.
        python: the interpreter that runs workers.
        source, bound_source: ``"module:callable"`` replacing the default train / bound source (tests).
        threads_per_job: torch thread cap per worker; default ``$OMIB_THREADS_PER_JOB`` or 1.
        max_epochs, max_samples: submission limits; default ``$OMIB_MAX_EPOCHS`` or 500 /
            ``$OMIB_MAX_SAMPLES`` or 1,000,000. ``max_epochs`` bounds the epochs asked for; the auto schedule may
            raise them on a small table, but never past ``TrainConfig.max_steps``, which is itself bounded by
            ``$OMIB_MAX_STEPS`` (default 100,000).
        max_run_seconds: wall time a run may take from its start; default ``$OMIB_MAX_RUN_SECONDS`` or 6 h.
        max_run_memory_mb: estimated peak memory a run may need; default ``$OMIB_MAX_RUN_MEMORY_MB``, else 80 % of
            the machine's memory divided by ``max_concurrent`` (``omib_core.runs.budget.memory_limit``).
        max_run_work: estimated floating-point operations a run may need; default ``$OMIB_MAX_RUN_WORK`` or 1e15.
        gpu_available: whether ``device="auto"`` means the GPU; None = ask torch when first needed.
        stop_grace: seconds a worker has to honour a stop before it is terminated.
        env: extra environment variables for workers.
        heartbeat_interval: passed to workers (seconds between heartbeats and parent checks).
        ray: a ``ray_backend.RayBackend``: train runs execute on its cluster (``OMIB_RAY_ADDRESS``; the scheduler
            module builds it); None = local worker processes. Bound runs stay local.
        warm: keep a warm spare worker (``omib_core.runs.warm``: torch and the engine already imported) while the
            background scheduler runs, so that a run's first step does not wait for an interpreter to start. The
            app's and the scheduler's managers turn it on (``OMIB_WARM_WORKERS=0`` turns it off).
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
        max_run_seconds: float | None = None,
        max_run_memory_mb: float | None = None,
        max_run_work: float | None = None,
        gpu_available: bool | None = None,
        stop_grace: float = STOP_GRACE,
        env: Mapping[str, str] | None = None,
        heartbeat_interval: float | None = None,
        ray: Any = None,
        warm: bool = False,
    ) -> None:
        self.store = store
        self._max_concurrent = max_concurrent or env_int("OMIB_MAX_CONCURRENT")  # None: decided when first needed
        self.max_queued_per_user = max_queued_per_user or env_int(
            "OMIB_MAX_QUEUED_PER_USER", DEFAULT_MAX_QUEUED_PER_USER
        )
        self.python = python
        self.sources = {"train": source, "bound": bound_source}
        self.threads_per_job = threads_per_job or env_int("OMIB_THREADS_PER_JOB", DEFAULT_THREADS_PER_JOB)
        self.max_epochs = max_epochs or env_int("OMIB_MAX_EPOCHS", DEFAULT_MAX_EPOCHS)
        self.max_samples = max_samples or env_int("OMIB_MAX_SAMPLES", DEFAULT_MAX_SAMPLES)
        self.max_steps = env_int("OMIB_MAX_STEPS", DEFAULT_MAX_STEPS)
        self.max_run_seconds = max_run_seconds or env_int("OMIB_MAX_RUN_SECONDS", DEFAULT_MAX_RUN_SECONDS)
        self._max_run_memory = int(max_run_memory_mb * run_budget.MB) if max_run_memory_mb else None
        self.max_run_work = max_run_work or run_budget.work_limit()
        if max_run_memory_mb is None:
            run_budget.memory_limit()  # a malformed OMIB_MAX_RUN_MEMORY_MB is refused now, not at the first submit
        self._gpu_available = gpu_available
        self.stop_grace = stop_grace
        self.env = dict(env or {})
        self.heartbeat_interval = heartbeat_interval
        self.ray = ray
        self._procs: dict[str, Any] = {}  # run id -> subprocess.Popen, or ray_backend.RayRun (same poll/kill)
        self._on_gpu: dict[str, bool] = {}  # run id -> launched on the GPU (False: CPU, or CPU fallback)
        self._timed_out: set[str] = set()  # runs terminated by the launcher for outliving max_run_seconds
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()
        self.lease: Any = None  # the store's scheduler lease (``scheduler.SchedulerLease``) while this one schedules
        self._ray_warned = float("-inf")  # when a cluster that does not answer was last logged
        self.warm = warm
        self._spare: Any = None  # the warm spare worker (subprocess.Popen) waiting for its run
        self._wake = threading.Event()  # a submission asks the background loop for a pass now

    @property
    def max_concurrent(self) -> int:
        """Runs going at once (``$OMIB_MAX_CONCURRENT``, else from the cores and the GPU; settable)."""
        if self._max_concurrent is None:
            if self.ray is not None:  # one run per cluster CPU it asks for
                self._max_concurrent = max(1, self.ray.cpus() // (self.threads_per_job or 1))
            else:
                self._max_concurrent = default_max_concurrent(cpu_count(), self._gpu())
        return self._max_concurrent

    @max_concurrent.setter
    def max_concurrent(self, value: int) -> None:
        self._max_concurrent = value

    @property
    def backend_name(self) -> str:
        """Where workers run: ``"local"`` (subprocesses on this host) or ``"ray at ADDRESS"``."""
        return "local" if self.ray is None else f"ray at {self.ray.address}"

    @property
    def max_run_memory(self) -> int:
        """Bytes a run's estimated peak may reach (``$OMIB_MAX_RUN_MEMORY_MB``, else from the memory and slots)."""
        if self._max_run_memory is None:  # on Ray, runs share other machines: one slot's worth of this one
            self._max_run_memory = run_budget.memory_limit(1 if self.ray is not None else self.max_concurrent)
        return self._max_run_memory

    # submissions

    def validate(self, config: Mapping[str, Any], kind: str = "train") -> RunConfig:
        """The ``RunConfig`` of a submission, or a ``ConfigError`` sentence (config or server limits)."""
        if kind not in KINDS:
            raise ConfigError(f"The run kind must be one of {KINDS}. Got {kind!r} instead.")
        cfg = RunConfig.from_dict(dict(config))
        check_dataset(cfg)
        total = cfg.train.epochs + cfg.train.warmup_epochs
        if kind == "train" and self.max_epochs is not None and total > self.max_epochs:
            raise ConfigError(
                f"This server allows at most {self.max_epochs} epochs per run, warm-up included (OMIB_MAX_EPOCHS). "
                f"Got {cfg.train.epochs} + {cfg.train.warmup_epochs} = {total}; lower epochs or warmup_epochs, or "
                "ask the admin to raise the limit."
            )
        if kind == "train" and cfg.train.max_steps > self.max_steps:
            raise ConfigError(
                f"This server allows at most {self.max_steps:,} optimizer steps per run (OMIB_MAX_STEPS). Got "
                f"max_steps = {cfg.train.max_steps:,}; use max_steps <= {self.max_steps:,}, or ask the admin to raise "
                "the limit."
            )
        check_dataset(cfg)
        n = cfg.data.params.get("n_samples")
        if self.max_samples is not None and isinstance(n, (int, float)) and n > self.max_samples:
            raise ConfigError(
                f"This server allows at most {self.max_samples:,} samples per run (OMIB_MAX_SAMPLES). Got "
                f"n_samples = {n:,}; lower it, or ask the admin to raise the limit."
            )
        try:
            run_budget.check_budget(cfg, kind, self.max_run_memory, self.max_run_work)
        except ConfigError:
            raise
        except OmibError as e:  # the dataset's files could not be sized
            raise ConfigError(f"The run was not queued: {e}") from None
        return cfg

    def submit(
        self,
        config: Mapping[str, Any],
        owner: str,
        name: str = "",
        kind: str = "train",
        sweep_id: str | None = None,
        is_admin: bool = False,
        grid_id: str | None = None,
    ) -> str:
        """Validate a config and queue a run; returns its id. Nothing is stored when validation fails.

        ``grid_id``: the run is a member of that grid job (``submit_many`` queues a grid's members together).

        Raises:
            ConfigError: invalid config, or over a server limit.
            UploadAccessError: the config trains on another user's upload that is not shared (a DataError).
            QueueFull: the owner has too many queued runs.
            StoreFull: the run store's disk is full.
        """
        return self.submit_many([(config, name)], owner, kind, sweep_id, is_admin, grid_id)[0]

    def submit_many(
        self,
        items: Sequence[tuple[Mapping[str, Any], str]],
        owner: str,
        kind: str = "train",
        sweep_id: str | None = None,
        is_admin: bool = False,
        grid_id: str | None = None,
    ) -> list[str]:
        """Validate ``(config, name)`` pairs and queue them in one transaction (all or none): the members of a grid
        job are never seen half queued by a scheduler. Raises as ``submit``."""
        cfgs = [self.validate(config, kind) for config, _ in items]
        if not isinstance(owner, str) or not owner.strip():
            raise ConfigError(f"A run needs an owner (a user name). Got {owner!r} instead; sign in first.")
        from omib_core.data.uploads import check_access  # here: importing the data package imports torch

        rows = []
        for cfg, (_, name) in zip(cfgs, items):
            check_access(cfg.data.dataset, owner, is_admin)  # a ?cfg= link cannot train on someone else's data
            rows.append((cfg.to_dict(), str(name) if name else f"{kind} {cfg.data.dataset}"))
        if self.ray is not None and kind == "train":
            self.ray.check()  # an unreachable cluster: refused with a sentence naming the address, nothing stored
        ids = self.store.create_runs(  # counts and inserts in one transaction: concurrent submits cannot overshoot
            rows, owner, kind=kind, sweep_id=sweep_id, max_queued=self.max_queued_per_user, grid_id=grid_id
        )
        self._wake.set()  # an embedded scheduler starts them at once rather than at its next pass
        return ids

    def control(self, run_id: str, action: str, user: str, is_admin: bool = False) -> str:
        """Pause, resume, step or stop a run (owner or admin); returns its status after the request."""
        return self.store.request_control(run_id, action, user, is_admin)

    def delete(self, run_id: str, user: str, is_admin: bool = False) -> None:
        """Delete a run that is not going (owner or admin)."""
        self.store.delete_run(run_id, user, is_admin)

    # queue

    def queue_order(self) -> list[str]:
        """Ids of the queued runs in the order they will start (the scheduler's own order)."""
        return [r["id"] for r in self._fair_queue(self.store.list_runs(status=ACTIVE))]

    def _fair_queue(self, active: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The queued runs in start order: ``fair_order`` over the store's queue, going runs and last starts."""
        queued = self.store.list_runs(status=QUEUED, oldest_first=True)
        if not queued:
            return []
        return fair_order(queued, _count_owners(active), self.store.last_started())

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
            self._enforce_time_limit(active)
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
        if self.warm:
            with self._lock:
                self._start_spare()
        return self._thread

    def stop_background(self, timeout: float = 5.0) -> None:
        """Stop the background thread (workers keep running) and give up the scheduler lease if held."""
        self._halt.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and spare.poll() is None:
            spare.terminate()
        if self.lease is not None:
            self.lease.release()
        if self.ray is not None:
            self.ray.reap_idle(max_idle=0)  # pooled Ray actors between runs give their CPUs back

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
            if self.lease is not None and not self.lease.renew_if_due():
                return  # another scheduler took the lease: never schedule beside it
            try:
                self.tick()
            except Exception:
                log.exception("job scheduler tick failed (retrying)")
            self._wake.wait(interval)
            self._wake.clear()
            if self._halt.is_set():
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
            self._on_gpu.pop(run_id, None)
            timed_out = run_id in self._timed_out
            self._timed_out.discard(run_id)
            run = self.store.get_run(run_id)
            if run is None or run["status"] not in ACTIVE:
                continue
            if timed_out:
                self.store.set_status(
                    run_id, "failed", only_from=ACTIVE, error=time_limit_message(self.max_run_seconds)
                )
            elif run["control"] == "stop":
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
            if any(
                r["id"] != run["id"] and self._procs.get(r["id"]) is proc and r["control"] != "stop" for r in active
            ):
                continue  # a grid member: its worker trains others too; only a stop of all of them may end it
            waited = now - float(run["control_at"])
            if waited > 2 * self.stop_grace:
                proc.kill()
            elif waited > self.stop_grace:
                proc.terminate()

    def _enforce_time_limit(self, active: Sequence[Mapping[str, Any]]) -> None:
        """Backstop of the worker's own check: end a worker still going ``stop_grace`` after its time is up."""
        now = time.time()
        for run in active:
            proc = self._procs.get(run["id"])
            if proc is None or run["started_at"] is None:
                continue
            over = now - float(run["started_at"]) - self.max_run_seconds
            if over > self.stop_grace:
                self._timed_out.add(run["id"])
                if over > 2 * self.stop_grace:
                    proc.kill()
                else:
                    proc.terminate()

    def _start_queued(self, active: Sequence[Mapping[str, Any]]) -> list[str]:
        if self.ray is not None and self.store.list_runs(status=QUEUED, limit=1):
            try:
                self.ray.connect()  # before max_concurrent, which asks the cluster for its CPUs
            except Exception as exc:  # the cluster is down: nothing is claimed, the queue waits for it
                if time.monotonic() - self._ray_warned >= 60:  # once a minute, not every tick
                    self._ray_warned = time.monotonic()
                    log.warning("%s", exc)
                return []
        slots = self.max_concurrent - len(job_keys(active))
        if slots <= 0:
            return []
        queue = self._fair_queue(active)
        if not queue:
            return []
        gpu_busy = self.ray is None and any(self._uses_gpu(r) for r in active)
        started = []
        for run in queue:
            if slots <= 0:
                break
            if run["id"] in started:
                continue  # claimed with its grid
            gpu = self._needs_gpu(run["config"]) and not (self.ray is not None and run["kind"] == "train")
            cpu_fallback = gpu and gpu_busy and self._device(run["config"]) == "auto"
            if (gpu and gpu_busy and not cpu_fallback) or not self.store.claim(run["id"]):
                continue  # an explicit cuda run waits for the GPU
            on_gpu = gpu and not cpu_fallback
            members = [run]
            if run.get("grid_id"):  # the whole grid job: one slot, one worker per shard (or one Ray actor)
                others = self.store.list_runs(grid_id=run["grid_id"], status=QUEUED, oldest_first=True)
                members += [r for r in others if r["id"] != run["id"] and self.store.claim(r["id"])]
            k = self.grid_shards(len(members), len(job_keys(active)) + len(started), on_gpu)
            launched = False
            for shard in (members[i::k] for i in range(k)):  # round robin: each shard a mix of betas and seeds
                if self._launch(shard[0], device="cpu" if cpu_fallback else None, members=shard):
                    launched = True
                    for r in shard:
                        self._on_gpu[r["id"]] = on_gpu
                        started.append(r["id"])
            if launched:
                slots -= 1
                gpu_busy = gpu_busy or on_gpu
        return started

    def grid_shards(self, n_members: int, jobs_going: int, on_gpu: bool = False) -> int:
        """Worker processes for a grid job of ``n_members`` (``omib_core.train.grid.shard_count``): one per CPU core
        no other job holds, at least ``MIN_SHARD`` members each; 1 on the GPU, on Ray, or with ``OMIB_GRID_SHARDS=1``
        (the most shards allowed)."""
        from omib_core.train.grid import shard_count

        if on_gpu or self.ray is not None:
            return 1
        free = cpu_count() - jobs_going * (self.threads_per_job or 1)
        return shard_count(n_members, free, env_int("OMIB_GRID_SHARDS"))

    @staticmethod
    def _device(config: Mapping[str, Any] | None) -> str:
        return str(((config or {}).get("train") or {}).get("device", "auto"))

    def _gpu(self) -> bool:
        if self._gpu_available is None:
            import torch

            self._gpu_available = bool(torch.cuda.is_available())
        return self._gpu_available

    def _needs_gpu(self, config: Mapping[str, Any] | None) -> bool:
        """Whether the run would take the GPU if it were free (``cuda``, or ``auto`` on a machine with one)."""
        device = self._device(config)
        if device.startswith("cuda"):
            return True
        return device == "auto" and self._gpu()

    def _uses_gpu(self, run: Mapping[str, Any]) -> bool:
        """Whether a going run holds the GPU: as launched here, else as its worker reported, else by its config."""
        if run["id"] in self._on_gpu:
            return self._on_gpu[run["id"]]
        if run.get("device"):
            return str(run["device"]).startswith("cuda")
        return self._needs_gpu(run["config"])

    def _worker_command(
        self, run: Mapping[str, Any], device: str | None = None, members: Sequence[Mapping[str, Any]] = ()
    ) -> list[str]:
        grid = len(members) > 1
        which = ["--runs", ",".join(r["id"] for r in members)] if grid else ["--run", run["id"]]
        cmd = [
            self.python,
            "-m",
            "omib_core.runs.grid_worker" if grid else "omib_core.runs.worker",
            "--db",
            str(self.store.path),
            "--data-dir",
            str(self.store.data_dir),
            *which,
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
        if self.max_run_seconds:
            cmd += ["--max-seconds", str(self.max_run_seconds)]
        if device:
            cmd += ["--device", device]
        return cmd

    def _launch_on_ray(self, members: list[Mapping[str, Any]], device: str | None) -> bool:
        """A train run on Ray (placed there, with its GPU when it asks for one); a grid job on one actor, or, with a
        test's single-run event source, each member on its own."""
        kw = {
            "threads": self.threads_per_job,
            "heartbeat_interval": self.heartbeat_interval,
            "max_seconds": self.max_run_seconds,
            "device": device,
        }
        if len(members) > 1 and not self.sources.get("train"):
            handle = self.ray.launch_grid(self.store, members, **kw)
            for r in members:
                self._procs[r["id"]] = handle
            return True
        for r in members:
            self._procs[r["id"]] = self.ray.launch(self.store, r, source=self.sources.get("train"), **kw)
        return True

    def _start_spare(self) -> None:
        """Start the next warm spare (``omib_core.runs.warm``) unless one is waiting."""
        if self._spare is not None and self._spare.poll() is None:
            return
        try:
            self.store.data_dir.mkdir(parents=True, exist_ok=True)
            with open(self.store.data_dir / "warm-worker.out", "ab") as out:
                self._spare = subprocess.Popen(
                    [self.python, "-m", "omib_core.runs.warm", "--parent-pid", str(os.getpid())],
                    stdin=subprocess.PIPE,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=self._worker_env(),
                    start_new_session=True,
                )
        except OSError as exc:  # no spare: runs start the usual way
            log.warning("no warm spare worker: %s", exc)
            self._spare = None

    def _use_spare(self, cmd: list[str], out: Any) -> Any:
        """Hand a worker command to the warm spare (which then is the run's process); None when there is no live
        spare (the caller starts a fresh process)."""
        spare = self._spare
        if not self.warm or spare is None or spare.poll() is not None or self._halt.is_set():
            return None
        self._spare = None
        try:
            job = {"module": cmd[2], "argv": cmd[3:], "out": str(out)}
            spare.stdin.write((json.dumps(job) + "\n").encode())
            spare.stdin.close()
        except OSError:
            spare.kill()
            return None
        return spare  # the caller records its pid, then starts the next spare

    def _worker_env(self) -> dict[str, str]:
        env = {**os.environ, **self.env}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        env.setdefault("OMIB_MAX_RUN_MEMORY_MB", f"{self.max_run_memory / run_budget.MB:.0f}")  # the worker's advice
        if self.threads_per_job:
            for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                env[var] = str(self.threads_per_job)
        return env

    def _launch(
        self, run: Mapping[str, Any], device: str | None = None, members: Sequence[Mapping[str, Any]] = ()
    ) -> bool:
        """Start the worker of ``run`` (or of the grid job ``members``, ``run`` first). False when it could not."""
        members = list(members) or [run]
        if self.ray is not None and run["kind"] == "train":
            return self._launch_on_ray(members, device)
        folder = self.store.run_dir(run["id"])
        try:
            folder.mkdir(parents=True, exist_ok=True)
            cmd = self._worker_command(run, device, members)
            proc = self._use_spare(cmd, folder / WORKER_OUT)
            if proc is None:
                with open(folder / WORKER_OUT, "ab") as out:
                    proc = subprocess.Popen(
                        cmd,
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        env=self._worker_env(),
                        start_new_session=True,
                    )
        except OSError as exc:
            for r in members:
                self.store.set_status(
                    r["id"],
                    "failed",
                    only_from=ACTIVE,
                    error=f"The worker process could not be started ({exc.strerror or exc}); check that "
                    f"{self.python} exists and the disk is not full, then submit the run again.",
                )
            return False
        for r in members:
            self._procs[r["id"]] = proc
            self.store.update_run(r["id"], pid=proc.pid)
        if self.warm and self._spare is None and not self._halt.is_set():
            self._start_spare()  # the next run's spare, once this one's pid is recorded
        return True
