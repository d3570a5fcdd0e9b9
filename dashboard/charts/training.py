"""Live training charts: pure functions from the wide metric tables of ``dashboard.live`` to Vega-Lite specs.

Inputs are the step table (x = global optimiser step) or the epoch table (x = epoch, shown 1-based), with one
column per metric name of ``omib_core.train.events`` (``loss``, ``kl/<m>``, ``r/<m>``, ``val/accuracy``...).
Every series is cut to at most ``MAX_POINTS`` points; non-finite values stay NaN so the line shows a gap.

Why Vega-Lite and not Plotly here: these charts are redrawn by a polling fragment every 1.5 s. Streamlit gives
a Plotly chart an identity that includes its figure, so every poll unmounts and remounts it (a blank flash and
a full redraw in the browser; measured: 9 remounts in 6 s). A Vega-Lite chart whose spec is unchanged keeps its
view and only swaps its named datasets, so the builders keep everything that moves during a run (values, the
warm-up band, reference lines) in datasets (``lines``, ``warmup``, ``references``) and the spec itself stable:
it only changes when a new series appears (e.g. the KL terms at the start of the main stage).

Each builder returns a plain spec dict for ``st.vega_litechart(spec=...)``, whose ``datasets`` hold
DataFrames (Streamlit sends them as Arrow). Plain dicts, not Altair objects: Altair spends ~0.3 s building each
chart, a dict a fraction of a millisecond, and the six charts are rebuilt on every poll.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dashboard.charts import FUSED_COLOR, REFERENCE_COLOR, SPLIT_COLORS, modality_colors, vega
from dashboard.charts.vega import (
    INDEPENDENT_DASH,
    Spec,
    band_layers,
    chart,
    empty,
    line_layers,
    reference_legend_layers,
    references_table,
)
from omib_core.analysis.series import MAX_POINTS, downsample
from omib_core.params import is_finite

HEIGHT = vega.HEIGHT
KL_HEIGHT = vega.MIN_PLOT_HEIGHT  # the two KL charts stacked beside the β chart
CONSTANT_RTOL = 1e-6  # a series whose values all lie within this relative spread is shown as a number
METRIC_LABELS = {
    "accuracy": "accuracy",
    "f1_macro": "F1 (macro)",
    "f1": "F1",
    "auc": "AUC",
    "mae": "MAE",
    "mse": "MSE",
    "rmse": "RMSE",
    "acc2": "Acc-2",
    "acc7": "Acc-7",
    "corr": "correlation",
}
REFERENCE_LABELS = {
    "optimal_mib_accuracy": "ground-truth optimal MIB",
    "bayes_accuracy": "Bayes accuracy",
}
PREFERRED_METRICS = ("accuracy", "auc", "f1_macro", "mae", "acc2", "mse")


# helpers: metric names


def metric_label(metric: str) -> str:
    """Readable name of a metric suffix such as ``accuracy`` or ``f1_macro``."""
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


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


# helpers: data


def _x(df: pd.DataFrame, axis: str) -> np.ndarray:
    """x values: the global step, or the 0-based epoch index shown 1-based."""
    if axis == "epoch":
        return df["epoch"].to_numpy(dtype=float) + 1.0
    return df["step"].to_numpy(dtype=float)


def _has(df: pd.DataFrame | None, *cols: str) -> bool:
    return df is not None and not df.empty and any(c in df.columns and df[c].notna().any() for c in cols)


def series_table(
    df: pd.DataFrame, axis: str, series: Sequence[tuple[str, str, str, str]], panel: str | None = None
) -> pd.DataFrame:
    """Long table (x, value, series, style[, panel]) of the given columns, each cut to ``MAX_POINTS`` points.

    Args:
        df: a wide step or epoch table.
        axis: ``"step"`` or ``"epoch"``.
        series: ``(column, label, colour, style)`` per line; missing columns are skipped.
        panel: a panel name added as a column (for charts with several panels).
    """
    x = _x(df, axis)
    parts = []
    for col, label, _, style in series:
        if col not in df.columns:
            continue
        xs, ys = downsample(x, df[col].to_numpy(dtype=float), MAX_POINTS)
        part = pd.DataFrame({"x": xs, "value": ys, "series": label, "style": style})
        if panel is not None:
            part["panel"] = panel
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["x", "value", "series", "style"] + (["panel"] if panel else []))
    return pd.concat(parts, ignore_index=True)


def warmup_span(df: pd.DataFrame, axis: str) -> pd.DataFrame:
    """One row (x0, x1, label) covering the warm-up stage, ending half-way to the first main-stage point."""
    if df is None or df.empty or "stage" not in df.columns:
        return pd.DataFrame(columns=["x0", "x1", "label"])
    warm = df[df["stage"] == "warmup"]
    if warm.empty:
        return pd.DataFrame(columns=["x0", "x1", "label"])
    x = _x(warm, axis)
    lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
    main = df[df["stage"] != "warmup"]
    if not main.empty:
        hi = (hi + float(np.nanmin(_x(main, axis)))) / 2.0
    return pd.DataFrame({"x0": [lo], "x1": [hi], "label": ["warm-up"]})


# main charts


def loss_series(modalities: Sequence[str]) -> list[tuple[str, str, str, str]]:
    out = [("loss", "total loss", FUSED_COLOR, "solid"), ("task_loss", "task loss", "#111827", "dot")]
    out += [(f"trb_loss/{m}", f"TRB head {m}", c, "dot") for m, c in modality_colors(modalities).items()]
    return out


def loss_figure(steps: pd.DataFrame, modalities: Sequence[str] | None = None) -> Spec:
    """Total loss and task loss L_task(dDec(xi), y) against the step, with each TRB head's loss dotted."""
    title = "Loss"
    if not _has(steps, "loss", "task_loss"):
        return empty(title)
    series = loss_series(modalities_in(steps, modalities))
    data = series_table(steps, "step", series)
    layers = band_layers() + line_layers("lines", data, series, "step", "loss")
    return chart(title, layers, {"lines": data, "warmup": warmup_span(steps, "step")})


def r_figure(df: pd.DataFrame, modalities: Sequence[str] | None = None, axis: str = "step") -> Spec:
    """Every r_j over time, with r = 1 (no re-weighting) marked; r lies in (0, 2)."""
    title = "Dynamic weight r"
    mods = [m for m in modalities_in(df, modalities) if f"r/{m}" in df.columns] if df is not None else []
    if not mods or not _has(df, *[f"r/{m}" for m in mods]):
        return empty(title, "r appears once the main stage starts.")
    colors = modality_colors(modalities_in(df, modalities))
    series = [(f"r/{m}", f"r {m}", colors[m], "solid") for m in mods]
    data = series_table(df, axis, series)
    refs = references_table([(1.0, "r = 1: no re-weighting", "dash", "legend")])
    layers = (
        band_layers()
        + reference_legend_layers(refs)
        + line_layers("lines", data, series, axis, "r (weight on KL)", y_scale={"domain": [0, 2]})
    )
    datasets = {"lines": data, "warmup": warmup_span(df, axis), "references": refs}
    return chart(title, layers, datasets, resolve=INDEPENDENT_DASH)


def _kl_chart(
    steps: pd.DataFrame,
    modalities: Sequence[str] | None,
    prefix: str,
    label: str,
    style: str,
    title: str,
    waiting: str,
    y_title: str,
    height: int,
) -> Spec:
    """One line per modality of the ``<prefix><m>`` columns, coloured by the modality's position, in nats."""
    mods = modalities_in(steps, modalities) if steps is not None else []
    if not _has(steps, *[f"{prefix}{m}" for m in mods]):
        return empty(title, waiting, height)
    colors = modality_colors(mods)
    series = [(f"{prefix}{m}", f"{label} {m}", colors[m], style) for m in mods]
    data = series_table(steps, "step", series)
    layers = line_layers("lines", data, series, "step", y_title, y_scale={"zero": True}, unit="nats")
    return chart(title, layers, {"lines": data}, height)


def kl_figure(steps: pd.DataFrame, modalities: Sequence[str] | None = None) -> Spec:
    """KL_i per modality in nats, for the live view's upper KL chart."""
    return _kl_chart(
        steps,
        modalities,
        "kl/",
        "KL",
        "solid",
        "KL terms per modality",
        "KL terms appear once the main stage starts.",
        "KL_i (nats)",
        KL_HEIGHT,
    )


def weighted_kl_figure(steps: pd.DataFrame, modalities: Sequence[str] | None = None) -> Spec:
    """The weighted KL terms beta * r_i * KL_i (what each costs in the loss), in nats."""
    return _kl_chart(
        steps,
        modalities,
        "beta_kl/",
        "β·r·KL",
        "dot",
        "β·r·KL_i: what each KL term costs in the loss",
        "The weighted KL terms appear once the main stage starts.",
        "β·r·KL_i (nats)",
        KL_HEIGHT,
    )


def beta_figure(steps: pd.DataFrame, M_u: float | None = None) -> Spec:  # noqa: N803 - paper's name
    """beta over time with the bound M_u drawn as a dashed line (a series when it moves with r, else constant)."""
    title = "β against the bound M_u"
    if not _has(steps, "beta"):
        return empty(title, "β appears once the main stage starts.")
    main = steps[steps["beta"].notna()]
    series = [("beta", "β", FUSED_COLOR, "solid")]
    table = main
    if "M_u" in main.columns and main["M_u"].notna().any():
        series.append(("M_u", "M_u (bound)", REFERENCE_COLOR, "dash"))
    elif M_u is not None and np.isfinite(M_u):
        table = main.assign(M_u=float(M_u))
        series.append(("M_u", "M_u (bound)", REFERENCE_COLOR, "dash"))
    data = series_table(table, "step", series)
    layers = line_layers("lines", data, series, "step", "β (per nat)", y_scale={"zero": True}, unit="per nat")
    datasets = {"lines": data}
    if len(series) == 1:
        note = "no M_u for this run (β set by hand or bound not available)"
        datasets["note"] = pd.DataFrame({"text": [note]})
        layers.append(
            {
                "data": {"name": "note"},
                "mark": {"type": "text", "color": REFERENCE_COLOR, "align": "left", "baseline": "top", "x": 4, "y": 4},
                "encoding": {"text": {"field": "text", "type": "nominal"}},
            }
        )
    return chart(title, layers, datasets)


# constant series: a number, not a flat line (a flat β line hides the dashed M_u line it lies on)


def constant_value(values: Sequence[float] | np.ndarray | pd.Series, rtol: float = CONSTANT_RTOL) -> float | None:
    """The value of a series that does not vary (finite values within ``rtol`` of each other), else None.

    None too for a series with no finite value.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    lo, hi = float(v.min()), float(v.max())
    return float(v[-1]) if hi - lo <= rtol * max(abs(lo), abs(hi), 1e-300) else None


def beta_constant(steps: pd.DataFrame | None, M_u: float | None = None) -> dict[str, str] | None:  # noqa: N803
    """``{"value", "help"}`` for a β that stays constant over the main stage (against a constant M_u), else None.

    The β chart would be one flat line on top of the dashed M_u line; a number says the same plainly:
    ``β = 1 × M_u (constant)``.
    """
    if not _has(steps, "beta"):
        return None
    main = steps[steps["beta"].notna()]
    beta = constant_value(main["beta"])
    if beta is None:
        return None
    mu = None
    if "M_u" in main.columns and main["M_u"].notna().any():
        mu = constant_value(main["M_u"])
        if mu is None:
            return None  # M_u moves (it follows r): the chart shows β against it
    elif _finite(M_u):
        mu = float(M_u)
    if mu is None or mu <= 0:
        return {
            "value": f"β = {beta:.3g} (constant)",
            "help": f"β = {beta:.4g} per nat throughout the main stage; no M_u for this run (β set by hand or "
            "the bound not available).",
        }
    return {
        "value": f"β = {beta / mu:.3g} × M_u (constant)",
        "help": f"β = {beta:.4g} and M_u = {mu:.4g} per nat throughout the main stage.",
    }


def r_constant(df: pd.DataFrame | None, modalities: Sequence[str] | None = None) -> dict[str, str] | None:
    """``{"value", "help"}`` when every r_j stays constant (r fixed at 1, say), else None."""
    mods = [m for m in modalities_in(df, modalities) if f"r/{m}" in df.columns] if df is not None else []
    if not mods or not _has(df, *[f"r/{m}" for m in mods]):
        return None
    values = {m: constant_value(df[f"r/{m}"]) for m in mods}
    if any(v is None for v in values.values()):
        return None
    distinct = {round(v, 6) for v in values.values()}
    value = f"r = {values[mods[0]]:.3g} (constant)" if len(distinct) == 1 else None
    value = value or " · ".join(f"r {m} = {v:.3g}" for m, v in values.items()) + " (constant)"
    return {"value": value, "help": "r did not change during training (r fixed, or no main-stage update yet)."}


def linear_label(metric: str) -> str:
    """Name of the strong simple baseline for ``metric``: logistic regression for classification, else ridge."""
    model = "logistic regression" if metric in ("accuracy", "f1_macro", "f1", "auc", "acc2", "acc7") else "ridge"
    return f"linear model ({model})"


def reference_lines(metric: str, reference: Mapping[str, float] | None) -> list[tuple[float, str, str, str]]:
    """``(y, label, style, side)`` of the reference lines of the ``metric`` chart (named in its legend, each with
    its own dash: ``style`` and ``side`` are kept for callers that draw labels on the plot).

    The SIM ground truth (optimal MIB, Bayes) for accuracy, and for any metric the linear baseline fitted on the
    same split (``reference["linear_test_<metric>"]``), so a learner sees OMIB against a linear model.
    """
    ref = reference or {}
    refs: list[tuple[float, str, str, str]] = []
    if metric == "accuracy":
        for (key, label), (style, side) in zip(REFERENCE_LABELS.items(), (("dash", "right"), ("dot", "left"))):
            value = ref.get(key)
            if _finite(value):
                refs.append((float(value), f"{label} {value:.3f}", style, side))
    value = ref.get(f"linear_test_{metric}")
    if _finite(value):
        refs.append((float(value), f"{linear_label(metric)} {value:.3f}", "dot", "right" if refs else "left"))
    value = ref.get(f"nobottleneck_test_{metric}")  # a finished run of the same network without the bottleneck
    if _finite(value):
        refs.append((float(value), f"same network, no bottleneck {value:.3f}", "dash", "left"))
    return refs


def _finite(value: object) -> bool:
    return is_finite(value)


def metrics_figure(
    epochs: pd.DataFrame, metric: str | None = None, reference: Mapping[str, float] | None = None
) -> Spec:
    """train / val / test ``metric`` per epoch, with the SIM ground-truth accuracies and the linear baseline as
    reference lines."""
    metric = metric or (default_metric(epochs) if epochs is not None and not epochs.empty else None)
    title = f"{metric_label(metric).capitalize()} per epoch" if metric else "Metrics per epoch"
    cols = [f"{s}/{metric}" for s in SPLIT_COLORS] if metric else []
    if not metric or not _has(epochs, *cols):
        return empty(title, "Metrics appear after the first evaluated epoch.")
    series = [(f"{s}/{metric}", s, c, "solid") for s, c in SPLIT_COLORS.items()]
    series = [s for s in series if s[0] in epochs.columns and epochs[s[0]].notna().any()]
    data = series_table(epochs, "epoch", series)
    refs = references_table(reference_lines(metric, reference))
    layers = (
        band_layers()
        + reference_legend_layers(refs)
        + line_layers("lines", data, series, "epoch", metric_label(metric), points=True)
    )
    datasets = {"lines": data, "warmup": warmup_span(epochs, "epoch"), "references": refs}
    return chart(title, layers, datasets, resolve=INDEPENDENT_DASH)


def trb_figure(epochs: pd.DataFrame, modalities: Sequence[str] | None = None, metric: str | None = None) -> Spec:
    """Each modality's TRB head Dec_i on validation data, beside the fused prediction from xi."""
    metric = metric or (default_metric(epochs) if epochs is not None and not epochs.empty else None)
    title = "TRB heads (one per modality) on validation data"
    if epochs is None or epochs.empty or not metric:
        return empty(title, "The TRB heads are evaluated from the first warm-up epoch.")
    found = [
        c.split("/")[1]
        for c in epochs.columns
        if isinstance(c, str) and c.startswith("trb/") and c.endswith(f"/val/{metric}")
    ]
    order = list(modalities or []) + [m for m in found if m not in (modalities or [])]
    mods = [m for m in order if m in found]
    if not mods:
        return empty(title, "The TRB heads are evaluated from the first warm-up epoch.")
    colors = modality_colors(order)
    series = [(f"trb/{m}/val/{metric}", f"head {m}", colors[m], "solid") for m in mods]
    if f"val/{metric}" in epochs.columns:
        series.append((f"val/{metric}", "fused (xi)", FUSED_COLOR, "dash"))
    data = series_table(epochs, "epoch", series)
    layers = band_layers() + line_layers("lines", data, series, "epoch", f"val {metric_label(metric)}", points=True)
    return chart(title, layers, {"lines": data, "warmup": warmup_span(epochs, "epoch")})


# what to look for, one line per chart (the teaching text sits beside the chart builders it explains)

LOOK_FOR = {
    "loss": "Both losses should fall and level off; the gap between them is the β·KL price paid for compressing. "
    "A task loss that keeps falling while the validation metric stalls means overfitting.",
    "r": "r below 1 means v2 still holds task information that xi has not taken in, so v2 is squeezed less; "
    "r above 1 means v2 adds less than v1 (or only noise) and is squeezed more; r near 1 means both have given xi "
    "what they know. Measured on held-out rows. The first modality is the reference (r = 1).",
    "kl": "KL_i (nats, upper chart) is how much of modality i's encoding survives the bottleneck. It should settle, "
    "not keep rising; β·r·KL_i (lower chart) is what it costs in the loss: r shifts that cost between modalities.",
    "beta": "β is the strength of the bottleneck. Up to the dashed M_u line the paper proves xi keeps all task "
    "information: M_u is a sufficient, conservative bound, not the best β. M_u is small when the inputs carry many "
    "nats (on SIM data about 0.001), so at β = M_u the squeeze is gentle and the accuracy barely moves; on the "
    "teaching preset accuracy keeps rising well past M_u and falls only far above it. The Sweep page measures where "
    "that happens on your data.",
    "metrics": "Validation and test should approach the dashed ground-truth optimal-MIB line (SIM data) and beat the "
    "dotted linear model (logistic regression on the concatenated views, fitted on the same split); a widening "
    "train-test gap means superfluous information (b0, b1, b2) is being kept.",
    "trb": "Each head predicts y from one modality plus xi. A head far below the fused line marks the weaker "
    "modality; the r chart shows how the loss compensates.",
}


def confusion_figure(counts: np.ndarray, class_names: Sequence[str] | None = None, title: str = "") -> Any:
    """A heatmap of ``(K, K)`` counts (rows: true class, columns: predicted), each cell labelled with its count and
    its share of the true class; class names on the axes (issue 22), escaped for plotly."""
    import plotly.graph_objects as go

    from dashboard.charts import plain
    from dashboard.charts.embeddings import layout

    counts = np.asarray(counts, dtype=np.int64)
    k = counts.shape[0]
    names = [plain(class_names[i]) if class_names and i < len(class_names) else f"class {i}" for i in range(k)]
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, np.maximum(totals, 1))
    text = [[f"{counts[i, j]:,}<br>{share[i, j]:.0%}" if totals[i, 0] else "" for j in range(k)] for i in range(k)]
    fig = go.Figure(
        go.Heatmap(
            z=share,
            x=names,
            y=names,
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            showscale=False,
            hovertemplate="true %{y}, predicted %{x}: %{text}<extra></extra>",
        )
    )
    layout(fig, title, "predicted class", "true class", height=max(260, 70 + 46 * k))
    fig.update_xaxes(type="category", side="bottom")
    fig.update_yaxes(type="category", autorange="reversed")
    return fig
