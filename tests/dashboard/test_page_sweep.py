"""The Sweep page: queues one run per beta/M_u and seed under one sweep id, and draws the finished ones."""

from __future__ import annotations

import base64
import json
import sys
import types
import uuid

import numpy as np
import pytest

from dashboard import services
from dashboard.charts.runs import format_duration
from omib_core.sweeps import final_metric, run_scale
from tests.dashboard.regime_runs import add_teaching_run
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
    assert [d.get("name") for d in fig["data"]][:3] == [
        "one seed",
        "last epoch, mean ± std",
        "best-val epoch, mean ± std",
    ]
    # the reference lines are named in the legend, not written over the curves
    names = [d.get("name") for d in fig["data"][3:]]
    assert names == [
        "ground-truth optimal MIB 0.909 (an MLP given the true a0, a1, a2; from the views it needs unlimited data)",
        "linear model 0.751 (logistic regression)",
    ]
    notes = [a["text"] for a in fig["layout"]["annotations"]]
    assert not any("linear" in n or "optimal" in n for n in notes) and "empirical best 1" in notes
    assert "Gaussian M_u" in notes and not any("MINE" in n for n in notes)  # SIM-I: the benchmark's bounds do not apply
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


def test_the_short_in_class_preset_fills_in_three_values_and_two_seeds_and_queues_six_runs():
    from omib_core.presets import SHORT_SCALES, SHORT_SEEDS

    jobs, store = services.jobs(), services.store()
    saved = jobs.max_concurrent
    jobs.max_concurrent = 0
    try:
        at = app("sweep")
        at.run()
        assert at.radio(key="sweep_preset").value == "full"
        at.radio(key="sweep_preset").set_value("short").run()
        no_exception(at)
        assert at.text_input(key="sweep_list").value == ", ".join(f"{s:g}" for s in SHORT_SCALES)
        assert at.number_input(key="sweep_seeds").value == SHORT_SEEDS
        assert any("= **6 runs**" in m.value for m in at.markdown)
        at.button(key="sweep_start").click().run()
        no_exception(at)
        sid = at.query_params.get("sweep")
        sid = sid[0] if isinstance(sid, list) else sid
        runs = store.list_runs(sweep_id=sid)
        assert sorted((r["config"]["train"]["beta_scale"], r["config"]["train"]["seed"]) for r in runs) == [
            (s, seed) for s in SHORT_SCALES for seed in range(SHORT_SEEDS)
        ]
        assert all(r["name"].startswith("short teaching β sweep · ") for r in runs)
        at.button(key="sweep_stop").click().run()
    finally:
        jobs.max_concurrent = saved


def test_the_empirical_best_waits_until_two_values_have_finished_for_every_seed():
    sid = uuid.uuid4().hex[:12]
    add_teaching_run(0.1, sid, train=1.0, test=0.75, kl=(80.0, 17.0), seed=0, name="s · β/M_u=0.1 · seed 0")
    add_teaching_run(0.1, sid, train=1.0, test=0.76, kl=(80.0, 17.0), seed=1, name="s · β/M_u=0.1 · seed 1")
    add_teaching_run(30.0, sid, train=0.98, test=0.79, kl=(13.0, 1.4), seed=0, name="s · β/M_u=30 · seed 0")
    add_teaching_run(30.0, sid, train=0.98, test=0.78, kl=(13.0, 1.4), seed=1, status="running", done=3)
    at = app("sweep", sweep=sid)
    at.run()
    no_exception(at)
    values = {m.label: m.value for m in at.metric}
    assert values["Empirical best β/M_u"] == "not yet" and values["Empirical knee β/M_u"] == "not yet"
    captions = " ".join(c.value for c in at.caption)
    assert "once 2 β/M_u values have finished for every seed (1 so far)" in captions and "30: 1 of 2" in captions
    notes = [a["text"] for a in json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["annotations"]]
    assert not any(n.startswith("empirical") for n in notes)
    # the last seed finishes: two complete values, the best is announced
    add_teaching_run(30.0, sid, train=0.98, test=0.78, kl=(13.0, 1.4), seed=1, name="s · β/M_u=30 · seed 1b")
    runs = services.store().list_runs(sweep_id=sid)
    running = next(r for r in runs if r["status"] == "running")
    services.jobs().control(running["id"], "stop", "local", True)
    at = app("sweep", sweep=sid)
    at.run()
    no_exception(at)
    values = {m.label: m.value for m in at.metric}
    assert values["Empirical best β/M_u"] == "30"


def test_a_teaching_sweep_shows_where_the_measured_mine_bound_falls():
    from dashboard.demo import measured_sweep

    measured = measured_sweep()
    assert measured is not None and "mine" in measured.bounds  # bench/results/teach_sweep.json is in the repository
    sid = uuid.uuid4().hex[:12]
    for scale, test in ((0.1, 0.75), (30.0, 0.79)):
        add_teaching_run(scale, sid, train=1.0, test=test, kl=(20.0, 2.0), name=f"t · β/M_u={scale:g} · seed 0")
    at = app("sweep", sweep=sid)
    at.run()
    no_exception(at)
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    mine = next(a for a in fig["layout"]["annotations"] if a["text"].startswith("MINE M_u"))
    assert mine["text"] == f"MINE M_u {measured.bounds['mine']:.3g} (bench/teach_sweep.py)"
    assert mine["x"] == pytest.approx(np.log10(measured.bounds["mine"] / 1e-3))  # on this sweep's axis (M_u = 1e-3)
    captions = " ".join(c.value for c in at.caption)
    assert "Measured by bench/teach_sweep.py" in captions and f"mine M_u {measured.bounds['mine']:.3g}" in captions
    assert "sufficient, conservative bound" in captions
    assert "starts to cost accuracy" not in captions


def test_a_time_estimate_is_shown_before_queue_only_when_the_core_has_one(monkeypatch):
    monkeypatch.setitem(sys.modules, "omib_core.runs.grid_estimate", None)
    at = app("sweep")
    at.run()
    no_exception(at)
    assert not any("to train" in c.value for c in at.caption)
    fake = types.ModuleType("omib_core.runs.grid_estimate")
    fake.estimate_seconds = lambda configs, cache=None: {
        "seconds": 2.0 * len(configs),
        "basis": "measured on this server",
    }
    monkeypatch.setitem(sys.modules, "omib_core.runs.grid_estimate", fake)
    at = app("sweep")
    at.run()
    no_exception(at)
    n = at.number_input(key="sweep_seeds").value * 6  # every planned config is passed: 2 s each here
    expected = f"About **{format_duration(2.0 * n)}** to train (measured on this server)"
    assert any(expected in c.value for c in at.caption), [c.value for c in at.caption]
    monkeypatch.delitem(sys.modules, "omib_core.runs.grid_estimate")  # the real one: timed here on the grid's network
    at = app("sweep")
    at.run()
    no_exception(at)
    assert any("timed on this server just now" in c.value and "one grid of" in c.value for c in at.caption)
