"""The worker process: runs one stored run and writes what happens to the run store.

    python -m omib_core.runs.worker --db PATH --run RUN_ID --parent-pid PID [--source MODULE:CALLABLE]
        [--threads N] [--max-seconds S] [--device cpu]
    python -m omib_core.runs.grid_worker --db PATH --runs ID1,ID2,... ...   (a grid job: the same options)

A train run consumes the event generator ``omib_core.train.train(config, out_dir=..., cache_dir=...)``;
a bound run calls ``omib_core.bound.estimate_bound`` with a progress callback. ``--source`` replaces either
with another callable of the same signature (tests plug in fake generators this way):

    train: source(config: RunConfig, *, out_dir: Path, cache_dir: Path) -> Iterator[event]
    bound: source(config: RunConfig, *, out_dir: Path, cache_dir: Path, progress) -> BoundResult | dict

Between two events the worker reads the run's ``control`` column: ``pause`` stops pulling events (the
generator simply waits), ``step`` pulls until the next epoch event and pauses again, ``resume`` goes on,
``stop`` closes the generator. Metric rows are committed in batches, at most ``flush_interval`` seconds
apart and at every epoch, failure and finish. A background thread beats the heart, flushes rows that waited
too long, and ends the process (run marked interrupted) when the parent process is gone.

Limits: ``--threads`` caps torch threads; ``--max-seconds`` is the run's wall-time limit, counted from the
run's ``started_at`` and checked wherever control requests are (between events, while paused, in the bound
estimator's progress callback): past it the run ends ``failed`` with a sentence and its metrics kept.
``--device cpu`` is the launcher's CPU fallback for a ``device="auto"`` run that found the GPU busy. Running
out of memory (every form: ``is_out_of_memory``) fails the run with a sentence naming what to lower; a full disk
(ENOSPC, EDQUOT) fails it with a sentence naming the folder and removes the half-written ``*.tmp`` files. Only
this process is affected.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import importlib
import inspect
import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from omib_core.config import RunConfig
from omib_core.errors import OmibError
from omib_core.paths import RESULT_FILE, WORKER_LOG, cache_dir
from omib_core.run_states import ACTIVE, FINAL_FROM, PAUSED, RUNNING, WORKER_START_FROM
from omib_core.runs.jobs import pid_alive, time_limit_message
from omib_core.runs.recorder import Recorder, event_type, events_to_rows, jsonable, selection, write_json
from omib_core.runs.store import RunNotFound, RunStore, is_disk_full

HEARTBEAT_INTERVAL = 2.0
FLUSH_INTERVAL = 0.5
PAUSE_POLL = 0.2
PROGRESS_CONTROL_EVERY = 0.05
PARENT_GONE_MESSAGE = (
    "The server process that started this run stopped, so the run was interrupted; the metrics saved before "
    "that are kept. Start a new run from this run's config to train it again."
)
NO_RESULT_MESSAGE = "The training ended without reporting a result or a failure; start the run again."


class WorkerLost(OmibError, RuntimeError):
    """The process that computes a run's events is gone (a remote worker): the run ends interrupted, metrics kept."""


class _StopRequested(BaseException):
    """Raised inside the bound estimator's progress callback to stop it (BaseException: passes ``except Exception``).

    ``reason`` is ``"stop"`` (a user's request) or ``"timeout"`` (the wall-time limit).
    """

    def __init__(self, reason: str = "stop") -> None:
        super().__init__(reason)
        self.reason = reason


# helpers


def _default_train(config: RunConfig, *, out_dir: Path, cache_dir: Path) -> Iterator[Any]:
    import torch  # imported only when a real run needs it

    from omib_core.train import train

    if config.train.num_threads is not None:
        torch.set_num_threads(config.train.num_threads)  # the train loop sets it again from the same config
    return train(config, out_dir=out_dir, cache_dir=cache_dir)


def _default_bound(
    config: RunConfig, *, out_dir: Path, cache_dir: Path, progress: Callable, on_estimate: Callable | None = None
) -> Any:
    from omib_core.bound import estimate_bound
    from omib_core.data import load_dataset
    from omib_core.device import resolve_device

    dataset = load_dataset(config.data)
    device = resolve_device(config.train.device)
    return estimate_bound(
        dataset, config.bound, device=device, cache_dir=cache_dir, progress=progress, on_estimate=on_estimate
    )


def load_source(spec: str) -> Callable:
    """Import ``"package.module:callable"`` and return the callable."""
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise OmibError(f"A worker source must look like 'package.module:function'. Got {spec!r} instead.")
    return getattr(importlib.import_module(module), attr)


OOM_TEXTS = (
    "out of memory",  # CUDA, MPS
    "can't allocate memory",  # torch CPU: "DefaultCPUAllocator: can't allocate memory: you tried to allocate ..."
    "cannot allocate memory",  # ENOMEM worded by the OS
    "not enough memory",  # torch on Windows, some BLAS builds
    "array is too big",  # numpy: the byte size overflows
    "maximum allowed dimension exceeded",  # numpy: a dimension past the index type
    "maximum supported dimension",
    "integer multiplication overflow",  # torch: numel overflows
)


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether an exception is one of the forms running out of memory takes (or an absurd size that could never fit).

    ``MemoryError`` (numpy's ``_ArrayMemoryError`` is one), ``torch.cuda.OutOfMemoryError`` (by name: torch is not
    imported here), and RuntimeError / ValueError / OSError whose message says so (``OOM_TEXTS``).
    """
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    if isinstance(exc, OSError) and exc.errno == errno.ENOMEM:
        return True
    text = str(exc).lower()
    return isinstance(exc, (RuntimeError, ValueError, OSError)) and any(t in text for t in OOM_TEXTS)


def disk_full_message(folder: Path) -> str:
    """The sentence of a run whose disk filled up while it wrote snapshots, checkpoints or metrics."""
    return (
        f"The disk holding {folder} is full, so the run stopped; its unfinished files were removed and the metrics "
        "saved so far are kept. Free space there (delete old runs or uploads) or ask the admin, then start the run "
        "again."
    )


def failure_message(
    exc: BaseException, run_id: str, config: RunConfig | None = None, folder: Path | None = None
) -> str:
    """The sentence a user sees for an exception (never a traceback).

    Out of memory names what to lower: with the run's ``config``, the parameter that dominates the memory estimate
    and a value that fits (``omib_core.runs.budget.memory_advice``). A full disk names the folder.
    """
    if is_out_of_memory(exc):
        advice = "try a smaller batch_size, a smaller model or fewer samples (n_samples / max_samples)"
        if config is not None:
            try:
                from omib_core.runs.budget import memory_advice

                advice = memory_advice(config)
            except Exception:  # the advice is a courtesy: never let it hide the failure itself
                pass
        return f"The run ran out of memory; {advice}, or wait until fewer runs share the machine."
    if is_disk_full(exc):
        return disk_full_message(folder if folder is not None else Path("the run folder"))
    if isinstance(exc, OmibError):
        return str(exc)
    return (
        f"The run stopped because of an unexpected error ({type(exc).__name__}); the details are in worker.log "
        f"in the run's folder. The metrics saved so far are kept. Try again, or report it with run id {run_id}."
    )


def remove_partial_files(folder: Path) -> list[Path]:
    """Delete the ``*.tmp`` files (half-written snapshots, checkpoints, results) under a run's folder."""
    removed = []
    for path in folder.rglob("*.tmp"):
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed


def thread_count(config: RunConfig, cap: int | None) -> int | None:
    """Torch threads for the job: the config's ``num_threads`` capped by the server's ``cap`` (either may be None)."""
    n = config.train.num_threads
    if cap is not None:
        n = min(n, cap) if n is not None else cap
    return n


class _MetricBuffer:
    """Metric rows and run-column updates waiting to be committed together (thread-safe)."""

    def __init__(self, store: RunStore, run_id: str, interval: float) -> None:
        self.store, self.run_id, self.interval = store, run_id, interval
        self.rows: list[dict[str, Any]] = []
        self.update: dict[str, Any] = {}
        self.last_flush = time.monotonic()
        self.lock = threading.Lock()

    def add(self, rows: list[dict[str, Any]], update: dict[str, Any] | None = None) -> None:
        with self.lock:
            self.rows.extend(rows)
            self.update.update(update or {})
            if time.monotonic() - self.last_flush >= self.interval:
                self._flush()

    def flush(self, update: dict[str, Any] | None = None) -> None:
        with self.lock:
            self.update.update(update or {})
            self._flush()

    def flush_if_stale(self) -> None:
        with self.lock:
            if (self.rows or self.update) and time.monotonic() - self.last_flush >= self.interval:
                self._flush()

    def _flush(self) -> None:
        if self.rows or self.update:
            self.store.append_metrics(self.run_id, self.rows, self.update)
        self.rows, self.update = [], {}
        self.last_flush = time.monotonic()


# main class


class Worker:
    """Runs one stored run in this process.

    Args:
        store: the run store.
        run_id: the run to execute (queued, or already claimed as running by a launcher).
        parent_pid: exit (run interrupted) once this process is gone; None = never.
        source: ``"module:callable"`` or a callable replacing the default train / bound source.
        threads: cap on torch threads (``OMIB_THREADS_PER_JOB``); None = the config's choice.
        heartbeat_interval: seconds between heartbeats and parent checks.
        flush_interval: most seconds a metric row waits before it is committed.
        max_seconds: wall-time limit of the run from its ``started_at``; None = no limit.
        device: replaces the config's ``train.device`` (the launcher's CPU fallback); None = keep it.
    """

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        parent_pid: int | None = None,
        source: str | Callable | None = None,
        threads: int | None = None,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        flush_interval: float = FLUSH_INTERVAL,
        max_seconds: float | None = None,
        device: str | None = None,
    ) -> None:
        self.store, self.run_id, self.parent_pid = store, run_id, parent_pid
        self.source = load_source(source) if isinstance(source, str) else source
        self.threads, self.heartbeat_interval = threads, heartbeat_interval
        self.max_seconds, self.device = max_seconds, device
        self._deadline: float | None = None  # unix time at which the wall-time limit is reached
        self.dir = store.run_dir(run_id)
        self.buffer = _MetricBuffer(store, run_id, flush_interval)
        self.recorder: Recorder | None = None
        self.log = logging.getLogger(f"omib_core.runs.worker.{run_id}")
        self._stepping = False  # 'step' asked: pause at the next epoch event
        self._bound_step = 0
        self._last_progress: tuple[str, float] | None = None
        self._last_control = 0.0
        self._done = threading.Event()
        self._config: RunConfig | None = None

    # lifecycle

    def run(self) -> int:
        """Execute the run to its end; returns the process exit code (0, or 2 when the run does not exist)."""
        run = self.store.get_run(self.run_id)
        if run is None:
            return 2
        if run["status"] not in WORKER_START_FROM:
            return 0  # stopped while queued, or already handled
        self.dir.mkdir(parents=True, exist_ok=True)
        self._setup_log()
        if not self.store.set_status(
            self.run_id, "running", only_from=WORKER_START_FROM, pid=os.getpid(), heartbeat=time.time()
        ):
            return 0
        if self.max_seconds is not None:
            started = (self.store.get_run(self.run_id) or {}).get("started_at") or time.time()
            self._deadline = float(started) + float(self.max_seconds)
        beat = threading.Thread(target=self._beat_loop, name="omib-heartbeat", daemon=True)
        beat.start()
        try:
            config = self._config = RunConfig.from_dict(run["config"])
            if self.device is not None and self.device != config.train.device:
                self.log.info("device %s instead of %s (the GPU is busy)", self.device, config.train.device)
                config = config.replace(train=config.train.replace(device=self.device))
            if run["kind"] == "bound":
                self._run_bound(config)
            else:
                self._run_train(config)
        except RunNotFound:
            self._abandon()
        except WorkerLost as exc:
            self._lost(exc)
        except Exception as exc:
            self._fail(exc)
        finally:
            self._done.set()
            beat.join(timeout=5)
            self._close_log()
        return 0

    def _setup_log(self) -> None:
        handler = logging.FileHandler(self.dir / WORKER_LOG)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        self.log.addHandler(handler)
        self.log.setLevel(logging.INFO)
        self.log.propagate = False
        self.log.info("worker pid %s started run %s", os.getpid(), self.run_id)

    def _close_log(self) -> None:
        for handler in list(self.log.handlers):
            self.log.removeHandler(handler)
            handler.close()

    def _beat_loop(self) -> None:
        last_beat = time.monotonic()
        while not self._done.wait(0.1):
            try:
                self.buffer.flush_if_stale()
                if time.monotonic() - last_beat >= self.heartbeat_interval:
                    last_beat = time.monotonic()
                    self.store.heartbeat(self.run_id)
                    if self.parent_pid is not None and not pid_alive(self.parent_pid):
                        self._parent_gone()
            except RunNotFound:
                self._abandon()
            except Exception:
                self.log.exception("heartbeat thread error (ignored)")

    def _abandon(self) -> None:
        """The run was deleted while this worker still ran (it had been marked interrupted): stop at once, and
        remove whatever this worker wrote into the run's folder since, so nothing of the deleted run is left."""
        self.log.warning("run %s was deleted; exiting without recording more", self.run_id)
        logging.shutdown()
        shutil.rmtree(self.dir, ignore_errors=True)
        os._exit(0)

    def _parent_gone(self) -> None:
        self.log.warning("parent process %s is gone; exiting", self.parent_pid)
        if self.buffer.lock.acquire(timeout=2):
            try:
                self.buffer._flush()
            finally:
                self.buffer.lock.release()
        self.store.set_status(self.run_id, "interrupted", only_from=ACTIVE, error=PARENT_GONE_MESSAGE)
        logging.shutdown()
        os._exit(3)

    # control

    def _over_time(self) -> bool:
        return self._deadline is not None and time.time() >= self._deadline

    def _poll_control(self) -> str | None:
        """Apply pending control requests; ``"stop"`` or ``"timeout"`` when the run must end, else None."""
        if self._over_time():
            return "timeout"
        action = self.store.take_control(self.run_id)
        if action == "stop":
            return "stop"
        if action == "step":
            self._stepping = True
        if action == "pause":
            return self._pause()
        return None

    def _pause(self) -> str | None:
        """Hold (pull no events) until resume, step, stop or the time limit."""
        self.buffer.flush()
        self.store.set_status(self.run_id, "paused", only_from=(RUNNING,))
        self.log.info("paused")
        while True:
            time.sleep(PAUSE_POLL)
            if self._over_time():
                return "timeout"
            action = self.store.take_control(self.run_id)
            if action == "stop":
                return "stop"
            if action in ("resume", "step"):
                self._stepping = action == "step"
                self.store.set_status(self.run_id, "running", only_from=(PAUSED,))
                self.log.info("%s", action)
                return None

    # train runs

    def _run_train(self, config: RunConfig) -> None:
        threads = thread_count(config, self.threads)
        if threads is not None and threads != config.train.num_threads:
            config = config.replace(train=config.train.replace(num_threads=threads))
        self.recorder = Recorder(self.dir, config, tracking_tags=self._tracking_tags(config))
        source = self.source or _default_train
        events = source(config, out_dir=self.dir, cache_dir=cache_dir(self.store.data_dir))
        try:
            self._consume(iter(events))
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()

    def _tracking_tags(self, config: RunConfig) -> dict[str, Any]:
        """MLflow tags of this run (omib_core/runs/tracking.py): who, what, its sweep, whether its data is private."""
        row = self.store.get_run(self.run_id) or {}
        dataset = config.data.dataset
        from omib_core.runs.tracking import upload_is_private

        private = upload_is_private(dataset)
        return {
            "omib.run_id": self.run_id,
            "omib.name": row.get("name") or self.run_id,
            "omib.owner": row.get("owner"),
            "omib.dataset": dataset,
            "omib.sweep_id": row.get("sweep_id"),
            "omib.private": str(private).lower(),
            "omib.link": f"train?run={self.run_id}",
        }

    def _consume(self, events: Iterator[Any]) -> None:
        while True:
            action = self._poll_control()
            if action is not None:
                self._stop(events, action)
                return
            try:
                event = next(events)
            except StopIteration:
                self._end("failed", NO_RESULT_MESSAGE)
                return
            if self._handle(event):
                return
            if self._stepping and event_type(event) == "EpochEvent":
                self._stepping = False
                action = self._pause()
                if action is not None:
                    self._stop(events, action)
                    return

    def _handle(self, event: Any) -> bool:
        """Record one event; True when it ends the run."""
        assert self.recorder is not None
        self.recorder.record(event)
        kind = event_type(event)
        if kind == "RunStarted":
            self.store.update_run(
                self.run_id, summary=dataclasses.asdict(event), total_epochs=event.total_epochs, device=event.device
            )
        elif kind == "StepEvent":
            self.buffer.add(events_to_rows(event), {"step": event.step})
        elif kind == "EpochEvent":
            # rows and the runs row's epoch go into the buffer together, so whichever flush commits the rows (this
            # one, or the heartbeat thread's in between) commits the epoch count in the same transaction
            update = {"epoch": event.epoch + 1, "step": event.step, "eta_seconds": event.eta_seconds}
            self.buffer.add(events_to_rows(event), update)
            self.buffer.flush()
        elif kind == "SnapshotEvent":
            self.store.add_artifact(self.run_id, "snapshot", event.path, epoch=event.epoch)
        elif kind == "RunFailed":
            self._end("failed", event.message)
            return True
        elif kind == "RunFinished":
            if event.checkpoint_path:
                self.store.add_artifact(self.run_id, "checkpoint", event.checkpoint_path, epoch=event.epochs)
            result = {**dataclasses.asdict(event), "selection": selection(event)}
            self._end("finished", None, result={**result, "information": jsonable(self.recorder.information())})
            return True
        return False

    def _stop(self, events: Iterator[Any], reason: str = "stop") -> None:
        """End the run early: ``"stop"`` (asked) -> stopped; ``"timeout"`` (wall-time limit) -> failed."""
        close = getattr(events, "close", None)
        if close is not None:
            close()  # GeneratorExit inside train(): it cleans up there
        if reason == "timeout":
            self.log.info("wall-time limit of %s s reached", self.max_seconds)
            self._end("failed", time_limit_message(self.max_seconds or 0))
        else:
            self._end("stopped", None)

    def _end(self, status: str, error: str | None, result: dict[str, Any] | None = None) -> None:
        """Commit everything, write history.csv / result.json, then set the final status."""
        self.buffer.flush()
        if self.recorder is not None:
            written = self.recorder.finish(status, error, run_id=self.run_id)
            self.store.add_artifact(self.run_id, "history", self.recorder.history_path)
            self.store.add_artifact(self.run_id, "result", self.recorder.result_path)
            if written.get("mlflow"):  # the Train and Runs pages link to the MLflow run (or say why it is missing)
                result = {**(result or {}), "mlflow": written["mlflow"]}
        self.store.set_status(self.run_id, status, only_from=FINAL_FROM, error=error, result=result)
        self.log.info("run %s %s", self.run_id, status)

    def _lost(self, exc: WorkerLost) -> None:
        """The event source died (a Ray worker or node): interrupted, or stopped when a stop was asked."""
        self.log.warning("event source lost: %s", exc)
        self.buffer.flush()
        stop = (self.store.get_run(self.run_id) or {}).get("control") == "stop"
        status, error = ("stopped", None) if stop else ("interrupted", str(exc))
        if self.recorder is not None:  # the history so far; no result.json for an interrupted run
            if stop:
                self.recorder.finish(status, error, run_id=self.run_id)
            else:
                self.recorder.write_history()
            self.store.add_artifact(self.run_id, "history", self.recorder.history_path)
        self.store.set_status(self.run_id, status, only_from=ACTIVE, error=error)

    def _fail(self, exc: BaseException) -> None:
        self.log.exception("run failed")
        message = failure_message(exc, self.run_id, self._config, self.dir)
        try:
            self.buffer.flush()
            if self.recorder is not None:
                self.recorder.finish("failed", message, run_id=self.run_id)
        except Exception:
            self.log.exception("could not save the last metrics")
        if is_disk_full(exc):
            removed = remove_partial_files(self.dir)
            self.log.info("disk full: removed %d unfinished file(s)", len(removed))
        try:
            self.store.set_status(self.run_id, "failed", only_from=FINAL_FROM, error=message)
        except Exception:  # the store's disk may be the full one: the launcher marks the run when the process ends
            self.log.exception("could not record the failure")

    # bound runs

    def _run_bound(self, config: RunConfig) -> None:
        source = self.source or _default_bound
        try:
            kwargs: dict[str, Any] = {"out_dir": self.dir, "cache_dir": cache_dir(self.store.data_dir)}
            if "on_estimate" in inspect.signature(source).parameters:
                kwargs["on_estimate"] = self._estimate
            result = source(config, progress=self._progress, **kwargs)
        except _StopRequested as stop:
            self.buffer.flush()
            if stop.reason == "timeout":
                error = time_limit_message(self.max_seconds or 0)
                self.store.set_status(self.run_id, "failed", only_from=FINAL_FROM, error=error)
            else:
                self.store.set_status(self.run_id, "stopped", only_from=FINAL_FROM)
            return
        data = jsonable(result.to_dict() if hasattr(result, "to_dict") else result)
        path = write_json(self.dir / RESULT_FILE, data)
        self.buffer.flush()
        self.store.add_artifact(self.run_id, "result", path)
        self.store.set_status(self.run_id, "finished", only_from=FINAL_FROM, result=data)

    def _estimate(self, label: str, fraction: float, value: float) -> None:
        """A point of a neural estimator's training curve: metric row ``bound_curve/<label>`` (nats)."""
        self._bound_step += 1
        row = {
            "kind": "step",
            "stage": "bound",
            "step": self._bound_step,
            "name": f"bound_curve/{label}",
            "value": value,
        }
        self.buffer.add([row], {"step": self._bound_step})

    def _progress(self, label: str, fraction: float) -> None:
        """Progress callback of the bound estimator: a metric row ``bound/<label>``, then control requests.

        Rows are thinned (a new label, a 1 % move, or the end of a label) and control is read at most every
        ``PROGRESS_CONTROL_EVERY`` seconds: neural estimators may call this at every optimiser step.
        """
        last = self._last_progress
        if last is None or last[0] != label or fraction - last[1] >= 0.01 or fraction >= 1.0:
            self._bound_step += 1
            self._last_progress = (label, fraction)
            row = {
                "kind": "step",
                "stage": "bound",
                "step": self._bound_step,
                "name": f"bound/{label}",
                "value": fraction,
            }
            self.buffer.add([row], {"step": self._bound_step})
        if time.monotonic() - self._last_control < PROGRESS_CONTROL_EVERY:
            return
        self._last_control = time.monotonic()
        self._stepping = False  # no epochs here: 'step' acts as 'resume'
        action = self._poll_control()
        if action is not None:
            raise _StopRequested(action)


# entry point


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m omib_core.runs.worker", description="Run one stored OMIB run.")
    p.add_argument("--db", required=True, help="path of the run store database")
    p.add_argument("--data-dir", default=None, help="folder holding runs/ (default: the database's folder)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", help="id of the run to execute")
    which.add_argument("--runs", help="comma-separated ids of the runs of one grid job, trained together")
    p.add_argument("--parent-pid", type=int, default=None, help="exit when this process is gone")
    p.add_argument("--source", default=None, help="module:callable replacing the default train/bound source")
    p.add_argument("--threads", type=int, default=None, help="cap on torch threads for this job")
    p.add_argument("--heartbeat", type=float, default=HEARTBEAT_INTERVAL, help="seconds between heartbeats")
    p.add_argument("--max-seconds", type=float, default=None, help="wall-time limit of the run, from its start")
    p.add_argument("--device", default=None, help="replaces the config's train.device (the GPU-busy CPU fallback)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m omib_core.runs.worker``."""
    args = parse_args(argv)
    if args.runs:
        print("omib worker: a grid job runs with python -m omib_core.runs.grid_worker --runs ...", file=sys.stderr)
        return 2
    try:
        store = RunStore(args.db, data_dir=args.data_dir)
        worker = Worker(
            store,
            args.run,
            args.parent_pid,
            args.source,
            args.threads,
            args.heartbeat,
            max_seconds=args.max_seconds,
            device=args.device,
        )
    except OmibError as exc:
        print(f"omib worker: {exc}", file=sys.stderr)
        return 2
    return worker.run()


if __name__ == "__main__":
    sys.exit(main())
