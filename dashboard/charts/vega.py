"""Vega-Lite building blocks for charts that a polling fragment redraws (plain spec dicts, no st.* calls).

A chart is ``{"title", "height", "autosize", "layer": [...], "datasets": {name: DataFrame}}`` for
``st.vega_lite_chart(spec=...)``. ``height`` is the plot area alone (autosize ``fit-x``: the width fits the
column, title, legend and axes are added around the plot), so a long title or a two-row legend never squeezes the
plot; every chart keeps at least ``MIN_PLOT_HEIGHT`` px, readable on a projector. Everything that moves while a run is live sits in the named datasets, so that
the spec stays the same from poll to poll and the browser swaps the data in place instead of remounting the
chart (a Plotly chart is remounted whenever its figure changes: its identity includes the figure).
Plain dicts, not Altair objects: Altair spends ~0.3 s building a layered chart, a dict a fraction of a millisecond.

Line data is long: ``x, value, series, style`` (style = ``solid`` / ``dot`` / ``dash``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from dashboard.charts import REFERENCE_COLOR

Spec = dict[str, Any]
HEIGHT = 220  # the plot area of a full chart, px
MIN_PLOT_HEIGHT = 160  # no chart's plot area is smaller (issue 18: readable on a projector)
AUTOSIZE = {"type": "fit-x", "contains": "padding"}  # Streamlit's default ("fit") would squeeze the plot instead
# line styles by name -> Vega-Lite strokeDash arrays
DASHES = {"solid": [1, 0], "dot": [2, 3], "dash": [7, 4]}
REFERENCE_DASHES = ([7, 4], [2, 3], [10, 3, 2, 3], [4, 2], [1, 3])  # one per reference line in a legend
INDEPENDENT_DASH = {"scale": {"strokeDash": "independent"}, "legend": {"strokeDash": "independent"}}
WARMUP_FILL = "#E5E7EB"
HOVER = "hover layer"  # the description that marks the layers drawn only for the pointer (see without_hover)


def legend_columns(labels: Sequence[str], max_columns: int = 4, row_chars: int = 48) -> int:
    """Columns of a legend above a half-width chart: as many as fit ``row_chars`` characters a row (an entry takes
    its longest label plus about 4 characters of symbol and gap), so that no entry is cut at the chart's edge.

    A Vega-Lite legend does not wrap by itself; its entries run past the chart and are clipped there.
    """
    if not labels:
        return 1
    width = max(len(label) for label in labels) + 4
    return max(1, min(len(labels), max_columns, row_chars // width))


def _x_enc(axis: str) -> Spec:
    fmt = {"format": "~s"} if axis == "step" else {"format": "d", "tickMinStep": 1}
    return {"field": "x", "type": "quantitative", "title": axis or None, "axis": fmt}


def line_layers(
    dataset: str,
    data: pd.DataFrame,
    series: Sequence[tuple[str, str, str, str]],
    axis: str,
    y_title: str,
    *,
    y_scale: Spec | None = None,
    points: bool = False,
    unit: str = "",
    param: str = "hover",
) -> list[Spec]:
    """Coloured lines (dash by style), with a hover rule and a tooltip for the series at the nearest x."""
    present = set(data["series"]) if not data.empty else set()
    pairs = [(label, color) for _, label, color, _ in series if label in present]
    styles = sorted(set(data["style"])) if not data.empty else ["solid"]
    color = {
        "field": "series",
        "type": "nominal",
        "scale": {"domain": [p[0] for p in pairs], "range": [p[1] for p in pairs]},
        "legend": {"orient": "top", "title": None, "offset": 4, "columns": legend_columns([p[0] for p in pairs])},
    }
    y = {
        "field": "value",
        "type": "quantitative",
        "title": y_title,
        "scale": y_scale or {"zero": False},
        "axis": {"format": ".2~g"},
    }
    enc = {"x": _x_enc(axis), "y": y, "color": color}
    dash = {
        "field": "style",
        "type": "nominal",
        "legend": None,
        "scale": {"domain": styles, "range": [DASHES[s] for s in styles]},
    }
    select = {"type": "point", "nearest": True, "on": "pointerover", "fields": ["x"], "clear": "pointerout"}
    tooltip = [
        {"field": "series", "type": "nominal"},
        {"field": "x", "type": "quantitative", "title": axis},
        {"field": "value", "type": "quantitative", "title": unit or "value", "format": ".4~g"},
    ]
    line = {"type": "line", "strokeWidth": 2, "invalid": "break-paths-filter-domains", "point": points}
    return [
        {"data": {"name": dataset}, "mark": line, "encoding": {**enc, "strokeDash": dash}},
        {
            "data": {"name": dataset},
            "description": HOVER,
            "params": [{"name": param, "select": select}],
            "mark": {"type": "point", "filled": True, "size": 45},
            "encoding": {
                **enc,
                "tooltip": tooltip,
                "opacity": {"condition": {"param": param, "empty": False, "value": 1}, "value": 0},
            },
        },
        {
            "data": {"name": dataset},
            "description": HOVER,
            "mark": {"type": "rule", "color": "#9CA3AF", "strokeWidth": 1},
            "encoding": {"x": {"field": "x", "type": "quantitative"}},
            "transform": [{"filter": {"param": param, "empty": False}}],
        },
    ]


def without_hover(spec: Spec) -> Spec:
    """The spec without its hover layers (a transparent point per data point, a rule and a nearest-point search).

    For charts redrawn by a polling fragment: the browser rebuilds the nearest-point search over every point on
    each data update, which cost more than drawing the lines (measured: chromium ~0.5 core while watching a run).
    The finished run's charts keep them, so values can be read by pointing.
    """
    out = dict(spec)
    out["layer"] = [layer for layer in spec.get("layer", []) if layer.get("description") != HOVER]
    return out


def band_layers(dataset: str = "warmup") -> list[Spec]:
    """The grey warm-up band (Enc_i and Dec_i only, no xi yet) and its label."""
    x = {"field": "x0", "type": "quantitative"}
    return [
        {
            "data": {"name": dataset},
            "mark": {"type": "rect", "color": WARMUP_FILL, "opacity": 0.6},
            "encoding": {"x": x, "x2": {"field": "x1"}},
        },
        {
            "data": {"name": dataset},
            "mark": {"type": "text", "align": "left", "baseline": "top", "dx": 4, "dy": 4, "color": REFERENCE_COLOR},
            "encoding": {"x": x, "y": {"value": 0}, "text": {"field": "label", "type": "nominal"}},
        },
    ]


def references_table(rows: Sequence[tuple[float, str, str, str]]) -> pd.DataFrame:
    """Horizontal reference lines: ``(y, label, style, side)``, side ``"right"`` (label above) or ``"left"``."""
    return pd.DataFrame(rows, columns=["y", "label", "style", "side"]).astype({"y": float})


def reference_legend_layers(refs: pd.DataFrame, dataset: str = "references") -> list[Spec]:
    """Horizontal reference lines named in a legend below the chart, each with its own dash, so that no label is
    drawn where a curve can run over it. Use with ``chart(..., resolve=INDEPENDENT_DASH)``."""
    labels = list(refs["label"]) if not refs.empty else []
    dashes = [REFERENCE_DASHES[i % len(REFERENCE_DASHES)] for i in range(len(labels))]
    legend = {
        "orient": "bottom",
        "title": None,
        "symbolType": "stroke",
        "symbolStrokeColor": REFERENCE_COLOR,
        "symbolStrokeWidth": 1.5,
        "symbolSize": 300,
        "labelLimit": 320,
        "labelFontSize": 12,
        "columns": 1,  # one line each: two columns cut the second at the chart's edge in a half-width column
        "offset": 6,
    }
    return [
        {
            "data": {"name": dataset},
            "mark": {"type": "rule", "color": REFERENCE_COLOR, "strokeWidth": 1.5},
            "encoding": {
                "y": {"field": "y", "type": "quantitative"},
                "strokeDash": {
                    "field": "label",
                    "type": "nominal",
                    "scale": {"domain": labels, "range": dashes},
                    "legend": legend,
                },
            },
        }
    ]


def reference_layers(dataset: str = "references") -> list[Spec]:
    y = {"field": "y", "type": "quantitative"}
    dash = {
        "field": "style",
        "type": "nominal",
        "legend": None,
        "scale": {"domain": list(DASHES), "range": list(DASHES.values())},
    }
    out = [
        {
            "data": {"name": dataset},
            "mark": {"type": "rule", "color": REFERENCE_COLOR},
            "encoding": {"y": y, "strokeDash": dash},
        }
    ]
    for side, align, baseline, x, dy in (("right", "right", "bottom", "width", -3), ("left", "left", "top", 4, 3)):
        out.append(
            {
                "data": {"name": dataset},
                "transform": [{"filter": f"datum.side === '{side}'"}],
                "mark": {
                    "type": "text",
                    "align": align,
                    "baseline": baseline,
                    "x": x,
                    "dy": dy,
                    "color": REFERENCE_COLOR,
                },
                "encoding": {"y": y, "text": {"field": "label", "type": "nominal"}},
            }
        )
    return out


def chart(
    title: str,
    layers: list[Spec],
    datasets: dict[str, pd.DataFrame],
    height: int = HEIGHT,
    resolve: Spec | None = None,
) -> Spec:
    """A layered chart whose plot area is ``height`` px tall (at least ``MIN_PLOT_HEIGHT``), as wide as its column."""
    spec = {
        "title": {"text": title, "anchor": "start", "fontSize": 15, "offset": 6},
        "height": max(int(height), MIN_PLOT_HEIGHT),
        "autosize": dict(AUTOSIZE),
        "layer": layers,
        "datasets": datasets,
    }
    if resolve:
        spec["resolve"] = resolve
    return spec


def plot_height(spec: Spec) -> int:
    """The height of a chart's plot area in px (title, legend and axes excluded), as the browser will draw it."""
    autosize = spec.get("autosize") or {}
    if autosize.get("type") not in ("fit-x", "pad", "none"):
        raise ValueError(f"autosize {autosize!r} lets Vega-Lite squeeze the plot to fit the height; use fit-x.")
    return int(spec["height"])


def empty(title: str, message: str = "Waiting for the first metrics...", height: int = HEIGHT) -> Spec:
    text = {"type": "text", "fontSize": 14, "color": REFERENCE_COLOR}
    return chart(
        title,
        [{"data": {"name": "message"}, "mark": text, "encoding": {"text": {"field": "message", "type": "nominal"}}}],
        {"message": pd.DataFrame({"message": [message]})},
        height,
    )


def is_empty(spec: Spec) -> bool:
    """True for the 'waiting for data' placeholder."""
    return "message" in spec.get("datasets", {})


def lines_of(spec: Spec) -> pd.DataFrame:
    """The long (x, value, series, style) table a chart draws (for tests and benchmarks)."""
    return spec.get("datasets", {}).get("lines", pd.DataFrame(columns=["x", "value", "series", "style"]))
