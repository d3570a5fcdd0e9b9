"""What xi keeps on the Train, Embeddings and Sweep pages (dashboard.widgets.information): the per-block numbers of a
simulated run drawn, one line instead for real data, and old runs without the numbers still open on every page."""

from __future__ import annotations

import json
import uuid

import pandas as pd
import pyarrow as pa

from dashboard import services
from dashboard.charts import information as charts
from dashboard.widgets.information import OLD_RUN
from tests.dashboard.test_page_embeddings import add_run_with_snapshots
from tests.dashboard.test_page_embeddings import app as embeddings_app
from tests.dashboard.test_page_train import add_fake_run, app, no_exception

BLOCKS = {"a0": 0.9, "a1": 2.5, "a2": 0.4, "b0": 0.1, "b1": 1.5, "b2": 3.0}
REPS = ("xi", "z_v1", "z_v2", "zeta_v1", "zeta_v2")


# helpers


def info_metrics(scale: float = 1.0) -> dict[str, float]:
    """info/<rep>/<block> numbers: xi keeps less of the b-blocks as beta/M_u grows."""
    out = {}
    for rep in REPS:
        for b, v in BLOCKS.items():
            out[f"info/{rep}/{b}"] = v / scale if b.startswith("b") else v
    return out


def add_info_rows(rid: str, epochs: list[int], scale: float = 1.0) -> None:
    store = services.store()
    rows = store.read_metrics(rid, kind="epoch")
    step = {int(e): int(s) for e, s in zip(rows["epoch"], rows["step"])}
    new = [
        dict(kind="epoch", stage="main", step=step.get(e, 0), epoch=e, name=k, value=v * (1 + 0.1 * e))
        for e in epochs
        for k, v in info_metrics(scale).items()
    ]
    store.append_metrics(rid, new)


def titles(at) -> list[str]:
    return [json.loads(c.proto.spec)["title"]["text"] for c in at.get("vega_lite_chart")]


def captions(at) -> str:
    return " ".join(c.value for c in at.caption)


def dataset_of(at, title: str, name: str) -> pd.DataFrame:
    chart = at.get("vega_lite_chart")[titles(at).index(title)].proto
    data = next(d for d in chart.datasets if d.name == name)
    return pa.ipc.open_stream(data.data.data).read_all().to_pandas()


# Train page


def test_train_page_draws_what_xi_keeps_in_two_colour_families_beside_the_goal():
    rid = add_fake_run(name="with info")
    add_info_rows(rid, [2, 4])
    at = app("train", run=rid)
    at.run()
    no_exception(at)
    title = "What ξ keeps of each latent block"
    assert title in titles(at)
    lines = dataset_of(at, title, "lines")
    assert sorted(set(lines["x"])) == [3, 5]  # epochs 1-based
    assert set(lines["series"]) == {charts.block_label(b) for b in BLOCKS}
    spec = json.loads(at.get("vega_lite_chart")[titles(at).index(title)].proto.spec)
    scale = spec["layer"][0]["encoding"]["color"]["scale"]
    colors = dict(zip(scale["domain"], scale["range"]))
    assert colors["a1 (task)"] in charts.TASK_COLORS and colors["b2 (superfluous)"] in charts.SUPERFLUOUS_COLORS
    assert "keeps the amber blocks" in captions(at) and len(at.get("image")) >= 1  # set against the Home picture


def test_an_old_run_without_the_numbers_still_opens_on_the_train_page():
    rid = add_fake_run(name="old run")
    at = app("train", run=rid)
    at.run()
    no_exception(at)
    assert "What ξ keeps of each latent block" not in titles(at) and OLD_RUN in captions(at)


def test_real_data_get_one_line_instead_of_the_chart():
    rid = add_fake_run(name="real", dataset="nutrimouse")
    at = app("train", run=rid)
    at.run()
    no_exception(at)
    assert "What ξ keeps of each latent block" not in titles(at)
    assert "ground truth is only known for simulated data" in captions(at)


# Embeddings page


def test_embeddings_page_shows_the_numbers_of_the_snapshot_on_the_slider(monkeypatch):
    rid = add_run_with_snapshots(n_snapshots=3)
    add_info_rows(rid, [1, 2, 3])
    at = embeddings_app(run=rid)
    at.run()
    no_exception(at)
    assert "Information per latent block, epoch 4" in titles(at)  # the last snapshot (epoch 3, shown 1-based)
    bars = dataset_of(at, "Information per latent block, epoch 4", "bars")
    assert set(bars["rep"]) == set(REPS) and len(bars) == len(REPS) * len(BLOCKS)
    assert bars.loc[(bars["rep"] == "xi") & (bars["block"] == "a1"), "nats"].item() == 2.5 * 1.3
    at.select_slider(key="emb_epoch").set_value("epoch 2").run()
    no_exception(at)
    assert "Information per latent block, epoch 2" in titles(at)


def test_an_old_run_without_the_numbers_still_opens_on_the_embeddings_page():
    rid = add_run_with_snapshots(n_snapshots=2)
    at = embeddings_app(run=rid)
    at.run()
    no_exception(at)
    assert not any(t.startswith("Information per latent block") for t in titles(at)) and OLD_RUN in captions(at)


# Sweep page


def _sweep_run(sid: str, scale: float, seed: int, info: bool) -> str:
    rid = add_fake_run(name=f"s{scale}-{seed}", scale=scale, seed=seed, sweep_id=sid, status="running")
    result = {
        "test_metrics": {"accuracy": 0.8},
        "selection": {"last": {"test": {"accuracy": 0.8}}, "best_val": {"test": {"accuracy": 0.8}}},
    }
    if info:
        nats = {"xi": {b: (v / scale if b.startswith("b") else v) + 0.05 * seed for b, v in BLOCKS.items()}}
        result["information"] = {"epoch": 4, "nats": nats}
    services.store().set_status(rid, "finished", result=result)
    return rid


def test_sweep_page_draws_the_information_plane_with_error_bars_over_seeds():
    sid = uuid.uuid4().hex[:12]
    for scale in (0.1, 1.0, 10.0):
        for seed in (0, 1):
            _sweep_run(sid, scale, seed, info=True)
    at = app("sweep", sweep=sid)
    at.run()
    no_exception(at)
    title = "Information plane: what ξ keeps, per β/M_u"
    assert title in titles(at)
    plane = dataset_of(at, title, "plane").set_index("beta_over_Mu")
    assert list(plane.index) == [0.1, 1.0, 10.0] and list(plane["n"]) == [2, 2, 2]
    assert abs(plane.loc[1.0, "task"] - (0.9 + 2.5 + 0.4 + 0.075)) < 1e-9  # a-blocks summed, mean over seeds
    assert abs(plane.loc[10.0, "superfluous"] - (4.6 / 10 + 0.075)) < 1e-9  # b-blocks summed
    assert plane.loc[0.1, "task_std"] > 0  # ± one std over the seeds


def test_an_old_sweep_without_the_numbers_still_opens():
    sid = uuid.uuid4().hex[:12]
    for scale in (0.1, 1.0):
        _sweep_run(sid, scale, 0, info=False)
    at = app("sweep", sweep=sid)
    at.run()
    no_exception(at)
    assert not any(t.startswith("Information plane") for t in titles(at)) and "These runs have no" in captions(at)


# chart builders


def test_plane_aggregate_and_an_empty_plane():
    pts = pd.DataFrame(
        {"beta_over_Mu": [1.0, 1.0, 3.0], "seed": [0, 1, 0], "task": [2.0, 4.0, 1.0], "superfluous": [1.0, 3.0, 0.5]}
    )
    agg = charts.plane_aggregate(pts)
    assert list(agg["task"]) == [3.0, 1.0] and list(agg["superfluous_std"]) == [2.0**0.5, 0.0]
    assert "message" in charts.plane_figure(charts.plane_aggregate(pts.iloc[:0]))["datasets"]
