"""The Bound page: renders, and estimates M_u of a small SIM-I through a real worker (gaussian estimator)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import services
from omib_core.config import DataConfig, RunConfig
from omib_core.data.registry import load_dataset

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
SMALL_SIM_I = {"n_samples": 800, "b1": 8, "b2": 8, "reference": False}


def app(config: RunConfig | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("app_pages/bound.py")
    if config is not None:
        at.session_state["omib_config"] = config.to_dict()
    return at


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_bound_page_renders():
    at = app()
    at.run()
    no_exception(at)
    assert at.button(key="bound_start") is not None
    at.segmented_control(key="bound_estimator").set_value("mine")
    at.run()
    no_exception(at)
    assert not at.select_slider(key="bound_steps").disabled


def start_and_wait(at: AppTest, seconds: float = 240) -> str:
    """Press Start, follow the estimate until the page shows M_u; returns the run id."""
    at.button(key="bound_start").click()
    at.run()
    no_exception(at)
    rid = at.query_params.get("run")
    rid = rid[0] if isinstance(rid, list) else rid
    assert rid, "starting an estimate puts its run id in the URL"
    deadline = time.time() + seconds
    while "M_u (conservative)" not in metrics(at):
        assert time.time() < deadline, f"no M_u after {seconds:.0f} s: {[e.value for e in at.error]}"
        assert not at.error, [e.value for e in at.error]
        time.sleep(1.0)
        at.run()
        no_exception(at)
    return rid


@pytest.mark.slow
def test_bound_page_estimates_m_u_with_a_neural_estimator():
    """MINE with the smallest step budget: the worker trains critics, the page shows M_u = 1 / (3 H_joint) of them."""
    at = app(RunConfig(data=DataConfig(dataset="sim-i", params=SMALL_SIM_I)))
    at.run()
    at.segmented_control(key="bound_estimator").set_value("mine")
    at.run()
    at.select_slider(key="bound_steps").set_value(100)
    at.slider(key="bound_seeds").set_value(1)
    at.number_input(key="bound_max_samples").set_value(400)
    at.run()
    no_exception(at)
    rid = start_and_wait(at)
    run = services.store().get_run(rid)
    assert run["status"] == "finished" and run["kind"] == "bound", run.get("error")
    result = run["result"]
    assert result["estimator"] == "mine" and result["settings"]["steps"] == 100, result["settings"]
    h_joint = result["h_joint"]["value"]
    assert result["M_u"] == pytest.approx(1 / (3 * h_joint)) and h_joint > 0
    assert all(len(e["curve"]) > 1 for e in result["entropies"].values()), "a neural estimate has a training curve"
    assert float(metrics(at)["M_u (conservative)"]) == pytest.approx(result["M_u"], rel=0.01)


def test_bound_page_estimates_m_u_of_small_sim_i():
    at = app(RunConfig(data=DataConfig(dataset="sim-i", params=SMALL_SIM_I)))
    at.run()
    no_exception(at)
    at.segmented_control(key="bound_estimator").set_value("gaussian")
    at.button(key="bound_start").click()
    at.run()
    no_exception(at)
    rid = at.query_params.get("run")
    rid = rid[0] if isinstance(rid, list) else rid
    assert rid, "starting an estimate puts its run id in the URL"
    deadline = time.time() + 240
    while "M_u (conservative)" not in metrics(at):
        assert time.time() < deadline, f"no M_u after 4 minutes: {[e.value for e in at.error]}"
        assert not at.error, [e.value for e in at.error]
        time.sleep(1.0)
        at.run()
        no_exception(at)
    m = metrics(at)
    value = m["M_u (conservative)"]
    # M_u = 1 / (3 H_joint): the gaussian estimate lies within 3 % of the data's exact joint entropy (Gaussian data)
    exact_h_joint = load_dataset(DataConfig(dataset="sim-i", params=SMALL_SIM_I)).ground_truth["exact_h_joint"]
    m_u = services.store().get_run(rid)["result"]["M_u"]
    assert m_u == pytest.approx(1 / (3 * exact_h_joint), rel=0.03), (m_u, exact_h_joint)
    assert float(value) == pytest.approx(m_u, rel=0.01), m  # the card shows the stored number
    assert any(k.startswith("H(") for k in m) and "M_l" in m
    # the exact values of the synthetic data sit beside the estimates
    assert any(mt.proto.delta.startswith("exact") for mt in at.metric if mt.label.startswith("H("))
    # moving r moves the paper-form bound; conservative = 1/(3 H) lies inside 1/((1 + r) H) for r < 2
    at.slider(key="bound_r").set_value(0.5)
    at.run()
    no_exception(at)
    assert float(metrics(at)["M_u with this r"]) > float(value)
    layouts = [json.loads(c.proto.spec)["layout"] for c in at.get("plotly_chart")]
    line = [lay for lay in layouts if lay.get("xaxis", {}).get("type") == "log"]
    assert line, "the β number line is drawn"
    assert any(a["text"].startswith("M_u (conservative)") for a in line[0]["annotations"])
