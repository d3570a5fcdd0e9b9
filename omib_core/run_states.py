"""Run states and the moves between them: the one table every status check and SQL literal comes from.

A run is queued, then a worker takes it (running, paused), then it ends. ``interrupted`` is the one end that
may still move: the launcher marks a run whose worker looked gone, and a late worker may still report it.
"""

from __future__ import annotations

from collections.abc import Iterable

from omib_core.errors import OmibError

QUEUED = "queued"
RUNNING = "running"
PAUSED = "paused"
FINISHED = "finished"
FAILED = "failed"
STOPPED = "stopped"
INTERRUPTED = "interrupted"

# state -> the states it may move to. Order: the order of STATUSES (and of the SQL CHECK constraint).
TRANSITIONS: dict[str, frozenset[str]] = {
    QUEUED: frozenset({RUNNING, STOPPED}),  # taken by a worker, or cancelled
    # running -> running: a worker takes over the run its launcher claimed (records its pid)
    RUNNING: frozenset({RUNNING, PAUSED, FINISHED, FAILED, STOPPED, INTERRUPTED}),
    PAUSED: frozenset({RUNNING, FINISHED, FAILED, STOPPED, INTERRUPTED}),
    FINISHED: frozenset(),
    FAILED: frozenset(),
    STOPPED: frozenset(),
    INTERRUPTED: frozenset({FINISHED, FAILED, STOPPED}),  # a late worker still reports its run
}

STATUSES: tuple[str, ...] = tuple(TRANSITIONS)
ACTIVE: tuple[str, ...] = (RUNNING, PAUSED)  # a worker holds the run
NOT_ENDED: tuple[str, ...] = (QUEUED, *ACTIVE)  # queued or held by a worker
TERMINAL: tuple[str, ...] = tuple(s for s in STATUSES if s not in NOT_ENDED)  # ended: ``ended_at`` is stamped
FINAL: tuple[str, ...] = tuple(s for s in STATUSES if not TRANSITIONS[s])  # ended for good; a result.json's status
UNSUCCESSFUL: tuple[str, ...] = tuple(s for s in TERMINAL if s != FINISHED)  # ended without finishing
WENT_WRONG: tuple[str, ...] = (FAILED, INTERRUPTED)  # ended early, not by the user's stop
CUT_SHORT: tuple[str, ...] = (STOPPED, INTERRUPTED)  # ended early without an error of its own
WORKER_START_FROM: tuple[str, ...] = (QUEUED, RUNNING)  # a worker may take a run still queued or claimed for it


def sources(status: str) -> tuple[str, ...]:
    """The states a run may move to ``status`` from, in table order."""
    return tuple(s for s in STATUSES if status in TRANSITIONS[s])


def allowed(old: str, new: str) -> bool:
    """Whether a run may move from ``old`` to ``new``."""
    return new in TRANSITIONS.get(old, frozenset())


def check_status(status: str) -> str:
    """``status`` itself; raises ``OmibError`` when it is not a run state."""
    if status not in TRANSITIONS:
        raise OmibError(f"The run status must be one of {STATUSES}. Got {status!r} instead.")
    return status


def sql_list(values: Iterable[str]) -> str:
    """Values as a quoted SQL list, e.g. ``'running', 'paused'`` (for the fixed names of this package only)."""
    out = []
    for v in values:
        if not v.replace("_", "").isalnum():
            raise OmibError(f"{v!r} cannot be written into SQL as a literal.")
        out.append(f"'{v}'")
    return ", ".join(out)


def sql_check(column: str = "status") -> str:
    """The CHECK constraint text of the runs table's status column: exactly the table's states."""
    return f"CHECK ({column} IN ({sql_list(STATUSES)}))"


FINAL_FROM: tuple[str, ...] = sources(FINISHED)  # a worker may end its run from these (also failed / stopped)

__all__ = [
    "ACTIVE",
    "CUT_SHORT",
    "FAILED",
    "FINAL",
    "FINAL_FROM",
    "FINISHED",
    "INTERRUPTED",
    "NOT_ENDED",
    "PAUSED",
    "QUEUED",
    "RUNNING",
    "STATUSES",
    "STOPPED",
    "TERMINAL",
    "TRANSITIONS",
    "UNSUCCESSFUL",
    "WENT_WRONG",
    "WORKER_START_FROM",
    "allowed",
    "check_status",
    "sources",
    "sql_check",
    "sql_list",
]
