"""Home page: renders, explains the method, queues the three regimes as one sweep and shows them side by side with a
verdict computed from each run's numbers, and its slider still queues one run at the chosen beta."""

from __future__ import annotations

import json
import sys
import types
import uuid

from dashboard import services
from omib_core.presets import TEACHING_REGIMES, TEACHING_SCALES
from tests.dashboard.regime_runs import add_teaching_run
from tests.dashboard.test_page_train import app, no_exception


def texts(at, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]


def test_home_renders_the_one_minute_introduction():
    at = app("home")
    at.run()
    no_exception(at)
    assert at.title[0].value == "OMIB Studio"
    headers = [h.value for h in at.subheader]
    assert any("loss" in h for h in headers) and any("M_u" in h for h in headers) and any("r" in h for h in headers)
    assert len(at.latex) == 3


def test_home_words_say_what_the_sweep_measures():
    at = app("home")
    at.run()
    text = " ".join(texts(at, "markdown") + texts(at, "caption"))
    assert "sufficient, conservative bound" in text and "not the best" in text
    assert "squeezes out task information" not in text and "cost accuracy" not in text
    # the numbers come from bench/results/teach_sweep.json, labelled as its measurement
    assert "Measured by bench/teach_sweep.py" in text and "right of the bound" in text


def test_slider_shows_every_stop_and_queues_one_run_at_the_chosen_beta_for_this_user():
    jobs, store = services.jobs(), services.store()
    saved = jobs.max_concurrent
    jobs.max_concurrent = 0  # queue only: nothing starts during this test
    try:
        before = {r["id"] for r in store.list_runs()}
        at = app("home")
        at.run()
        text = " ".join(m.value for m in at.markdown)
        assert "overfits" in text and "underfits" in text and "conservative" in text
        assert at.select_slider(key="home_demo_scale").value == 1.0
        strip = next(c for c in texts(at, "caption") if c.startswith("β / M_u stops:"))
        assert all(f"{s:g}" in strip for s in TEACHING_SCALES) and "**1**" in strip
        at.select_slider(key="home_demo_scale").set_value(300.0).run()
        strip = next(c for c in texts(at, "caption") if c.startswith("β / M_u stops:"))
        assert "**300 (too much)**" in strip and "**1**" not in strip
        at.button(key="home_demo").click().run()
        no_exception(at)
        new = [r for r in store.list_runs() if r["id"] not in before]
        assert len(new) == 1 and new[0]["name"] == "Teaching demo · β/M_u=300" and new[0]["owner"] == "local"
        assert new[0]["config"]["data"]["dataset"] == "sim-teach"
        assert new[0]["config"]["train"]["beta_scale"] == 300.0 and new[0]["config"]["train"]["beta"] is None
        assert new[0]["sweep_id"] is None
        for r in new:
            jobs.control(r["id"], "stop", "local", True)
    finally:
        jobs.max_concurrent = saved


def test_one_click_queues_the_three_regimes_as_one_sweep_and_shows_them_side_by_side():
    jobs, store = services.jobs(), services.store()
    saved = jobs.max_concurrent
    jobs.max_concurrent = 0
    try:
        at = app("home")
        at.run()
        at.button(key="home_regimes").click().run()
        no_exception(at)
        sid = at.query_params.get("demo")
        sid = sid[0] if isinstance(sid, list) else sid
        runs = sorted(store.list_runs(sweep_id=sid), key=lambda r: r["config"]["train"]["beta_scale"])
        assert [r["config"]["train"]["beta_scale"] for r in runs] == list(TEACHING_REGIMES.values())
        assert [r["name"] for r in runs] == [
            f"Teaching demo · {regime} β ({s:g} × M_u)" for regime, s in TEACHING_REGIMES.items()
        ]
        assert {r["config"]["data"]["dataset"] for r in runs} == {"sim-teach"} and {r["owner"] for r in runs} == {
            "local"
        }
        # the view: three columns, each queued, each linking to its run
        assert texts(at, "info").count("queued: waiting for a worker") == 3
        run_links = [p.proto for p in at.get("page_link") if "run=" in (p.proto.query_string or "")]
        assert sorted(p.query_string for p in run_links) == sorted(f"run={r['id']}" for r in runs)
        at.button(key="home_demo_close").click().run()
        assert "demo" not in at.query_params
        for r in runs:
            jobs.control(r["id"], "stop", "local", True)
    finally:
        jobs.max_concurrent = saved


def regimes(sid: str, numbers: dict[float, tuple]) -> None:
    for scale, (train, test, kl1, kl2) in numbers.items():
        add_teaching_run(scale, sid, train=train, test=test, kl=(kl1, kl2))


def test_finished_demo_shows_a_verdict_from_each_runs_own_numbers():
    sid = uuid.uuid4().hex[:12]
    # bench/results/teach_sweep.json, seed 0: 0.1 / 30 / 300 x M_u
    regimes(sid, {0.1: (1.0, 0.7545, 78.5, 18.7), 30.0: (0.987, 0.7855, 12.8, 1.4), 300.0: (0.819, 0.7045, 1.83, 0.01)})
    at = app("home", demo=sid)
    at.run()
    no_exception(at)
    warnings, successes = texts(at, "warning"), texts(at, "success")
    assert any(
        w == "overfits: train-test gap 0.25, test 0.75 (0.03 below the best here), 97 nats kept" for w in warnings
    )
    assert successes == ["about right: test 0.79, gap 0.20, KL_v2 1.4 nats"]
    assert any(
        w == "underfits: KL_v2 0.0 nats, KL_v1 1.8 nats, test 0.70 (0.08 below the best here), +0.00 vs linear"
        for w in warnings
    )
    assert any(c.startswith("Verdicts compared with the other runs of this demo") for c in texts(at, "caption"))
    # three columns of three charts, each plot area at least 160 px, on shared axes
    charts = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert len(charts) == 9 and all(c["height"] >= 160 for c in charts)
    titles = [c["title"]["text"] for c in charts]
    assert titles.count("Accuracy: train, test and the gap") == 3 and titles.count("KL per modality (nats)") == 3
    kl_domains = {
        json.dumps(c["layer"][0]["encoding"]["y"]["scale"]) for c in charts if c["title"]["text"].startswith("KL")
    }
    assert len(kl_domains) == 1 and '"symlog"' in kl_domains.pop()


def test_other_numbers_give_other_verdicts():
    sid = uuid.uuid4().hex[:12]
    # here the smallest beta has the best test accuracy: it is about right, and the middle one is not
    regimes(sid, {0.1: (1.0, 0.80, 60.0, 9.0), 30.0: (0.95, 0.74, 12.0, 1.0), 300.0: (0.80, 0.70, 1.5, 0.02)})
    at = app("home", demo=sid)
    at.run()
    no_exception(at)
    assert texts(at, "success") == ["about right: test 0.80, gap 0.20, KL_v2 9.0 nats"]
    assert sum(w.startswith("underfits") for w in texts(at, "warning")) == 2


def test_a_run_still_training_shows_its_live_state_and_is_judged_alone_meanwhile():
    sid = uuid.uuid4().hex[:12]
    add_teaching_run(0.1, sid, train=1.0, test=0.75, kl=(80.0, 17.0))
    add_teaching_run(30.0, sid, train=0.98, test=0.78, kl=(13.0, 1.4), status="running", epochs=10, done=4)
    at = app("home", demo=sid)
    at.run()
    no_exception(at)
    info = texts(at, "info")
    assert any(i.startswith("training: epoch 4 of 11, gap") and i.endswith("so far") for i in info), info
    assert any(w.startswith("overfits: train-test gap 0.25 (train 1.00, test 0.75)") for w in texts(at, "warning"))
    assert any(c.startswith("Verdicts judged alone, by thresholds from the measured") for c in texts(at, "caption"))


def test_a_time_estimate_appears_once_the_core_gives_one(monkeypatch):
    monkeypatch.setitem(
        sys.modules, "omib_core.runs.grid_estimate", None
    )  # a core without the grid engine: ImportError
    at = app("home")
    at.run()
    no_exception(at)
    assert not any("to train" in c for c in texts(at, "caption"))  # no estimate: nothing shown
    monkeypatch.setitem(
        sys.modules, "omib_core.runs.grid_estimate", types.ModuleType("omib_core.runs.grid_estimate")
    )  # no function
    at = app("home")
    at.run()
    no_exception(at)
    assert not any("to train" in c for c in texts(at, "caption"))
    fake = types.ModuleType("omib_core.runs.grid_estimate")
    fake.estimate_seconds = lambda configs, cache=None: {
        "seconds": 6.0 * len(configs),
        "basis": f"{len(configs)} members, measured",
    }
    monkeypatch.setitem(sys.modules, "omib_core.runs.grid_estimate", fake)
    at = app("home")
    at.run()
    no_exception(at)
    assert any("About **18 s** to train (3 members, measured)" in c for c in texts(at, "caption"))
