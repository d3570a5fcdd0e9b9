"""The fair queue (issue 10, item 3): round-robin by owner over the queued runs, and the position a user is shown is
the position the run starts at. Plus the per-user queue limit under concurrent submissions (item 10)."""

from __future__ import annotations

import threading

import pytest

from omib_core.runs.jobs import JobManager, QueueFull, fair_order
from omib_core.runs.store import RunStore
from tests.runs.conftest import wait_for


def _ids(runs):
    return [r["id"] for r in runs]


def _manager(store, **kwargs) -> JobManager:
    kwargs.setdefault("max_concurrent", 1)
    return JobManager(store, source="tests.runs.fakes:fast", gpu_available=False, heartbeat_interval=0.3, **kwargs)


def test_fair_order_is_round_robin_by_owner():
    queued = [{"id": f"a{i}", "owner": "a"} for i in range(3)] + [{"id": "b0", "owner": "b"}]
    assert _ids(fair_order(queued, {})) == ["a0", "b0", "a1", "a2"]
    # a's first run is going: b's single run is next, not after a's whole queue
    assert _ids(fair_order(queued[1:], {"a": 1}, {"a": 100.0})) == ["b0", "a1", "a2"]
    # a's first run just ended (nothing going): b, who never started a run, still goes before a's next one
    assert _ids(fair_order(queued[1:], {}, {"a": 100.0})) == ["b0", "a1", "a2"]
    # equal counts: the owner who started least recently goes first
    assert _ids(fair_order(queued[1:], {}, {"a": 100.0, "b": 200.0})) == ["a1", "b0", "a2"]


def test_one_slot_three_runs_of_a_then_one_of_b(store, tiny):
    """The issue's case: one slot, A queues 3, then B queues 1. B is told position 2 (after A's first) and starts
    second; while A's first runs, B's run is position 1 and starts next."""
    jobs = _manager(store)
    a = [jobs.submit(tiny, "alice", f"a{i}") for i in range(3)]
    b = jobs.submit(tiny, "bob", "b0")
    assert [jobs.queue_position(r) for r in (*a, b)] == [1, 3, 4, 2]
    assert jobs.tick() == [a[0]]
    assert jobs.queue_position(b) == 1 and jobs.queue_order() == [b, a[1], a[2]]
    starts = [a[0]]
    while len(starts) < 4:
        started = wait_for(lambda: jobs.tick(), timeout=30)
        starts += started
    assert starts == [a[0], b, a[1], a[2]]
    wait_for(lambda: (jobs.tick(), jobs.running_processes())[1] == {}, timeout=30)


def test_simulated_queue_starts_in_the_predicted_order(store, tiny):
    """Three users queue interleaved runs while one slot is busy; the positions shown at each moment are the order
    the runs really start in (fake worker source, real scheduler)."""
    jobs = _manager(store)
    plan = ["alice", "alice", "alice", "bob", "carol", "carol", "alice", "bob"]
    ids = [jobs.submit(tiny, owner, f"{owner}{i}") for i, owner in enumerate(plan)]
    predicted = sorted(ids, key=jobs.queue_position)
    assert predicted == jobs.queue_order()
    by_owner = [store.get_run(r)["owner"] for r in predicted]
    assert by_owner[:3] == ["alice", "bob", "carol"]  # every owner's first run before anyone's second
    starts: list[str] = []
    while len(starts) < len(ids):
        remaining = jobs.queue_order()
        assert remaining == [r for r in predicted if r not in starts]  # the prediction holds at every moment
        starts += wait_for(lambda: jobs.tick(), timeout=30)
    assert starts == predicted
    wait_for(lambda: (jobs.tick(), jobs.running_processes())[1] == {}, timeout=30)
    by_start = sorted(store.list_runs(), key=lambda r: r["started_at"])
    assert _ids(by_start) == predicted


def test_queue_limit_holds_under_concurrent_submissions(tmp_path, tiny):
    """15 queued, limit 20, 10 submissions at once (each thread its own connection): exactly 5 accepted and 5
    refused with the sentence; the owner ends with exactly 20 queued runs."""
    path = tmp_path / "omib.db"
    store = RunStore(path)
    jobs = JobManager(store, max_concurrent=1, max_queued_per_user=20, gpu_available=False)
    for i in range(15):
        jobs.submit(tiny, "alice", f"r{i}")
    barrier = threading.Barrier(10)
    accepted, refused, errors = [], [], []

    def submit(i: int) -> None:
        own = JobManager(RunStore(path), max_concurrent=1, max_queued_per_user=20, gpu_available=False)
        own.validate(tiny)  # warm the dataset registry so that the threads meet at the store
        barrier.wait()
        try:
            accepted.append(own.submit(tiny, "alice", f"c{i}"))
        except QueueFull as e:
            refused.append(str(e))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(accepted) == 5 and len(refused) == 5
    assert all("You already have 20 queued runs" in m and "OMIB_MAX_QUEUED_PER_USER" in m for m in refused)
    assert len(store.list_runs(owner="alice", status="queued")) == 20
    with pytest.raises(QueueFull, match="20 queued runs"):
        jobs.submit(tiny, "alice")
    jobs.submit(tiny, "bob")  # the limit is per user
