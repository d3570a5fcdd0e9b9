"""Pure chart builders of the Data, Bound and Embeddings pages (data in, plotly figure / table out)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard.charts import MODALITY_COLORS, REFERENCE_COLOR, SPLIT_COLORS
from dashboard.charts import bound as cb
from dashboard.charts import data as cd
from dashboard.charts import embeddings as ce
from omib_core.bound.result import BoundResult, Estimate


def _result(m_u=0.05, curve=True, exact=True, converged=True) -> BoundResult:
    def est(name, value, ex):
        return Estimate(
            name=name,
            value=value,
            std=0.1,
            per_seed=(value - 0.1, value, value + 0.1),
            curve=tuple(np.linspace(0, value, 50)) if curve else (),
            converged=converged,
            exact=ex if exact else None,
            note="" if converged else "still rising",
        )

    return BoundResult(
        estimator="mine",
        modalities=("audio", "video"),
        entropies={"audio": est("H(audio)", 5.0, 5.2), "video": est("H(video)", 4.0, 4.1)},
        mutual_information=est("I(audio;video)", 1.0, 1.1),
        h_joint=est("H_joint", 8.0, 8.2),
        M_u=m_u,
        M_l=0.03 if m_u else None,
        failure=None if m_u else "H_joint came out as -3 nats: no bound.",
        settings={"steps": 1000, "rows": 500, "scale": "standardised"},
    )


# embeddings


def test_projection_table_columns_and_labels():
    coords = np.arange(12.0).reshape(6, 2)
    target = np.array([0, 1, 2, 0, 1, 2])
    df = ce.projection_table(
        coords,
        target,
        sample_id=np.arange(10, 16),
        split=np.array([0, 0, 1, 1, 2, 2]),
        pred=np.array([0, 1, 1, 0, 1, 2]),
        correct=np.array([1, 1, 0, 1, 1, 1]),
    )
    assert list(df.columns) == [
        "sample_id",
        "x",
        "y",
        "target",
        "label",
        "prediction_value",
        "prediction",
        "correct",
        "split",
    ]
    assert df["sample_id"].tolist() == list(range(10, 16))
    assert df["label"].tolist()[:3] == ["class 0", "class 1", "class 2"]
    assert df["correct"].tolist()[2] == "wrong" and df["split"].tolist() == [
        "train",
        "train",
        "val",
        "val",
        "test",
        "test",
    ]
    with pytest.raises(ValueError):
        ce.projection_table(np.zeros((3, 3)), np.zeros(3))


def test_projection_figure_colours_classes_consistently_and_hovers():
    coords = np.random.default_rng(0).standard_normal((40, 2))
    target = np.repeat([0, 1, 2, 3], 10)
    pred = np.roll(target, 5)
    df = ce.projection_table(coords, target, pred=pred, correct=pred == target, split=np.zeros(40))
    by_label = ce.projection_figure(df, "label")
    by_pred = ce.projection_figure(df, "prediction")
    lab = {t.name: t.marker.color for t in by_label.data}
    prd = {t.name: t.marker.color for t in by_pred.data}
    assert [t.name for t in by_label.data] == ["class 0", "class 1", "class 2", "class 3"]
    assert lab == prd  # the same class has the same colour whether shown as label or prediction
    assert len(set(lab.values())) == 4
    hover = by_label.data[0].hovertemplate
    assert "sample" in hover and "label" in hover and "split" in hover
    assert by_label.data[0].customdata.shape[1] == 4  # id, label, prediction, split
    corr = ce.projection_figure(df, "correct")
    assert {t.name: t.marker.color for t in corr.data} == ce.CORRECT_COLORS
    spl = ce.projection_figure(df, "split")
    assert spl.data[0].marker.color == SPLIT_COLORS["train"]


def test_projection_figure_regression_is_continuous_and_empty_is_a_sentence():
    df = ce.projection_table(np.zeros((5, 2)), np.linspace(0, 1, 5), task="regression")
    fig = ce.projection_figure(df, "label", task="regression")
    assert len(fig.data) == 1 and fig.data[0].marker.colorscale is not None
    empty = ce.projection_figure(pd.DataFrame(), "label")
    assert "No samples" in empty.layout.annotations[0].text


def test_snapshot_grid_and_facts():
    rng = np.random.default_rng(1)
    frames = []
    for e in range(5):
        df = ce.projection_table(rng.standard_normal((1200, 2)), rng.integers(0, 3, 1200))
        frames.append((f"epoch {e + 1}", df))
    fig = ce.snapshot_grid_figure(frames, "label", columns=4)
    assert len(fig.layout.annotations) == 5  # one title per panel
    assert max(len(t.x) for t in fig.data) <= 500  # each panel is thinned
    assert sum(bool(t.showlegend) for t in fig.data) == 3  # one legend entry per class
    snap = {"xi": np.zeros((4, 8)), "correct": np.array([1, 0, 1, 1]), "split": np.array([0, 1, 2, 2])}
    facts = ce.snapshot_facts(snap, "xi")
    assert facts == {"points": "4", "dimensions": "8", "val accuracy": "0.0 %", "test accuracy": "100.0 %"}
    assert ce.array_label("zeta_audio").startswith("zeta_audio (bottleneck")


# data


def test_class_balance_stacks_splits():
    target = np.array([0, 0, 0, 1, 1, 2])
    split = np.array([0, 1, 2, 0, 0, 0])
    fig = cd.class_balance_figure(target, split)
    assert [t.name for t in fig.data] == ["train", "val", "test"]
    assert list(fig.data[0].y) == [1, 2, 1] and list(fig.data[1].y) == [1, 0, 0]
    assert fig.layout.barmode == "stack"
    assert [t.marker.color for t in fig.data] == [SPLIT_COLORS[s] for s in ("train", "val", "test")]
    reg = cd.class_balance_figure(np.linspace(0, 1, 50), np.zeros(50, int), task="regression")
    assert isinstance(reg.data[0], go.Histogram)
    an = cd.class_balance_figure(np.array([0, 1, 0]), task="anomaly")
    assert list(an.data[0].x) == ["normal", "anomaly"]


def test_ground_truth_table():
    gt = {
        "bayes_accuracy": 0.91,
        "optimal_mib_accuracy": 0.905,
        "exact_mi_v1_v2": 1.5,
        "exact_h": {"v1": 10.0, "v2": 9.0},
        "exact_h_joint": 17.5,
        "optimal_features": np.zeros((3, 12)),
    }
    df = cd.ground_truth_table(gt, ["v1", "v2"])
    rows = dict(zip(df["quantity"], df["value"]))
    assert rows["Bayes accuracy"] == "91.0 %" and rows["Optimal-MIB accuracy"] == "90.5 %"
    assert rows["I(v1; v2)"] == "1.500 nats" and rows["H(v1)"] == "10.000 nats" and rows["H_joint"] == "17.500 nats"
    assert float(rows["M_u (exact, conservative)"]) == pytest.approx(1 / (3 * 17.5), rel=1e-3)
    assert rows["Optimal features"] == "12 dims"
    assert cd.ground_truth_table(None, ["a", "b"]).empty
    three = cd.ground_truth_table(
        {"exact_mi_v1_v2": 1.0, "exact_mi_pairs": {"a;b": 1.0, "a;c": 2.0, "b;c": 3.0}, "bayes_accuracy_views": 0.9},
        ["a", "b", "c"],
    )
    assert three["quantity"].tolist() == ["Bayes accuracy from the views", "I(a; b)", "I(a; c)", "I(b; c)"]
    neg = cd.ground_truth_table({"exact_h_joint": -2.0}, ["a", "b"])
    assert "none" in neg["value"].tolist()


def test_modality_table_and_pca_figure_use_modality_colours():
    t = cd.modality_table({"audio": (100, 20), "video": (100, 30)}, 100)
    assert t["features"].tolist() == [20, 30] and t["role"].tolist() == ["v1 (reference)", "v2"]
    fig = cd.modality_pca_figure(np.zeros((10, 2)), np.arange(10) % 2, "<b>video</b>", 1)
    assert MODALITY_COLORS[1] in fig.layout.title.text
    assert "&lt;b&gt;" in fig.layout.title.text  # a dataset's modality name is escaped, never rendered as HTML


# bound


def test_estimates_table_and_notes():
    res = _result(converged=False)
    df = cb.estimates_table(res)
    assert df["quantity"].tolist() == ["H(audio)", "H(video)", "I(audio;video)", "H_joint"]
    assert df.loc[0, "exact"] == 5.2 and df.loc[0, "error"] == pytest.approx(-0.2)
    assert df.loc[0, "per seed"] == "4.900, 5.000, 5.100" and df.loc[0, "levelled off"] == "no"
    assert len(cb.unconverged_notes(res)) == 4 and "still rising" in cb.unconverged_notes(res)[0]
    assert cb.unconverged_notes(_result()) == []


def test_estimate_curve_has_dashed_exact_and_is_downsampled():
    e = Estimate(name="H(v1)", value=5.0, curve=tuple(np.linspace(0, 5, 5000)), exact=5.3)
    fig = cb.estimate_curve_figure(e, steps=5000, color=MODALITY_COLORS[0])
    assert len(fig.data[0].x) <= 2000 and fig.data[0].x[-1] == 5000
    dashed = [s for s in fig.layout.shapes if s.line.dash == "dash"]
    assert len(dashed) == 1 and dashed[0].y0 == 5.3 and dashed[0].line.color == REFERENCE_COLOR
    closed = cb.estimate_curve_figure(Estimate(name="H(v1)", value=5.0), steps=100)
    assert len(closed.layout.shapes) == 1  # the closed-form value as a flat line, no exact


def test_curve_steps():
    np.testing.assert_allclose(cb.curve_steps(4, 1000), [250, 500, 750, 1000])
    assert cb.curve_steps(0, 10).size == 0


def test_beta_number_line_is_log_and_places_everything():
    fig = cb.beta_number_line(beta=0.02, M_u=0.05, M_l=0.03, M_u_r=0.075, r=1.0)
    assert fig.layout.xaxis.type == "log"
    names = {t.name for t in fig.data}
    assert names == {"β", "M_u (conservative)", "M_l", "M_u with r = 1.00"}
    lo, hi = fig.layout.xaxis.range
    assert lo < math.log10(0.02) and hi > math.log10(0.075)
    texts = [a.text for a in fig.layout.annotations]
    assert any("β = 0.02" in t for t in texts) and any(t.startswith("M_l") for t in texts)
    # bounds below the line in two staggered rows, β above: equal values never print on top of each other
    ys = sorted({a.y for a in fig.layout.annotations})
    assert ys[0] < ys[1] < 0 < ys[-1]
    only_beta = cb.beta_number_line(0.1, None, None)
    assert [t.name for t in only_beta.data] == ["β"]
    nothing = cb.beta_number_line(None, None, None)
    assert "No bound" in nothing.layout.annotations[0].text


def test_beta_verdict_sentences():
    assert "above the bound" in cb.beta_verdict(0.1, 0.05, 0.03)
    assert "within the bound" in cb.beta_verdict(0.05, 0.05, 0.03)
    assert "below M_l" in cb.beta_verdict(0.01, 0.05, 0.03)
    assert "no M_u" in cb.beta_verdict(0.01, None, None)


def test_seed_spread_and_progress():
    fig = cb.seed_spread_figure(_result())
    assert list(fig.layout.xaxis.categoryarray) == ["H(audio)", "H(video)", "I(audio;video)", "H_joint"]
    rows = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "name": ["bound/mine: H(a)", "bound/mine: H(a)", "bound/mine: H(b)"],
            "value": [0.1, 0.2, 0.55],
        }
    )
    assert cb.bound_progress(rows) == (0.55, "mine: H(b)")
    assert cb.bound_progress(None) == (0.0, "waiting for the worker")
    stages = cb.bound_stages(rows)
    assert stages == [("H(a)", "done"), ("H(b)", "running")]
    done = pd.concat([rows, pd.DataFrame({"id": [4], "name": ["bound/done"], "value": [1.0]})])
    assert cb.bound_stages(done) == [("H(a)", "done"), ("H(b)", "done")]
    assert cb.bound_stages(None) == []


def test_live_curves_figure_one_line_per_quantity_and_none_without_rows():
    import pandas as pd

    from dashboard.charts import vega
    from dashboard.charts.bound import live_curves_figure

    assert live_curves_figure(None) is None
    rows = pd.DataFrame(
        {
            "id": range(1, 8),
            "name": ["bound/mine: H(v1)"] + ["bound_curve/mine: H(v1)"] * 3 + ["bound_curve/mine: H(v2)"] * 3,
            "value": [0.1, 1.0, 2.0, 2.5, 0.5, 0.9, 1.1],
        }
    )
    lines = vega.lines_of(live_curves_figure(rows))
    assert list(dict.fromkeys(lines["series"])) == ["H(v1)", "H(v2)"]
    assert list(lines[lines["series"] == "H(v1)"]["value"]) == [1.0, 2.0, 2.5]
    assert live_curves_figure(rows[rows["name"].str.startswith("bound/")]) is None
