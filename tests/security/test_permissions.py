"""Another user's runs: anyone may watch them, only the owner or an admin may pause, step, resume, stop or delete
them. Refused in the launcher (the real check, on the server-side identity), and in the UI the buttons are
disabled for everyone else. A forged click on a disabled button (a client that ignores ``disabled`` and sends the
trigger anyway) is discarded by Streamlit's server, which enforces ``disabled`` itself; were it not, the launcher
would still refuse the request."""

from __future__ import annotations

import pytest

from dashboard import services
from omib_core.runs.jobs import JobManager
from omib_core.runs.store import ACTIONS, PermissionDenied, RunStore
from tests.auth_helpers import sign_in
from tests.dashboard.test_page_train import add_fake_run, app, no_exception

CONTROLS = ("train_ctl_pause", "train_ctl_step", "train_ctl_resume", "train_ctl_stop")


def forge_click(at, key: str):
    """Send a click on a widget whatever its state (AppTest's ``click`` refuses disabled widgets, a client need not)."""
    at.button(key=key)._value = True
    return at.run()


def as_user(at, name: str, admins: tuple[str, ...] = ("carol",)):
    """Sign ``name`` in with their own password; those in ``admins`` are admins."""
    return sign_in(at, name, admin=name in admins)


@pytest.fixture
def running():
    """A running run of alice's (no worker behind it: control requests are only recorded), ended afterwards."""
    rid = add_fake_run(owner="alice", name="alice's running run", status="running")
    yield rid
    services.store().set_status(rid, "stopped")


def test_launcher_refuses_other_users_and_allows_owner_and_admin(tmp_path):
    store = RunStore(tmp_path / "omib.db")
    tiny = {
        "data": {"dataset": "sim-i", "params": {"n_samples": 200}},
        "train": {"schedule": "fixed", "epochs": 2, "warmup_epochs": 1},
    }
    jobs = JobManager(store, max_concurrent=1, gpu_available=False)
    rid = jobs.submit(tiny, "alice", "mine")
    store.claim(rid)  # running, as a worker would leave it
    for action in ACTIONS:
        with pytest.raises(PermissionDenied, match=f"Only the owner of run {rid} or an admin can {action} it"):
            jobs.control(rid, action, "bob")
    with pytest.raises(PermissionDenied, match="can delete it"):
        jobs.delete(rid, "bob")
    assert store.get_run(rid)["control"] is None
    assert jobs.control(rid, "pause", "alice") == "running" and store.get_run(rid)["control"] == "pause"
    assert jobs.control(rid, "stop", "carol", is_admin=True) == "running" and store.get_run(rid)["control"] == "stop"
    store.set_status(rid, "stopped")
    with pytest.raises(PermissionDenied):
        jobs.delete(rid, "bob")
    jobs.delete(rid, "carol", is_admin=True)
    assert store.get_run(rid) is None
    other = jobs.submit(tiny, "alice", "queued")
    with pytest.raises(PermissionDenied):
        jobs.control(other, "stop", "bob")
    assert jobs.control(other, "stop", "alice") == "stopped"  # the owner cancels a queued run at once


def test_train_page_controls_are_disabled_for_others_and_forged_clicks_refused(running):
    store = services.store()
    at = as_user(app("train", run=running), "bob")
    at.run()
    no_exception(at)
    assert all(at.button(key=k).disabled for k in CONTROLS)
    assert any("Only alice (the owner) or an admin" in c.value for c in at.caption)
    forge_click(at, "train_ctl_stop")
    no_exception(at)
    assert store.get_run(running)["control"] is None and store.get_run(running)["status"] == "running"

    at = as_user(app("train", run=running), "carol")  # an admin
    at.run()
    assert not at.button(key="train_ctl_stop").disabled and not at.button(key="train_ctl_pause").disabled
    forge_click(at, "train_ctl_stop")  # the same forged message works on an enabled button: the helper is real
    no_exception(at)
    assert store.get_run(running)["control"] == "stop"


def test_runs_page_delete_is_disabled_for_others_and_forged_clicks_refused():
    """(The disabled button and its caption: tests/dashboard/test_page_runs.py::test_non_owner_cannot_delete.)"""
    rid = add_fake_run(owner="alice", name="alice keeps this")
    at = as_user(app("runs"), "bob")
    at.run()
    at.selectbox(key="runs_pick").set_value(rid).run()
    assert at.button(key="runs_delete").disabled
    forge_click(at, "runs_delete")
    no_exception(at)
    assert not at.get("warning") or not any("cannot be undone" in w.value for w in at.warning)  # no confirmation
    assert services.store().get_run(rid) is not None

    at = as_user(app("runs"), "carol")
    at.run()
    at.selectbox(key="runs_pick").set_value(rid).run()
    assert not at.button(key="runs_delete").disabled
    at.button(key="runs_delete").click().run()
    at.button(key="runs_delete_yes").click().run()
    no_exception(at)
    assert services.store().get_run(rid) is None


def test_sweep_stop_is_disabled_for_others_and_forged_clicks_stop_nothing():
    sid = "5ec0000000" + "02"
    rids = [add_fake_run(owner="alice", name=f"sweep run {i}", status="running", sweep_id=sid) for i in range(2)]
    store = services.store()
    try:
        at = as_user(app("sweep", sweep=sid), "bob")
        at.run()
        no_exception(at)
        assert at.button(key="sweep_stop").disabled
        assert any("Only alice (the owner) or an admin can stop this sweep" in c.value for c in at.caption)
        forge_click(at, "sweep_stop")
        no_exception(at)
        assert all(store.get_run(r)["control"] is None for r in rids)
    finally:
        for r in rids:
            store.set_status(r, "stopped")
