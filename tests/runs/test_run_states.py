"""The one table of run states and moves (omib_core.run_states), and the store's one way to change a status."""

from __future__ import annotations

import re
import sqlite3

import pytest

from omib_core import run_states as rs
from omib_core.runs.store import RunStateError, RunStore


@pytest.fixture
def store(tmp_path):
    s = RunStore(tmp_path / "runs.db")
    yield s
    s.close()


def test_every_state_is_reachable_from_queued():
    seen, todo = {rs.QUEUED}, [rs.QUEUED]
    while todo:
        for nxt in rs.TRANSITIONS[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(rs.STATUSES)
    assert all(nxt in rs.TRANSITIONS for exits in rs.TRANSITIONS.values() for nxt in exits)


def test_ended_states_have_only_todays_exits():
    """Finished, failed and stopped never move again (no re-queue); interrupted may still be reported by a late
    worker; nothing goes back to queued."""
    assert rs.FINAL == (rs.FINISHED, rs.FAILED, rs.STOPPED)
    assert all(not rs.TRANSITIONS[s] for s in rs.FINAL)
    assert rs.TRANSITIONS[rs.INTERRUPTED] == {rs.FINISHED, rs.FAILED, rs.STOPPED}
    assert rs.sources(rs.QUEUED) == ()
    assert set(rs.TERMINAL) == {rs.FINISHED, rs.FAILED, rs.STOPPED, rs.INTERRUPTED}
    assert set(rs.NOT_ENDED) | set(rs.TERMINAL) == set(rs.STATUSES) and not set(rs.NOT_ENDED) & set(rs.TERMINAL)
    assert rs.FINAL_FROM == (rs.RUNNING, rs.PAUSED, rs.INTERRUPTED)
    for group in (rs.ACTIVE, rs.UNSUCCESSFUL, rs.WENT_WRONG, rs.CUT_SHORT, rs.WORKER_START_FROM):
        assert set(group) <= set(rs.STATUSES)


def test_the_sql_constraint_holds_exactly_the_tables_states(store):
    sql = store._conn().execute("SELECT sql FROM sqlite_master WHERE name = 'runs'").fetchone()[0]
    listed = re.search(r"status TEXT NOT NULL CHECK \(status IN \(([^)]*)\)\)", sql).group(1)
    assert re.findall(r"'(\w+)'", listed) == list(rs.STATUSES)
    rid = store.create_run({"data": {}}, "alice", "a")
    with pytest.raises(sqlite3.IntegrityError), store._tx() as c:
        c.execute("UPDATE runs SET status = 'exploded' WHERE id = ?", (rid,))


OLD_RUNS_TABLE = """CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('train', 'bound')),
    name TEXT NOT NULL,
    owner TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'paused', 'finished', 'failed', 'stopped',
                                           'interrupted')),
    config_json TEXT NOT NULL,
    dataset TEXT,
    summary_json TEXT,
    result_json TEXT,
    error TEXT,
    pid INTEGER,
    heartbeat REAL,
    control TEXT CHECK (control IS NULL OR control IN ('pause', 'resume', 'step', 'stop')),
    control_at REAL,
    sweep_id TEXT,
    epoch INTEGER,
    step INTEGER,
    total_epochs INTEGER,
    eta_seconds REAL,
    device TEXT
)"""


def test_an_existing_store_with_the_old_constraint_text_opens(tmp_path):
    """A store created before the table existed (its constraint spelled by hand, over two lines) opens, and its
    runs move through every state as before."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(OLD_RUNS_TABLE)
    store = RunStore(path)
    ids = [store.create_run({"data": {}}, "alice", f"r{i}") for i in range(3)]
    assert store.claim(ids[0]) and store.set_status(ids[0], rs.PAUSED) and store.set_status(ids[0], rs.RUNNING)
    assert store.set_status(ids[0], rs.INTERRUPTED) and store.set_status(ids[0], rs.FINISHED)
    assert store.claim(ids[1]) and store.set_status(ids[1], rs.FAILED)
    assert store.request_control(ids[2], "stop", "alice") == rs.STOPPED
    assert [store.get_run(i)["status"] for i in ids] == [rs.FINISHED, rs.FAILED, rs.STOPPED]
    sql = store._conn().execute("SELECT sql FROM sqlite_master WHERE name = 'runs'").fetchone()[0]
    assert "'failed', 'stopped',\n" in sql  # the old text was kept
    store.close()


def test_stop_clears_the_control_request(store):
    rid = store.create_run({"data": {}}, "alice", "a")
    store.claim(rid)
    store.request_control(rid, "stop", "alice")
    assert store.get_run(rid)["control_at"] is not None
    assert store.set_status(rid, rs.STOPPED)
    run = store.get_run(rid)
    assert run["status"] == rs.STOPPED and run["control"] is None and run["control_at"] is None and run["ended_at"]


def test_stopping_a_queued_run_goes_through_the_same_move(store):
    rid = store.create_run({"data": {}}, "alice", "a")
    with store._tx() as c:  # a control stamp left over (e.g. a pause asked just before)
        c.execute("UPDATE runs SET control = 'pause', control_at = 1.0 WHERE id = ?", (rid,))
    assert store.request_control(rid, "stop", "alice") == rs.STOPPED
    run = store.get_run(rid)
    assert run["status"] == rs.STOPPED and run["control"] is None and run["control_at"] is None and run["ended_at"]


def test_an_illegal_move_is_refused_with_a_sentence(store):
    rid = store.create_run({"data": {}}, "alice", "a")
    with pytest.raises(RunStateError, match="is queued, so it cannot become finished"):
        store.set_status(rid, rs.FINISHED)
    with pytest.raises(RunStateError, match="cannot move from queued to paused"):
        store.set_status(rid, rs.PAUSED, only_from=(rs.QUEUED,))
    with pytest.raises(Exception, match="status must be one of"):
        store.set_status(rid, "exploded")
    with pytest.raises(Exception, match="only through RunStore.set_status"):
        store.update_run(rid, status=rs.FINISHED)
    assert store.get_run(rid)["status"] == rs.QUEUED
    store.claim(rid)
    store.set_status(rid, rs.FINISHED)
    with pytest.raises(RunStateError, match="is finished, so it cannot become running"):
        store.set_status(rid, rs.RUNNING)
    assert not store.set_status("0123456789ab", rs.FINISHED)  # no such run: nothing to move


def test_a_run_that_ended_while_being_stopped_is_left_alone(store):
    """The race: the worker finished the run just before the launcher's stop lands; the late move is a no-op."""
    rid = store.create_run({"data": {}}, "alice", "a")
    store.claim(rid)
    assert store.set_status(rid, rs.FINISHED, only_from=rs.FINAL_FROM, result={"acc": 1.0})
    assert not store.set_status(rid, rs.STOPPED, only_from=rs.ACTIVE)
    assert not store.set_status(rid, rs.FAILED, only_from=rs.FINAL_FROM, error="late")
    run = store.get_run(rid)
    assert run["status"] == rs.FINISHED and run["error"] is None and run["result"] == {"acc": 1.0}


def test_a_late_worker_reports_an_interrupted_run(store):
    rid = store.create_run({"data": {}}, "alice", "a")
    store.claim(rid)
    assert store.set_status(rid, rs.INTERRUPTED, only_from=rs.ACTIVE)
    assert store.set_status(rid, rs.FINISHED, only_from=rs.FINAL_FROM)
    assert store.get_run(rid)["status"] == rs.FINISHED
