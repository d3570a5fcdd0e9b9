"""The SQLite run store: round trips, WAL, NaN, incremental reads, permissions, recovery."""

from __future__ import annotations

import math
import pickle
import sqlite3
import threading
import time

import pytest

from omib_core.paths import InvalidRunId
from omib_core.runs.store import PermissionDenied, RunNotFound, RunStateError, RunStore


def test_create_get_list_round_trip(store, tiny):
    run_id = store.create_run(tiny, owner="alice", name="first")
    other = store.create_run(tiny, owner="bob", name="x'); DROP TABLE runs; --", kind="bound", sweep_id="s1")
    run = store.get_run(run_id)
    assert run["config"] == tiny and run["status"] == "queued" and run["owner"] == "alice"
    assert run["dataset"] == "sim-i" and run["kind"] == "train" and run["summary"] is None
    assert store.get_run(other)["name"] == "x'); DROP TABLE runs; --"  # stored as given, never interpreted
    assert [r["id"] for r in store.list_runs()] == [other, run_id]  # newest first
    assert [r["id"] for r in store.list_runs(owner="alice")] == [run_id]
    assert [r["id"] for r in store.list_runs(sweep_id="s1")] == [other]
    assert [r["id"] for r in store.list_runs(status=["queued", "running"], oldest_first=True)] == [run_id, other]
    assert store.list_runs(status="finished") == []
    assert store.get_run("0123456789ab") is None


def test_wal_and_schema_idempotent(store, tiny):
    assert store.journal_mode() == "wal"
    run_id = store.create_run(tiny, "alice", "a")
    again = RunStore(store.path)  # reopening must not touch existing rows
    assert again.get_run(run_id)["name"] == "a"
    version = again._conn().execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    assert version == "1"


def test_newer_schema_refused(store):
    with store._tx() as c:
        c.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(Exception, match="newer OMIB Studio"):
        RunStore(store.path)


def test_status_and_update(store, tiny):
    run_id = store.create_run(tiny, "alice", "a")
    assert store.claim(run_id) and not store.claim(run_id)
    run = store.get_run(run_id)
    assert run["status"] == "running" and run["started_at"] and run["heartbeat"]
    store.update_run(run_id, summary={"beta": math.nan, "modalities": ("a", "b")}, epoch=2)
    assert store.get_run(run_id)["summary"] == {"beta": None, "modalities": ["a", "b"]}
    assert store.set_status(run_id, "finished", result={"acc": 0.9})
    run = store.get_run(run_id)
    assert run["status"] == "finished" and run["ended_at"] >= run["started_at"] and run["result"] == {"acc": 0.9}
    assert not store.set_status(run_id, "failed", only_from=("running",))
    with pytest.raises(Exception, match="status must be one of"):
        store.set_status(run_id, "exploded")
    with pytest.raises(Exception, match="cannot be updated"):
        store.update_run(run_id, owner="mallory")


def test_nan_stored_as_null_with_finite_flag(store, tiny):
    run_id = store.create_run(tiny, "alice", "a")
    rows = [{"name": "loss", "value": v, "step": i} for i, v in enumerate([1.0, math.nan, math.inf, None, 2.5])]
    assert store.append_metrics(run_id, rows) == 5
    raw = store._conn().execute("SELECT value, finite FROM metrics ORDER BY id").fetchall()
    assert [tuple(r) for r in raw] == [(1.0, 1), (None, 0), (None, 0), (None, 0), (2.5, 1)]
    df = store.read_metrics(run_id)
    assert df["finite"].tolist() == [True, False, False, False, True]
    assert df["value"].isna().tolist() == [False, True, True, True, False]
    assert store.latest_metrics(run_id) == {"loss": 2.5}


def test_incremental_read_after_id(store, tiny):
    run_id = store.create_run(tiny, "alice", "a")
    other = store.create_run(tiny, "bob", "b")
    store.append_metrics(run_id, [{"name": n, "value": 1.0, "kind": "step"} for n in ("loss", "r/b")])
    store.append_metrics(other, [{"name": "loss", "value": 9.0}])
    first = store.read_metrics(run_id)
    assert list(first.columns) == ["id", "kind", "stage", "step", "epoch", "name", "value", "finite", "t"]
    assert len(first) == 2
    store.append_metrics(run_id, [{"name": "loss", "value": 0.5, "kind": "epoch", "epoch": 0}])
    new = store.read_metrics(run_id, after_id=int(first["id"].max()))
    assert new["value"].tolist() == [0.5] and new["kind"].tolist() == ["epoch"]
    assert store.read_metrics(run_id, after_id=int(new["id"].max())).empty
    assert store.read_metrics(run_id, names=["r/b"])["name"].tolist() == ["r/b"]
    assert len(store.read_metrics(run_id, kind="step")) == 2
    assert store.metric_names(run_id) == ["loss", "r/b"]
    assert store.latest_metrics(run_id) == {"loss": 0.5, "r/b": 1.0}


def test_append_metrics_with_run_update_is_one_transaction(store, tiny):
    run_id = store.create_run(tiny, "alice", "a")
    store.append_metrics(run_id, [{"name": "loss", "value": 1.0}], {"epoch": 3, "eta_seconds": 1.5})
    run = store.get_run(run_id)
    assert (run["epoch"], run["eta_seconds"]) == (3, 1.5)
    with pytest.raises(Exception, match="cannot be updated"):
        store.append_metrics(run_id, [{"name": "loss", "value": 2.0}], {"nope": 1})
    assert len(store.read_metrics(run_id)) == 1  # rolled back together


def test_control_permissions(store, tiny):
    run_id = store.create_run(tiny, "alice", "a")
    store.claim(run_id)
    with pytest.raises(PermissionDenied, match="Only the owner"):
        store.request_control(run_id, "stop", "bob")
    assert store.get_run(run_id)["control"] is None
    assert store.request_control(run_id, "pause", "alice") == "running"
    assert store.get_run(run_id)["control"] == "pause"
    assert store.request_control(run_id, "stop", "bob", is_admin=True) == "running"
    assert store.take_control(run_id) == "stop" and store.take_control(run_id) is None
    with pytest.raises(RunNotFound):
        store.request_control("0123456789ab", "stop", "alice")
    with pytest.raises(Exception, match="must be one of"):
        store.request_control(run_id, "explode", "alice")
    store.set_status(run_id, "finished")
    with pytest.raises(RunStateError, match="already finished"):
        store.request_control(run_id, "pause", "alice")


def test_stop_queued_run_cancels_it(store, tiny):
    run_id = store.create_run(tiny, "alice", "a")
    assert store.request_control(run_id, "stop", "alice") == "stopped"
    assert store.get_run(run_id)["status"] == "stopped"
    assert not store.claim(run_id)


def test_delete_permissions_and_files(store, tiny):
    run_id = store.create_run(tiny, "alice", "a")
    folder = store.run_dir(run_id)
    folder.mkdir(parents=True)
    (folder / "history.csv").write_text("x")
    store.append_metrics(run_id, [{"name": "loss", "value": 1.0}])
    store.add_artifact(run_id, "history", folder / "history.csv")
    with pytest.raises(PermissionDenied):
        store.delete_run(run_id, "bob")
    assert store.get_run(run_id) is not None and folder.exists()
    store.claim(run_id)
    with pytest.raises(RunStateError, match="stop it first"):
        store.delete_run(run_id, "alice")
    store.set_status(run_id, "stopped")
    store.delete_run(run_id, "alice")
    assert store.get_run(run_id) is None and not folder.exists()
    assert store.read_metrics(run_id).empty and store.list_artifacts(run_id) == []
    other = store.create_run(tiny, "alice", "b")
    store.delete_run(other, "root", is_admin=True)
    assert store.get_run(other) is None


def test_run_ids_validated_before_paths(store):
    for bad in ("../../etc", "ABCDEF012345", "a" * 13, "", None):
        with pytest.raises(InvalidRunId):
            store.run_dir(bad)
    with pytest.raises(InvalidRunId):
        store.delete_run("../x", "alice")


def test_artifacts_relative_to_data_dir(store, tiny, tmp_path):
    run_id = store.create_run(tiny, "alice", "a")
    inside = store.run_dir(run_id) / "snap.npz"
    store.add_artifact(run_id, "snapshot", inside, epoch=4)
    store.add_artifact(run_id, "checkpoint", "/elsewhere/model.pt")
    stored = [r[0] for r in store._conn().execute("SELECT path FROM artifacts ORDER BY rowid")]
    assert stored == [f"runs/{run_id}/snap.npz", "/elsewhere/model.pt"]
    arts = store.list_artifacts(run_id)
    assert arts[0]["path"] == str(store.data_dir / "runs" / run_id / "snap.npz") and arts[0]["epoch"] == 4
    assert arts[1]["path"] == "/elsewhere/model.pt"
    assert [a["kind"] for a in store.list_artifacts(run_id, kind="checkpoint")] == ["checkpoint"]


def test_mark_interrupted_by_pid_and_heartbeat(store, tiny):
    alive, dead, stale, queued = (store.create_run(tiny, "alice", n) for n in "abcd")
    for run_id, pid in ((alive, 11), (dead, 22), (stale, 33)):
        store.claim(run_id)
        store.update_run(run_id, pid=pid)
    store.append_metrics(dead, [{"name": "loss", "value": 1.0}])
    store.update_run(stale, heartbeat=time.time() - 100)
    marked = store.mark_interrupted(is_alive=lambda pid: pid != 22, timeout=30)
    assert sorted(marked) == sorted([dead, stale])
    assert store.get_run(dead)["status"] == "interrupted" and "stopped unexpectedly" in store.get_run(dead)["error"]
    assert len(store.read_metrics(dead)) == 1  # metrics kept
    assert store.get_run(alive)["status"] == "running" and store.get_run(queued)["status"] == "queued"
    assert store.mark_interrupted(is_alive=lambda pid: True) == []


def test_threads_get_own_connections_and_pickle(store, tiny):
    run_id = store.create_run(tiny, "alice", "a")
    errors = []

    def write(i: int) -> None:
        try:
            for j in range(20):
                store.append_metrics(run_id, [{"name": f"t{i}", "value": float(j)}])
        except sqlite3.Error as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(store.read_metrics(run_id)) == 80
    copy = pickle.loads(pickle.dumps(store))
    assert copy.get_run(run_id)["owner"] == "alice"
    assert store.integrity_check()


def test_pauses_are_left_out_of_a_runs_duration(store, monkeypatch):
    """The store stamps each pause; the duration the pages show leaves them out (issue 18: Duration stops while
    paused, and a finished run's duration does not count the pauses)."""
    from omib_core.runs import store as store_module

    clock = [1000.0]
    monkeypatch.setattr(store_module.time, "time", lambda: clock[0])
    from dashboard.charts.runs import run_duration

    rid = store.create_run({"data": {"dataset": "sim-i"}}, "alice", "r")
    store.set_status(rid, "running")
    clock[0] = 1010.0
    store.set_status(rid, "paused", only_from=("running",))
    clock[0] = 1100.0  # 90 s paused: the counter stands still at 10 s
    assert run_duration(store.get_run(rid), now=clock[0]) == 10.0
    store.set_status(rid, "running", only_from=("paused",))
    clock[0] = 1105.0
    assert run_duration(store.get_run(rid), now=clock[0]) == 15.0
    with pytest.raises(RunStateError, match="cannot move from queued to paused"):
        store.set_status(rid, "paused", only_from=("queued",))  # not a move of the table: refused, no stamp
    assert store.get_run(rid)["paused_at"] is None
    clock[0] = 1120.0
    store.set_status(rid, "finished")
    run = store.get_run(rid)
    assert run["paused_seconds"] == 90.0 and run_duration(run) == 30.0
