"""The beta sweep chart (the paper's Figure 3): test metric against beta/M_u on a log axis. Pure."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import FUSED_COLOR, REFERENCE_COLOR, centre_note

KNEE_COLOR = "#DC2626"
BEST_COLOR = "#059669"
OTHER_COLOR = "#9CA3AF"
SEED_COLOR = "#6B7280"
JITTER = 0.07


def _vline(fig: go.Figure, x: float, label: str, color: str, dash: str, left: bool) -> None:
    """A vertical line on the log x axis, labelled at its foot (shapes take data values, annotations log10 of them)."""
    fig.add_shape(type="line", x0=x, x1=x, y0=0, y1=1, xref="x", yref="paper", line={"color": color, "dash": dash})
    fig.add_annotation(
        x=float(np.log10(x)),
        y=0.0,
        xref="x",
        yref="paper",
        text=label,
        showarrow=False,
        yanchor="bottom",
        xanchor="right" if left else "left",
        xshift=-4 if left else 4,
        font={"color": color},
    )


def sweep_figure(
    points: pd.DataFrame,
    agg: pd.DataFrame,
    metric_label: str = "test accuracy",
    knee: float | None = None,
    reference: float | None = None,
    reference_label: str = "ground-truth optimal MIB",
    *,
    best: float | None = None,
    mean_label: str = "mean ± std over seeds",
    other: pd.DataFrame | None = None,
    other_label: str = "other selection",
    references: Sequence[tuple[float, str]] = (),
) -> go.Figure:
    """Per-seed values (faint), mean +- std per beta/M_u (error bars), M_u at 1, the empirical knee and best.

    Args:
        points: ``omib_core.sweeps.sweep_points`` rows (beta_over_Mu, seed, value; NaN = not finished).
        agg: ``omib_core.sweeps.aggregate`` rows (beta_over_Mu, mean, std, n).
        knee: the empirical knee (beta/M_u), drawn as a vertical line.
        reference: a horizontal reference (e.g. the SIM ground-truth optimal-MIB accuracy).
        best: the empirical best beta/M_u (best mean), drawn as a vertical line.
        mean_label: legend name of the ``agg`` curve (e.g. "last epoch, mean ± std").
        other: a second aggregate drawn dashed with its own error bars (e.g. the best-val selection beside the
            last epoch), so both selections can be compared on one chart.
        references: more horizontal references ``(y, label)`` (e.g. the linear model).
    """
    fig = go.Figure()
    done = points.dropna(subset=["value"]) if points is not None and not points.empty else pd.DataFrame()
    if not done.empty:
        # seeds spread a little sideways (x 1.00, 1.04, 0.96, ...) so they do not hide behind the mean's error bar
        rank = done.groupby("beta_over_Mu").cumcount().to_numpy()
        jitter = 1.0 + JITTER * np.where(rank % 2, 1, -1) * ((rank + 1) // 2)
        fig.add_trace(
            go.Scatter(
                x=done["beta_over_Mu"].to_numpy() * jitter,
                y=done["value"],
                mode="markers",
                name="one seed",
                marker={"color": SEED_COLOR, "opacity": 0.6, "size": 8},
                customdata=np.stack(
                    [done["beta_over_Mu"].map("{:g}".format), done["seed"].astype(str), done["run_id"].astype(str)],
                    axis=1,
                ),
                hovertemplate="β/M_u %{customdata[0]}, seed %{customdata[1]}: %{y:.4g}<extra>run %{customdata[2]}</extra>",
            )
        )
    if agg is not None and not agg.empty:
        fig.add_trace(
            go.Scatter(
                x=agg["beta_over_Mu"],
                y=agg["mean"],
                mode="lines+markers",
                name=mean_label,
                line={"color": FUSED_COLOR, "width": 2.5},
                marker={"size": 9},
                error_y={"type": "data", "array": agg["std"], "visible": True, "thickness": 1.5, "width": 6},
                customdata=np.stack([agg["std"], agg["n"]], axis=1),
                hovertemplate="β/M_u %{x:g}: %{y:.4g} ± %{customdata[0]:.3g} (%{customdata[1]} seeds)<extra></extra>",
            )
        )
    if other is not None and not other.empty:
        fig.add_trace(
            go.Scatter(
                x=other["beta_over_Mu"],
                y=other["mean"],
                mode="lines+markers",
                name=other_label,
                line={"color": OTHER_COLOR, "width": 2, "dash": "dash"},
                marker={"size": 7, "symbol": "diamond"},
                error_y={"type": "data", "array": other["std"], "visible": True, "thickness": 1, "width": 4},
                customdata=np.stack([other["std"], other["n"]], axis=1),
                hovertemplate="β/M_u %{x:g}: %{y:.4g} ± %{customdata[0]:.3g} (%{customdata[1]} seeds)<extra>"
                + other_label
                + "</extra>",
            )
        )
    _vline(fig, 1.0, "M_u", REFERENCE_COLOR, "dash", left=True)
    if knee is not None and np.isfinite(knee):
        _vline(fig, float(knee), f"empirical knee {knee:g}", KNEE_COLOR, "dot", left=False)
    if best is not None and np.isfinite(best) and best != knee:
        _vline(fig, float(best), f"empirical best {best:g}", BEST_COLOR, "dot", left=False)
    hlines = [(reference, reference_label)] if reference is not None else []
    for i, (value, label) in enumerate([*hlines, *references]):
        if value is not None and np.isfinite(value):
            fig.add_hline(
                y=float(value),
                line_dash="dot" if i == 0 else "dashdot",
                line_color=REFERENCE_COLOR,
                annotation_text=f"{label} {value:.3f}",
                annotation_position="bottom left" if i % 2 == 0 else "top left",
            )
    if done.empty and (agg is None or agg.empty):
        centre_note(fig, "Points appear as the sweep's runs finish.")
    fig.update_layout(
        title={"text": f"{metric_label.capitalize()} against β/M_u", "x": 0.0, "font": {"size": 15}},
        template="plotly_white",
        height=440,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
    )
    xs = sorted(
        {
            1.0,
            *(agg["beta_over_Mu"] if agg is not None and not agg.empty else []),
            *(other["beta_over_Mu"] if other is not None and not other.empty else []),
            *(points["beta_over_Mu"] if points is not None and not points.empty else []),
        }
    )
    fig.update_xaxes(type="log", title_text="β / M_u (log scale)", tickvals=xs, ticktext=[f"{v:g}" for v in xs])
    fig.update_yaxes(title_text=metric_label)
    return fig
