"""The Train page: renders, refuses impossible settings, shows a stored run, and trains SIM-I end to end.

``add_fake_run`` (also used by the Runs and Sweep page tests) writes a run into the store the way a worker
would, so pages can be checked without training anything.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import services
from omib_core.config import DataConfig, RunConfig, TrainConfig
from omib_core.runs.store import TERMINAL
from tests.auth_helpers import sign_in

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")

# helpers shared by the page tests


def app(page: str, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(f"app_pages/{page}.py")
    for k, v in query.items():
        at.query_params[k] = v
    return at


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def add_fake_run(
    owner: str = "local",
    name: str = "fake run",
    status: str = "finished",
    epochs: int = 4,
    scale: float = 1.0,
    seed: int = 0,
    test_accuracy: float = 0.88,
    sweep_id: str | None = None,
    dataset: str = "sim-i",
    bottleneck: bool = True,
) -> str:
    """A run as a worker would leave it: summary, step and epoch metrics, status and result."""
    store, jobs = services.store(), services.jobs()
    cfg = RunConfig(
        data=DataConfig(dataset=dataset),
        train=TrainConfig(schedule="fixed", epochs=epochs, warmup_epochs=1, beta_scale=scale, seed=seed),
    )
    cfg = cfg.replace(model=cfg.model.replace(bottleneck=bottleneck))
    saved = jobs.max_concurrent
    jobs.max_concurrent = 0  # keep the scheduler from starting the fake run while it is briefly queued
    try:
        rid = store.create_run(cfg.to_dict(), owner, name, sweep_id=sweep_id)
        store.set_status(rid, "running", only_from=("queued",), heartbeat=time.time())
    finally:
        jobs.max_concurrent = saved
    mods = ["v1", "v2"]
    summary = {
        "device": "cpu",
        "task": "classification",
        "modalities": mods,
        "n_train": 700,
        "n_val": 150,
        "n_test": 150,
        "total_epochs": epochs + 1,
        "steps_per_epoch": 3,
        "beta": 2e-3 * scale,
        "M_u": 2e-3,
        "M_l": 1e-3,
        "beta_over_Mu": scale,
        "estimator": "gaussian",
        "num_threads": 1,
        "reference": {"optimal_mib_accuracy": 0.909, "bayes_accuracy": 0.912, "linear_test_accuracy": 0.751},
        "schedule": {
            "n_fit": 700,
            "batch_size": 70,
            "steps_per_epoch": 10,
            "warmup_epochs": 1,
            "epochs": epochs,
            "warmup_steps": 10,
            "main_steps": 10 * epochs,
            "patience": 2,
            "mode": "auto",
            "changes": ["batch_size 256 -> 70 (0.1 of the 700 training rows)"],
        },
    }
    store.update_run(rid, summary=summary, total_epochs=epochs + 1, device="cpu")
    rows, step = [], 0
    for epoch in range(epochs + 1):
        stage = "warmup" if epoch == 0 else "main"
        for _ in range(3):
            step += 1
            m = {"loss": 2.0 / step, "trb_loss/v1": 1.0 / step, "trb_loss/v2": 1.2 / step}
            if stage == "main":
                m |= {
                    "task_loss": 1.0 / step,
                    "kl/v1": 4.0,
                    "kl/v2": 3.0,
                    "beta_kl/v1": 0.008,
                    "beta_kl/v2": 0.005,
                    "r/v1": 1.0,
                    "r/v2": 0.8 + 0.01 * step,
                    "beta": 2e-3 * scale,
                    "M_u": 2e-3,
                    "beta_over_Mu": scale,
                }
            rows += [dict(kind="step", stage=stage, step=step, epoch=epoch, name=k, value=v) for k, v in m.items()]
        acc = test_accuracy - 0.05 * (epochs - epoch) / epochs
        m = {
            "val/accuracy": acc + 0.01,
            "test/accuracy": acc,
            "train/accuracy": acc + 0.05,
            "trb/v1/val/accuracy": acc - 0.05,
            "trb/v2/val/accuracy": acc - 0.1,
        }
        rows += [dict(kind="epoch", stage=stage, step=step, epoch=epoch, name=k, value=v) for k, v in m.items()]
    store.append_metrics(rid, rows, {"epoch": epochs + 1, "step": step})
    result = None
    if status == "finished":
        result = {
            "epochs": epochs,
            "step": step,
            "test_metrics": {"accuracy": test_accuracy, "f1_macro": 0.8},
            "val_metrics": {"accuracy": test_accuracy + 0.01},
            "r_final": [1.0, 0.85],
            "beta": 2e-3 * scale,
            "wall_seconds": 12.0,
            "samples_per_second": 900.0,
            "checkpoint_path": None,
            "last_test_metrics": {"accuracy": test_accuracy - 0.02},
            "selection": {
                "best_val": {"epoch": epochs - 1, "val": {}, "test": {"accuracy": test_accuracy}},
                "last": {"epoch": epochs, "val": {}, "test": {"accuracy": test_accuracy - 0.02}},
                "stopped_early": True,
            },
        }
    store.set_status(
        rid,
        status,
        error="The loss became NaN at step 9; lower the learning rate." if status == "failed" else None,
        result=result,
    )
    return rid


# tests


def test_train_page_renders_controls_without_a_run():
    at = app("train")
    at.run()
    no_exception(at)
    assert at.title[0].value == "Train"
    labels = [b.label for b in at.button]
    assert "Start" in labels and "Concat fusion" in labels
    assert at.number_input(key="train_epochs").value == RunConfig().train.epochs


def test_new_controls_reach_the_session_config():
    at = app("train")
    at.run()
    assert at.number_input(key="train_enc_layers").value == 0
    assert "0 = linear" in at.number_input(key="train_enc_layers").label
    r_form = at.selectbox(key="train_r_form")
    assert r_form.value == "info_gain" and "held-out gain (default)" in r_form.options
    assert "mean of ratios (Eq. 11 as written)" in r_form.options and "towards 0" in r_form.help
    at.number_input(key="train_enc_layers").set_value(2).run()
    at.selectbox(key="train_schedule").set_value("fixed").run()
    at.number_input(key="train_patience").set_value(3).run()
    at.selectbox(key="train_r_form").set_value("mean_of_ratios").run()
    no_exception(at)
    cfg = RunConfig.from_dict(at.session_state["omib_config"])
    assert (cfg.model.enc_layers, cfg.train.schedule, cfg.train.patience, cfg.train.r_form) == (
        2,
        "fixed",
        3,
        "mean_of_ratios",
    )


def small_sim_i(**train) -> RunConfig:
    return RunConfig(data=DataConfig(dataset="sim-i", params={"n_samples": 600}), train=TrainConfig(**train))


def test_schedule_preview_shows_the_auto_batch_for_a_small_dataset():
    from omib_core.data import load_dataset
    from omib_core.train.schedule import resolve_schedule

    cfg = small_sim_i(batch_size=256)
    n_fit = len(load_dataset(cfg.data.replace(params={"n_samples": 600, "reference": False})).indices("train"))
    expected = resolve_schedule(cfg.train, n_fit)
    assert expected.batch_size < 256  # the auto schedule cut the batch: the preview must say so
    at = app("train")
    at.session_state["omib_config"] = cfg.to_dict()
    at.run()
    no_exception(at)
    text = " ".join(m.value for m in at.markdown)
    assert f"Schedule on the {n_fit:,} training rows" in text
    assert f"batch {expected.batch_size} · {expected.steps_per_epoch} steps/epoch" in text
    assert f"batch_size 256 -> {expected.batch_size}" in text
    assert not at.button(key="train_start").disabled


def test_an_impossible_fixed_schedule_disables_start_with_the_sentence():
    at = app("train")
    at.session_state["omib_config"] = small_sim_i(schedule="fixed", batch_size=4096).to_dict()
    at.run()
    no_exception(at)
    assert at.button(key="train_start").disabled
    assert any("batch_size = 4096 is larger than the" in e.value and "training rows" in e.value for e in at.error)


def test_baseline_preset_sets_controls_and_the_session_config():
    at = app("train")
    at.run()
    at.button(key="train_preset_Concat fusion").click().run()
    at.button(key="train_preset_r fixed at 1").click().run()
    no_exception(at)
    assert at.selectbox(key="train_fusion").value == "concat"
    cfg = RunConfig.from_dict(at.session_state["omib_config"])
    assert cfg.model.fusion == "concat" and cfg.train.dynamic_r is False


def test_impossible_settings_are_refused_with_a_sentence_and_nothing_is_stored():
    jobs = services.jobs()
    at = app("train")
    at.run()
    before = len(services.store().list_runs())
    saved = jobs.max_epochs
    jobs.max_epochs = 5  # a server limit, checked by submit before anything is stored
    try:
        at.button(key="train_start").click().run()
    finally:
        jobs.max_epochs = saved
    no_exception(at)
    assert any("at most 5 epochs" in e.value for e in at.error)
    assert len(services.store().list_runs()) == before
    assert "run" not in at.query_params


def test_share_link_round_trips_the_config():
    from dashboard.state import encode_config

    cfg = RunConfig(train=TrainConfig(schedule="fixed", epochs=7, beta_scale=3.0))
    at = app("train", cfg=encode_config(cfg))
    at.run()
    no_exception(at)
    assert at.number_input(key="train_epochs").value == 7
    assert at.number_input(key="train_beta_scale").value == 3.0
    assert any(encode_config(cfg) in c.value for c in at.code)


def test_finished_run_shows_results_charts_and_embeddings_link():
    rid = add_fake_run(name="finished demo")
    at = app("train", run=rid)
    at.run()
    no_exception(at)
    labels = [m.label for m in at.metric]
    assert "Test accuracy" in labels and "r (v2), final" in labels
    values = {m.label: m.value for m in at.metric}
    assert values["Status"] == "finished" and values["Epoch"] == "5 / 5"
    assert values["r (v2), final"] == "0.850"
    charts = at.get("vega_lite_chart")
    titles = [json.loads(c.proto.spec)["title"]["text"] for c in charts]
    assert len(charts) == 6 and "Dynamic weight r" in titles and "KL terms per modality" in titles, titles
    # β = M_u throughout: a number, not a flat line lying on the dashed M_u line
    assert "β against the bound M_u" not in titles and values["β against the bound M_u"] == "β = 1 × M_u (constant)"
    r_chart = charts[titles.index("Dynamic weight r")].proto
    assert {d.name for d in r_chart.datasets} >= {"lines", "warmup", "references"}
    assert all(at.button(key=f"train_ctl_{a}").disabled for a in ("pause", "step", "resume", "stop"))
    # both selections, and whether it stopped early
    assert values["Test accuracy, best-val epoch"] == "0.88" and values["Test accuracy, last epoch"] == "0.86"
    assert values["Stopped early"] == "yes"
    # the run's own schedule
    text = " ".join(m.value for m in at.markdown)
    assert "This run's schedule:" in text and "batch 70 · 10 steps/epoch" in text and "batch_size 256 -> 70" in text
    # the linear baseline beside the ground truth on the accuracy chart
    acc_chart = charts[titles.index("Accuracy per epoch")].proto
    refs = next(d for d in acc_chart.datasets if d.name == "references")
    labels = list(pa.ipc.open_stream(refs.data.data).read_all().to_pandas()["label"])
    assert "linear model (logistic regression) 0.751" in labels and "ground-truth optimal MIB 0.909" in labels
    # the card's delta is one a learner can act on: against the linear model, not the unreachable optimum
    card = next(m for m in at.metric if m.label == "Test accuracy")
    assert card.delta == "+0.129 vs the linear model"


def test_a_sweep_runs_result_card_compares_with_the_sweeps_best_beta():
    sid = "sweepcard01"
    add_fake_run(name="a", scale=1.0, test_accuracy=0.80, sweep_id=sid)
    rid = add_fake_run(name="b", scale=10.0, test_accuracy=0.84, sweep_id=sid)
    add_fake_run(name="c", scale=30.0, test_accuracy=0.86, sweep_id=sid)
    at = app("train", run=rid)
    at.run()
    no_exception(at)
    card = next(m for m in at.metric if m.label == "Test accuracy")
    assert "vs the sweep's best β" in card.delta and "-0.020 vs the sweep's best β" in card.delta


def test_duration_stands_still_while_paused():
    rid = add_fake_run(status="paused", name="paused demo")
    at = app("train", run=rid)
    at.run()
    no_exception(at)
    first = {m.label: m.value for m in at.metric}["Duration"]
    time.sleep(1.6)  # a counter that runs on would now read 2 s
    at.run()
    assert {m.label: m.value for m in at.metric}["Duration"] == first == "0 s"


def test_owner_controls_reach_the_run_and_a_queued_run_shows_its_position():
    store, jobs = services.store(), services.jobs()
    rid = add_fake_run(status="running", name="controllable")
    at = app("train", run=rid)
    at.run()
    assert not at.button(key="train_ctl_pause").disabled and at.button(key="train_ctl_resume").disabled
    at.button(key="train_ctl_pause").click().run()
    no_exception(at)
    assert store.get_run(rid)["control"] == "pause"
    store.set_status(rid, "stopped")
    saved = jobs.max_concurrent
    jobs.max_concurrent = 0
    try:
        queued = store.create_run(RunConfig().to_dict(), "local", "waiting")
        at = app("train", run=queued)
        at.run()
        no_exception(at)
        assert any(re.search(r"position \d+ in the queue", i.value) for i in at.info)
        at.button(key="train_ctl_stop").click().run()
        assert store.get_run(queued)["status"] == "stopped"
    finally:
        jobs.max_concurrent = saved


def test_failed_run_shows_its_sentence():
    rid = add_fake_run(status="failed", name="broken")
    at = app("train", run=rid)
    at.run()
    no_exception(at)
    assert any("loss became NaN" in e.value for e in at.error)


def test_other_users_cannot_control_a_run():
    rid = add_fake_run(owner="alice", status="running", name="alice's run")
    at = sign_in(app("train", run=rid), "bob")  # signed in, not an admin
    at.run()
    no_exception(at)
    assert all(at.button(key=f"train_ctl_{a}").disabled for a in ("pause", "stop"))
    assert any("Only alice" in c.value for c in at.caption)
    services.store().set_status(rid, "stopped")


def test_unknown_run_in_link_is_a_sentence():
    at = app("train", run="0123456789ab")
    at.run()
    no_exception(at)
    assert any("no run with id" in w.value for w in at.warning)


@pytest.mark.slow
def test_sim_i_run_started_from_the_train_page_produces_metrics():
    """A real run: Start on the page, a worker subprocess trains a tiny SIM-I, the page follows it to the end."""
    cfg = RunConfig(
        data=DataConfig(dataset="sim-i", params={"n_samples": 600}),
        train=TrainConfig(
            schedule="fixed", epochs=2, warmup_epochs=1, batch_size=128, device="cpu", snapshot_every=1, log_every=2
        ),
    )
    at = app("train")
    at.session_state["omib_config"] = cfg.to_dict()
    at.run()
    t0 = time.monotonic()
    at.button(key="train_start").click().run()
    no_exception(at)
    rid = at.query_params.get("run")
    rid = rid[0] if isinstance(rid, list) else rid
    assert rid, [e.value for e in at.error]
    store = services.store()
    deadline = time.monotonic() + 120
    status = None
    while time.monotonic() < deadline:
        at.run()
        no_exception(at)
        status = store.get_run(rid)["status"]
        if status in TERMINAL:
            break
        time.sleep(1.0)
    elapsed = time.monotonic() - t0
    run = store.get_run(rid)
    assert status == "finished", f"run ended {status} after {elapsed:.0f} s: {run.get('error')}"
    rows = store.read_metrics(rid)
    epochs = rows[rows["kind"] == "epoch"]
    assert {"val/accuracy", "test/accuracy", "trb/v2/val/accuracy"} <= set(epochs["name"]), sorted(set(rows["name"]))
    assert {"loss", "task_loss", "kl/v1", "r/v2", "beta", "M_u"} <= set(rows["name"])
    assert epochs["epoch"].nunique() == 3  # 1 warm-up + 2 main epochs
    assert np.isfinite(run["result"]["test_metrics"][next(iter(run["result"]["test_metrics"]))])
    at.run()
    assert any(m.label.startswith("r (") for m in at.metric), "no final r card"
    print(f"SIM-I run from the Train page: {elapsed:.1f} s to finished")


def test_a_bound_run_points_to_the_bound_page():
    store, jobs = services.store(), services.jobs()
    saved = jobs.max_concurrent
    jobs.max_concurrent = 0
    try:
        rid = store.create_run(RunConfig().to_dict(), "local", "an M_u estimate", kind="bound")
        store.set_status(rid, "running")
        store.set_status(rid, "finished")
    finally:
        jobs.max_concurrent = saved
    at = app("train", run=rid)
    at.run()
    no_exception(at)
    assert any("Bound page" in i.value for i in at.info)
    assert not at.get("vega_lite_chart")


def _reference_labels(at: AppTest) -> list[str]:
    charts = at.get("vega_lite_chart")
    titles = [json.loads(c.proto.spec)["title"]["text"] for c in charts]
    refs = next(d for d in charts[titles.index("Accuracy per epoch")].proto.datasets if d.name == "references")
    return list(pa.ipc.open_stream(refs.data.data).read_all().to_pandas()["label"])


def test_the_same_network_without_the_bottleneck_is_offered_then_drawn_beside_the_run():
    rid = add_fake_run(name="omib with twin", seed=11, test_accuracy=0.88)
    at = app("train", run=rid)
    at.run()
    no_exception(at)
    assert not any(label.startswith("same network, no bottleneck") for label in _reference_labels(at))
    jobs = services.jobs()
    saved = jobs.max_concurrent
    jobs.max_concurrent = 0  # a submission wakes the scheduler at once: keep the twin queued while it is checked
    try:
        at.button(key="train_twin").click().run()  # queues the twin: same data and seed, bottleneck off
    finally:
        jobs.max_concurrent = saved
    queued = [r for r in services.store().list_runs(status="queued") if r["name"] == "omib with twin (no bottleneck)"]
    assert len(queued) == 1 and queued[0]["config"]["model"]["bottleneck"] is False
    assert queued[0]["config"]["train"]["seed"] == 11
    services.store().delete_run(queued[0]["id"], queued[0]["owner"])
    add_fake_run(name="twin", seed=11, test_accuracy=0.83, bottleneck=False)
    add_fake_run(name="other seed", seed=12, test_accuracy=0.5, bottleneck=False)  # not a twin: another seed
    at = app("train", run=rid)
    at.run()
    no_exception(at)
    labels = _reference_labels(at)
    assert "same network, no bottleneck 0.830" in labels and "same network, no bottleneck 0.500" not in labels


def test_the_results_link_to_the_mlflow_run_or_say_why_there_is_none():
    """Issue 22: a run logged to a tracking server links to it (Train and Runs pages); a failed logging is one line."""
    store = services.store()
    rid = add_fake_run(name="tracked")
    result = store.get_run(rid)["result"]
    link = "http://127.0.0.1:5000/#/experiments/1/runs/abc"
    store.update_run(rid, result={**result, "mlflow": {"run_id": "abc", "link": link, "error": None}})
    at = app("train", run=rid)
    at.run()
    no_exception(at)
    assert [b.proto.url for b in at.get("link_button")] == [link]
    at = app("runs")
    at.run()
    at.selectbox(key="runs_pick").set_value(rid).run()
    assert link in [b.proto.url for b in at.get("link_button")]
    error = "MLflow refused or did not answer (create run: ConnectionError); this run was not (fully) logged"
    store.update_run(rid, result={**result, "mlflow": {"run_id": None, "link": None, "error": error}})
    at = app("train", run=rid)
    at.run()
    assert not at.get("link_button")
    assert any("MLflow refused or did not answer" in c.value for c in at.caption)
