"""The Sweep page: queues one run per beta/M_u and seed under one sweep id, and draws the finished ones."""

from __future__ import annotations

import uuid

from dashboard import services
from tests.dashboard.test_page_train import add_fake_run, app, no_exception


def test_sweep_page_renders_and_shows_the_knee_of_finished_runs():
    sid = uuid.uuid4().hex[:12]
    for scale, accs in ((0.1, (0.80, 0.84)), (1.0, (0.86, 0.88)), (10.0, (0.60, 0.62))):
        for seed, acc in enumerate(accs):
            add_fake_run(name=f"sweep · β/M_u={scale:g} · seed {seed}", scale=scale, seed=seed, test_accuracy=acc,
                         sweep_id=sid)  # fmt: skip
    at = app("sweep", sweep=sid)
    at.run()
    no_exception(at)
    values = {m.label: m.value for m in at.metric}
    assert values["Runs finished"] == "6 / 6"
    assert values["Empirical knee β/M_u"] == "1"
    fig = at.get("plotly_chart")[0]
    assert fig is not None
    assert list(at.dataframe[0].value["β / M_u"]) == [0.1, 1.0, 10.0]


def test_queue_sweep_stores_one_run_per_value_and_seed_with_one_sweep_id():
    jobs, store = services.jobs(), services.store()
    saved = jobs.max_concurrent
    jobs.max_concurrent = 0  # queue only: nothing starts during this test
    try:
        at = app("sweep")
        at.run()
        at.radio(key="sweep_grid_mode").set_value("list").run()
        at.text_input(key="sweep_list").set_value("0.5, 2").run()
        at.number_input(key="sweep_seeds").set_value(2).run()
        at.button(key="sweep_start").click().run()
        no_exception(at)
        sid = at.query_params.get("sweep")
        sid = sid[0] if isinstance(sid, list) else sid
        runs = store.list_runs(sweep_id=sid)
        assert sorted((r["config"]["train"]["beta_scale"], r["config"]["train"]["seed"]) for r in runs) == [
            (0.5, 0), (0.5, 1), (2.0, 0), (2.0, 1)
        ]  # fmt: skip
        assert all(r["status"] == "queued" and r["config"]["train"]["beta"] is None for r in runs)
        assert {m.label: m.value for m in at.metric}["Runs finished"] == "0 / 4"
        at.button(key="sweep_stop").click().run()
        no_exception(at)
        assert {r["status"] for r in store.list_runs(sweep_id=sid)} == {"stopped"}
    finally:
        jobs.max_concurrent = saved


def test_too_big_a_sweep_is_refused_before_anything_is_queued():
    before = len(services.store().list_runs())
    at = app("sweep")
    at.run()
    at.number_input(key="sweep_n").set_value(15).run()
    at.number_input(key="sweep_seeds").set_value(5).run()
    at.button(key="sweep_start").click().run()
    no_exception(at)
    assert any("limit" in e.value or "queue only" in e.value for e in at.error)
    assert len(services.store().list_runs()) == before
