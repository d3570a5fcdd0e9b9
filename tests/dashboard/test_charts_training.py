"""Chart builders of the Train, Runs and Sweep pages: pure functions, checked on hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.charts import MODALITY_COLORS, modality_colors
from dashboard.charts import training as tc
from dashboard.charts.runs import (
    best_value,
    beta_label,
    epoch_curve,
    filter_runs,
    format_duration,
    overlay_figure,
    r_mode_label,
    runs_frame,
    snapshot_frame,
    sort_runs,
)
from dashboard.charts.sweep import sweep_figure
from omib_core.analysis.series import MAX_POINTS

MODS = ["v1", "v2"]


def step_table(n: int = 50, warmup: int = 10) -> pd.DataFrame:
    step = np.arange(1, n + 1)
    stage = np.where(step <= warmup, "warmup", "main")
    main = stage == "main"
    df = pd.DataFrame({"step": step, "epoch": step // 10, "stage": stage})
    df["loss"] = np.linspace(2.0, 0.5, n)
    df["task_loss"] = np.where(main, np.linspace(1.5, 0.3, n), np.nan)
    for i, m in enumerate(MODS):
        df[f"kl/{m}"] = np.where(main, 5.0 + i, np.nan)
        df[f"beta_kl/{m}"] = np.where(main, 0.01 * (5.0 + i), np.nan)
        df[f"r/{m}"] = np.where(main, 1.0 if i == 0 else 0.8, np.nan)
        df[f"trb_loss/{m}"] = np.linspace(1.0, 0.4, n)
    df["beta"] = np.where(main, 2e-3, np.nan)
    df["M_u"] = np.where(main, 2e-3, np.nan)
    return df


def epoch_table(n: int = 6) -> pd.DataFrame:
    df = pd.DataFrame({"step": np.arange(n) * 10 + 10, "epoch": np.arange(n), "stage": ["warmup"] + ["main"] * (n - 1)})
    for split, base in (("train", 0.9), ("val", 0.85), ("test", 0.84)):
        df[f"{split}/accuracy"] = [np.nan] + list(np.linspace(base - 0.1, base, n - 1))
    for m in MODS:
        df[f"trb/{m}/val/accuracy"] = np.linspace(0.6, 0.75, n)
    return df


def names(fig) -> list[str]:
    return [t.name for t in fig.data]


# colours


def test_modality_colours_follow_dataset_positions():
    assert modality_colors(["audio", "video"]) == {"audio": MODALITY_COLORS[0], "video": MODALITY_COLORS[1]}
    fig = tc.r_figure(step_table(), ["v1", "v2"])
    assert [t.line.color for t in fig.data] == [MODALITY_COLORS[0], MODALITY_COLORS[1]]


# training charts


def test_loss_figure_has_both_losses_and_hidden_trb_losses():
    fig = tc.loss_figure(step_table(), MODS)
    assert names(fig)[:2] == ["total loss", "task loss"]
    trb = [t for t in fig.data if t.name.startswith("TRB head")]
    assert len(trb) == 2 and all(t.visible == "legendonly" for t in trb)
    assert any(s.type == "rect" for s in fig.layout.shapes), "warm-up band missing"
    assert fig.layout.xaxis.title.text == "step"


def test_r_figure_one_trace_per_modality_and_r_equals_one_line():
    fig = tc.r_figure(step_table(), MODS)
    assert names(fig) == ["r v1", "r v2"]
    assert any(s.y0 == 1.0 and s.y1 == 1.0 for s in fig.layout.shapes)
    assert tuple(fig.layout.yaxis.range) == (0, 2)


def test_kl_figure_units_are_nats_and_weighted_terms_present():
    fig = tc.kl_figure(step_table(), MODS)
    assert set(names(fig)) == {"KL v1", "KL v2", "β·r·KL v1", "β·r·KL v2"}
    assert "nats" in fig.layout.yaxis.title.text and "nats" in fig.layout.yaxis2.title.text


def test_beta_figure_draws_the_M_u_line_from_the_series_or_the_summary():
    steps = step_table()
    fig = tc.beta_figure(steps)
    assert "M_u (bound)" in names(fig)
    fig = tc.beta_figure(steps.drop(columns=["M_u"]), M_u=3e-3)
    line = [t for t in fig.data if t.name == "M_u (bound)"]
    assert line and list(line[0].y) == [3e-3, 3e-3]
    fig = tc.beta_figure(steps.drop(columns=["M_u"]), M_u=None)
    assert "M_u (bound)" not in names(fig)
    assert any("no M_u" in a.text for a in fig.layout.annotations)


def test_series_are_capped_at_max_points():
    n = 25_000
    steps = step_table(n, warmup=100)
    for fig in (
        tc.loss_figure(steps, MODS),
        tc.r_figure(steps, MODS),
        tc.kl_figure(steps, MODS),
        tc.beta_figure(steps),
    ):
        assert fig.data, "no traces"
        assert all(len(t.x) <= MAX_POINTS for t in fig.data)
    assert max(len(t.x) for t in tc.loss_figure(steps, MODS).data) > MAX_POINTS // 2  # not over-thinned


def test_nan_gaps_are_kept_not_filled():
    steps = step_table()
    steps.loc[30:34, "loss"] = np.nan  # a non-finite stretch
    trace = tc.loss_figure(steps, MODS).data[0]
    y = np.asarray(trace.y, dtype=float)
    assert np.isnan(y).sum() == 5 and trace.connectgaps is False
    long = step_table(10_000, warmup=10)
    long.loc[4000:4999, "loss"] = np.nan
    y = np.asarray(tc.loss_figure(long, MODS).data[0].y, dtype=float)
    assert np.isnan(y).any(), "the gap disappeared after downsampling"


def test_metrics_figure_shows_splits_and_reference_lines():
    ref = {"optimal_mib_accuracy": 0.909, "bayes_accuracy": 0.91}
    fig = tc.metrics_figure(epoch_table(), "accuracy", ref)
    assert names(fig) == ["train", "val", "test"]
    texts = [a.text for a in fig.layout.annotations]
    assert any("optimal MIB 0.909" in t for t in texts) and any("Bayes" in t for t in texts)
    assert list(fig.data[1].x)[:2] == [1.0, 2.0], "epochs are shown 1-based"
    assert not [a for a in tc.metrics_figure(epoch_table(), "accuracy", {}).layout.annotations if "MIB" in a.text]


def test_trb_figure_heads_and_fused_line():
    fig = tc.trb_figure(epoch_table(), MODS, "accuracy")
    assert names(fig) == ["head v1", "head v2", "fused (xi)"]
    assert fig.data[0].line.color == MODALITY_COLORS[0]


def test_empty_tables_give_a_waiting_message():
    for fig in (tc.loss_figure(pd.DataFrame()), tc.r_figure(pd.DataFrame()), tc.kl_figure(pd.DataFrame()),
                tc.beta_figure(pd.DataFrame()), tc.metrics_figure(pd.DataFrame()), tc.trb_figure(pd.DataFrame())):  # fmt: skip
        assert not fig.data and fig.layout.annotations


def test_metric_helpers():
    assert tc.split_metrics(epoch_table()) == ["accuracy"]
    assert tc.higher_is_better("accuracy") and not tc.higher_is_better("mae")
    assert tc.metric_label("f1_macro") == "F1 (macro)"


# runs table and overlay


def fake_run(rid, owner="ann", status="finished", **train):
    return {
        "id": rid, "name": f"run {rid}", "owner": owner, "dataset": "sim-i", "status": status, "kind": "train",
        "created_at": 1_700_000_000.0, "started_at": 100.0, "ended_at": 225.0,
        "config": {"train": {"beta": None, "beta_scale": 2.0, "dynamic_r": True, "r_form": "mean_of_ratios",
                             "r_update": "epoch", **train}, "model": {"bottleneck": True}},
        "summary": {"beta_over_Mu": 2.0}, "result": None,
    }  # fmt: skip


def test_runs_frame_labels_filter_and_sort():
    runs = [fake_run("a1"), fake_run("b2", owner="bob", status="failed", dynamic_r=False, beta=1e-3)]
    df = runs_frame(runs, {"a1": ("accuracy", 0.88, 0.87)})
    assert list(df["beta/M_u"]) == ["2", "β = 0.001 (by hand) ≈ 2"]
    assert df.loc[1, "r mode"] == "fixed r = 1" and "mean of ratios" in df.loc[0, "r mode"]
    assert df.loc[0, "duration"] == "2 min 05 s" and df.loc[0, "open"] == "train?run=a1"
    assert list(filter_runs(df, owners=["bob"])["id"]) == ["b2"]
    assert list(sort_runs(df, "test", ascending=True)["id"]) == ["a1", "b2"]  # missing values last
    assert beta_label({"config": {"model": {"bottleneck": False}}}) == "no bottleneck"
    assert r_mode_label({"config": {"train": {"dynamic_r": True, "r_form": "ratio_of_means", "r_update": "batch"}}})


def test_small_helpers():
    assert format_duration(41) == "41 s" and format_duration(3700) == "1 h 01 min" and format_duration(None) == "–"
    assert best_value([0.1, np.nan, 0.3]) == 0.3 and best_value([0.5, 0.2], higher_is_better=False) == 0.2
    assert best_value([np.nan]) is None


def test_overlay_smoothing_and_cap():
    x = np.arange(5000)
    y = np.sin(x / 50.0) + np.random.default_rng(0).normal(0, 0.3, x.size)
    curves = [{"label": "A", "x": x, "y": y}, {"label": "B", "x": x, "y": y + 1}]
    raw = overlay_figure(curves, "val accuracy", alpha=0.0)
    assert names(raw) == ["A", "B"] and all(len(t.x) <= MAX_POINTS for t in raw.data)
    smooth = overlay_figure(curves, "val accuracy", alpha=0.9)
    assert len(smooth.data) == 4  # a faint raw and a bold smoothed line per run
    assert np.nanstd(np.diff(smooth.data[1].y)) < np.nanstd(np.diff(raw.data[0].y))
    assert overlay_figure([], "x").layout.annotations


def test_epoch_curve_and_snapshot_frame():
    rows = pd.DataFrame({"id": [1, 2, 3], "kind": ["epoch", "epoch", "step"], "name": ["val/accuracy"] * 3,
                         "epoch": [0, 1, 1], "value": [0.5, np.nan, 9.0]})  # fmt: skip
    x, y = epoch_curve(rows, "val/accuracy")
    assert list(x) == [1.0, 2.0] and np.isnan(y[1])
    snap = snapshot_frame({"index": np.arange(3), "split": np.array([0, 1, 2]), "xi": np.ones((3, 2)),
                           "z_v1": np.zeros((3, 1))})  # fmt: skip
    assert list(snap.columns) == ["index", "split", "xi_0", "xi_1", "z_v1_0"] and list(snap["split"]) == [
        "train",
        "val",
        "test",
    ]


# sweep chart


def test_sweep_figure_log_axis_bound_and_knee():
    points = pd.DataFrame({"run_id": list("abcd"), "beta_over_Mu": [0.1, 0.1, 1.0, 10.0], "seed": [0, 1, 0, 0],
                           "status": ["finished"] * 3 + ["running"], "value": [0.8, 0.82, 0.83, np.nan]})  # fmt: skip
    agg = pd.DataFrame({"beta_over_Mu": [0.1, 1.0], "mean": [0.81, 0.83], "std": [0.014, 0.0], "n": [2, 1]})
    fig = sweep_figure(points, agg, "test accuracy", knee=1.0, reference=0.909)
    assert fig.layout.xaxis.type == "log"
    seeds, mean = fig.data
    assert len(seeds.x) == 3 and seeds.marker.opacity < 1  # faint; the unfinished run is not drawn
    assert list(mean.error_y.array) == [0.014, 0.0]
    vlines = [s for s in fig.layout.shapes if s.x0 == s.x1]
    assert {s.x0 for s in vlines} == {1.0}  # M_u at 1 and the knee (also at 1 here)
    texts = [a.text for a in fig.layout.annotations]
    assert any("M_u" in t for t in texts) and any("knee" in t for t in texts)
    knee_note = next(a for a in fig.layout.annotations if "knee" in a.text)
    assert knee_note.x == pytest.approx(0.0)  # annotations on a log axis take log10(x)


def test_pivot_keeps_only_logged_steps_so_lines_connect():
    """live.pivot feeds every training chart: one row per logged step, NaN only where a value was non-finite."""
    from dashboard.live import pivot

    rows = pd.DataFrame({
        "id": range(1, 6), "kind": "step", "stage": ["warmup", "warmup", "main", "main", "main"],
        "step": [1, 2, 3, 4, 4], "epoch": [0, 0, 1, 1, 1], "name": ["loss"] * 4 + ["kl/v1"],
        "value": [1.0, 2.0, np.nan, 4.0, 5.0], "finite": [True, True, False, True, True], "t": 0.0,
    })  # fmt: skip
    wide = pivot(rows, "step")
    assert list(wide["step"]) == [1, 2, 3, 4] and list(wide["stage"]) == ["warmup", "warmup", "main", "main"]
    assert np.isnan(wide.loc[2, "loss"]) and wide.loc[3, "kl/v1"] == 5.0
    fig = tc.loss_figure(wide)
    assert len(fig.data[0].x) == 4
    band = next(s for s in fig.layout.shapes if s.type == "rect")
    assert band.x0 == 1 and band.x1 == 2.5  # warm-up band ends between the last warm-up and first main step
