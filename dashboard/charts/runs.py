"""The Runs page's table and overlay chart. Pure: run dicts / metric series in, DataFrame / plotly figure out."""

from __future__ import annotations

import html
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import centre_note
from omib_core.analysis.series import MAX_POINTS, downsample, ema_debiased

RUN_COLORS = ("#4F46E5", "#DC2626", "#059669", "#D97706", "#7C3AED", "#0891B2")
TABLE_COLUMNS = [
    "name",
    "id",
    "owner",
    "dataset",
    "beta/M_u",
    "r mode",
    "status",
    "metric",
    "best val",
    "test",
    "duration",
    "created",
    "open",
]


# helpers


def format_duration(seconds: float | None) -> str:
    """``"2 h 05 min"``, ``"3 min 12 s"``, ``"41 s"``; ``"–"`` when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {(s % 3600) // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"


def run_duration(run: Mapping[str, Any], now: float | None = None, last_active: float | None = None) -> float | None:
    """Seconds the run has trained: from start to end (or ``now`` while it is active), less its pauses.

    The store stamps ``paused_at`` when a run pauses and adds each finished pause to ``paused_seconds``, so a
    counter shown while it is paused stands still and a finished run's duration leaves its pauses out. A store
    without those stamps (older rows) falls back on ``last_active``, the time of the run's last metric row (the
    worker writes its rows out as it pauses).
    """
    start = run.get("started_at")
    if start is None:
        return None
    end = run.get("ended_at")
    if end is None and run.get("status") == "paused":
        if run.get("paused_at") is not None:
            end = max(float(run["paused_at"]), float(start))
        elif last_active is not None and math.isfinite(last_active):
            end = max(float(last_active), float(start))
    if end is None:
        end = now if now is not None else time.time()
    return max(0.0, float(end) - float(start) - float(run.get("paused_seconds") or 0.0))


def beta_label(run: Mapping[str, Any]) -> str:
    """beta/M_u as queued (``"1"``, ``"3"``), the measured one when the worker reported it, or the hand-set beta."""
    summary = run.get("summary") or {}
    train = (run.get("config") or {}).get("train") or {}
    model = (run.get("config") or {}).get("model") or {}
    if model.get("bottleneck") is False:
        return "no bottleneck"
    measured = summary.get("beta_over_Mu")
    if train.get("beta") is not None:
        return f"β = {train['beta']:.3g} (by hand)" + (f" ≈ {measured:.3g}" if isinstance(measured, float) else "")
    scale = train.get("beta_scale", 1.0)
    return f"{scale:g}"


def r_mode_label(run: Mapping[str, Any]) -> str:
    train = (run.get("config") or {}).get("train") or {}
    if train.get("dynamic_r") is False:
        return "fixed r = 1"
    form = {"info_gain": "held-out gain", "mean_of_ratios": "mean of ratios", "ratio_of_means": "ratio of means"}.get(
        train.get("r_form", "info_gain"), "?"
    )
    return f"dynamic ({form}, per {train.get('r_update', 'epoch')})"


def best_value(values: Sequence[float] | np.ndarray, higher_is_better: bool = True) -> float | None:
    """Best finite value of a series, or None."""
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return None
    return float(arr.max() if higher_is_better else arr.min())


def runs_frame(
    runs: Iterable[Mapping[str, Any]],
    best: Mapping[str, tuple[str, float | None, float | None]] | None = None,
    now: float | None = None,
) -> pd.DataFrame:
    """One row per run for the table: what, who, with which beta and r, how it went, and for how long.

    Args:
        runs: store run dicts (``config``, ``summary``, ``result`` decoded).
        best: ``{run_id: (metric, best validation value, final test value)}``.
    """
    best = best or {}
    rows = []
    for r in runs:
        metric, val, test = best.get(r["id"], ("", None, None))
        rows.append(
            {
                "name": str(r.get("name") or ""),
                "id": r["id"],
                "owner": str(r.get("owner") or ""),
                "dataset": str(r.get("dataset") or ""),
                "beta/M_u": beta_label(r) if r.get("kind", "train") == "train" else "bound estimate",
                "r mode": r_mode_label(r) if r.get("kind", "train") == "train" else "",
                "status": r.get("status"),
                "metric": metric,
                "best val": val,
                "test": test,
                "duration": format_duration(run_duration(r, now)),
                "created": pd.to_datetime(r.get("created_at"), unit="s") if r.get("created_at") else pd.NaT,
                "open": f"{'bound' if r.get('kind') == 'bound' else 'train'}?run={r['id']}",
            }
        )
    df = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    df[["best val", "test"]] = df[["best val", "test"]].astype("float64")  # None -> NaN: an empty cell
    return df


def filter_runs(df: pd.DataFrame, owners=(), datasets=(), statuses=()) -> pd.DataFrame:
    """Rows whose owner, dataset and status are among the chosen ones (an empty choice keeps all)."""
    keep = pd.Series(True, index=df.index)
    for col, chosen in (("owner", owners), ("dataset", datasets), ("status", statuses)):
        if chosen:
            keep &= df[col].isin(list(chosen))
    return df[keep]


def sort_runs(df: pd.DataFrame, by: str, ascending: bool) -> pd.DataFrame:
    """Sort by a table column, missing values last."""
    if by not in df.columns:
        return df
    return df.sort_values(by, ascending=ascending, na_position="last", kind="stable")


# overlay


def plotly_text(text: str) -> str:
    """A user-supplied string as Plotly shows it literally: Plotly reads ``<b>``, ``<a href>``... in names and
    titles as markup and ``%{...}`` in hover templates as a field, so escape both (a run named
    ``<a href="javascript:...">`` shows as typed)."""
    return html.escape(text, quote=False).replace("%{", "%\u200b{")


def overlay_figure(curves: Sequence[Mapping[str, Any]], metric_label: str, alpha: float = 0.0) -> go.Figure:
    """Several runs' curves aligned by epoch: the raw values faint, the debiased EMA bold, one colour per run.

    Args:
        curves: ``[{"label": str, "x": epochs, "y": values}]``.
        alpha: EMA smoothing factor in [0, 1); 0 shows the raw curve only.
    """
    fig = go.Figure()
    for i, c in enumerate(curves):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        x = np.asarray(c["x"], dtype=float)
        y = np.asarray(c["y"], dtype=float)
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
        label = plotly_text(str(c["label"]))
        if alpha > 0:
            xr, yr = downsample(x, y, MAX_POINTS)
            fig.add_trace(
                go.Scatter(
                    x=xr,
                    y=yr,
                    mode="lines",
                    line={"color": color, "width": 1},
                    opacity=0.3,
                    name=f"{label} (raw)",
                    legendgroup=label,
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
            y = ema_debiased(y, alpha)
        xs, ys = downsample(x, y, MAX_POINTS)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": color, "width": 2.2},
                name=label,
                legendgroup=label,
                connectgaps=False,
                hovertemplate=f"{label}: %{{y:.4g}}<extra></extra>",
            )
        )
    if not curves:
        centre_note(fig, "Select 2 to 5 runs in the table to compare them.")
    fig.update_layout(
        title={"text": f"{metric_label} by epoch" + (f" (EMA {alpha:.2f})" if alpha > 0 else ""), "x": 0.0},
        template="plotly_white",
        height=420,
        hovermode="x unified",
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
    )
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text=metric_label)
    return fig


def epoch_curve(rows: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(epoch shown 1-based, value) of one epoch metric from long store rows; NaN kept where not finite."""
    if rows is None or rows.empty:
        return np.array([]), np.array([])
    sub = rows[(rows["kind"] == "epoch") & (rows["name"] == name)].sort_values("id")
    sub = sub.drop_duplicates("epoch", keep="last")
    return sub["epoch"].to_numpy(dtype=float) + 1.0, sub["value"].to_numpy(dtype=float)


def snapshot_frame(arrays: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """An embedding snapshot (.npz arrays: index, split, target, pred, correct, xi, z_<m>, zeta_<m>) as one table."""
    cols: dict[str, Any] = {}
    for key in ("index", "split", "target", "pred", "correct"):
        if key in arrays:
            v = np.asarray(arrays[key])
            if key == "split":
                v = pd.Series(v).map({0: "train", 1: "val", 2: "test"}).fillna(pd.Series(v).astype(str)).to_numpy()
            cols[key] = v.reshape(len(v), -1)[:, 0] if v.ndim > 1 else v
    for key in ["xi"] + sorted(k for k in arrays if k.startswith(("z_", "zeta_"))):
        if key in arrays:
            a = np.asarray(arrays[key])
            a = a.reshape(len(a), -1)
            for j in range(a.shape[1]):
                cols[f"{key}_{j}"] = a[:, j]
    return pd.DataFrame(cols)
