"""The Runs page: lists every run, filters, compares, offers downloads and deletes only after a confirmation."""

from __future__ import annotations

from dashboard import services
from tests.auth_helpers import sign_in
from tests.dashboard.test_page_train import add_fake_run, app, no_exception


def test_runs_page_lists_filters_and_compares():
    a = add_fake_run(owner="ann", name="ann run", test_accuracy=0.86)
    b = add_fake_run(owner="ben", name="ben run", test_accuracy=0.80, dataset="sim-iii")
    at = app("runs")
    at.run()
    no_exception(at)
    table = at.dataframe[0].value
    assert {a, b} <= set(table["id"])
    row = table.set_index("id").loc[a]
    assert row["owner"] == "ann" and row["status"] == "finished" and row["test"] == 0.86
    assert row["best val"] == 0.87 and row["open"] == f"train?run={a}"
    at.multiselect(key="runs_owner").set_value(["ben"]).run()
    assert list(at.dataframe[0].value["id"]) == [b]
    at.multiselect(key="runs_owner").set_value([]).run()
    at.selectbox(key="runs_sort").set_value("test").run()
    at.toggle(key="runs_ascending").set_value(True).run()
    ids = list(at.dataframe[0].value["id"])
    assert ids.index(b) < ids.index(a)
    no_exception(at)
    downloads = at.get("download_button")
    assert len(downloads) == 4


def test_delete_asks_first_then_removes_the_run():
    rid = add_fake_run(owner="local", name="to delete")
    at = app("runs")
    at.run()
    at.selectbox(key="runs_pick").set_value(rid).run()
    at.button(key="runs_delete").click().run()
    no_exception(at)
    assert services.store().get_run(rid) is not None, "deleted without confirmation"
    assert any("cannot be undone" in w.value for w in at.warning)
    at.button(key="runs_delete_yes").click().run()
    no_exception(at)
    assert services.store().get_run(rid) is None
    assert rid not in set(at.dataframe[0].value["id"])


def test_non_owner_cannot_delete():
    rid = add_fake_run(owner="alice", name="alice keeps")
    at = sign_in(app("runs"), "bob")
    at.run()
    at.selectbox(key="runs_pick").set_value(rid).run()
    no_exception(at)
    assert at.button(key="runs_delete").disabled
    assert any("Only alice" in c.value for c in at.caption)
