"""Live training charts: pure functions from the wide metric tables of ``dashboard.live.pivot`` to plotly figures.

Inputs are the step table (x = global optimiser step) or the epoch table (x = epoch, shown 1-based), with one
column per metric name of ``omib_core.train.events`` (``loss``, ``kl/<m>``, ``r/<m>``, ``val/accuracy``...).
Every series is cut to at most ``MAX_POINTS`` points; non-finite values stay NaN so the chart shows a gap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.charts import FUSED_COLOR, REFERENCE_COLOR, SPLIT_COLORS, modality_colors
from omib_core.analysis.series import MAX_POINTS, downsample

HEIGHT = 340
LOWER_IS_BETTER = ("mae", "mse", "rmse", "loss")
METRIC_LABELS = {
    "accuracy": "accuracy",
    "f1_macro": "F1 (macro)",
    "f1": "F1",
    "auc": "AUC",
    "mae": "MAE",
    "mse": "MSE",
    "rmse": "RMSE",
    "acc2": "Acc-2",
    "corr": "correlation",
}
REFERENCE_LABELS = {
    "optimal_mib_accuracy": "ground-truth optimal MIB",
    "bayes_accuracy": "Bayes accuracy",
}
PREFERRED_METRICS = ("accuracy", "auc", "f1_macro", "mae", "acc2", "mse")


# helpers


def metric_label(metric: str) -> str:
    """Readable name of a metric suffix such as ``accuracy`` or ``f1_macro``."""
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


def higher_is_better(metric: str) -> bool:
    """False for error metrics (MAE, MSE, losses), True otherwise."""
    return not any(metric.lower().endswith(s) for s in LOWER_IS_BETTER)


def modalities_in(df: pd.DataFrame, order: Sequence[str] | None = None) -> list[str]:
    """Modality names: the dataset order when given, then any others found as ``kl/<m>``, ``r/<m>``... columns."""
    found: list[str] = []
    for col in df.columns if df is not None else []:
        for prefix in ("kl/", "r/", "trb_loss/", "beta_kl/"):
            if isinstance(col, str) and col.startswith(prefix) and col[len(prefix) :] not in found:
                found.append(col[len(prefix) :])
    if order:  # keep the dataset order whole, so colours stay tied to positions
        return list(order) + [m for m in found if m not in order]
    return found


def split_metrics(df: pd.DataFrame) -> list[str]:
    """Metric suffixes logged per split (``val/accuracy`` -> ``accuracy``), preferred ones first."""
    names = {c.split("/", 1)[1] for c in df.columns if isinstance(c, str) and c.startswith(("val/", "test/", "train/"))}
    return [m for m in PREFERRED_METRICS if m in names] + sorted(names - set(PREFERRED_METRICS))


def default_metric(df: pd.DataFrame) -> str | None:
    """The metric the accuracy chart shows first (accuracy, else AUC, else the first logged one)."""
    names = split_metrics(df)
    return names[0] if names else None


def _x(df: pd.DataFrame, axis: str) -> np.ndarray:
    """x values: the global step, or the 0-based epoch index shown 1-based."""
    if axis == "epoch":
        return df["epoch"].to_numpy(dtype=float) + 1.0
    return df["step"].to_numpy(dtype=float)


def _line(
    fig: go.Figure,
    x: np.ndarray,
    y: np.ndarray,
    name: str,
    color: str,
    *,
    dash: str | None = None,
    width: float = 2.0,
    unit: str = "",
    visible: bool | str = True,
    legendgroup: str | None = None,
    row: int | None = None,
    col: int | None = None,
    mode: str = "lines",
) -> None:
    """Add one series (downsampled to MAX_POINTS, NaN gaps kept)."""
    x, y = downsample(np.asarray(x), np.asarray(y, dtype=float), MAX_POINTS)
    trace = go.Scatter(
        x=x,
        y=y,
        name=name,
        mode=mode,
        line={"color": color, "dash": dash, "width": width},
        marker={"color": color, "size": 6},
        connectgaps=False,
        visible=visible,
        legendgroup=legendgroup,
        hovertemplate=f"{name}: %{{y:.4g}}{(' ' + unit) if unit else ''}<extra></extra>",
    )
    if row is None:
        fig.add_trace(trace)
    else:
        fig.add_trace(trace, row=row, col=col)


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, height: int = HEIGHT) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 15}},
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        hovermode="x unified",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
    )
    fig.update_xaxes(title_text=x_title)
    if y_title:
        fig.update_yaxes(title_text=y_title)
    return fig


def _empty(title: str, message: str = "Waiting for the first metrics...") -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font={"size": 14})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title, "", "")


def _has(df: pd.DataFrame | None, *cols: str) -> bool:
    return df is not None and not df.empty and any(c in df.columns and df[c].notna().any() for c in cols)


def _shade_warmup(fig: go.Figure, df: pd.DataFrame, axis: str) -> None:
    """Grey band over the warm-up stage (Enc_i and Dec_i only, no xi yet)."""
    if "stage" not in df.columns:
        return
    warm = df[df["stage"] == "warmup"]
    if warm.empty:
        return
    x = _x(warm, axis)
    lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
    main = df[df["stage"] != "warmup"]
    if not main.empty:
        hi = (hi + float(np.nanmin(_x(main, axis)))) / 2.0
    fig.add_vrect(
        x0=lo, x1=hi, fillcolor=REFERENCE_COLOR, opacity=0.08, line_width=0,
        annotation_text="warm-up", annotation_position="bottom left", annotation_font_color=REFERENCE_COLOR,
    )  # fmt: skip


# main charts


def loss_figure(steps: pd.DataFrame, modalities: Sequence[str] | None = None) -> go.Figure:
    """Total loss and task loss L_task(dDec(xi), y) against the step; the TRB heads' losses hidden in the legend."""
    title = "Loss"
    if not _has(steps, "loss", "task_loss"):
        return _empty(title)
    fig = go.Figure()
    x = _x(steps, "step")
    if "loss" in steps:
        _line(fig, x, steps["loss"], "total loss", FUSED_COLOR)
    if "task_loss" in steps:
        _line(fig, x, steps["task_loss"], "task loss", "#111827", dash="dot")
    for m, c in modality_colors(modalities_in(steps, modalities)).items():
        if f"trb_loss/{m}" in steps:
            _line(fig, x, steps[f"trb_loss/{m}"], f"TRB head {m}", c, width=1.2, visible="legendonly")
    _shade_warmup(fig, steps, "step")
    return _layout(fig, title, "step", "loss")


def r_figure(df: pd.DataFrame, modalities: Sequence[str] | None = None, axis: str = "step") -> go.Figure:
    """Every r_j over time, with r = 1 (no re-weighting) marked; r lies in (0, 2)."""
    title = "Dynamic weight r"
    mods = [m for m in modalities_in(df, modalities) if f"r/{m}" in df.columns] if df is not None else []
    if not mods or not _has(df, *[f"r/{m}" for m in mods]):
        return _empty(title, "r appears once the main stage starts.")
    fig = go.Figure()
    x = _x(df, axis)
    for m, c in modality_colors(modalities_in(df, modalities)).items():
        if f"r/{m}" in df.columns:
            _line(fig, x, df[f"r/{m}"], f"r {m}", c)
    fig.add_hline(y=1.0, line_dash="dash", line_color=REFERENCE_COLOR, annotation_text="r = 1",
                  annotation_position="bottom right")  # fmt: skip
    _shade_warmup(fig, df, axis)
    fig = _layout(fig, title, axis, "r (weight on KL)")
    fig.update_yaxes(range=[0, 2])
    return fig


def kl_figure(steps: pd.DataFrame, modalities: Sequence[str] | None = None) -> go.Figure:
    """KL_i per modality (top) and its weighted share of the loss beta * r_i * KL_i (bottom), in nats."""
    title = "KL terms per modality"
    mods = modalities_in(steps, modalities) if steps is not None else []
    if not _has(steps, *[f"kl/{m}" for m in mods]):
        return _empty(title, "KL terms appear once the main stage starts.")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    x = _x(steps, "step")
    for m, c in modality_colors(mods).items():
        if f"kl/{m}" in steps:
            _line(fig, x, steps[f"kl/{m}"], f"KL {m}", c, unit="nats", legendgroup=m, row=1, col=1)
        if f"beta_kl/{m}" in steps:
            _line(fig, x, steps[f"beta_kl/{m}"], f"β·r·KL {m}", c, dash="dot", unit="nats", legendgroup=m, row=2, col=1)
    fig = _layout(fig, title, "", "", height=HEIGHT + 80)
    fig.update_xaxes(title_text="step", row=2, col=1)
    fig.update_yaxes(title_text="KL_i (nats)", row=1, col=1)
    fig.update_yaxes(title_text="β·r·KL_i (nats)", row=2, col=1)
    return fig


def beta_figure(steps: pd.DataFrame, M_u: float | None = None) -> go.Figure:  # noqa: N803 - paper's name
    """beta over time with the bound M_u drawn as a dashed line (a series when it moves with r, else constant)."""
    title = "β against the bound M_u"
    if not _has(steps, "beta"):
        return _empty(title, "β appears once the main stage starts.")
    fig = go.Figure()
    main = steps[steps["beta"].notna()]
    x = _x(main, "step")
    _line(fig, x, main["beta"], "β", FUSED_COLOR, width=2.5)
    if "M_u" in main.columns and main["M_u"].notna().any():  # drawn on top: at β/M_u = 1 the two coincide
        _line(fig, x, main["M_u"], "M_u (bound)", REFERENCE_COLOR, dash="dash", width=2.0)
    elif M_u is not None and np.isfinite(M_u):
        fig.add_trace(
            go.Scatter(
                x=[x.min(), x.max()], y=[M_u, M_u], name="M_u (bound)", mode="lines",
                line={"color": REFERENCE_COLOR, "dash": "dash"}, hovertemplate="M_u: %{y:.4g}<extra></extra>",
            )
        )  # fmt: skip
    else:
        fig.add_annotation(text="no M_u for this run (β set by hand or bound not available)", showarrow=False,
                           x=0.5, y=1.0, xref="paper", yref="paper", yanchor="top", font={"color": REFERENCE_COLOR})  # fmt: skip
    fig = _layout(fig, title, "step", "β (per nat)")
    fig.update_yaxes(exponentformat="e", rangemode="tozero")
    return fig


def metrics_figure(
    epochs: pd.DataFrame, metric: str | None = None, reference: Mapping[str, float] | None = None
) -> go.Figure:
    """train / val / test ``metric`` per epoch, with the SIM ground-truth accuracies as reference lines."""
    metric = metric or (default_metric(epochs) if epochs is not None and not epochs.empty else None)
    title = f"{metric_label(metric).capitalize()} per epoch" if metric else "Metrics per epoch"
    cols = [f"{s}/{metric}" for s in SPLIT_COLORS] if metric else []
    if not metric or not _has(epochs, *cols):
        return _empty(title, "Metrics appear after the first evaluated epoch.")
    fig = go.Figure()
    x = _x(epochs, "epoch")
    for split, color in SPLIT_COLORS.items():
        col = f"{split}/{metric}"
        if col in epochs.columns and epochs[col].notna().any():
            _line(fig, x, epochs[col], split, color, mode="lines+markers", width=2.0 if split != "train" else 1.5)
    if metric == "accuracy":
        for (key, label), side in zip(REFERENCE_LABELS.items(), ("bottom right", "top left")):
            value = (reference or {}).get(key)
            if value is not None and np.isfinite(value):
                fig.add_hline(
                    y=float(value), line_dash="dash" if key == "optimal_mib_accuracy" else "dot",
                    line_color=REFERENCE_COLOR, annotation_text=f"{label} {value:.3f}", annotation_position=side,
                    annotation_font_color=REFERENCE_COLOR,
                )  # fmt: skip
    _shade_warmup(fig, epochs, "epoch")
    return _layout(fig, title, "epoch", metric_label(metric))


def trb_figure(epochs: pd.DataFrame, modalities: Sequence[str] | None = None, metric: str | None = None) -> go.Figure:
    """Each modality's TRB head Dec_i on validation data, beside the fused prediction from xi."""
    metric = metric or (default_metric(epochs) if epochs is not None and not epochs.empty else None)
    title = "TRB heads (one per modality) on validation data"
    if epochs is None or epochs.empty or not metric:
        return _empty(title, "The TRB heads are evaluated from the first warm-up epoch.")
    found = [
        c.split("/")[1]
        for c in epochs.columns
        if isinstance(c, str) and c.startswith("trb/") and c.endswith(f"/val/{metric}")
    ]
    order = list(modalities or []) + [m for m in found if m not in (modalities or [])]
    mods = [m for m in order if m in found]
    if not mods:
        return _empty(title, "The TRB heads are evaluated from the first warm-up epoch.")
    fig = go.Figure()
    x = _x(epochs, "epoch")
    colors = modality_colors(order)
    for m in mods:
        _line(fig, x, epochs[f"trb/{m}/val/{metric}"], f"head {m}", colors[m], mode="lines+markers")
    if f"val/{metric}" in epochs.columns:
        _line(fig, x, epochs[f"val/{metric}"], "fused (xi)", FUSED_COLOR, dash="dash", mode="lines+markers")
    _shade_warmup(fig, epochs, "epoch")
    return _layout(fig, title, "epoch", f"val {metric_label(metric)}")


# what to look for, one line per chart (the teaching text sits beside the chart builders it explains)

LOOK_FOR = {
    "loss": "Both losses should fall and level off; the gap between them is the β·KL price paid for compressing. "
    "A task loss that keeps falling while the validation metric stalls means overfitting.",
    "r": "r below 1 means v2 still holds task information that xi has not taken in, so v2 is squeezed less; "
    "r near 1 means both modalities have given xi what they know. The first modality is the reference (r = 1).",
    "kl": "KL_i (nats) is how much of modality i's encoding survives the bottleneck. It should settle, not keep "
    "rising; the dotted β·r·KL_i is what that costs in the loss.",
    "beta": "β is the strength of the bottleneck. Up to the dashed M_u line, theory says xi keeps all task "
    "information; well above it, task-relevant parts (a1, a2) are squeezed out too.",
    "metrics": "Validation and test should approach the dashed ground-truth optimal-MIB line (SIM data); a widening "
    "train-test gap means superfluous information (b0, b1, b2) is being kept.",
    "trb": "Each head predicts y from one modality plus xi. A head far below the fused line marks the weaker "
    "modality; the r chart shows how the loss compensates.",
}
