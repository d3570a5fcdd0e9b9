"""Vega-Lite building blocks for charts that a polling fragment redraws (plain spec dicts, no st.* calls).

A chart is ``{"title", "height", "layer": [...], "datasets": {name: DataFrame}}`` for
``st.vega_lite_chart(spec=...)``. Everything that moves while a run is live sits in the named datasets, so that
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
HEIGHT = 290
# line styles by name -> Vega-Lite strokeDash arrays
DASHES = {"solid": [1, 0], "dot": [2, 3], "dash": [7, 4]}
WARMUP_FILL = "#E5E7EB"
HOVER = "hover layer"  # the description that marks the layers drawn only for the pointer (see without_hover)


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
        "legend": {"orient": "top", "title": None, "offset": 4, "columns": min(len(pairs), 4)},
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


def chart(title: str, layers: list[Spec], datasets: dict[str, pd.DataFrame], height: int = HEIGHT) -> Spec:
    return {
        "title": {"text": title, "anchor": "start", "fontSize": 15, "offset": 6},
        "height": height,
        "layer": layers,
        "datasets": datasets,
    }


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
