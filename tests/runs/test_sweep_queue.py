"""A sweep as queued runs (issue 12): ``submit_sweep`` checks the whole grid before queuing any run, the scheduler
runs them side by side, ``wait_sweep`` reports each change and returns sweep.json rows; ``sweep --queue`` in the CLI
goes through the same functions."""

from __future__ import annotations

import pytest

from omib_core.cli import make_parser, queue_sweep
from omib_core.config import RunConfig
from omib_core.errors import ConfigError
from omib_core.runs.jobs import JobManager
from omib_core.runs.sweep_queue import stop_sweep, submit_sweep, wait_sweep
from omib_core.sweeps import build_sweep
from tests.runs.conftest import TINY


def _grid(n_scales: int = 2, seeds=(0, 1)):
    base = RunConfig.from_dict(TINY)
    return build_sweep(base, [0.1 * (i + 1) for i in range(n_scales)], list(seeds))


def _manager(store, **kw) -> JobManager:
    kw.setdefault("max_concurrent", 2)
    return JobManager(store, source="tests.runs.fakes:fast", gpu_available=False, heartbeat_interval=0.3, **kw)


def test_a_sweep_is_checked_whole_then_run_side_by_side(store):
    jobs = _manager(store)
    planned = _grid()
    sweep_id, ids = submit_sweep(jobs, planned, "alice")
    assert len(ids) == 4 and {r["sweep_id"] for r in store.list_runs()} == {sweep_id}
    assert {r["status"] for r in store.list_runs()} == {"queued"}  # nothing runs before the scheduler does
    jobs.start_background(interval=0.1)
    seen = []
    try:
        rows = wait_sweep(jobs, ids, on_change=seen.append, poll=0.1, timeout=60)
    finally:
        jobs.stop_background()
    assert [r["status"] for r in rows] == ["finished"] * 4
    assert [(r["beta_scale"], r["seed"]) for r in rows] == [(c.train.beta_scale, c.train.seed) for _, c in planned]
    assert all(r["device"] for r in rows)  # where each ran
    # each change was reported: a state before the end (queued, or running when the scheduler was quicker than the
    # first poll on a loaded machine) and the end
    assert "finished" in {r["status"] for r in seen} and {r["status"] for r in seen} & {"queued", "running"}


def test_a_sweep_that_does_not_fit_the_queue_stores_nothing(store):
    jobs = _manager(store, max_queued_per_user=3)
    with pytest.raises(ConfigError, match="This sweep needs 4 queued runs but you may queue only 3 more"):
        submit_sweep(jobs, _grid(), "alice")
    assert store.list_runs() == []
    bad = [(name, c.replace(train=c.train.replace(epochs=10**6))) for name, c in _grid()]
    with pytest.raises(ConfigError):
        submit_sweep(_manager(store), bad, "alice")  # over the epoch limit: refused before anything is queued
    assert store.list_runs() == []


def test_stop_sweep_cancels_what_has_not_ended(store):
    jobs = _manager(store)
    _, ids = submit_sweep(jobs, _grid(), "alice")
    assert stop_sweep(jobs, ids, "alice") == 4
    assert {r["status"] for r in store.list_runs()} == {"stopped"}


def test_the_cli_sweep_queue_writes_the_rows(store, capsys):
    args = make_parser().parse_args(["sweep", "--dataset", "sim-i", "--queue", "--seeds", "0", "--beta-scales", "1"])
    assert args.queue and args.owner is None
    jobs = _manager(store)
    jobs.start_background(interval=0.1)
    try:
        rows = queue_sweep(_grid(1, (0,)), "bob", jobs=jobs)
    finally:
        jobs.stop_background()
    assert [r["status"] for r in rows] == ["finished"] and store.list_runs()[0]["owner"] == "bob"
    assert "queued sweep" in capsys.readouterr().err
