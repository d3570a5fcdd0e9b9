"""The scheduler: the one process per run store that starts queued runs, enforces limits and recovers dead runs.

    python -m omib_core scheduler [--interval 1.0]

A lease row in the store (``scheduler_lease``: holder id, host, pid, expiry) guarantees one active scheduler per
store. It is taken in a ``BEGIN IMMEDIATE`` transaction and renewed every ``RENEW_EVERY`` seconds; a scheduler that
cannot renew it (it stalled past the expiry and another took over) stops scheduling at once. A lease whose expiry
passed is free, and so is one whose holder ran on this host and whose pid is gone (a restart after a crash need
not wait). Claiming a queued run stays a single conditional UPDATE (``RunStore.claim``), so even two schedulers
could never start the same run twice; the lease keeps the limits and the fair order coherent.

The web app (``python -m dashboard.serve``, ``services.jobs()``) calls ``shared_manager``: it starts an embedded
scheduler in a background thread when no live lease is held (``make run`` needs no second command), and otherwise
only reads and writes the store (submit, control, reads), leaving the queue to the scheduler that holds the lease.
``OMIB_SCHEDULER=external`` makes a web replica never start one (several replicas behind a load balancer).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from omib_core.env import env_bool, env_text
from omib_core.errors import ConfigError, OmibError
from omib_core.runs.jobs import JobManager, pid_alive
from omib_core.runs.ray_backend import backend_from_env
from omib_core.runs.store import RunStore

log = logging.getLogger(__name__)

LEASE_TTL = 15.0  # seconds a lease lives without renewal
RENEW_EVERY = 3.0  # seconds between renewals (well inside the TTL: a busy tick cannot lose it)
SCHEDULER_MODES = ("auto", "external")


class SchedulerBusy(OmibError, RuntimeError):
    """Another scheduler holds the store's lease."""


# helpers


def _when(ts: float) -> str:
    return datetime.fromtimestamp(float(ts), tz=UTC).strftime("%H:%M:%S UTC")


def lease_message(store: RunStore, lease: Mapping[str, Any]) -> str:
    """The sentence of a scheduler refused because another one holds the lease."""
    left = max(0.0, float(lease["expires_at"]) - time.time())
    return (
        f"Another scheduler already runs the queue of {store.path}: {lease['holder']} (pid {lease['pid']} on host "
        f"{lease['host']}) holds the lease until {_when(lease['expires_at'])} (in {left:.0f} s unless it renews it). "
        "Use that one, or stop it and start this one again (a crashed scheduler's lease frees itself when it expires)."
    )


def holder_gone(lease: Mapping[str, Any]) -> bool:
    """Whether a lease's holder ran on this host and its process no longer exists."""
    return lease["host"] == socket.gethostname() and not pid_alive(int(lease["pid"]))


def live_lease(store: RunStore) -> dict[str, Any] | None:
    """The lease when a live scheduler holds it (not expired, holder not known dead), else None."""
    lease = store.read_lease()
    if lease is None or float(lease["expires_at"]) <= time.time() or holder_gone(lease):
        return None
    return lease


def scheduler_mode() -> str:
    """``$OMIB_SCHEDULER``: ``auto`` (default: embed one when none holds the lease) or ``external`` (never embed)."""
    mode = env_text("OMIB_SCHEDULER").lower() or "auto"
    if mode not in SCHEDULER_MODES:
        raise ConfigError(
            f"The environment variable OMIB_SCHEDULER must be one of {SCHEDULER_MODES}. Got {mode!r} instead."
        )
    return mode


# main class


class SchedulerLease:
    """The store's scheduler lease as held by this process.

    Args:
        store: the run store.
        ttl: seconds the lease lives without renewal.
        renew_every: seconds between renewals (``renew_if_due``).
    """

    def __init__(self, store: RunStore, ttl: float = LEASE_TTL, renew_every: float = RENEW_EVERY) -> None:
        self.store, self.ttl, self.renew_every = store, float(ttl), float(renew_every)
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.holder = f"scheduler-{self.host}-{self.pid}-{uuid.uuid4().hex[:6]}"
        self.held = False
        self._renewed = 0.0

    def acquire(self) -> None:
        """Take the lease, or raise ``SchedulerBusy`` with a sentence naming the holder and its expiry."""
        lease = self.store.acquire_lease(self.holder, self.host, self.pid, self.ttl, is_gone=holder_gone)
        if lease is not None:
            raise SchedulerBusy(lease_message(self.store, lease))
        self.held, self._renewed = True, time.monotonic()
        log.info("scheduler lease of %s taken by %s", self.store.path, self.holder)

    def renew_if_due(self) -> bool:
        """Renew when ``renew_every`` passed; False once the lease is lost (stop scheduling then)."""
        if not self.held:
            return False
        if time.monotonic() - self._renewed < self.renew_every:
            return True
        if not self.store.renew_lease(self.holder, self.ttl):
            self.held = False
            log.error("scheduler lease of %s lost (another scheduler took it); this one stops", self.store.path)
            return False
        self._renewed = time.monotonic()
        return True

    def release(self) -> None:
        """Give the lease up (idempotent)."""
        if self.held:
            self.held = False
            try:
                self.store.release_lease(self.holder)
            except Exception:
                log.exception("could not release the scheduler lease (it expires by itself)")


# the process-wide manager of a web server

_SHARED: JobManager | None = None
_SHARED_LOCK = threading.Lock()


def shared_manager(store: RunStore | None = None, interval: float = 1.0) -> JobManager:
    """The one ``JobManager`` of this process; it embeds the scheduler when no other process holds the lease.

    The server launcher (``python -m dashboard.serve``) calls it before Streamlit starts, so runs left ``running``
    by a previous server are marked interrupted and the queue moves without waiting for a page load; the app's
    ``services.jobs()`` then gets the same object. When a live lease is held elsewhere (``python -m omib_core
    scheduler``, or another replica's embedded one), or ``OMIB_SCHEDULER=external``, the manager only submits,
    controls and reads. ``store`` defaults to the run store of ``$OMIB_DATA_DIR``. Asked for another store than the
    shared manager's (tests that switch data dirs), the old manager's scheduler is stopped and a new one takes its
    place: never two schedulers in one process.
    """
    global _SHARED
    with _SHARED_LOCK:
        if store is None:
            from omib_core.paths import db_path

            store = RunStore(db_path()) if _SHARED is None else _SHARED.store
        if _SHARED is not None and _SHARED.store.path.resolve() != Path(store.path).resolve():
            log.warning("the shared job manager moves from %s to %s", _SHARED.store.path, store.path)
            _SHARED.stop_background()
            _SHARED = None
        if _SHARED is None:
            manager = JobManager(store, ray=backend_from_env(), warm=env_bool("OMIB_WARM_WORKERS", True))
            start_embedded(manager, interval)
            _SHARED = manager
        return _SHARED


def start_embedded(manager: JobManager, interval: float = 1.0) -> bool:
    """Start ``manager``'s scheduler thread under the lease when it is free and the mode allows; True when started."""
    if scheduler_mode() == "external":
        log.info("OMIB_SCHEDULER=external: this server only submits and reads; a scheduler process runs the queue")
        return False
    lease = SchedulerLease(manager.store)
    try:
        lease.acquire()
    except SchedulerBusy as exc:
        log.info("no embedded scheduler: %s", exc)
        return False
    manager.lease = lease
    manager.recover()
    manager.start_background(interval=interval)
    return True


def get_shared() -> JobManager | None:
    """The process-wide manager when ``shared_manager`` has created one, else None."""
    return _SHARED


def run_scheduler(store: RunStore | None = None, interval: float = 1.0, manager: JobManager | None = None) -> int:
    """``python -m omib_core scheduler``: take the lease, then schedule until SIGTERM/SIGINT or the lease is lost.

    Raises:
        SchedulerBusy: another scheduler holds the lease (the CLI prints the sentence and exits 1).
    """
    if manager is None:
        if store is None:
            from omib_core.paths import db_path

            store = RunStore(db_path())
        manager = JobManager(store, ray=backend_from_env(), warm=env_bool("OMIB_WARM_WORKERS", True))
    lease = SchedulerLease(manager.store)
    lease.acquire()
    manager.lease = lease
    halt = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: halt.set())
    try:
        slots = f"up to {manager.max_concurrent} runs at once"
    except OmibError as exc:  # a Ray cluster that does not answer yet: the queue waits for it
        slots = str(exc)
    print(
        f"omib scheduler: {lease.holder} runs the queue of {manager.store.path} ({slots}; backend "
        f"{manager.backend_name}); Ctrl+C stops it.",
        flush=True,
    )
    manager.recover()
    thread = manager.start_background(interval=interval)
    while not halt.wait(0.5):
        if not thread.is_alive():  # the loop ends when the lease is lost
            manager.stop_background()
            print("omib scheduler: the lease was lost to another scheduler; exiting.", flush=True)
            return 1
    manager.stop_background()
    return 0
