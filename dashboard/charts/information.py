"""What xi keeps: charts of the information per latent block (``info/<rep>/<block>`` metrics, nats; SPEC section 8).

Pure functions, data in, Vega-Lite spec dicts out (as ``dashboard.charts.training``: the live chart is redrawn by a
polling fragment, so its moving parts sit in named datasets). Colours follow the Home page's picture of the
information split: task-relevant a-blocks in the amber family, superfluous b-blocks in the grey family.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from dashboard.charts import vega
from dashboard.charts.vega import Spec, chart, empty, line_layers
from omib_core.analysis.information import is_task_block, kept, parse_metric_name, representation_label

TASK_COLORS = ("#92400E", "#F59E0B", "#B45309", "#FCD34D", "#D97706")  # a0, a1, a2, a3, ... (the Venn's amber)
SUPERFLUOUS_COLORS = ("#374151", "#6B7280", "#9CA3AF", "#4B5563", "#D1D5DB")  # b0, b1, b2, ... (the Venn's grey)
PLANE_COLOR = "#4F46E5"
LOOK_FOR = {
    "kept": "Amber lines (a-blocks) are what y needs: they should rise and stay. Grey lines (b-blocks) are superfluous: "
    "a good β keeps them low; a rising grey line is xi memorising nuisance, which is what costs test accuracy.",
    "snapshot": "At this snapshot: tall amber bars and short grey bars for ξ mean it kept the task information and "
    "dropped the rest. z_i (before the bottleneck) holds everything its view has; ζ_i shows what each bottleneck lets "
    "through.",
    "plane": "Each point is one β/M_u (mean ± std over seeds). Moving right to left, β drops superfluous information; "
    "the ideal is the top-left corner (all task information, nothing superfluous). Too much β falls down the chart: "
    "the bottleneck's noise drowns the task information in the xi that dDec learns from (measured on the sampled xi). "
    "The mean of xi still holds it, which is why accuracy falls less than the plane: dDec learns slowly from the "
    "noisy samples (bench/results/too_much_beta.md).",
}
NO_GROUND_TRUTH = (
    "What xi keeps, block by block, is shown only for simulated data (SIM-I/II/III, SIM-TEACH, ...): ground truth is "
    "only known for simulated data."
)


# helpers


def block_color(block: str) -> str:
    """Amber for a task-relevant a-block, grey for a superfluous b-block (by the block's index)."""
    digits = "".join(c for c in block if c.isdigit())
    i = int(digits) if digits else 0
    family = TASK_COLORS if is_task_block(block) else SUPERFLUOUS_COLORS
    return family[i % len(family)]


def block_label(block: str) -> str:
    return f"{block} ({'task' if is_task_block(block) else 'superfluous'})"


def info_long(epochs: pd.DataFrame) -> pd.DataFrame:
    """``epoch, rep, block, nats`` rows from a wide epoch table's ``info/<rep>/<block>`` columns (epochs 0-based)."""
    cols = [(c, parse_metric_name(str(c))) for c in (epochs.columns if epochs is not None else [])]
    cols = [(c, k) for c, k in cols if k is not None]
    if not cols or epochs.empty:
        return pd.DataFrame(columns=["epoch", "rep", "block", "nats"])
    parts = []
    for c, (rep, block) in cols:
        sub = epochs[["epoch", c]].dropna()
        if not sub.empty:
            parts.append(pd.DataFrame({"epoch": sub["epoch"].astype(int), "rep": rep, "block": block, "nats": sub[c]}))
    if not parts:
        return pd.DataFrame(columns=["epoch", "rep", "block", "nats"])
    return pd.concat(parts, ignore_index=True).sort_values(["epoch", "rep", "block"]).reset_index(drop=True)


def has_information(epochs: pd.DataFrame | None) -> bool:
    """True when the table holds at least one finite ``info/`` number."""
    return not info_long(epochs).empty


def _blocks(df: pd.DataFrame) -> list[str]:
    blocks = sorted(set(df["block"]))
    return [b for b in blocks if is_task_block(b)] + [b for b in blocks if not is_task_block(b)]


# the charts


def kept_figure(epochs: pd.DataFrame, rep: str = "xi") -> Spec:
    """What ``rep`` keeps of each latent block over training (one line per block, nats, x = epoch 1-based)."""
    title = f"What {representation_label(rep)} keeps of each latent block"
    df = info_long(epochs)
    df = df[df["rep"] == rep]
    if df.empty:
        return empty(title, "Measured at the first snapshot of the main stage...")
    blocks = _blocks(df)
    lines = pd.DataFrame(
        {"x": df["epoch"] + 1, "value": df["nats"], "series": df["block"].map(block_label), "style": "solid"}
    )
    series = [(b, block_label(b), block_color(b), "solid") for b in blocks]
    layers = line_layers("lines", lines, series, "epoch", "nats", y_scale={"zero": True}, points=True, unit="nats")
    return chart(title, layers, {"lines": lines}, vega.HEIGHT)


def snapshot_figure(table: Mapping[str, Mapping[str, float]], epoch: int | None = None) -> Spec:
    """Grouped bars for one epoch: x = representation (ξ, ζ_i, z_i), one bar per block (nats)."""
    title = "Information per latent block" + (f", epoch {epoch + 1}" if epoch is not None else "")
    rows = [
        (representation_label(rep), rep, b, float(v))
        for rep, row in table.items()
        for b, v in row.items()
        if v is not None and np.isfinite(v)
    ]
    if not rows:
        return empty(title, "No per-block numbers at this snapshot.")
    df = pd.DataFrame(rows, columns=["representation", "rep", "block", "nats"])
    order = sorted(set(df["rep"]), key=lambda r: (r != "xi", not r.startswith("zeta_"), r))
    blocks = _blocks(df)
    df["series"] = df["block"].map(block_label)
    color = {
        "field": "series",
        "type": "nominal",
        "scale": {"domain": [block_label(b) for b in blocks], "range": [block_color(b) for b in blocks]},
        "legend": {"orient": "top", "title": None, "columns": vega.legend_columns([block_label(b) for b in blocks])},
    }
    layer = {
        "data": {"name": "bars"},
        "mark": {"type": "bar"},
        "encoding": {
            "x": {
                "field": "representation",
                "type": "nominal",
                "sort": [representation_label(r) for r in order],
                "title": None,
                "axis": {"labelAngle": 0},
            },
            "xOffset": {"field": "series", "sort": [block_label(b) for b in blocks]},
            # z_i holds ~100+ nats of its view's blocks, xi a few: a symmetric log scale keeps both readable
            "y": {
                "field": "nats",
                "type": "quantitative",
                "title": "nats (log scale above 1)",
                "scale": {"type": "symlog", "constant": 1, "domainMin": 0, "clamp": True},  # noise below 0: drawn at 0
                "axis": {"values": [0, 0.5, 1, 2, 5, 10, 20, 50, 100, 200]},
            },
            "color": color,
            "tooltip": [
                {"field": "representation", "type": "nominal"},
                {"field": "block", "type": "nominal"},
                {"field": "nats", "type": "quantitative", "format": ".3f"},
            ],
        },
    }
    return chart(title, [layer], {"bars": df}, vega.HEIGHT)


def plane_points(runs: Sequence[Mapping], rep: str = "xi") -> pd.DataFrame:
    """One row per finished run with a measured last epoch: ``beta_over_Mu, seed, task, superfluous`` (nats)."""
    from omib_core.sweeps import run_scale

    rows = []
    for run in runs:
        info = ((run.get("result") or {}).get("information") or {}).get("nats") or {}
        scale = run_scale(run)
        if run.get("status") != "finished" or scale is None or rep not in info:
            continue
        task, sup = kept(info[rep])
        seed = ((run.get("config") or {}).get("train") or {}).get("seed")
        rows.append((float(scale), seed, task, sup))
    return pd.DataFrame(rows, columns=["beta_over_Mu", "seed", "task", "superfluous"])


def plane_aggregate(points: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample std (0 for one seed) of both sums per beta/M_u, sorted by beta/M_u."""
    cols = ["beta_over_Mu", "task", "task_std", "superfluous", "superfluous_std", "n"]
    if points.empty:
        return pd.DataFrame(columns=cols)
    g = points.groupby("beta_over_Mu")
    out = pd.DataFrame(
        {
            "task": g["task"].mean(),
            "task_std": g["task"].std(ddof=1).fillna(0.0),
            "superfluous": g["superfluous"].mean(),
            "superfluous_std": g["superfluous"].std(ddof=1).fillna(0.0),
            "n": g["task"].count(),
        }
    ).reset_index()
    return out[cols].sort_values("beta_over_Mu").reset_index(drop=True)


def plane_figure(agg: pd.DataFrame, rep: str = "xi") -> Spec:
    """The information plane: superfluous information kept (x) against task information kept (y), one point per
    beta/M_u with ± one std over seeds in both directions, joined in beta order and labelled with beta/M_u."""
    title = f"Information plane: what {representation_label(rep)} keeps, per β/M_u"
    if agg.empty:
        return empty(title, "Appears when the first run of the sweep finishes (simulated data only).")
    df = agg.copy()
    df["label"] = [f"{s:g} × M_u" for s in df["beta_over_Mu"]]
    for k in ("task", "superfluous"):
        df[f"{k}_lo"], df[f"{k}_hi"] = df[k] - df[f"{k}_std"], df[k] + df[f"{k}_std"]
    x = {"field": "superfluous", "type": "quantitative", "title": "superfluous information kept (b-blocks, nats)"}
    y = {"field": "task", "type": "quantitative", "title": "task information kept (a-blocks, nats)"}
    tooltip = [
        {"field": "label", "type": "nominal", "title": "β"},
        {"field": "task", "type": "quantitative", "format": ".2f", "title": "task (nats)"},
        {"field": "superfluous", "type": "quantitative", "format": ".2f", "title": "superfluous (nats)"},
        {"field": "n", "type": "quantitative", "title": "seeds"},
    ]
    layers = [
        {
            "data": {"name": "plane"},
            "mark": {"type": "line", "color": PLANE_COLOR, "opacity": 0.4},
            "encoding": {"x": x, "y": y, "order": {"field": "beta_over_Mu", "type": "quantitative"}},
        },
        {
            "data": {"name": "plane"},
            "mark": {"type": "rule", "color": PLANE_COLOR},
            "encoding": {"x": {**x, "field": "superfluous_lo"}, "x2": {"field": "superfluous_hi"}, "y": y},
        },
        {
            "data": {"name": "plane"},
            "mark": {"type": "rule", "color": PLANE_COLOR},
            "encoding": {"x": x, "y": {**y, "field": "task_lo"}, "y2": {"field": "task_hi"}},
        },
        {
            "data": {"name": "plane"},
            "mark": {"type": "point", "filled": True, "size": 70, "color": PLANE_COLOR},
            "encoding": {"x": x, "y": y, "tooltip": tooltip},
        },
    ]
    # labels: right of a point in the left part of the chart, left of it near the right edge (never cut off);
    # every other beta below its point, so that two close points do not print over each other
    side = [
        {"joinaggregate": [{"op": "max", "field": "superfluous", "as": "xmax"}]},
        {"calculate": "datum.superfluous > 0.6 * datum.xmax", "as": "right_part"},
        {"window": [{"op": "row_number", "as": "rank"}], "sort": [{"field": "beta_over_Mu"}]},
    ]
    for right, align, dx in ((False, "left", 7), (True, "right", -7)):
        for parity, dy in ((0, -8), (1, 14)):
            keep = f"datum.right_part === {str(right).lower()} && datum.rank % 2 === {parity}"
            layers.append(
                {
                    "data": {"name": "plane"},
                    "transform": [*side, {"filter": keep}],
                    "mark": {"type": "text", "align": align, "dx": dx, "dy": dy, "fontSize": 12, "color": "#111827"},
                    "encoding": {"x": x, "y": y, "text": {"field": "label", "type": "nominal"}},
                }
            )
    return chart(title, layers, {"plane": df}, vega.HEIGHT + 60)
