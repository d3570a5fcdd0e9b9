"""The Sweep page: queues one run per beta/M_u and seed under one sweep id, and draws the finished ones."""

from __future__ import annotations

import base64
import json
import uuid

import numpy as np
import pytest

from dashboard import services
from omib_core.sweeps import final_metric, run_scale
from tests.dashboard.test_page_train import add_fake_run, app, no_exception


def values_of(array) -> list[float]:
    """A plotly JSON array: a plain list, or ``{"dtype", "bdata"}`` (base64 of the raw values)."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def test_sweep_page_renders_and_shows_the_knee_of_finished_runs():
    sid = uuid.uuid4().hex[:12]
    for scale, accs in ((0.1, (0.80, 0.84)), (1.0, (0.86, 0.88)), (10.0, (0.60, 0.62))):
        for seed, acc in enumerate(accs):
            add_fake_run(
                name=f"sweep · β/M_u={scale:g} · seed {seed}", scale=scale, seed=seed, test_accuracy=acc, sweep_id=sid
            )
    at = app("sweep", sweep=sid)
    at.run()
    no_exception(at)
    values = {m.label: m.value for m in at.metric}
    assert values["Runs finished"] == "6 / 6"
    assert values["Empirical knee β/M_u"] == "1" and values["Empirical best β/M_u"] == "1"
    assert at.radio(key="sweep_select").value == "last"
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [d.get("name") for d in fig["data"]] == ["one seed", "last epoch, mean ± std", "best-val epoch, mean ± std"]
    last, best_val = values_of(fig["data"][1]["y"]), values_of(fig["data"][2]["y"])
    assert last == pytest.approx([0.80, 0.85, 0.59]) and best_val == pytest.approx([0.82, 0.87, 0.61])
    # one faint point per run (its own last-epoch value, its run id in the hover), error bars = std over seeds
    runs = {r["id"]: r for r in services.store().list_runs(sweep_id=sid)}
    seeds = fig["data"][0]
    ids = [row[2] for row in seeds["customdata"]]
    assert sorted(ids) == sorted(runs)
    expected = [final_metric(runs[i], "accuracy", select="last") for i in ids]
    assert values_of(seeds["y"]) == pytest.approx(expected)
    by_scale: dict[float, list[float]] = {}
    for i, v in zip(ids, expected):
        by_scale.setdefault(run_scale(runs[i]), []).append(v)
    stds = [float(np.std(by_scale[k], ddof=1)) for k in sorted(by_scale)]
    assert values_of(fig["data"][1]["error_y"]["array"]) == pytest.approx(stds)
    assert list(at.dataframe[0].value["β / M_u"]) == [0.1, 1.0, 10.0]


def test_the_default_sweep_is_the_teaching_preset_over_the_teaching_scales():
    from omib_core.presets import TEACHING_SCALES

    at = app("sweep")
    at.run()
    no_exception(at)
    assert at.radio(key="sweep_base").value == "teaching"
    assert at.text_input(key="sweep_list").value == ", ".join(f"{s:g}" for s in TEACHING_SCALES)
    assert any("sim\\-teach" in m.value or "sim-teach" in m.value for m in at.markdown)
    seeds = at.number_input(key="sweep_seeds").value
    assert any(f"= **{len(TEACHING_SCALES) * seeds} runs**" in m.value for m in at.markdown)


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
            (0.5, 0),
            (0.5, 1),
            (2.0, 0),
            (2.0, 1),
        ]
        assert all(r["status"] == "queued" and r["config"]["train"]["beta"] is None for r in runs)
        assert {r["config"]["data"]["dataset"] for r in runs} == {"sim-teach"}  # the default base: teaching preset
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
    at.radio(key="sweep_grid_mode").set_value("range").run()
    at.number_input(key="sweep_n").set_value(15).run()
    at.number_input(key="sweep_seeds").set_value(5).run()
    at.button(key="sweep_start").click().run()
    no_exception(at)
    assert any("limit" in e.value or "queue only" in e.value for e in at.error)
    assert len(services.store().list_runs()) == before
