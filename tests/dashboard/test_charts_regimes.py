"""The Home demo's per-run charts: shared axes, the whole planned run on x, tall enough for a projector."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.charts import regimes as charts
from dashboard.charts.vega import is_empty, lines_of


def tables(kl1: float, acc_test: float, epochs: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    steps = pd.DataFrame(
        {
            "step": np.arange(1, 2 * epochs + 1),
            "epoch": np.repeat(np.arange(epochs), 2),
            "kl/v1": [np.nan, np.nan] + [kl1] * (2 * epochs - 2),
            "kl/v2": [np.nan, np.nan] + [kl1 / 10] * (2 * epochs - 2),
            "r/v1": 1.0,
            "r/v2": 0.7,
        }
    )
    ep = pd.DataFrame(
        {"epoch": np.arange(epochs), "train/accuracy": [np.nan] + [1.0] * (epochs - 1), "test/accuracy": acc_test}
    )
    ep.loc[0, "test/accuracy"] = np.nan
    return steps, ep


@pytest.mark.parametrize(("value", "expected"), [(0.3, 0.5), (1.0, 1.0), (1.8, 2.0), (86.0, 100.0), (120.0, 200.0)])
def test_nice_ceiling(value, expected):
    assert charts.nice_ceiling(value) == expected


def test_shared_scales_cover_every_run():
    scales = charts.shared_scales([tables(86.0, 0.75), tables(1.8, 0.42)])
    assert scales == {"acc_lo": 0.4, "kl_hi": 100.0}


def test_charts_are_tall_and_span_the_planned_run():
    steps, epochs = tables(13.0, 0.78)
    for spec in (
        charts.accuracy_chart(epochs, 0.70, x_max=110),
        charts.kl_chart(steps, ["v1", "v2"], x_max=110, kl_hi=20.0),
        charts.r_chart(steps, ["v1", "v2"], x_max=110),
    ):
        assert not is_empty(spec) and spec["height"] >= 160 and spec["autosize"]["type"] == "fit-x"  # height = plot
        xs = [layer["encoding"]["x"]["scale"]["domain"] for layer in spec["layer"] if "x" in layer.get("encoding", {})]
        assert xs and all(d == [1, 110.0] for d in xs)


def test_accuracy_names_the_linear_model_in_the_legend_and_shades_the_gap():
    _, epochs = tables(13.0, 0.78)
    spec = charts.accuracy_chart(epochs, 0.70, x_max=10)
    assert set(lines_of(spec)["series"]) == {"train", "test", "linear"}
    gap = spec["datasets"]["gap"]
    assert list(gap["train"] - gap["test"]) == pytest.approx([0.22] * 3)


def test_r_chart_shows_every_modality_but_the_reference_and_kl_is_per_epoch():
    steps, _ = tables(13.0, 0.78)
    r = charts.r_chart(steps, ["v1", "v2"])
    assert r["title"]["text"] == "Dynamic weight r_v2" and set(lines_of(r)["series"]) == {"r v2"}
    kl = lines_of(charts.kl_chart(steps, ["v1", "v2"]))
    assert len(kl[kl["series"] == "KL v1"]) == 3  # one point per main-stage epoch, not per step


def test_before_the_bottleneck_starts_each_chart_says_so():
    empty_steps = pd.DataFrame({"step": [1], "epoch": [0], "loss": [1.0]})
    assert is_empty(charts.kl_chart(empty_steps, ["v1", "v2"]))
    assert is_empty(charts.r_chart(empty_steps, ["v1", "v2"]))
    assert is_empty(charts.accuracy_chart(pd.DataFrame({"epoch": [0], "val/accuracy": [0.6]})))


def test_the_symlog_kl_axis_is_labelled_at_each_decade():
    steps, _ = tables(86.0, 0.75)
    spec = charts.kl_chart(steps, ["v1", "v2"], kl_hi=100.0)
    assert spec["layer"][0]["encoding"]["y"]["axis"]["values"] == [0, 0.1, 1, 10, 100]
