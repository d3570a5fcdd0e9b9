"""The Runs page: lists every run, filters, compares, offers downloads and deletes only after a confirmation."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import streamlit

from dashboard import services
from tests.auth_helpers import sign_in
from tests.dashboard.chart_data import plotly_traces
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
    total = len(table)
    assert f"{total} runs · " in " ".join(c.value for c in at.caption)
    at.multiselect(key="runs_owner").set_value(["ben"]).run()
    assert list(at.dataframe[0].value["id"]) == [b]
    assert f"1 of {total} runs shown (filtered)" in " ".join(c.value for c in at.caption)  # counts follow filters
    at.multiselect(key="runs_owner").set_value([]).run()
    at.selectbox(key="runs_sort").set_value("test").run()
    at.toggle(key="runs_ascending").set_value(True).run()
    ids = list(at.dataframe[0].value["id"])
    assert ids.index(b) < ids.index(a)
    no_exception(at)
    downloads = at.get("download_button")
    assert len(downloads) == 6  # metrics wide and long, config, embeddings, checkpoint, the whole run as a zip


def test_runs_page_overlays_the_curves_of_the_ticked_runs(monkeypatch):
    """Ticking two rows draws both runs' validation curves, epoch by epoch, from the store; smoothing adds the raw
    curves faintly."""
    a = add_fake_run(owner="ann", name="compare a", test_accuracy=0.9)
    b = add_fake_run(owner="ann", name="compare b", test_accuracy=0.7, epochs=6)
    at = app("runs")
    at.run()
    no_exception(at)
    assert any("Tick 2 to 5 runs" in i.value for i in at.info)
    ids = list(at.dataframe[0].value["id"])
    ticked = [ids.index(a), ids.index(b)]
    table = streamlit.dataframe

    def tick(*args, **kwargs):  # the viewer ticks a's and b's rows (AppTest cannot click a table's rows)
        event = table(*args, **kwargs)
        return SimpleNamespace(selection=SimpleNamespace(rows=ticked)) if kwargs.get("key") == "runs_table" else event

    monkeypatch.setattr(streamlit, "dataframe", tick)
    at.run()
    no_exception(at)
    assert at.selectbox(key="runs_metric").value == "val/accuracy"
    charts = [c for c in at.get("plotly_chart") if any("compare" in str(t["name"]) for t in plotly_traces(c))]
    assert len(charts) == 1
    traces = plotly_traces(charts[0])
    assert [t["name"] for t in traces] == [f"compare a ({a[:6]})", f"compare b ({b[:6]})"]
    for rid, trace in zip((a, b), traces):
        rows = services.store().read_metrics(rid, names=["val/accuracy"], kind="epoch").sort_values("epoch")
        assert trace["x"] == (rows["epoch"] + 1).astype(float).tolist()  # epochs shown 1-based
        assert trace["y"] == pytest.approx(rows["value"].tolist())
    assert len(traces[1]["y"]) == 7 and len(traces[0]["y"]) == 5  # warm-up + main epochs of each run
    at.slider(key="runs_alpha").set_value(0.5).run()
    no_exception(at)
    charts = [c for c in at.get("plotly_chart") if any("compare" in str(t["name"]) for t in plotly_traces(c))]
    traces = plotly_traces(charts[0])
    raw = [t for t in traces if t["showlegend"] is False]
    assert (
        len(traces) == 4
        and len(raw) == 2
        and raw[0]["y"]
        == pytest.approx(
            services.store()
            .read_metrics(a, names=["val/accuracy"], kind="epoch")
            .sort_values("epoch")["value"]
            .tolist()
        )
    )


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
