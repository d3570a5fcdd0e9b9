"""Background projections (UMAP fits) in ONE long-lived worker process, keyed, so a server never imports umap.

Importing umap (~40 s cold) and compiling its numba kernels (70-150 s on a fresh machine) hold the GIL for long
stretches: inside the Streamlit server that made every page of every user slow. ``ProjectionJobs`` therefore
runs its jobs in one spawned process (spawn, never fork: the server may hold CUDA and threads) whose environment
sets numba's on-disk kernel cache (``NUMBA_CACHE_DIR``, reused across restarts) and caps its threads
(``OMIB_UMAP_THREADS``, default 1: the server is shared); it runs at a lower priority (nice +10).

A job is a picklable module-level function and plain arguments, e.g. ``(project_snapshot, (path, "xi"))``. Jobs
wait in this process and go to the worker one at a time, so a waiting job can still be cancelled (a viewer who
drags a slider only waits for the frame they stopped on). When the worker dies (out of memory, killed), its job
fails with a ``ProjectionError`` sentence and the next job starts a fresh worker. The worker exits when the
process that started it dies.
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import multiprocessing.connection
import os
import sys
import threading
import time
import types
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, Literal

from omib_core.analysis.embedding import numba_cache_path, warm_up_umap
from omib_core.env import env_int
from omib_core.errors import OmibError, param_error

WARM_UP_KEY = ("umap warm-up",)
WORKER_NICE = 10  # the worker yields the CPU to the server: pages first, background fits with what is left
THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
WORKER_DIED = (
    "The UMAP worker process stopped before it finished (it may have run out of memory or been killed); "
    "a fresh worker starts on the next try."
)


class ProjectionError(OmibError, RuntimeError):
    """A background projection could not be computed because its worker process stopped."""


# the worker process


def worker_env() -> dict[str, str]:
    """Environment of the worker: numba's kernel cache on disk and ``OMIB_UMAP_THREADS`` (default 1) threads."""
    threads = str(env_int("OMIB_UMAP_THREADS", 1))
    return {"NUMBA_CACHE_DIR": numba_cache_path(), **dict.fromkeys(THREAD_VARS, threads)}


def _init_worker(env: dict[str, str], parent_pid: int) -> None:
    """First thing the worker runs: its environment (before numba is imported), BLAS threads, priority, and
    exit with the parent."""
    os.environ.update(env)
    if hasattr(os, "nice"):
        os.nice(WORKER_NICE)
    try:  # numpy's BLAS read its thread count when unpickling this call imported numpy: set it now
        from threadpoolctl import threadpool_limits

        threadpool_limits(int(env["OMP_NUM_THREADS"]))
    except ImportError:
        pass
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), name="parent-watch", daemon=True).start()


def _exit_with_parent(parent_pid: int) -> None:
    """End the worker once its parent is gone (the pipe from the parent closes, or we are re-parented)."""
    parent = mp.parent_process()
    sentinel = parent.sentinel if parent is not None else None
    while os.getppid() == parent_pid:
        if sentinel is None:
            time.sleep(1.0)
        elif multiprocessing.connection.wait([sentinel], timeout=1.0):
            break
    os._exit(0)


@contextmanager
def _plain_main() -> Iterator[None]:
    """Hide this process's ``__main__`` from a process being spawned, which would otherwise run it again.

    Under Streamlit ``__main__`` is the app script of the last run: a spawned worker would run the whole app
    (boot the job scheduler, start another UMAP worker). With a bare module there, spawn imports nothing.
    """
    main, plain = sys.modules.get("__main__"), types.ModuleType("__main__")
    sys.modules["__main__"] = plain
    try:
        yield
    finally:
        if sys.modules.get("__main__") is plain:  # a script run that started meanwhile keeps its own
            sys.modules["__main__"] = main


def _end_pool(pool: Executor) -> None:
    """Shut ``pool`` down now: waiting calls are cancelled and its worker processes terminated (a fit is lost)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # gone from the pool after shutdown
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        p.terminate()


# main class


class ProjectionJobs:
    """Server-wide background jobs (UMAP fits), keyed, e.g. by ``(snapshot path, array name)``. Thread-safe.

    One job runs at a time (UMAP is CPU-heavy and the server is shared); at most ``max_entries`` results are
    kept, the oldest finished ones dropped first.

    Args:
        executor: ``"process"``: one spawned worker process, started on the first job and kept (default).
            ``"thread"``: one thread of this process, for tests whose stand-ins are monkeypatched here.
        max_entries: the most futures kept.
    """

    def __init__(self, executor: Literal["process", "thread"] = "process", max_entries: int = 256) -> None:
        if executor not in ("process", "thread"):
            raise param_error("ProjectionJobs", "executor", "'process' or 'thread'", executor)
        self.executor, self.max_entries = executor, int(max_entries)
        self._futures: OrderedDict[Hashable, Future] = OrderedDict()
        self._groups: dict[Hashable, Hashable] = {}  # key -> group of jobs that may still be cancelled
        self._waiting: deque[tuple[Future, Callable[..., Any], tuple]] = deque()
        self._lock = threading.Condition()
        self._pool: Executor | None = None
        self._dispatcher: threading.Thread | None = None
        self._closed = False
        _LIVE.add(self)

    def submit(self, key: Hashable, fn: Callable[..., Any], args: tuple = (), group: Hashable | None = None) -> Future:
        """The future for ``key``, queueing ``fn(*args)`` if nothing is known for it yet.

        ``fn`` and ``args`` must pickle (a module-level function such as ``project_snapshot`` and plain values)
        for the process executor. Submitting the same key again returns the same future; a failed job is retried.
        With ``group`` (e.g. one viewer's session), jobs of that group still waiting are cancelled first.

        Raises:
            RuntimeError: after ``shutdown()``.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("These projection jobs were shut down; create a new ProjectionJobs.")
            fut = self._futures.get(key)
            if fut is not None and not fut.cancelled() and not (fut.done() and fut.exception() is not None):
                self._futures.move_to_end(key)
                return fut
            if group is not None:
                for k in [k for k, g in self._groups.items() if g == group and k != key]:
                    old = self._futures.get(k)
                    if old is not None and old.cancel():  # only a job still waiting here can be cancelled
                        del self._futures[k]
                    self._groups.pop(k, None)
            fut = Future()
            self._futures[key] = fut
            if group is not None:
                self._groups[key] = group
            self._waiting.append((fut, fn, tuple(args)))
            self._evict()
            if self._dispatcher is None:
                self._dispatcher = threading.Thread(target=self._dispatch, name="projection-jobs", daemon=True)
                self._dispatcher.start()
            self._lock.notify()
            return fut

    def warm_up(self) -> Future:
        """Queue ``warm_up_umap`` as the worker's first job (imports umap, compiles and caches numba there)."""
        return self.submit(WARM_UP_KEY, warm_up_umap)

    def get(self, key: Hashable) -> Future | None:
        with self._lock:
            return self._futures.get(key)

    def shutdown(self) -> None:
        """Cancel the waiting jobs and end the worker (a running fit fails with ``ProjectionError``)."""
        with self._lock:
            self._closed = True
            waiting, self._waiting = list(self._waiting), deque()
            pool, self._pool = self._pool, None
            self._lock.notify_all()
        for fut, _, _ in waiting:
            fut.cancel()
        if pool is not None:
            _end_pool(pool)

    # helpers

    def _evict(self) -> None:
        while len(self._futures) > self.max_entries:
            victim = next((k for k, f in self._futures.items() if f.done()), None)
            if victim is None:
                return
            del self._futures[victim]
            self._groups.pop(victim, None)

    def _new_pool(self) -> Executor:
        if self.executor == "thread":
            return ThreadPoolExecutor(max_workers=1, thread_name_prefix="projection")
        pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=mp.get_context("spawn"),
            initializer=_init_worker,
            initargs=(worker_env(), os.getpid()),
        )
        with _plain_main():
            pool.submit(int)  # starts the worker now (the pool's only spawn), while __main__ is hidden
        return pool

    def _dispatch(self) -> None:
        """The dispatcher thread: hands waiting jobs to the worker one at a time and passes their results on."""
        while (job := self._next_job()) is not None:
            fut, fn, args = job
            pool = None
            try:
                pool = self._current_pool()
                result = pool.submit(fn, *args).result()
            except BrokenProcessPool as e:  # the worker died: this job fails, the next one gets a fresh worker
                self._forget_pool(pool)
                error = ProjectionError(WORKER_DIED)
                error.__cause__ = e
                fut.set_exception(error)
            except Exception as e:  # the job's own error (e.g. a DataError sentence), raised again by fut.result()
                fut.set_exception(e)
            else:
                fut.set_result(result)

    def _next_job(self) -> tuple[Future, Callable[..., Any], tuple] | None:
        """The oldest waiting job not cancelled, marked running (blocks while none waits); None once shut down."""
        with self._lock:
            while True:
                while not self._waiting and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return None
                job = self._waiting.popleft()
                if job[0].set_running_or_notify_cancel():  # False: cancelled while it waited
                    return job

    def _current_pool(self) -> Executor:
        with self._lock:
            if self._closed:
                raise RuntimeError("These projection jobs were shut down.")
            if self._pool is None:
                self._pool = self._new_pool()
            return self._pool

    def _forget_pool(self, pool: Executor | None) -> None:
        with self._lock:
            if pool is not None and self._pool is pool:
                self._pool = None
        if pool is not None:
            _end_pool(pool)


_LIVE: weakref.WeakSet[ProjectionJobs] = weakref.WeakSet()


def _end_all() -> None:
    for jobs in list(_LIVE):
        jobs.shutdown()


# At interpreter exit concurrent.futures joins its pools, which would wait for a running fit (minutes when cold):
# end the workers first. threading's exit hooks run last-registered first, after concurrent.futures.process's own.
if hasattr(threading, "_register_atexit"):
    threading._register_atexit(_end_all)
else:  # pragma: no cover (an interpreter without it: plain atexit, which runs after the pools are joined)
    atexit.register(_end_all)
