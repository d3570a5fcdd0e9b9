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
MARKER_COLOR = "#7C3AED"  # measured bounds other than the axis unit (the paper's MINE M_u)
JITTER = 0.07


def _vline(fig: go.Figure, x: float, label: str, color: str, dash: str, left: bool, top: bool = False) -> None:
    """A vertical line on the log x axis, labelled at its foot (or its top), beside the line (shapes take data
    values, annotations log10 of them)."""
    fig.add_shape(type="line", x0=x, x1=x, y0=0, y1=1, xref="x", yref="paper", line={"color": color, "dash": dash})
    fig.add_annotation(
        x=float(np.log10(x)),
        y=1.0 if top else 0.0,
        xref="x",
        yref="paper",
        text=label,
        showarrow=False,
        yanchor="top" if top else "bottom",
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
    markers: Sequence[tuple[float, str]] = (),
    mu_label: str = "M_u",
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
        references: more horizontal references ``(y, label)`` (e.g. the linear model). Their labels go in the
            legend (a dummy line per reference), never on the plot where the curves would cross them.
        markers: more vertical lines ``(beta/M_u, label)``, labelled at the top (e.g. the MINE estimate of M_u).
        mu_label: the label of the line at beta/M_u = 1 (e.g. "Gaussian M_u").
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
    # every vertical line is labelled at its top, M_u and the estimates left of their line, the best and knee right
    # of theirs: at the foot the labels ran into the legend below the plot (seen at 1920 x 1080)
    _vline(fig, 1.0, mu_label, REFERENCE_COLOR, "dash", left=True, top=True)
    for x, label in markers:
        if x is not None and np.isfinite(x) and x > 0:
            _vline(fig, float(x), label, MARKER_COLOR, "dot", left=True, top=True)
    if knee is not None and np.isfinite(knee):
        _vline(fig, float(knee), f"empirical knee {knee:g}", KNEE_COLOR, "dot", left=False, top=True)
    if best is not None and np.isfinite(best) and best != knee:
        _vline(fig, float(best), f"empirical best {best:g}", BEST_COLOR, "dot", left=False, top=True)
    hlines = [(reference, reference_label)] if reference is not None else []
    for i, (value, label) in enumerate([*hlines, *references]):
        if value is not None and np.isfinite(value):
            dash = "dot" if i == 0 else "dashdot"
            fig.add_hline(y=float(value), line_dash=dash, line_color=REFERENCE_COLOR)
            fig.add_trace(  # a legend entry only: the label stays off the curves
                go.Scatter(
                    x=[None],
                    y=[None],
                    mode="lines",
                    name=label.replace(" (", f" {value:.3f} (", 1) if " (" in label else f"{label} {value:.3f}",
                    line={"color": REFERENCE_COLOR, "dash": dash},
                    hoverinfo="skip",
                )
            )
    if done.empty and (agg is None or agg.empty):
        centre_note(fig, "Points appear as the sweep's runs finish.")
    fig.update_layout(
        title={"text": f"{metric_label.capitalize()} against β/M_u", "x": 0.0, "font": {"size": 15}},
        template="plotly_white",
        height=540,
        margin={"l": 10, "r": 10, "t": 40, "b": 110},
        # below the axis title: five or more entries wrap into rows, which above the plot would run into the title
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "left", "x": 0.0},
    )
    xs = sorted(
        {
            1.0,
            *(agg["beta_over_Mu"] if agg is not None and not agg.empty else []),
            *(other["beta_over_Mu"] if other is not None and not other.empty else []),
            *(points["beta_over_Mu"] if points is not None and not points.empty else []),
        }
    )
    xs = sorted({float(f"{v:.6g}") for v in xs})
    fig.update_xaxes(type="log", title_text="β / M_u (log scale)", tickvals=xs, ticktext=[f"{v:g}" for v in xs])
    fig.update_yaxes(title_text=metric_label)
    return fig
