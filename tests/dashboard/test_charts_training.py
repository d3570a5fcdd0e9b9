"""Chart builders of the Train, Runs and Sweep pages: pure functions, checked on hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.charts import MODALITY_COLORS, modality_colors, vega
from dashboard.charts import training as tc
from dashboard.charts.runs import (
    best_value,
    beta_label,
    epoch_curve,
    filter_runs,
    format_duration,
    overlay_figure,
    r_mode_label,
    run_duration,
    runs_frame,
    snapshot_frame,
    sort_runs,
)
from dashboard.charts.sweep import sweep_figure
from omib_core.analysis.metrics import higher_is_better
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


def names(chart) -> list[str]:
    """Series a chart draws, in order: a live Vega-Lite spec's ``lines`` dataset, or a Plotly figure's traces."""
    if isinstance(chart, dict):
        return list(dict.fromkeys(vega.lines_of(chart)["series"]))
    return [t.name for t in chart.data]


def series(spec, name: str) -> pd.DataFrame:
    data = vega.lines_of(spec)
    return data[data["series"] == name]


def colour_of(spec, name: str) -> str:
    scale = next(ly["encoding"]["color"]["scale"] for ly in spec["layer"] if "color" in ly.get("encoding", {}))
    return dict(zip(scale["domain"], scale["range"]))[name]


def test_modality_colours_follow_dataset_positions():
    assert modality_colors(["audio", "video"]) == {"audio": MODALITY_COLORS[0], "video": MODALITY_COLORS[1]}
    spec = tc.r_figure(step_table(), ["v1", "v2"])
    assert [colour_of(spec, n) for n in ("r v1", "r v2")] == [MODALITY_COLORS[0], MODALITY_COLORS[1]]


# training charts


def test_loss_figure_has_both_losses_dotted_trb_losses_and_the_warmup_band():
    spec = tc.loss_figure(step_table(), MODS)
    assert names(spec)[:2] == ["total loss", "task loss"]
    assert [n for n in names(spec) if n.startswith("TRB head")] == ["TRB head v1", "TRB head v2"]
    assert set(series(spec, "TRB head v1")["style"]) == {"dot"}
    band = spec["datasets"]["warmup"]
    assert len(band) == 1 and band["x0"][0] == 1 and 10 < band["x1"][0] < 11, "warm-up band missing or misplaced"
    x_titles = [ly["encoding"]["x"].get("title") for ly in spec["layer"] if "x" in ly.get("encoding", {})]
    assert "step" in x_titles


def test_r_figure_one_series_per_modality_and_r_equals_one_line():
    spec = tc.r_figure(step_table(), MODS)
    assert names(spec) == ["r v1", "r v2"]
    assert list(spec["datasets"]["references"]["y"]) == [1.0]
    line = next(ly for ly in spec["layer"] if ly["mark"]["type"] == "line")
    assert line["encoding"]["y"]["scale"]["domain"] == [0, 2]


def test_kl_figures_units_are_nats_and_weighted_terms_present():
    kl, weighted = tc.kl_figure(step_table(), MODS), tc.weighted_kl_figure(step_table(), MODS)
    assert names(kl) == ["KL v1", "KL v2"] and names(weighted) == ["β·r·KL v1", "β·r·KL v2"]
    for spec in (kl, weighted):
        line = next(ly for ly in spec["layer"] if ly["mark"]["type"] == "line")
        assert "nats" in line["encoding"]["y"]["title"]
    assert colour_of(weighted, "β·r·KL v2") == colour_of(kl, "KL v2") == MODALITY_COLORS[1]


def test_beta_figure_draws_the_M_u_line_from_the_series_or_the_summary():
    steps = step_table()
    assert "M_u (bound)" in names(tc.beta_figure(steps))
    spec = tc.beta_figure(steps.drop(columns=["M_u"]), M_u=3e-3)
    assert set(series(spec, "M_u (bound)")["value"]) == {3e-3}
    spec = tc.beta_figure(steps.drop(columns=["M_u"]), M_u=None)
    assert "M_u (bound)" not in names(spec)
    assert "no M_u" in spec["datasets"]["note"]["text"][0]


def test_series_are_capped_at_max_points():
    n = 25_000
    steps = step_table(n, warmup=100)
    for spec in (
        tc.loss_figure(steps, MODS),
        tc.r_figure(steps, MODS),
        tc.kl_figure(steps, MODS),
        tc.weighted_kl_figure(steps, MODS),
        tc.beta_figure(steps),
    ):
        counts = vega.lines_of(spec).groupby("series").size()
        assert len(counts) and (counts <= MAX_POINTS).all(), counts
    assert vega.lines_of(tc.loss_figure(steps, MODS)).groupby("series").size().max() > MAX_POINTS // 2


def test_nan_gaps_are_kept_not_filled():
    steps = step_table()
    steps.loc[30:34, "loss"] = np.nan  # a non-finite stretch
    spec = tc.loss_figure(steps, MODS)
    assert series(spec, "total loss")["value"].isna().sum() == 5
    line = next(ly for ly in spec["layer"] if ly["mark"]["type"] == "line")
    assert line["mark"]["invalid"] == "break-paths-filter-domains", "Vega-Lite must break the line at NaN"
    long = step_table(10_000, warmup=10)
    long.loc[4000:4999, "loss"] = np.nan
    assert series(tc.loss_figure(long, MODS), "total loss")["value"].isna().any(), "the gap vanished in downsampling"


def test_metrics_figure_shows_splits_and_reference_lines():
    ref = {"optimal_mib_accuracy": 0.909, "bayes_accuracy": 0.91}
    spec = tc.metrics_figure(epoch_table(), "accuracy", ref)
    assert names(spec) == ["train", "val", "test"]
    labels = list(spec["datasets"]["references"]["label"])
    assert any("optimal MIB 0.909" in t for t in labels) and any("Bayes" in t for t in labels)
    val = series(spec, "val").dropna(subset=["value"])
    assert list(val["x"])[:2] == [2.0, 3.0], "epochs are shown 1-based (epoch 0, the warm-up, has no val)"
    assert tc.metrics_figure(epoch_table(), "accuracy", {})["datasets"]["references"].empty


def test_linear_baseline_is_a_reference_line_for_any_metric():
    ref = {"optimal_mib_accuracy": 0.909, "linear_test_accuracy": 0.7512, "linear_test_mae": 0.42}
    labels = list(tc.metrics_figure(epoch_table(), "accuracy", ref)["datasets"]["references"]["label"])
    assert labels == ["ground-truth optimal MIB 0.909", "linear model (logistic regression) 0.751"]
    # a non-accuracy metric: no SIM ground truth, but its own linear baseline (ridge for an error metric)
    assert tc.reference_lines("mae", ref) == [(0.42, "linear model (ridge) 0.420", "dot", "left")]
    assert tc.reference_lines("mae", {"linear_test_accuracy": 0.75}) == []
    assert tc.reference_lines("accuracy", {"linear_test_accuracy": float("nan")}) == []


def reference_layer(spec) -> dict:
    return next(ly for ly in spec["layer"] if ly.get("data", {}).get("name") == "references")


def test_reference_lines_are_named_in_a_legend_not_on_the_plot():
    ref = {"optimal_mib_accuracy": 0.905, "bayes_accuracy": 0.91, "linear_test_accuracy": 0.869}
    spec = tc.metrics_figure(epoch_table(), "accuracy", ref)
    on_plot = [ly for ly in spec["layer"] if ly.get("data", {}).get("name") == "references"]
    assert [ly["mark"]["type"] for ly in on_plot] == ["rule"], "a text label on the plot would lie under the curves"
    dash = on_plot[0]["encoding"]["strokeDash"]
    assert dash["scale"]["domain"] == list(spec["datasets"]["references"]["label"])
    assert len({tuple(d) for d in dash["scale"]["range"]}) == 3, "each reference line needs its own dash"
    assert dash["legend"]["orient"] == "bottom" and dash["legend"]["columns"] == 1
    assert spec["resolve"]["scale"]["strokeDash"] == "independent"  # the curves' dashes keep their own scale
    r_refs = reference_layer(tc.r_figure(step_table(), MODS))
    assert r_refs["mark"]["type"] == "rule" and r_refs["encoding"]["strokeDash"]["legend"]["orient"] == "bottom"


def test_every_training_chart_keeps_a_plot_area_of_160_px():
    steps, epochs, empty = step_table(), epoch_table(), pd.DataFrame()
    ref = {"optimal_mib_accuracy": 0.905, "linear_test_accuracy": 0.869}
    specs = {
        "loss": tc.loss_figure(steps, MODS),
        "r": tc.r_figure(steps, MODS),
        "kl": tc.kl_figure(steps, MODS),
        "beta_kl": tc.weighted_kl_figure(steps, MODS),
        "beta": tc.beta_figure(steps),
        "metrics": tc.metrics_figure(epochs, "accuracy", ref),
        "trb": tc.trb_figure(epochs, MODS, "accuracy"),
        "empty loss": tc.loss_figure(empty),
        "empty beta_kl": tc.weighted_kl_figure(empty),
        "squeezed": vega.chart("asked for 35 px", [], {}, height=35),
    }
    for name, spec in specs.items():
        assert vega.plot_height(spec) >= vega.MIN_PLOT_HEIGHT, name
        assert spec["autosize"]["type"] == "fit-x", f"{name}: Streamlit's default 'fit' squeezes the plot"
    with pytest.raises(ValueError, match="fit-x"):
        vega.plot_height({"height": 300, "autosize": {"type": "fit"}})


def test_legends_above_a_chart_wrap_before_the_chart_edge():
    assert vega.legend_columns(["train", "val", "test"]) == 3
    assert vega.legend_columns(["total loss", "task loss", "TRB head v1", "TRB head v2"]) == 3  # was 4: cut off
    assert vega.legend_columns(["a rather long series name", "another long series name"]) == 1
    assert vega.legend_columns([]) == 1
    legend = next(ly for ly in tc.loss_figure(step_table(), MODS)["layer"] if "color" in ly.get("encoding", {}))
    assert legend["encoding"]["color"]["legend"]["columns"] == 3


def test_constant_value():
    assert tc.constant_value([2e-3, 2e-3, np.nan, 2e-3]) == 2e-3
    assert tc.constant_value([2e-3, 2.1e-3]) is None
    assert tc.constant_value([np.nan, np.inf]) is None and tc.constant_value([]) is None
    assert tc.constant_value([0.0, 0.0]) == 0.0 and tc.constant_value([1.0]) == 1.0


def test_a_constant_beta_is_a_number_not_a_flat_line_on_the_M_u_line():
    steps = step_table()  # beta = M_u = 2e-3 throughout the main stage
    assert tc.beta_constant(steps)["value"] == "β = 1 × M_u (constant)"
    assert tc.beta_constant(steps.assign(beta=steps["beta"] * 30))["value"] == "β = 30 × M_u (constant)"
    no_column = steps.drop(columns=["M_u"])
    assert tc.beta_constant(no_column, M_u=1e-3)["value"] == "β = 2 × M_u (constant)"
    assert tc.beta_constant(no_column)["value"] == "β = 0.002 (constant)"  # set by hand, no bound
    moving = steps.assign(M_u=steps["M_u"] * np.linspace(0.5, 1.5, len(steps)))  # M_u follows r: draw the chart
    assert tc.beta_constant(moving) is None
    growing = steps.assign(beta=steps["beta"] * np.linspace(1, 2, len(steps)))
    assert tc.beta_constant(growing) is None
    assert tc.beta_constant(pd.DataFrame()) is None and tc.beta_constant(steps.assign(beta=np.nan)) is None


def test_a_constant_r_is_a_number():
    steps = step_table()  # r v1 = 1, r v2 = 0.8, both constant
    assert tc.r_constant(steps, MODS)["value"] == "r v1 = 1 · r v2 = 0.8 (constant)"
    fixed = steps.assign(**{"r/v2": steps["r/v1"]})
    assert tc.r_constant(fixed, MODS)["value"] == "r = 1 (constant)"
    moving = steps.assign(**{"r/v2": np.where(steps["stage"] == "main", np.linspace(0.5, 1.5, len(steps)), np.nan)})
    assert tc.r_constant(moving, MODS) is None
    assert tc.r_constant(pd.DataFrame(), MODS) is None


def test_duration_stands_still_while_paused():
    run = {"status": "paused", "started_at": 100.0, "ended_at": None}
    assert run_duration(run, now=500.0, last_active=160.0) == 60.0
    assert run_duration(run, now=900.0, last_active=160.0) == 60.0  # later polls show the same duration
    assert run_duration(run, now=500.0) == 400.0  # no metric row yet: counts as before
    assert run_duration({**run, "status": "running"}, now=500.0, last_active=160.0) == 400.0
    assert run_duration({**run, "status": "finished", "ended_at": 300.0}, now=500.0, last_active=160.0) == 200.0
    assert run_duration({**run, "started_at": None}, now=500.0) is None


def test_trb_figure_heads_and_fused_line():
    spec = tc.trb_figure(epoch_table(), MODS, "accuracy")
    assert names(spec) == ["head v1", "head v2", "fused (xi)"]
    assert colour_of(spec, "head v1") == MODALITY_COLORS[0]


def test_empty_tables_give_a_waiting_message():
    empty = pd.DataFrame()
    for spec in (
        tc.loss_figure(empty),
        tc.r_figure(empty),
        tc.kl_figure(empty),
        tc.weighted_kl_figure(empty),
        tc.beta_figure(empty),
        tc.metrics_figure(empty),
        tc.trb_figure(empty),
    ):
        assert vega.is_empty(spec) and vega.lines_of(spec).empty


def test_spec_stays_the_same_while_only_values_grow():
    """The live view relies on it: an unchanged spec lets the browser swap the data instead of remounting."""
    import json

    def without_data(spec):
        return json.dumps({k: v for k, v in spec.items() if k != "datasets"}, sort_keys=True)

    short, long = step_table(60, warmup=10), step_table(400, warmup=10)
    for build in (tc.loss_figure, tc.r_figure, tc.kl_figure, tc.weighted_kl_figure):
        assert without_data(build(short, MODS)) == without_data(build(long, MODS)), build.__name__
    assert without_data(tc.beta_figure(short)) == without_data(tc.beta_figure(long))


def test_metric_helpers():
    assert tc.split_metrics(epoch_table()) == ["accuracy"]
    assert higher_is_better("accuracy") and not higher_is_better("mae")
    assert tc.metric_label("f1_macro") == "F1 (macro)"


# runs table and overlay


def fake_run(rid, owner="ann", status="finished", **train):
    return {
        "id": rid,
        "name": f"run {rid}",
        "owner": owner,
        "dataset": "sim-i",
        "status": status,
        "kind": "train",
        "created_at": 1_700_000_000.0,
        "started_at": 100.0,
        "ended_at": 225.0,
        "config": {
            "train": {
                "beta": None,
                "beta_scale": 2.0,
                "dynamic_r": True,
                "r_form": "mean_of_ratios",
                "r_update": "epoch",
                **train,
            },
            "model": {"bottleneck": True},
        },
        "summary": {"beta_over_Mu": 2.0},
        "result": None,
    }


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
    rows = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "kind": ["epoch", "epoch", "step"],
            "name": ["val/accuracy"] * 3,
            "epoch": [0, 1, 1],
            "value": [0.5, np.nan, 9.0],
        }
    )
    x, y = epoch_curve(rows, "val/accuracy")
    assert list(x) == [1.0, 2.0] and np.isnan(y[1])
    snap = snapshot_frame(
        {"index": np.arange(3), "split": np.array([0, 1, 2]), "xi": np.ones((3, 2)), "z_v1": np.zeros((3, 1))}
    )
    assert list(snap.columns) == ["index", "split", "xi_0", "xi_1", "z_v1_0"] and list(snap["split"]) == [
        "train",
        "val",
        "test",
    ]


# sweep chart


def test_sweep_figure_log_axis_bound_and_knee():
    points = pd.DataFrame(
        {
            "run_id": list("abcd"),
            "beta_over_Mu": [0.1, 0.1, 1.0, 10.0],
            "seed": [0, 1, 0, 0],
            "status": ["finished"] * 3 + ["running"],
            "value": [0.8, 0.82, 0.83, np.nan],
        }
    )
    agg = pd.DataFrame({"beta_over_Mu": [0.1, 1.0], "mean": [0.81, 0.83], "std": [0.014, 0.0], "n": [2, 1]})
    fig = sweep_figure(points, agg, "test accuracy", knee=1.0, reference=0.909)
    assert fig.layout.xaxis.type == "log"
    seeds, mean, *legend_only = fig.data  # references are named in the legend, off the curves
    assert [d.name for d in legend_only] == ["ground-truth optimal MIB 0.909"]
    assert len(seeds.x) == 3 and seeds.marker.opacity < 1  # faint; the unfinished run is not drawn
    assert list(mean.error_y.array) == [0.014, 0.0]
    vlines = [s for s in fig.layout.shapes if s.x0 == s.x1]
    assert {s.x0 for s in vlines} == {1.0}  # M_u at 1 and the knee (also at 1 here)
    texts = [a.text for a in fig.layout.annotations]
    assert any("M_u" in t for t in texts) and any("knee" in t for t in texts)
    knee_note = next(a for a in fig.layout.annotations if "knee" in a.text)
    assert knee_note.x == pytest.approx(0.0)  # annotations on a log axis take log10(x)


def test_sweep_figure_draws_both_selections_the_best_beta_and_the_linear_model():
    points = pd.DataFrame(
        {
            "run_id": list("abc"),
            "beta_over_Mu": [1.0, 30.0, 300.0],
            "seed": [0, 0, 0],
            "status": ["finished"] * 3,
            "value": [0.80, 0.86, 0.70],
        }
    )
    last = pd.DataFrame({"beta_over_Mu": [1.0, 30.0, 300.0], "mean": [0.80, 0.86, 0.70], "std": 0.01, "n": 1})
    best_val = last.assign(mean=[0.83, 0.87, 0.72])
    fig = sweep_figure(
        points,
        last,
        "test accuracy",
        best=30.0,
        mean_label="last epoch, mean ± std",
        other=best_val,
        other_label="best-val epoch, mean ± std",
        references=[(0.75, "linear model")],
    )
    names = [d.name for d in fig.data]
    assert names == ["one seed", "last epoch, mean ± std", "best-val epoch, mean ± std", "linear model 0.750"]
    assert list(fig.data[2].y) == [0.83, 0.87, 0.72] and fig.data[2].line.dash == "dash"
    assert {s.x0 for s in fig.layout.shapes if s.x0 == s.x1} == {1.0, 30.0}  # M_u and the empirical best
    texts = [a.text for a in fig.layout.annotations]
    assert "empirical best 30" in texts and "linear model 0.750" not in texts  # in the legend, not on the curves


def test_pivot_keeps_only_logged_steps_so_lines_connect():
    """live.pivot feeds every training chart: one row per logged step, NaN only where a value was non-finite."""
    from dashboard.live import pivot

    rows = pd.DataFrame(
        {
            "id": range(1, 6),
            "kind": "step",
            "stage": ["warmup", "warmup", "main", "main", "main"],
            "step": [1, 2, 3, 4, 4],
            "epoch": [0, 0, 1, 1, 1],
            "name": ["loss"] * 4 + ["kl/v1"],
            "value": [1.0, 2.0, np.nan, 4.0, 5.0],
            "finite": [True, True, False, True, True],
            "t": 0.0,
        }
    )
    wide = pivot(rows, "step")
    assert list(wide["step"]) == [1, 2, 3, 4] and list(wide["stage"]) == ["warmup", "warmup", "main", "main"]
    assert np.isnan(wide.loc[2, "loss"]) and wide.loc[3, "kl/v1"] == 5.0
    spec = tc.loss_figure(wide)
    assert len(series(spec, "total loss")) == 4
    band = spec["datasets"]["warmup"]
    assert band["x0"][0] == 1 and band["x1"][0] == 2.5  # the band ends between the last warm-up and first main step


def test_extend_tables_repivots_only_the_tail_and_matches_a_full_pivot():
    """A poll brings rows for a step already shown (an epoch's metrics arrive in several writes): same as pivot."""
    from dashboard.live import extend_tables, merge_rows, pivot

    rng = np.random.default_rng(0)
    n = 400
    step = np.repeat(np.arange(1, n // 4 + 1), 4)
    rows = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "kind": np.where(np.arange(n) % 8 == 7, "epoch", "step"),
            "stage": "main",
            "step": step,
            "epoch": step // 10,
            "name": np.tile(["loss", "kl/v1", "r/v2", "val/accuracy"], n // 4),
            "value": rng.normal(size=n),
            "finite": True,
            "t": 0.0,
        }
    )
    held, tables = None, None
    for lo, hi in ((0, 37), (37, 38), (38, 201), (201, 202), (202, n)):  # cuts inside a step's rows too
        new = rows.iloc[lo:hi]
        held = merge_rows(held, new)
        tables = extend_tables(tables, held, new)
    for kind in ("step", "epoch"):
        pd.testing.assert_frame_equal(
            tables[kind].reset_index(drop=True), pivot(rows, kind), check_like=True, check_dtype=False
        )


def test_live_charts_can_drop_their_hover_layers_and_keep_the_data():
    spec = tc.r_figure(step_table(), MODS)
    light = vega.without_hover(spec)
    assert len(light["layer"]) < len(spec["layer"])
    assert not [ly for ly in light["layer"] if "params" in ly], "the nearest-point search must be gone"
    assert any(ly["mark"]["type"] == "line" for ly in light["layer"])
    assert light["datasets"] is spec["datasets"] and spec["layer"] != light["layer"]
