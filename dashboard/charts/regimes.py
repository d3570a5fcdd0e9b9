"""The Home demo's three regimes side by side: small Vega-Lite charts per run, on shared axes. Pure.

Every chart of one row shares its axes with the same chart of the other runs (``shared_scales``): the x axis runs
over the whole planned training (so a live run fills it from the left) and the y axes are the same across the three
columns, so "KL collapses at too much β" reads as a lower line, not as a relabelled axis. Step metrics (KL, r) are
averaged per epoch so that all three charts of a column share the epoch axis. The spec only changes when a shared
range grows past a rounded step, so a polling fragment mostly swaps data in place (see ``dashboard.charts.vega``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from dashboard.charts import REFERENCE_COLOR, SPLIT_COLORS, modality_colors
from dashboard.charts.training import modalities_in, series_table
from dashboard.charts.vega import Spec, chart, empty, line_layers, reference_layers, references_table

HEIGHT = 170  # the plot area: >= 160 px on a projector (``_plot_height`` keeps title, axes and legend outside it)
NICE = (1, 2, 5)


# helpers


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 x 10^k at or above ``value`` (so a shared axis changes rarely while it grows)."""
    if not (value > 0 and math.isfinite(value)):
        return 1.0
    k = math.floor(math.log10(value))
    for m in (*NICE, 10):
        if m * 10**k >= value - 1e-12:
            return float(m * 10**k)
    return float(10 ** (k + 1))


def per_epoch(steps: pd.DataFrame | None, columns: Sequence[str]) -> pd.DataFrame:
    """Mean of each step column per epoch (one point per epoch; a step's KL is one batch's and noisy)."""
    if steps is None or steps.empty or "epoch" not in steps.columns:
        return pd.DataFrame(columns=["epoch", *columns])
    cols = [c for c in columns if c in steps.columns]
    if not cols:
        return pd.DataFrame(columns=["epoch", *columns])
    out = steps.groupby("epoch", sort=True)[cols].mean().reset_index()
    return out.dropna(how="all", subset=cols)


def shared_scales(runs: Sequence[tuple[pd.DataFrame, pd.DataFrame]]) -> dict[str, float]:
    """Axis ranges shared by the columns, from every run's (steps, epochs): the lowest accuracy rounded down to
    0.05 (at most 0.5) and the largest per-epoch KL rounded up to 1, 2 or 5 x 10^k."""
    acc_lo, kl_hi = 0.5, 1.0
    for steps, epochs in runs:
        for col in ("train/accuracy", "test/accuracy"):
            if epochs is not None and col in epochs.columns and epochs[col].notna().any():
                acc_lo = min(acc_lo, math.floor(float(epochs[col].min()) * 20) / 20)
        kls = [c for c in (steps.columns if steps is not None else []) if isinstance(c, str) and c.startswith("kl/")]
        table = per_epoch(steps, kls)
        if kls and not table.empty:
            kl_hi = max(kl_hi, float(table[kls].max().max()))
    return {"acc_lo": max(0.0, acc_lo), "kl_hi": nice_ceiling(kl_hi)}


def _x_domain(layers: list[Spec], x_max: float | None) -> list[Spec]:
    """Fix every layer's x axis to epochs 1..x_max (the whole planned run), so a live run fills it from the left."""
    if not x_max:
        return layers
    out = []
    for layer in layers:
        enc = layer.get("encoding", {})
        if "x" in enc:
            x = {**enc["x"], "scale": {"domain": [1, float(x_max)], "nice": False}}
            layer = {**layer, "encoding": {**enc, "x": x}}
        out.append(layer)
    return out


def _plot_height(spec: Spec) -> Spec:
    """Make ``height`` the plot area's: Streamlit's default autosize ("fit") squeezes the title, legend and axes into
    it (a 170 px chart kept a plot about 50 px tall), "fit-x" fits only the width."""
    return {**spec, "autosize": {"type": "fit-x", "contains": "padding"}}


def _y_ticks(layer: Spec, values: list[float]) -> Spec:
    """The y axis labelled at ``values`` (a symlog axis left to itself labels 0, 40 and 80 only)."""
    enc = layer.get("encoding", {})
    if "y" not in enc:
        return layer
    y = {**enc["y"], "axis": {**enc["y"].get("axis", {}), "values": values}}
    return {**layer, "encoding": {**enc, "y": y}}


# charts


def accuracy_chart(
    epochs: pd.DataFrame | None, linear: float | None = None, x_max: float | None = None, acc_lo: float = 0.5
) -> Spec:
    """Train and test accuracy per epoch, the train-test gap shaded between them, the linear model as a dotted line
    in the legend (a label on the plot would sit on the curves)."""
    title = "Accuracy: train, test and the gap"
    cols = ("train/accuracy", "test/accuracy")
    if epochs is None or epochs.empty or not all(c in epochs.columns for c in cols):
        return _plot_height(empty(title, "Accuracy appears once the bottleneck starts.", HEIGHT))
    rows = epochs.dropna(subset=list(cols))
    if rows.empty:
        return _plot_height(empty(title, "Accuracy appears once the bottleneck starts.", HEIGHT))
    series = [
        ("train/accuracy", "train", SPLIT_COLORS["train"], "solid"),
        ("test/accuracy", "test", SPLIT_COLORS["test"], "solid"),
    ]
    data = series_table(rows, "epoch", series)
    if linear is not None and math.isfinite(linear):
        label = "linear"  # its value is in the tooltip: a longer legend entry is cut off in a third of 1280 px
        x0, x1 = 1.0, float(x_max or data["x"].max())
        data = pd.concat(
            [data, pd.DataFrame({"x": [x0, x1], "value": [linear] * 2, "series": label, "style": "dot"})],
            ignore_index=True,
        )
        series.append(("linear", label, REFERENCE_COLOR, "dot"))
    gap = pd.DataFrame({"x": rows["epoch"].to_numpy(dtype=float) + 1.0, "test": rows[cols[1]], "train": rows[cols[0]]})
    band = {
        "data": {"name": "gap"},
        "mark": {"type": "area", "color": SPLIT_COLORS["test"], "opacity": 0.12},
        "encoding": {
            "x": {"field": "x", "type": "quantitative"},
            "y": {"field": "test", "type": "quantitative"},
            "y2": {"field": "train"},
        },
    }
    y_scale = {"domain": [acc_lo, 1.0], "nice": False}
    layers = [band, *line_layers("lines", data, series, "epoch", "accuracy", y_scale=y_scale, param="hover_acc")]
    return _plot_height(chart(title, _x_domain(layers, x_max), {"lines": data, "gap": gap}, HEIGHT))


def kl_chart(
    steps: pd.DataFrame | None,
    modalities: Sequence[str] | None = None,
    x_max: float | None = None,
    kl_hi: float = 1.0,
) -> Spec:
    """KL_i per modality in nats, averaged per epoch, on a symlog axis (0.01 and 86 nats on one chart)."""
    title = "KL per modality (nats)"
    mods = modalities_in(steps, modalities) if steps is not None else []
    cols = [f"kl/{m}" for m in mods]
    table = per_epoch(steps, cols)
    present = [c for c in cols if c in table.columns and table[c].notna().any()]
    if not present:
        return _plot_height(empty(title, "KL appears once the bottleneck starts.", HEIGHT))
    colors = modality_colors(mods)
    series = [(f"kl/{m}", f"KL {m}", colors[m], "solid") for m in mods if f"kl/{m}" in present]
    data = series_table(table, "epoch", series)
    y_scale = {"type": "symlog", "domain": [0, float(kl_hi)], "nice": False}
    layers = line_layers(
        "lines", data, series, "epoch", "KL (nats, symlog)", y_scale=y_scale, unit="nats", param="hover_kl"
    )
    ticks = [v for v in (0, 0.1, 1, 10, 100, 1000, 10000) if v <= kl_hi] + [float(kl_hi)]
    layers = [_y_ticks(layer, sorted(set(ticks))) for layer in layers]
    return _plot_height(chart(title, _x_domain(layers, x_max), {"lines": data}, HEIGHT))


def r_chart(steps: pd.DataFrame | None, modalities: Sequence[str] | None = None, x_max: float | None = None) -> Spec:
    """r of every modality but the reference (r_v2 on two-modality data), per epoch, in (0, 2) with r = 1 marked."""
    mods = modalities_in(steps, modalities) if steps is not None else []
    others = mods[1:] if len(mods) > 1 else mods
    title = "Dynamic weight " + ", ".join(f"r_{m}" for m in others) if others else "Dynamic weight r"
    cols = [f"r/{m}" for m in others]
    table = per_epoch(steps, cols)
    present = [c for c in cols if c in table.columns and table[c].notna().any()]
    if not present:
        return _plot_height(empty(title, "r appears once the bottleneck starts.", HEIGHT))
    colors = modality_colors(mods)
    series = [(f"r/{m}", f"r {m}", colors[m], "solid") for m in others if f"r/{m}" in present]
    data = series_table(table, "epoch", series)
    layers = reference_layers() + line_layers(
        "lines", data, series, "epoch", "r (weight on KL)", y_scale={"domain": [0, 2]}, param="hover_r"
    )
    refs = references_table([(1.0, "r = 1", "dash", "none")])  # the rule only: a label would sit on the curve
    return _plot_height(chart(title, _x_domain(layers, x_max), {"lines": data, "references": refs}, HEIGHT))
