"""A sweep as queued runs: checked whole, then submitted under one sweep id, so the scheduler runs them side by
side on whatever backend it has (local worker processes, or a Ray cluster with ``OMIB_RAY_ADDRESS``).

The Sweep page and ``python -m omib_core sweep --queue`` both go through ``submit_sweep``; the CLI then waits with
``wait_sweep`` and writes the same ``sweep.json`` rows as its in-process sweep.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from omib_core.config import RunConfig
from omib_core.errors import ConfigError
from omib_core.run_states import QUEUED, TERMINAL
from omib_core.runs.budget import check_grid_budget
from omib_core.runs.jobs import JobManager


def submit_sweep(
    jobs: JobManager,
    planned: Sequence[tuple[str, RunConfig]],
    owner: str,
    is_admin: bool = False,
    grid: bool = True,
) -> tuple[str, list[str]]:
    """Check every run of ``planned`` (``(name, config)`` pairs, as ``omib_core.sweeps.build_sweep`` gives), then
    queue them all under a new sweep id; returns ``(sweep_id, run_ids)``.

    Nothing is stored when a check fails: the owner's queue room, each config against the server's limits, and
    access to the dataset (someone else's private upload) are checked before the first run is queued.

    With ``grid`` (the default) and configs that can train together (``omib_core.train.grid.grid_problem``), the
    runs form one grid job: one worker trains them all as one vectorised model, in one scheduler slot; the grid's
    memory is estimated as a whole and a grid that does not fit is refused with the largest size that fits. On a
    Ray backend the grid trains on one actor.

    Raises:
        ConfigError: the sweep does not fit the owner's queue, or a config is invalid or over a limit.
        UploadAccessError: the dataset is another user's upload that is not shared (a DataError).
        QueueFull, StoreFull: the store refused a run after the checks (another submission took the room); the
            runs of this sweep queued before it are cancelled.
    """
    from omib_core.data.uploads import check_access  # here: importing the data package imports torch

    queued = len(jobs.store.list_runs(owner=owner, status=QUEUED))
    room = jobs.max_queued_per_user - queued
    if len(planned) > room:
        raise ConfigError(
            f"This sweep needs {len(planned)} queued runs but you may queue only {max(room, 0)} more "
            f"(the server allows {jobs.max_queued_per_user} at once). Use fewer values or seeds, or wait."
        )
    for _, config in planned:
        jobs.validate(config.to_dict())  # every run checked before any is stored
    for dataset in {config.data.dataset for _, config in planned}:
        check_access(dataset, owner, is_admin)
    sweep_id, ids = uuid.uuid4().hex[:12], []
    grid_id = None
    if grid and len(planned) > 1 and as_grid([c for _, c in planned]):
        check_grid_budget([c for _, c in planned], jobs.max_run_memory, lambda n: jobs.grid_shards(n, 0))
        grid_id = sweep_id
    if grid_id is not None:  # one transaction: a scheduler never sees part of a grid
        items = [(config.to_dict(), name) for name, config in planned]
        return sweep_id, jobs.submit_many(items, owner, sweep_id=sweep_id, is_admin=is_admin, grid_id=grid_id)
    try:
        for name, config in planned:
            ids.append(jobs.submit(config.to_dict(), owner=owner, name=name, sweep_id=sweep_id, is_admin=is_admin))
    except Exception:
        stop_sweep(jobs, ids, owner)  # all or nothing: the runs queued before the refusal are cancelled
        raise
    return sweep_id, ids


def as_grid(configs: Sequence[RunConfig]) -> bool:
    """Whether these configs train as one grid job (the engine's own check; no torch import)."""
    from omib_core.train.grid import grid_problem

    return grid_problem(configs) is None


def sweep_row(run: dict[str, Any]) -> dict[str, Any]:
    """One ``sweep.json`` row of a stored run: its beta/M_u, seed, beta, M_u, status, where it ran, both selections."""
    config = run.get("config") or {}
    train = config.get("train") or {}
    result = run.get("result") or {}
    summary = run.get("summary") or {}
    return {
        "run_id": run["id"],
        "beta_scale": train.get("beta_scale"),
        "seed": train.get("seed"),
        "beta": result.get("beta", summary.get("beta")),
        "M_u": summary.get("M_u", result.get("M_u")),
        "status": run["status"],
        "device": run.get("device"),
        "error": run.get("error"),
        "test_metrics": result.get("test_metrics"),
        "last_test_metrics": result.get("last_test_metrics"),
    }


def wait_sweep(
    jobs: JobManager,
    run_ids: Sequence[str],
    on_change: Callable[[dict[str, Any]], None] | None = None,
    poll: float = 1.0,
    timeout: float | None = None,
) -> list[dict[str, Any]]:
    """Wait until every run of ``run_ids`` has ended; returns their ``sweep_row``s in ``run_ids`` order.

    ``on_change(row)`` is called whenever a run's status (or where it runs) changes. A run deleted meanwhile ends
    as status ``deleted``.

    Raises:
        TimeoutError: ``timeout`` seconds passed first (the runs keep going).
    """
    seen: dict[str, tuple[Any, Any]] = {}
    rows: dict[str, dict[str, Any]] = {}
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        for rid in run_ids:
            if rid in rows and rows[rid]["status"] in (*TERMINAL, "deleted"):
                continue
            run = jobs.store.get_run(rid)
            row = sweep_row(run) if run is not None else {"run_id": rid, "status": "deleted"}
            key = (row["status"], row.get("device"))
            if seen.get(rid) != key:
                seen[rid] = key
                if on_change is not None:
                    on_change(row)
            rows[rid] = row
        if all(rows[rid]["status"] in (*TERMINAL, "deleted") for rid in run_ids):
            return [rows[rid] for rid in run_ids]
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"The sweep's runs had not all ended after {timeout:g} s; they keep going.")
        time.sleep(poll)


def stop_sweep(jobs: JobManager, run_ids: Sequence[str], owner: str) -> int:
    """Ask every run of ``run_ids`` that has not ended to stop (a queued one is cancelled at once); returns how many."""
    asked = 0
    for rid in run_ids:
        run = jobs.store.get_run(rid)
        if run is not None and run["status"] not in TERMINAL:
            try:
                jobs.control(rid, "stop", owner)
                asked += 1
            except Exception:  # noqa: BLE001 - it ended meanwhile, or was deleted: nothing to stop
                pass
    return asked
