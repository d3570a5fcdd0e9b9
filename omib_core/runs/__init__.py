"""Runs: the SQLite run store, the job launcher, the worker process and the result recorder.

The worker itself (``omib_core.runs.worker``) is not imported here: it is started as
``python -m omib_core.runs.worker``.
"""

from omib_core.paths import (
    InvalidRunId,
    cache_dir,
    data_dir,
    db_path,
    new_run_id,
    run_dir,
    uploads_dir,
    validate_run_id,
)
from omib_core.run_states import ACTIVE, STATUSES, TERMINAL, TRANSITIONS
from omib_core.runs.jobs import JobManager, QueueFull, fair_order, pid_alive
from omib_core.runs.recorder import Recorder, event_type, events_to_rows, jsonable, write_json
from omib_core.runs.store import (
    ACTIONS,
    PermissionDenied,
    RunNotFound,
    RunStateError,
    RunStore,
)

__all__ = [
    "ACTIONS",
    "ACTIVE",
    "STATUSES",
    "TERMINAL",
    "TRANSITIONS",
    "InvalidRunId",
    "JobManager",
    "PermissionDenied",
    "QueueFull",
    "Recorder",
    "RunNotFound",
    "RunStateError",
    "RunStore",
    "cache_dir",
    "data_dir",
    "db_path",
    "event_type",
    "events_to_rows",
    "fair_order",
    "jsonable",
    "new_run_id",
    "pid_alive",
    "run_dir",
    "uploads_dir",
    "validate_run_id",
    "write_json",
]
