"""The run store: one SQLite file in WAL mode, the single truth about runs.

Writers are worker processes (metrics, status, heartbeat) and the server (submissions, control requests);
readers are the pages, which poll. WAL lets readers run beside one writer; ``busy_timeout`` makes writers wait
for each other instead of failing, and every write transaction starts with ``BEGIN IMMEDIATE`` so a writer
takes the lock up front (a read transaction upgraded to a write one can fail without waiting).

Each thread (and process) gets its own connection. All SQL of the package lives in this file; user values
only ever travel as parameters. Non-finite metric values are stored as NULL with ``finite = 0``.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omib_core import run_states as states
from omib_core.errors import OmibError
from omib_core.paths import new_run_id, run_dir, validate_run_id
from omib_core.run_states import ACTIVE, STATUSES, TERMINAL
from omib_core.runs.recorder import jsonable

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = 1
KINDS = ("train", "bound")
ACTIONS = ("pause", "resume", "step", "stop")
ARTIFACT_KINDS = ("snapshot", "checkpoint", "result", "history", "log")
METRIC_COLUMNS = ["id", "kind", "stage", "step", "epoch", "name", "value", "finite", "t"]
HEARTBEAT_TIMEOUT = 30.0
INTERRUPTED_MESSAGE = (
    "The worker process of this run stopped unexpectedly (server restart, crash or kill); the metrics saved "
    "before that are kept. Start a new run from this run's config to train it again."
)

# Columns a caller may set through update_run / set_status; JSON columns take dicts. The status changes only
# through set_status, which checks the move against omib_core.run_states.TRANSITIONS.
_UPDATABLE = {
    "started_at",
    "ended_at",
    "error",
    "pid",
    "heartbeat",
    "control",
    "control_at",
    "epoch",
    "step",
    "total_epochs",
    "eta_seconds",
    "device",
}
_JSON_FIELDS = {"summary": "summary_json", "result": "result_json"}

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ({states.sql_list(KINDS)})),
    name TEXT NOT NULL,
    owner TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    status TEXT NOT NULL {states.sql_check("status")},
    config_json TEXT NOT NULL,
    dataset TEXT,
    summary_json TEXT,
    result_json TEXT,
    error TEXT,
    pid INTEGER,
    heartbeat REAL,
    control TEXT CHECK (control IS NULL OR control IN ({states.sql_list(ACTIONS)})),
    control_at REAL,
    sweep_id TEXT,
    grid_id TEXT,
    paused_at REAL,
    paused_seconds REAL,
    epoch INTEGER,
    step INTEGER,
    total_epochs INTEGER,
    eta_seconds REAL,
    device TEXT
);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
CREATE INDEX IF NOT EXISTS runs_owner ON runs (owner);
CREATE INDEX IF NOT EXISTS runs_sweep ON runs (sweep_id);
CREATE TABLE IF NOT EXISTS metrics (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    stage TEXT,
    step INTEGER,
    epoch INTEGER,
    name TEXT NOT NULL,
    value REAL,
    finite INTEGER NOT NULL,
    t REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics (run_id, id);
CREATE INDEX IF NOT EXISTS metrics_run_name ON metrics (run_id, name, id);
CREATE TABLE IF NOT EXISTS artifacts (
    run_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    epoch INTEGER,
    path TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS artifacts_run ON artifacts (run_id);
CREATE TABLE IF NOT EXISTS scheduler_lease (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    acquired_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
"""


# errors


class PermissionDenied(OmibError, PermissionError):
    """A user asked to control or delete a run that is not theirs."""


class RunNotFound(OmibError, LookupError):
    """No run has this id."""


class RunStateError(OmibError, ValueError):
    """The run's status does not allow the request (e.g. pausing a finished run)."""


class QueueFull(OmibError, ValueError):
    """A user already has as many queued runs as the server allows."""


class StoreFull(OmibError, OSError):
    """The run store could not write because its disk (or the database's page limit) is full."""


# helpers


def _require_run(c: sqlite3.Connection, run_id: str) -> None:
    """Raise ``RunNotFound`` when the run row is gone (inside the writer's transaction, so a delete cannot slip in)."""
    if c.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
        raise RunNotFound(f"Run {run_id} was deleted; nothing more is recorded for it.")


def _placeholders(n: int) -> str:
    return ", ".join("?" * n)


def _as_tuple(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


def _metric_value(value: Any) -> tuple[float | None, int]:
    """(stored value, finite flag): NaN/inf/None become NULL with finite = 0."""
    if value is None:
        return None, 0
    v = float(value)
    return (v, 1) if math.isfinite(v) else (None, 0)


def _decode_run(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    for key, col in (("config", "config_json"), *_JSON_FIELDS.items()):
        raw = d.pop(col)
        d[key] = json.loads(raw) if raw else None
    return d


FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def is_disk_full(exc: BaseException) -> bool:
    """Whether an exception says the disk (or quota, or the database's page limit) is full."""
    if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
        return True
    text = str(exc).lower()
    return isinstance(exc, (sqlite3.OperationalError, OSError, RuntimeError)) and any(
        s in text for s in ("database or disk is full", "no space left on device", "disk quota exceeded")
    )


def queue_full_message(count: int) -> str:
    """The sentence of a submission refused by the per-user queue limit."""
    return (
        f"You already have {count} queued runs, the most this server allows (OMIB_MAX_QUEUED_PER_USER); wait for "
        "some to start or stop a few, then submit again."
    )


def _check_permission(run: Mapping[str, Any], user: str, is_admin: bool, verb: str) -> None:
    if is_admin or run["owner"] == user:
        return
    raise PermissionDenied(
        f"Only the owner of run {run['id']} or an admin can {verb} it, and you are signed in as {user!r}. "
        "Ask its owner, or start your own run from its config."
    )


# main class


class RunStore:
    """Runs, their metric history and their artifacts, in one SQLite file.

    Args:
        path: the database file (created with its folder when missing).
        data_dir: folder holding ``runs/<run_id>/``; default: the database's folder.
        busy_timeout: seconds a writer waits for the lock before failing.

    A ``RunStore`` may be shared between threads (each gets its own connection) and pickled into another
    process (which opens its own connections).
    """

    def __init__(self, path: str | Path, data_dir: str | Path | None = None, busy_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.data_dir = Path(data_dir) if data_dir is not None else self.path.parent
        self.busy_timeout = float(busy_timeout)
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._init_schema()

    # connections

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "data_dir": self.data_dir, "busy_timeout": self.busy_timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (a new one after a fork or in a new thread)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = self._connect()
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the write lock at once (waits up to busy_timeout)."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # SQLite already rolled back after some errors (SQLITE_FULL, SQLITE_IOERR)
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _init_schema(self) -> None:
        conn = self._conn()
        for attempt in range(50):  # switching to WAL needs a moment alone with the file
            try:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError:
                if attempt == 49:
                    raise
                time.sleep(0.1)
        if str(mode).lower() != "wal":
            raise OmibError(f"The run store {self.path} could not switch to WAL mode (got {mode!r}); use a local disk.")
        with self._tx() as c:
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    c.execute(stmt)
            columns = {r[1] for r in c.execute("PRAGMA table_info(runs)").fetchall()}
            for col, kind in (("grid_id", "TEXT"), ("paused_at", "REAL"), ("paused_seconds", "REAL")):
                if col not in columns:  # a store written before grids / pause accounting (NULL for its runs)
                    c.execute(f"ALTER TABLE runs ADD COLUMN {col} {kind}")
            c.execute("CREATE INDEX IF NOT EXISTS runs_grid ON runs (grid_id)")
            row = c.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                c.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                raise OmibError(
                    f"The run store {self.path} was written by a newer OMIB Studio (schema {row[0]}, this one reads "
                    f"{SCHEMA_VERSION}); upgrade, or point OMIB_DATA_DIR at another folder."
                )

    # runs

    def run_dir(self, run_id: str) -> Path:
        """Folder of a run under this store's data dir (validated id, not created)."""
        return run_dir(run_id, self.data_dir)

    def create_run(
        self,
        config: Mapping[str, Any],
        owner: str,
        name: str,
        kind: str = "train",
        sweep_id: str | None = None,
        max_queued: int | None = None,
        grid_id: str | None = None,
    ) -> str:
        """Store a new queued run and return its server-generated id.

        Args:
            config: a ``RunConfig`` dict (validate it first: the store does not).
            owner: who may control and delete it (stored as given).
            name: display name (stored as given).
            kind: ``"train"`` or ``"bound"``.
            sweep_id: groups the runs of one sweep.
            grid_id: the runs of one grid job: one worker trains them together (``omib_core.runs.grid_worker``).
            max_queued: refuse (``QueueFull``) when ``owner`` already has this many queued runs. The count and the
                insert happen in one write transaction, so concurrent submissions cannot overshoot the limit.

        Raises:
            QueueFull: over ``max_queued``.
            StoreFull: the database's disk is full (nothing was stored).
        """
        return self.create_runs([(config, name)], owner, kind, sweep_id, max_queued, grid_id)[0]

    def create_runs(
        self,
        items: Sequence[tuple[Mapping[str, Any], str]],
        owner: str,
        kind: str = "train",
        sweep_id: str | None = None,
        max_queued: int | None = None,
        grid_id: str | None = None,
    ) -> list[str]:
        """Store several queued runs in one transaction (all or none), e.g. the members of a grid job, which a
        scheduler must never see half inserted; arguments as ``create_run``."""
        if kind not in KINDS:
            raise OmibError(f"The run kind must be one of {KINDS}. Got {kind!r} instead.")
        rows = []
        for config, name in items:
            dataset = (config.get("data") or {}).get("dataset")
            rows.append((new_run_id(), str(name), json.dumps(jsonable(config)), dataset))
        try:
            with self._tx() as c:
                if max_queued is not None:
                    sql = "SELECT COUNT(*) FROM runs WHERE owner = ? AND status = ?"
                    count = int(c.execute(sql, (str(owner), states.QUEUED)).fetchone()[0])
                    if count + len(rows) > max_queued:
                        raise QueueFull(queue_full_message(count))
                now = time.time()
                for run_id, name, payload, dataset in rows:
                    c.execute(
                        "INSERT INTO runs (id, kind, name, owner, created_at, status, config_json, dataset, sweep_id, "
                        "grid_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (run_id, kind, name, str(owner), now, states.QUEUED, payload, dataset, sweep_id, grid_id),
                    )
        except (sqlite3.OperationalError, OSError) as exc:
            if isinstance(exc, OmibError) or not is_disk_full(exc):
                raise
            raise StoreFull(
                f"The run was not queued: the disk holding the run store ({self.path.parent}) is full. Free space "
                "there (delete old runs or uploads) or ask the admin, then submit again."
            ) from None
        return [r[0] for r in rows]

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """One run as a dict (``config``, ``summary``, ``result`` decoded from JSON), or None."""
        row = self._conn().execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _decode_run(row) if row else None

    def require_run(self, run_id: str) -> dict[str, Any]:
        """Like ``get_run`` but raises ``RunNotFound`` with a sentence when there is none."""
        run = self.get_run(run_id)
        if run is None:
            raise RunNotFound(
                f"There is no run with id {run_id!r}; it may have been deleted. Pick one on the runs page."
            )
        return run

    def list_runs(
        self,
        owner: str | None = None,
        status: str | Sequence[str] | None = None,
        sweep_id: str | None = None,
        kind: str | None = None,
        limit: int | None = None,
        oldest_first: bool = False,
        grid_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Runs matching every given filter, newest first (or oldest first). ``status`` may be a list."""
        where, params = [], []
        for col, value in (("owner", owner), ("sweep_id", sweep_id), ("kind", kind), ("grid_id", grid_id)):
            if value is not None:
                where.append(f"{col} = ?")
                params.append(value)
        statuses = _as_tuple(status)
        if statuses is not None:
            where.append(f"status IN ({_placeholders(len(statuses))})")
            params.extend(statuses)
        sql = "SELECT * FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at, rowid" if oldest_first else " ORDER BY created_at DESC, rowid DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [_decode_run(r) for r in self._conn().execute(sql, params).fetchall()]

    def last_started(self) -> dict[str, float]:
        """Owner -> the most recent ``started_at`` of any of their runs (owners who never started one are absent)."""
        rows = (
            self._conn()
            .execute("SELECT owner, MAX(started_at) FROM runs WHERE started_at IS NOT NULL GROUP BY owner")
            .fetchall()
        )
        return {r[0]: float(r[1]) for r in rows}

    def update_run(self, run_id: str, *, only_from: Sequence[str] | None = None, **fields: Any) -> bool:
        """Set columns of a run; ``summary`` / ``result`` take dicts. Returns False when no row changed.

        Args:
            only_from: apply only while the run's status is one of these (a compare-and-set).

        The status itself changes only through ``set_status``.
        """
        if "status" in fields:
            raise OmibError("A run's status changes only through RunStore.set_status, which checks the move.")
        with self._tx() as c:
            return self._update(c, run_id, only_from, fields)

    def _update(self, c: sqlite3.Connection, run_id: str, only_from: Sequence[str] | None, fields: dict) -> bool:
        sets, params = [], []
        for key, value in fields.items():
            if key in _JSON_FIELDS:
                key, value = _JSON_FIELDS[key], None if value is None else json.dumps(jsonable(value))
            elif key not in _UPDATABLE and key != "status":
                raise OmibError(f"Run column {key!r} cannot be updated; allowed are {sorted(_UPDATABLE)}.")
            sets.append(f"{key} = ?")
            params.append(value)
        if not sets:
            return True
        sql = f"UPDATE runs SET {', '.join(sets)} WHERE id = ?"
        params.append(run_id)
        if only_from is not None:
            sql += f" AND status IN ({_placeholders(len(only_from))})"
            params.extend(only_from)
        return c.execute(sql, params).rowcount > 0

    def set_status(self, run_id: str, status: str, *, only_from: Sequence[str] | None = None, **fields: Any) -> bool:
        """Move a run to ``status`` (and set other columns), the one way a run's status changes.

        The move must be in ``run_states.TRANSITIONS``. The update is conditional (``WHERE status IN`` the allowed
        sources), so a run that moved meanwhile (e.g. it finished while being stopped) is left alone.

        Args:
            only_from: the states the caller expects the run in; a run found in another one is left alone and
                False returned (a compare-and-set). Without it, a run whose status cannot move to ``status``
                raises ``RunStateError``.

        Entering ``running`` stamps ``started_at`` once; entering a terminal status stamps ``ended_at`` and
        clears any pending control request (``control`` and ``control_at``). Entering ``paused`` stamps
        ``paused_at``; leaving it adds the pause to ``paused_seconds`` (a run's duration leaves its pauses out).
        Returns whether the run moved (False also when it does not exist).

        Raises:
            RunStateError: ``only_from`` names a state that cannot move to ``status``, or (without ``only_from``)
                the run's status cannot.
        """
        with self._tx() as c:
            return self._set_status(c, run_id, status, only_from, fields)

    def _set_status(
        self, c: sqlite3.Connection, run_id: str, status: str, only_from: Sequence[str] | None, fields: dict
    ) -> bool:
        """``set_status`` inside the caller's write transaction."""
        states.check_status(status)
        froms = states.sources(status)
        if only_from is not None:
            wrong = [s for s in only_from if s not in froms]
            if wrong:
                raise RunStateError(
                    f"A run cannot move from {', '.join(map(str, wrong))} to {status}; it can reach {status} only "
                    f"from {', '.join(froms) or 'no other state'}."
                )
            froms = tuple(s for s in froms if s in only_from)
        now = time.time()
        if status == states.RUNNING:
            sql = "UPDATE runs SET started_at = COALESCE(started_at, ?) WHERE id = ? AND status IN ({})"
            c.execute(sql.format(_placeholders(len(froms))), (now, run_id, *froms))
        if status in TERMINAL:
            fields = {"ended_at": now, "control": None, "control_at": None, **fields}
        changed = self._update(c, run_id, froms, {"status": status, **fields})
        if changed and status == states.PAUSED:
            c.execute("UPDATE runs SET paused_at = ? WHERE id = ? AND paused_at IS NULL", (now, run_id))
        elif changed:
            c.execute(
                "UPDATE runs SET paused_seconds = COALESCE(paused_seconds, 0) + MAX(0, ? - paused_at), "
                "paused_at = NULL WHERE id = ? AND paused_at IS NOT NULL",
                (now, run_id),
            )
        elif only_from is None:
            row = c.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is not None:
                raise RunStateError(f"Run {run_id} is {row[0]}, so it cannot become {status}.")
        return changed

    def claim(self, run_id: str) -> bool:
        """Move a queued run to running for a launcher (compare-and-set); False when it is no longer queued."""
        now = time.time()
        return self.set_status(run_id, states.RUNNING, only_from=(states.QUEUED,), heartbeat=now)

    def heartbeat(self, run_id: str) -> None:
        """Record that the run's worker is alive now."""
        with self._tx() as c:
            c.execute("UPDATE runs SET heartbeat = ? WHERE id = ?", (time.time(), run_id))

    # control

    def request_control(self, run_id: str, action: str, user: str, is_admin: bool = False) -> str:
        """Ask a run's worker to pause, resume, step (one epoch, then pause) or stop.

        Only the owner or an admin may. Stopping a queued run cancels it at once. Returns the run's status
        after the request.

        Raises:
            RunNotFound, PermissionDenied, RunStateError: with a sentence for the user.
        """
        if action not in ACTIONS:
            raise OmibError(f"The control action must be one of {ACTIONS}. Got {action!r} instead.")
        with self._tx() as c:
            row = c.execute("SELECT id, owner, status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise RunNotFound(f"There is no run with id {run_id!r}; it may have been deleted.")
            _check_permission(row, user, is_admin, action)
            status = row["status"]
            if status in TERMINAL:
                raise RunStateError(f"Run {run_id} is already {status}, so there is nothing to {action}.")
            if status == states.QUEUED and action == "stop":
                self._set_status(c, run_id, states.STOPPED, (states.QUEUED,), {})
                return states.STOPPED
            c.execute("UPDATE runs SET control = ?, control_at = ? WHERE id = ?", (action, time.time(), run_id))
            return status

    def take_control(self, run_id: str) -> str | None:
        """For the worker: the pending control action, cleared as it is read (None when there is none)."""
        row = self._conn().execute("SELECT control FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None or row[0] is None:
            return None
        with self._tx() as c:
            row = c.execute("SELECT control FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None or row[0] is None:
                return None
            c.execute("UPDATE runs SET control = NULL, control_at = NULL WHERE id = ?", (run_id,))
            return row[0]

    def pending_controls(self, run_ids: Sequence[str]) -> dict[str, str | None]:
        """For a grid worker: ``{run id: pending control or None}`` of these runs in one read (a deleted run is
        absent); take each with ``take_control``."""
        if not run_ids:
            return {}
        sql = f"SELECT id, control FROM runs WHERE id IN ({_placeholders(len(run_ids))})"
        return {r[0]: r[1] for r in self._conn().execute(sql, list(run_ids)).fetchall()}

    def delete_run(self, run_id: str, user: str, is_admin: bool = False) -> None:
        """Delete a run's rows and its folder. Owner or admin only; a running or paused run must be stopped first."""
        folder = self.run_dir(run_id)
        with self._tx() as c:
            row = c.execute("SELECT id, owner, status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise RunNotFound(f"There is no run with id {run_id!r}; it may already have been deleted.")
            _check_permission(row, user, is_admin, "delete")
            if row["status"] in ACTIVE:
                raise RunStateError(f"Run {run_id} is {row['status']}; stop it first, then delete it.")
            for table in ("metrics", "artifacts"):
                c.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            c.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        shutil.rmtree(folder, ignore_errors=True)

    def mark_interrupted(
        self, is_alive: Callable[[int], bool] | None = None, timeout: float = HEARTBEAT_TIMEOUT
    ) -> list[str]:
        """Mark running/paused runs whose worker is gone as ``interrupted``; their metrics are kept.

        A worker is gone when ``is_alive(pid)`` says so, or when its heartbeat is older than ``timeout``
        seconds (or missing). Returns the ids marked.
        """
        now = time.time()
        sql = f"SELECT id, pid, heartbeat FROM runs WHERE status IN ({_placeholders(len(ACTIVE))})"
        rows = self._conn().execute(sql, ACTIVE).fetchall()
        gone = []
        for r in rows:
            dead = r["pid"] is not None and is_alive is not None and not is_alive(int(r["pid"]))
            stale = r["heartbeat"] is None or now - float(r["heartbeat"]) > timeout
            if dead or stale:
                gone.append(r["id"])
        marked = []
        for run_id in gone:
            if self.set_status(run_id, states.INTERRUPTED, only_from=ACTIVE, error=INTERRUPTED_MESSAGE):
                marked.append(run_id)
        return marked

    # metrics

    def append_metrics(
        self, run_id: str, rows: Iterable[Mapping[str, Any]], run_update: Mapping[str, Any] | None = None
    ) -> int:
        """Append metric rows in one transaction (with an optional ``update_run`` in the same one).

        Each row: ``name``, ``value`` and optionally ``kind`` ('step'|'epoch', default 'step'), ``stage``,
        ``step``, ``epoch``, ``t`` (unix time, default now). Returns the number of rows written.

        Raises:
            RunNotFound: the run was deleted (a late worker must not leave orphan rows); nothing is written.
        """
        now = time.time()
        params = []
        for r in rows:
            value, finite = _metric_value(r.get("value"))
            params.append(
                (
                    run_id,
                    r.get("kind", "step"),
                    r.get("stage"),
                    r.get("step"),
                    r.get("epoch"),
                    str(r["name"]),
                    value,
                    finite,
                    r.get("t", now),
                )
            )
        if not params and not run_update:
            return 0
        with self._tx() as c:
            _require_run(c, run_id)
            c.executemany(
                "INSERT INTO metrics (run_id, kind, stage, step, epoch, name, value, finite, t) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params,
            )
            if run_update:
                self._update(c, run_id, None, dict(run_update))
        return len(params)

    def read_metrics(
        self,
        run_id: str,
        after_id: int = 0,
        names: Sequence[str] | None = None,
        kind: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Metric rows with ``id > after_id`` in id order, as a DataFrame with ``METRIC_COLUMNS``.

        Poll incrementally by passing the largest ``id`` seen so far. ``value`` is NaN where ``finite`` is False.
        """
        import pandas as pd

        sql = "SELECT id, kind, stage, step, epoch, name, value, finite, t FROM metrics WHERE run_id = ? AND id > ?"
        params: list[Any] = [run_id, int(after_id)]
        if names is not None:
            names = list(names)
            sql += f" AND name IN ({_placeholders(len(names))})"
            params.extend(names)
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        rows = self._conn().execute(sql, params).fetchall()
        df = pd.DataFrame([tuple(r) for r in rows], columns=METRIC_COLUMNS)
        df["value"] = pd.to_numeric(df["value"], errors="coerce").astype("float64")
        df["finite"] = df["finite"].astype(bool)
        return df

    def latest_metrics(self, run_id: str, kind: str | None = None) -> dict[str, float | None]:
        """The last value of every metric of a run (None where it was not finite)."""
        sub = "SELECT MAX(id) FROM metrics WHERE run_id = ?"
        params: list[Any] = [run_id]
        if kind is not None:
            sub += " AND kind = ?"
            params.append(kind)
        sub += " GROUP BY name"
        rows = self._conn().execute(f"SELECT name, value FROM metrics WHERE id IN ({sub}) ORDER BY name", params)
        return {r["name"]: r["value"] for r in rows.fetchall()}

    def metric_names(self, run_id: str) -> list[str]:
        """The distinct metric names of a run, sorted."""
        rows = self._conn().execute("SELECT DISTINCT name FROM metrics WHERE run_id = ? ORDER BY name", (run_id,))
        return [r[0] for r in rows.fetchall()]

    # artifacts

    def add_artifact(self, run_id: str, kind: str, path: str | Path, epoch: int | None = None) -> None:
        """Record a file of a run; paths inside the data dir are stored relative to it."""
        if kind not in ARTIFACT_KINDS:
            raise OmibError(f"The artifact kind must be one of {ARTIFACT_KINDS}. Got {kind!r} instead.")
        p = Path(path)
        try:
            stored = str(p.resolve().relative_to(self.data_dir.resolve()))
        except ValueError:
            stored = str(p)
        with self._tx() as c:
            _require_run(c, run_id)
            c.execute(
                "INSERT INTO artifacts (run_id, kind, epoch, path, created_at) VALUES (?, ?, ?, ?, ?)",
                (run_id, kind, epoch, stored, time.time()),
            )

    def list_artifacts(self, run_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """A run's artifacts, oldest first, each with an absolute ``path``."""
        sql = "SELECT run_id, kind, epoch, path, created_at FROM artifacts WHERE run_id = ?"
        params: list[Any] = [run_id]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        out = []
        for r in self._conn().execute(sql + " ORDER BY rowid", params).fetchall():
            d = dict(r)
            d["path"] = str(self.data_dir / d["path"])  # an absolute stored path stays as it is
            out.append(d)
        return out

    # the scheduler's lease

    def read_lease(self) -> dict[str, Any] | None:
        """The scheduler lease row (``holder``, ``host``, ``pid``, ``acquired_at``, ``expires_at``), or None."""
        row = self._conn().execute("SELECT * FROM scheduler_lease WHERE name = 'scheduler'").fetchone()
        return dict(row) if row else None

    def acquire_lease(
        self, holder: str, host: str, pid: int, ttl: float, is_gone: Callable[[Mapping[str, Any]], bool] | None = None
    ) -> dict[str, Any] | None:
        """Take the one scheduler lease of this store; returns None when taken, else the live lease that refused it.

        The read and the write are one ``BEGIN IMMEDIATE`` transaction, so two schedulers asking at once cannot
        both win. A lease is free when there is none, it expired, it is this holder's, or ``is_gone(lease)`` says
        its holder is dead (same host, pid gone: a restart after a crash need not wait for the expiry).
        """
        now = time.time()
        with self._tx() as c:
            row = c.execute("SELECT * FROM scheduler_lease WHERE name = 'scheduler'").fetchone()
            lease = dict(row) if row else None
            if lease and lease["holder"] != holder and lease["expires_at"] > now and not (is_gone and is_gone(lease)):
                return lease
            c.execute(
                "INSERT OR REPLACE INTO scheduler_lease (name, holder, host, pid, acquired_at, expires_at) "
                "VALUES ('scheduler', ?, ?, ?, ?, ?)",
                (holder, host, int(pid), now, now + float(ttl)),
            )
        return None

    def renew_lease(self, holder: str, ttl: float) -> bool:
        """Push the lease's expiry ``ttl`` seconds ahead; False when ``holder`` no longer holds it (a single UPDATE)."""
        with self._tx() as c:
            sql = "UPDATE scheduler_lease SET expires_at = ? WHERE name = 'scheduler' AND holder = ?"
            return c.execute(sql, (time.time() + float(ttl), holder)).rowcount > 0

    def release_lease(self, holder: str) -> None:
        """Give the lease up (a clean shutdown), so the next scheduler need not wait for its expiry."""
        with self._tx() as c:
            c.execute("DELETE FROM scheduler_lease WHERE name = 'scheduler' AND holder = ?", (holder,))

    # maintenance

    def integrity_check(self) -> bool:
        """True when SQLite's ``PRAGMA integrity_check`` reports ``ok``."""
        rows = self._conn().execute("PRAGMA integrity_check").fetchall()
        return len(rows) == 1 and rows[0][0] == "ok"

    def journal_mode(self) -> str:
        """The database's journal mode (``'wal'``)."""
        return str(self._conn().execute("PRAGMA journal_mode").fetchone()[0]).lower()


__all__ = [
    "ACTIONS",
    "ACTIVE",
    "KINDS",
    "STATUSES",
    "TERMINAL",
    "PermissionDenied",
    "QueueFull",
    "RunNotFound",
    "RunStateError",
    "RunStore",
    "StoreFull",
    "is_disk_full",
    "validate_run_id",
]
