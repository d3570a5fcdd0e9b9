"""The grid worker: one process trains the runs of one grid job together (``omib_core.train.grid``).

    python -m omib_core.runs.grid_worker --db PATH --runs ID1,ID2,... --parent-pid PID [--threads N] [--max-seconds S]

Each member stays a run of its own in the store: its metric rows, summary, snapshots, checkpoint, history.csv and
result.json are written by a ``Worker`` of its own (the same recording code as a single run), and its controls act
on it alone: ``pause`` freezes it while the others train on, ``step`` lets it train one more epoch, ``resume``
rejoins it at the grid's current epoch, ``stop`` ends it as stopped. A member deleted while the grid runs is dropped
and its folder removed. When every member left is paused, the grid waits. Control requests are read for all members
in one query at most every ``CONTROL_EVERY`` seconds.

A grid the engine cannot hold (``grid_problem``) trains its members one after another in this process. The
wall-time limit, the parent-process check and the heartbeat cover every member; an error in the shared engine
fails every member still going, with the sentence a single run would get.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from omib_core.config import RunConfig
from omib_core.errors import ConfigError, OmibError
from omib_core.paths import cache_dir
from omib_core.run_states import ACTIVE, FINAL_FROM, PAUSED, RUNNING, WORKER_START_FROM
from omib_core.runs.jobs import pid_alive, time_limit_message
from omib_core.runs.recorder import Recorder, event_type
from omib_core.runs.store import RunNotFound, RunStore
from omib_core.runs.worker import (
    HEARTBEAT_INTERVAL,
    PARENT_GONE_MESSAGE,
    PAUSE_POLL,
    Worker,
    failure_message,
    parse_args,
    thread_count,
)

CONTROL_EVERY = 0.25  # seconds between reads of the members' control requests


class GridWorker:
    """Runs the stored runs ``run_ids`` as one grid in this process.

    Args:
        store: the run store.
        run_ids: the members (queued, or claimed as running by the launcher).
        parent_pid: exit (members interrupted) once this process is gone; None = never.
        threads: cap on torch threads; max_seconds: wall-time limit from the first member's start.
        source: ``"module:callable"`` of a single-run event source (the launcher's ``--source``, tests): the members
            then train one after another with it, as separate runs would.
        engine: ``callable(configs, out_dirs, cache_dir) -> GridTrainer`` replacing the grid engine (tests).
    """

    def __init__(
        self,
        store: RunStore,
        run_ids: list[str],
        parent_pid: int | None = None,
        threads: int | None = None,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        max_seconds: float | None = None,
        source: str | None = None,
        engine: Callable | None = None,
    ) -> None:
        self.store, self.run_ids, self.parent_pid = store, list(run_ids), parent_pid
        self.threads, self.heartbeat_interval, self.max_seconds = threads, heartbeat_interval, max_seconds
        self.source, self.engine = source, engine
        self.members: dict[int, Worker] = {}  # member index -> its recording Worker (while it is going)
        self.stepping: set[int] = set()
        self.log = logging.getLogger("omib_core.runs.grid_worker")
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._deadline: float | None = None
        self._last_control = 0.0
        self.grid: Any = None

    # lifecycle

    def run(self) -> int:
        runs = [self.store.get_run(r) for r in self.run_ids]
        configs, index = [], {}
        for run_id, run in zip(self.run_ids, runs):
            if run is None or run["status"] not in WORKER_START_FROM:
                continue  # deleted or stopped while queued
            if not self.store.set_status(
                run_id, "running", only_from=WORKER_START_FROM, pid=os.getpid(), heartbeat=time.time()
            ):
                continue
            w = Worker(self.store, run_id, source=self.source, threads=self.threads)
            w.dir.mkdir(parents=True, exist_ok=True)
            w._setup_log()
            config = w._config = RunConfig.from_dict(run["config"])
            threads = thread_count(config, self.threads)
            if threads is not None and threads != config.train.num_threads:
                config = config.replace(train=config.train.replace(num_threads=threads))
            w.recorder = Recorder(w.dir, config, tracking_tags=w._tracking_tags(config))
            index[len(configs)] = w
            configs.append(config)
        if not configs:
            return 0
        self.members = index
        if self.max_seconds is not None:
            started = (self.store.get_run(index[0].run_id) or {}).get("started_at") or time.time()
            self._deadline = float(started) + float(self.max_seconds)
        beat = threading.Thread(target=self._beat_loop, name="omib-grid-heartbeat", daemon=True)
        beat.start()
        try:
            self._train(configs)
        except Exception as exc:
            self._fail_all(exc)
        finally:
            self._done.set()
            beat.join(timeout=5)
            for w in index.values():
                w._close_log()
        return 0

    def _train(self, configs: list[RunConfig]) -> None:
        from omib_core.train.grid import GridTrainer, grid_problem

        dirs = [self.members[g].dir for g in range(len(configs))]
        cache = cache_dir(self.store.data_dir)
        problem = grid_problem(configs) if self.source is None else f"the event source {self.source} trains one run"
        make = self.engine or (lambda c, d, cache: GridTrainer(c, d, cache_dir=cache))
        if problem is None:
            try:
                self.grid = make(configs, dirs, cache)
            except ConfigError as exc:  # found when the data are loaded (e.g. an anomaly-task upload)
                problem = str(exc)
        if problem is not None:  # one after another, each the way a single run trains
            self.log.info("not a grid (%s): training the %d runs in turn", problem, len(configs))
            for g in sorted(self.members):
                w = self.members[g]
                try:
                    w._run_train(configs[g])
                except Exception as exc:  # this member only, as its own worker would
                    w._fail(exc)
                self._forget(g)
            return
        events = self.grid.run()
        try:
            while self.members:
                if self._poll_controls():
                    return
                if self.grid.waiting:
                    time.sleep(PAUSE_POLL)
                    continue
                try:
                    g, event = next(events)
                except StopIteration:
                    break
                if event is not None:
                    self._handle(g, event)
        finally:
            events.close()
        for g in list(self.members):  # the engine ended without a result for them (should not happen)
            self._finish_member(g, "failed", "The grid ended without reporting a result for this run; start it again.")

    # events and controls

    def _handle(self, g: int, event: Any) -> None:
        w = self.members.get(g)
        if w is None:
            return  # stopped or deleted meanwhile
        try:
            ended = w._handle(event)
        except RunNotFound:
            self._drop(g)
            return
        if ended:
            self._forget(g)
        elif g in self.stepping and event_type(event) == "EpochEvent":
            self.stepping.discard(g)
            self._pause(g)

    def _poll_controls(self) -> bool:
        """Apply the members' pending controls (at most every CONTROL_EVERY s); True when the whole grid must end."""
        now = time.monotonic()
        if now - self._last_control < CONTROL_EVERY:
            return False
        self._last_control = now
        if self._deadline is not None and time.time() >= self._deadline:
            message = time_limit_message(self.max_seconds or 0)
            for g in list(self.members):
                self._finish_member(g, "failed", message)
            return True
        ids = {w.run_id: g for g, w in self.members.items()}
        pending = self.store.pending_controls(list(ids))
        for run_id, g in ids.items():
            if run_id not in pending:  # deleted while the grid runs
                self._drop(g)
                continue
            if pending[run_id] is None:
                continue
            action = self.store.take_control(run_id)
            if action == "stop":
                self.grid.stop(g)
                self._finish_member(g, "stopped", None)
            elif action == "pause":
                self._pause(g)
            elif action in ("resume", "step"):
                if action == "step":
                    self.stepping.add(g)
                self.grid.resume(g)
                self.store.set_status(run_id, "running", only_from=(PAUSED,))
        return False

    def _pause(self, g: int) -> None:
        w = self.members[g]
        self.grid.pause(g)
        w.buffer.flush()
        self.store.set_status(w.run_id, "paused", only_from=(RUNNING,))

    def _finish_member(self, g: int, status: str, error: str | None) -> None:
        w = self.members.get(g)
        if w is None:
            return
        if self.grid is not None:
            self.grid.stop(g)
        try:
            w._end(status, error)
        except RunNotFound:
            self._drop(g)
            return
        self._forget(g)

    def _forget(self, g: int) -> None:
        with self._lock:
            self.members.pop(g, None)
        self.stepping.discard(g)

    def _drop(self, g: int) -> None:
        """A member whose run was deleted: stop training it and remove what was written for it."""
        w = self.members.get(g)
        if self.grid is not None:
            self.grid.stop(g)
        self._forget(g)
        if w is not None:
            w._close_log()
            shutil.rmtree(w.dir, ignore_errors=True)

    def _fail_all(self, exc: BaseException) -> None:
        self.log.exception("grid failed")
        for g in list(self.members):
            w = self.members[g]
            w.log.exception("run failed (grid)")
            message = failure_message(exc, w.run_id, w._config, w.dir)
            try:
                self._finish_member(g, "failed", message)
            except Exception:
                self.store.set_status(w.run_id, "failed", only_from=FINAL_FROM, error=message)
                self._forget(g)

    # heartbeat

    def _beat_loop(self) -> None:
        last_beat = time.monotonic()
        while not self._done.wait(0.1):
            with self._lock:
                members = list(self.members.items())
            try:
                for _, w in members:
                    w.buffer.flush_if_stale()
                if time.monotonic() - last_beat >= self.heartbeat_interval:
                    last_beat = time.monotonic()
                    for _, w in members:
                        self.store.heartbeat(w.run_id)
                    if self.parent_pid is not None and not pid_alive(self.parent_pid):
                        self._parent_gone(members)
            except RunNotFound:
                pass  # a member was deleted: the main loop drops it at its next control poll
            except Exception:
                self.log.exception("heartbeat thread error (ignored)")

    def _parent_gone(self, members: list[tuple[int, Worker]]) -> None:
        for _, w in members:
            if w.buffer.lock.acquire(timeout=2):
                try:
                    w.buffer._flush()
                finally:
                    w.buffer.lock.release()
            self.store.set_status(w.run_id, "interrupted", only_from=ACTIVE, error=PARENT_GONE_MESSAGE)
        logging.shutdown()
        os._exit(3)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m omib_core.runs.grid_worker --runs ID1,ID2,...`` (the worker's other options)."""
    args = parse_args(argv)
    if not args.runs:
        print("omib grid worker: give the grid's runs with --runs ID1,ID2,...", file=sys.stderr)
        return 2
    try:
        store = RunStore(args.db, data_dir=args.data_dir)
        worker = GridWorker(
            store,
            [r for r in args.runs.split(",") if r],
            parent_pid=args.parent_pid,
            threads=args.threads,
            heartbeat_interval=args.heartbeat,
            max_seconds=args.max_seconds,
            source=args.source,
        )
    except OmibError as exc:
        print(f"omib grid worker: {exc}", file=sys.stderr)
        return 2
    return worker.run()


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["GridWorker", "main"]
