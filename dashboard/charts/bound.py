"""Beta bound: pure builders for the estimates table, estimator curves, seed spread and the beta number line.

Inputs are ``omib_core.bound.BoundResult`` / ``Estimate`` objects and plain numbers. Entropy curves take their
modality's colour; I(v_1; v_2) and H_joint the fused colour; exact values are dashed reference lines.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import FUSED_COLOR, REFERENCE_COLOR, modality_color, vega
from dashboard.charts.embeddings import colored_title, empty_figure, layout
from omib_core.analysis.series import MAX_POINTS, downsample
from omib_core.bound.result import BoundResult, Estimate

BETA_COLOR = "#DC2626"
JOINT_COLOR = "#111827"


# helpers


def estimates_of(result: BoundResult) -> list[tuple[str, Estimate, str]]:
    """``(key, estimate, colour)`` for every quantity of a result: H(v_i) per modality, I(v_1; v_2), H_joint."""
    out = [(f"H({m})", e, modality_color(i)) for i, (m, e) in enumerate(result.entropies.items())]
    if result.mutual_information is not None:
        out.append((result.mutual_information.name, result.mutual_information, FUSED_COLOR))
    out.append(("H_joint", result.h_joint, JOINT_COLOR))
    return out


def _finite(v: float | None) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def curve_steps(n_points: int, steps: int) -> np.ndarray:
    """Optimiser steps at which a curve of ``n_points`` evenly logged values was taken (last = ``steps``)."""
    if n_points <= 0:
        return np.zeros(0)
    return np.linspace(steps / n_points, steps, n_points)


# tables


def estimates_table(result: BoundResult) -> pd.DataFrame:
    """One row per quantity (nats): estimate, spread over seeds, each seed, the exact value, whether it levelled off."""
    rows = []
    for key, e, _ in estimates_of(result):
        rows.append(
            {
                "quantity": key,
                "estimate": e.value if _finite(e.value) else None,
                "± std": e.std if len(e.per_seed) > 1 else None,
                "per seed": ", ".join(f"{v:.3f}" for v in e.per_seed) if e.per_seed else "",
                "exact": e.exact if _finite(e.exact) else None,
                "error": (e.value - e.exact) if _finite(e.exact) and _finite(e.value) else None,
                "levelled off": "yes" if e.converged else "no",
            }
        )
    return pd.DataFrame(rows)


def unconverged_notes(result: BoundResult) -> list[str]:
    """Sentences for every estimate that has not levelled off (or carries a warning note)."""
    out = []
    for key, e, _ in estimates_of(result):
        if not e.converged:
            out.append(f"{key}: {e.note or 'the curve was still moving at the end of the step budget.'}")
    return out


def bound_progress(rows: pd.DataFrame | None) -> tuple[float, str]:
    """(fraction done, current label) from a bound run's ``bound/<label>`` metric rows (long format)."""
    if rows is None or rows.empty or "name" not in rows.columns:
        return 0.0, "waiting for the worker"
    sub = rows[rows["name"].astype(str).str.startswith("bound/")]
    if sub.empty:
        return 0.0, "waiting for the worker"
    last = sub.sort_values("id").iloc[-1]
    value = float(last["value"]) if last["value"] is not None and np.isfinite(last["value"]) else 0.0
    return min(max(value, 0.0), 1.0), str(last["name"])[len("bound/") :]


def bound_stages(rows: pd.DataFrame | None) -> list[tuple[str, str]]:
    """``(quantity, "done" | "running")`` for each quantity the worker has reported, in order.

    Labels look like ``"mine: H(v1)"``; every label before the latest one is done. ``cache hit`` and ``done``
    are bookkeeping, not quantities.
    """
    if rows is None or rows.empty or "name" not in rows.columns:
        return []
    names = rows.sort_values("id")["name"].astype(str)
    labels = [n[len("bound/") :].split(": ", 1)[-1] for n in names if n.startswith("bound/")]
    seen = [lab for lab in dict.fromkeys(labels) if lab not in ("cache hit", "done")]
    finished = bool(labels) and labels[-1] in ("cache hit", "done")
    return [(lab, "done" if finished or i < len(seen) - 1 else "running") for i, lab in enumerate(seen)]


# figures


def live_curves_figure(rows: pd.DataFrame | None, height: int = 300) -> dict | None:
    """Neural estimators' training curves as they arrive (``bound_curve/<label>`` rows), one line per quantity.

    A Vega-Lite spec (``dashboard.charts.vega``): the Bound page polls while an estimate runs, and a spec that
    stays the same lets the browser update the curves in place. None when there is nothing to draw yet (the
    gaussian estimator has no curve: it is a closed form).
    """
    if rows is None or rows.empty or "name" not in rows.columns:
        return None
    sub = rows[rows["name"].astype(str).str.startswith("bound_curve/")].sort_values("id")
    if sub.empty:
        return None
    parts, series = [], []
    for i, (name, grp) in enumerate(sub.groupby("name", sort=False)):
        label = str(name)[len("bound_curve/") :].split(": ", 1)[-1]
        color = FUSED_COLOR if label.startswith("I(") else JOINT_COLOR if "joint" in label else modality_color(i)
        y = grp["value"].to_numpy(dtype=float)
        x, y = downsample(np.arange(1, len(y) + 1), y, MAX_POINTS)
        parts.append(pd.DataFrame({"x": x, "value": y, "series": label, "style": "solid"}))
        series.append((str(name), label, color, "solid"))
    data = pd.concat(parts, ignore_index=True)
    layers = vega.line_layers("lines", data, series, "logged point", "nats", unit="nats")
    return vega.chart("Estimates while the critics train (held-out rows)", layers, {"lines": data}, height)


def estimate_curve_figure(
    estimate: Estimate, steps: int, color: str = FUSED_COLOR, title: str | None = None, height: int = 300
) -> go.Figure:
    """The estimator's training curve (first seed, held-out rows) with the exact value as a dashed line."""
    title = title or colored_title(estimate.name, color)
    curve = np.asarray(estimate.curve, dtype=float)
    fig = go.Figure()
    if curve.size == 0:
        if not _finite(estimate.value):
            return empty_figure(title, "No estimate.", height=height)
        # closed form (gaussian): one value, no training; draw it as a flat reference
        fig.add_hline(y=estimate.value, line={"color": color, "width": 3}, annotation_text="closed form")
    else:
        x, y = downsample(curve_steps(curve.size, steps), curve, MAX_POINTS)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines+markers",
                name="estimate",
                line={"color": color, "width": 2},
                marker={"size": 4},
                hovertemplate="step %{x:.0f}: %{y:.3f} nats<extra></extra>",
            )
        )
    if _finite(estimate.exact):
        fig.add_hline(
            y=estimate.exact,
            line={"color": REFERENCE_COLOR, "dash": "dash", "width": 2},
            annotation_text=f"exact {estimate.exact:.3f}",
            annotation_position="bottom right",
            annotation_font_color=REFERENCE_COLOR,
        )
        fig.add_trace(  # legend entry for the dashed line
            go.Scatter(x=[None], y=[None], mode="lines", name="exact", line={"color": REFERENCE_COLOR, "dash": "dash"})
        )
    layout(fig, title, "estimator step" if curve.size else "", "nats", height=height)
    shown = [v for v in (*curve.tolist(), estimate.value, estimate.exact) if _finite(v)]
    if shown:
        lo, hi = min(shown), max(shown)
        pad = 0.08 * (hi - lo) if hi > lo else max(0.5, 0.1 * abs(hi))
        fig.update_yaxes(range=[lo - pad, hi + pad])
    if curve.size == 0:
        fig.update_xaxes(visible=False)
    return fig


def seed_spread_figure(result: BoundResult, height: int = 300) -> go.Figure:
    """Each seed's value per quantity (dots), their mean (bar) and the exact value (diamond)."""
    items = estimates_of(result)
    if not items:
        return empty_figure("Spread over seeds", "No estimates.", height=height)
    fig = go.Figure()
    keys = [k for k, _, _ in items]
    for key, e, color in items:
        seeds = [v for v in e.per_seed if _finite(v)] or ([e.value] if _finite(e.value) else [])
        fig.add_trace(
            go.Scatter(
                x=[key] * len(seeds),
                y=seeds,
                mode="markers",
                name=key,
                showlegend=False,
                marker={"color": color, "size": 9, "opacity": 0.75, "line": {"width": 1, "color": "white"}},
                hovertemplate=f"{key} seed: %{{y:.3f}} nats<extra></extra>",
            )
        )
        if _finite(e.value):
            fig.add_trace(
                go.Scatter(
                    x=[key],
                    y=[e.value],
                    mode="markers",
                    showlegend=False,
                    error_y={"type": "data", "array": [e.std], "visible": True, "color": color},
                    marker={"symbol": "line-ew-open", "size": 26, "color": color, "line": {"width": 3}},
                    hovertemplate=f"{key} mean: %{{y:.3f}} ± {e.std:.3f} nats<extra></extra>",
                )
            )
        if _finite(e.exact):
            fig.add_trace(
                go.Scatter(
                    x=[key],
                    y=[e.exact],
                    mode="markers",
                    showlegend=False,
                    marker={"symbol": "diamond-open", "size": 12, "color": REFERENCE_COLOR, "line": {"width": 2}},
                    hovertemplate=f"{key} exact: %{{y:.3f}} nats<extra></extra>",
                )
            )
    layout(fig, "Spread over seeds", "", "nats", height=height)
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=keys)
    return fig


def beta_number_line(
    beta: float | None,
    M_u: float | None,  # noqa: N803 - paper's names
    M_l: float | None,  # noqa: N803
    M_u_r: float | None = None,  # noqa: N803
    r: float | None = None,
    title: str = "Where β sits",
    height: int = 230,
) -> go.Figure:
    """Where beta sits against M_l and M_u (and M_u with the current r), on a log-scale number line.

    β is marked above the line, the bounds below it (staggered in two rows so close values stay readable);
    the band between M_l and M_u is shaded.
    """
    bounds: list[tuple[str, float, str]] = []
    if _finite(M_l) and M_l > 0:
        bounds.append(("M_l", float(M_l), REFERENCE_COLOR))
    if _finite(M_u) and M_u > 0:
        bounds.append(("M_u (conservative)", float(M_u), JOINT_COLOR))
    if _finite(M_u_r) and M_u_r > 0:
        bounds.append((f"M_u with r = {r:.2f}" if r is not None else "M_u with r", float(M_u_r), FUSED_COLOR))
    has_beta = _finite(beta) and beta > 0
    if not bounds and not has_beta:
        return empty_figure(title, "No bound and no β to place yet.", height=height)
    values = [v for _, v, _ in bounds] + ([float(beta)] if has_beta else [])
    lo, hi = math.log10(min(values)), math.log10(max(values))
    pad = max(0.35, 0.15 * (hi - lo))
    fig = go.Figure()
    fig.add_shape(
        type="line", x0=10 ** (lo - pad), x1=10 ** (hi + pad), y0=0, y1=0, line={"color": "#CBD5E1", "width": 2}
    )
    if _finite(M_l) and _finite(M_u) and M_l > 0 and M_u > 0:
        fig.add_vrect(x0=min(M_l, M_u), x1=max(M_l, M_u), fillcolor=FUSED_COLOR, opacity=0.08, line_width=0)
    for i, (name, v, color) in enumerate(sorted(bounds, key=lambda b: b[1])):
        fig.add_trace(
            go.Scatter(
                x=[v],
                y=[0],
                mode="markers",
                name=name,
                showlegend=False,
                marker={"color": color, "size": 13, "symbol": "diamond", "line": {"width": 1, "color": "white"}},
                hovertemplate=f"{name} = {v:.4g}<extra></extra>",
            )
        )
        depth = -0.45 if i % 2 == 0 else -1.05
        fig.add_annotation(
            x=math.log10(v),
            y=depth,
            text=f"{name}<br><b>{v:.3g}</b>",
            showarrow=False,
            font={"color": color, "size": 12},
            yanchor="top",
        )
    if has_beta:
        fig.add_trace(
            go.Scatter(
                x=[float(beta)],
                y=[0.12],
                mode="markers",
                name="β",
                showlegend=False,
                marker={"color": BETA_COLOR, "size": 16, "symbol": "triangle-down"},
                hovertemplate=f"β = {float(beta):.4g}<extra></extra>",
            )
        )
        fig.add_annotation(
            x=math.log10(float(beta)),
            y=0.35,
            text=f"<b>β = {float(beta):.3g}</b>",
            showarrow=False,
            font={"color": BETA_COLOR, "size": 13},
            yanchor="bottom",
        )
    layout(fig, title, "β (log scale)", "", height=height)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10})
    fig.update_xaxes(type="log", range=[lo - pad, hi + pad], showgrid=False, tickformat=".2~g", nticks=6, tickangle=0)
    fig.update_yaxes(visible=False, range=[-1.9, 1.0])
    return fig


def beta_verdict(beta: float | None, M_u: float | None, M_l: float | None) -> str:  # noqa: N803
    """One plain sentence on where beta sits relative to the bounds."""
    if not _finite(beta):
        return "β is not known yet: set it on the Train page."
    if not _finite(M_u):
        return f"β = {beta:.3g}; there is no M_u to compare it with."
    ratio = beta / M_u
    if ratio > 1.0001:
        return (
            f"β = {ratio:.2f} × M_u: above the bound, outside the paper's guarantee. That does not mean it loses "
            "accuracy: M_u is sufficient, not the best β (on the teaching preset the best lies right of it); "
            "the Sweep page measures where accuracy falls."
        )
    if _finite(M_l) and beta < M_l:
        return f"β = {ratio:.2f} × M_u, below M_l: a weak bottleneck that may keep superfluous information."
    return f"β = {ratio:.2f} × M_u: within the bound."
