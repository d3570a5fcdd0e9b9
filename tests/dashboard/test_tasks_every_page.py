"""Regression, anomaly detection and three modalities, end to end through every page (AppTest, real workers).

For each of SIM-REG (regression), SIM-ANOMALY (one-class, Deep SVDD) and SIM-3M (M = 3): the Data page previews it,
the Bound page estimates M_u (the M >= 3 form for SIM-3M), the Train page trains it in a worker to the end and
shows the task's own metrics and every r_j, and the Embeddings, Runs and Sweep pages show the run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import services
from omib_core.config import DataConfig, RunConfig, TrainConfig
from omib_core.data.registry import load_dataset
from omib_core.runs.store import TERMINAL
from omib_core.sweeps import final_metric
from tests.dashboard.chart_data import plotly_values

pytestmark = pytest.mark.slow

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")

CASES = {
    # dataset: (params, test metric card, r series, primary metric)
    "sim-reg": ({"n_samples": 500}, "Test MAE", ["r v1", "r v2"], "mae"),
    "sim-anomaly": ({"n_samples": 600}, "Test AUC", ["r v1", "r v2"], "auc"),
    "sim-3m": ({"n_samples": 500}, "Test accuracy", ["r v1", "r v2", "r v3"], "accuracy"),
}


def page(name: str, config: RunConfig | None = None, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(f"app_pages/{name}.py")
    if config is not None:
        at.session_state["omib_config"] = config.to_dict()
    for k, v in query.items():
        at.query_params[k] = v
    return at


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def run_id_of(at: AppTest) -> str:
    rid = at.query_params.get("run")
    rid = rid[0] if isinstance(rid, list) else rid
    assert rid, [e.value for e in at.error]
    return rid


def wait_until(at: AppTest, done, what: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"{what} not reached in {timeout} s; errors: {[e.value for e in at.error]}"
        time.sleep(1.0)
        at.run()
        no_exception(at)


def vega_titles(at: AppTest) -> dict[str, object]:
    return {json.loads(c.proto.spec)["title"]["text"]: c.proto for c in at.get("vega_lite_chart")}


@pytest.mark.parametrize("dataset", list(CASES))
def test_task_through_every_page(dataset):
    params, metric_card, r_series, metric = CASES[dataset]
    cfg = RunConfig(
        data=DataConfig(dataset=dataset, params=params),
        train=TrainConfig(
            schedule="fixed", epochs=2, warmup_epochs=1, batch_size=128, device="cpu", snapshot_every=1, log_every=2
        ),
    )
    store = services.store()

    # Data: the preview draws (class balance or target histogram, a PCA per modality)
    at = page("data", cfg)
    at.run()
    no_exception(at)
    n_mod = 3 if dataset == "sim-3m" else 2
    assert len(at.get("plotly_chart")) >= 1 + n_mod, "the preview should draw the target and one PCA per modality"

    # Bound: a gaussian estimate through a worker
    at = page("bound", cfg)
    at.run()
    at.segmented_control(key="bound_estimator").set_value("gaussian")
    at.button(key="bound_start").click().run()
    no_exception(at)
    bound_id = run_id_of(at)
    wait_until(at, lambda: store.get_run(bound_id)["status"] in TERMINAL, "the bound estimate's end")
    assert store.get_run(bound_id)["status"] == "finished", store.get_run(bound_id).get("error")
    at.run()
    labels = [m.label for m in at.metric]
    assert "M_u (conservative)" in labels, labels
    # M_u = 1 / ((2M - 1) H_joint): the gaussian estimate lies within 3 % of the data's exact joint entropy
    exact_h_joint = load_dataset(cfg.data).ground_truth["exact_h_joint"]
    m_u = store.get_run(bound_id)["result"]["M_u"]
    assert m_u == pytest.approx(1 / ((2 * n_mod - 1) * exact_h_joint), rel=0.03), (m_u, exact_h_joint)

    # Train: start, follow to the end, the task's metric and every r_j
    at = page("train", cfg)
    at.run()
    at.button(key="train_start").click().run()
    no_exception(at)
    rid = run_id_of(at)
    wait_until(at, lambda: store.get_run(rid)["status"] in TERMINAL, "the training run's end")
    run = store.get_run(rid)
    assert run["status"] == "finished", run.get("error")
    at.run()
    no_exception(at)
    cards = [m.label for m in at.metric]
    assert metric_card in cards, cards
    charts = vega_titles(at)
    rows = store.read_metrics(rid)
    if "Dynamic weight r" in charts:
        r_data = next(d for d in charts["Dynamic weight r"].datasets if d.name == "lines")
        drawn = pa.ipc.open_stream(r_data.data.data).read_all().to_pandas()
        assert sorted(set(drawn["series"])) == r_series, "every r_j is drawn (the reference modality's r = 1 too)"
    else:  # r never moved from 1 in this short run (no evidence yet, issue 19): the page says so as a number
        assert all(rows.loc[rows["name"] == f"r/{m}", "value"].eq(1.0).all() for m in run["summary"]["modalities"])
        assert any("(constant)" in str(m.value) for m in at.metric), [m.value for m in at.metric]
    assert {f"r/{m}" for m in run["summary"]["modalities"][1:]} <= set(rows["name"]), sorted(set(rows["name"]))
    assert {f"kl/{m}" for m in run["summary"]["modalities"]} <= set(rows["name"])

    # Embeddings: the xi scatter of the run
    at = page("embeddings", run=rid)
    at.run()
    no_exception(at)
    assert at.get("plotly_chart"), "no scatter on the Embeddings page"

    # Runs: the run is listed with its task's metric and its final test value
    at = page("runs")
    at.run()
    no_exception(at)
    table = at.dataframe[0].value
    row = table[table["id"] == rid]
    assert len(row) == 1, table
    assert row["metric"].iloc[0] == metric and row["open"].iloc[0] == f"train?run={rid}"
    assert row["test"].iloc[0] == pytest.approx(run["result"]["test_metrics"][metric])

    # Sweep: a one-run sweep holding this run's result shows it with its task's metric, on the chart and in its table
    sid = "5e" + rid[:10]
    copy = store.create_run(run["config"], run["owner"], "sweep of one", sweep_id=sid)
    store.set_status(copy, "running")
    store.set_status(copy, "finished", summary=run["summary"], result=run["result"])
    at = page("sweep", sweep=sid)
    at.run()
    no_exception(at)
    assert {m.label: m.value for m in at.metric}["Runs finished"] == "1 / 1"
    expected = final_metric(store.get_run(copy), metric, select="last")  # the page's default epoch selection
    assert expected is not None
    runs_table = at.dataframe[-1].value
    assert runs_table["open"].tolist() == [f"train?run={copy}"]
    assert runs_table[f"test {metric}"].iloc[0] == pytest.approx(expected)
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    ys = [y for tr in fig["data"] for y in plotly_values(tr.get("y"))]
    assert any(y == pytest.approx(expected) for y in ys), ys
