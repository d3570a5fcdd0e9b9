"""2-D projections of embeddings (xi, z_i, zeta_i, or a modality's raw features): pure table + figure builders.

``projection_table`` joins the projected coordinates with what each sample is (id, label, prediction,
correctness, split) into one tidy frame, which is both what the scatter draws and what the CSV download holds.
``projection_figure`` colours that frame by label, prediction, correctness or split, with the same colour for
the same class everywhere (label and prediction share one mapping).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import REFERENCE_COLOR, SPLIT_COLORS, centre_note, plain

HEIGHT = 460
# Tableau-10: distinct, readable classes; class k always gets CLASS_COLORS[k % 10].
CLASS_COLORS = (
    "#4E79A7",
    "#F28E2B",
    "#E15759",
    "#76B7B2",
    "#59A14F",
    "#EDC948",
    "#B07AA1",
    "#FF9DA7",
    "#9C755F",
    "#BAB0AC",
)
CORRECT_COLORS = {"correct": "#009E73", "wrong": "#D55E00"}
SPLIT_NAMES = {0: "train", 1: "val", 2: "test"}
COLOR_BY = {
    "label": "Label",
    "prediction": "Prediction",
    "correct": "Correct / wrong",
    "split": "Split",
}


# helpers


def class_label(value: object, task: str = "classification", class_names: Sequence[str] | None = None) -> str:
    """Readable name of a target or prediction value: a class name, 'normal'/'anomaly', or the number."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    if task == "regression":
        return f"{float(value):.3g}"
    k = int(value)
    if task == "anomaly":
        return "anomaly" if k == 1 else "normal"
    if class_names and 0 <= k < len(class_names):
        return str(class_names[k])
    return f"class {k}"


def layout(fig: go.Figure, title: str, x_title: str = "", y_title: str = "", height: int = HEIGHT) -> go.Figure:
    """The house look shared by the Data, Bound and Embeddings charts."""
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 15}},
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
    )
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return fig


def empty_figure(title: str, message: str, height: int = 300) -> go.Figure:
    """A blank chart that says, in a sentence, why there is nothing to draw."""
    fig = go.Figure()
    centre_note(fig, html.escape(message), REFERENCE_COLOR)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return layout(fig, title, height=height)


def colored_title(name: str, color: str, suffix: str = "") -> str:
    """A chart title with a coloured square before a (user-supplied, escaped) name."""
    return f"<span style='color:{color}'>\u25a0</span> {html.escape(name)}{html.escape(suffix)}"


# main builders


def projection_table(
    coords: np.ndarray,
    target: np.ndarray,
    *,
    sample_id: np.ndarray | None = None,
    split: np.ndarray | None = None,
    pred: np.ndarray | None = None,
    correct: np.ndarray | None = None,
    task: str = "classification",
    class_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per sample: ``sample_id, x, y, target, label`` and, when given, ``prediction, correct, split``.

    Args:
        coords: (N, 2) projected coordinates.
        target: (N,) class ids / values; ``label`` is its readable name.
        sample_id: (N,) row index of each sample in its dataset (default 0..N-1).
        split: (N,) codes 0/1/2 (train/val/test); pred: (N,) predictions; correct: (N,) bools.
    """
    coords = np.asarray(coords, dtype=float)
    n = coords.shape[0]
    target = np.asarray(target).reshape(-1)
    if coords.ndim != 2 or coords.shape[1] != 2 or target.shape[0] != n:
        raise ValueError(f"coords must be (N, 2) and target (N,); got {coords.shape} and {target.shape}.")
    df = pd.DataFrame(
        {
            "sample_id": np.arange(n) if sample_id is None else np.asarray(sample_id).reshape(-1).astype(int),
            "x": coords[:, 0],
            "y": coords[:, 1],
            "target": target,
            "label": [class_label(v, task, class_names) for v in target],
        }
    )
    if pred is not None:
        pred = np.asarray(pred).reshape(-1)
        df["prediction_value"] = pred
        pred_task = "regression" if task == "anomaly" else task  # anomaly predictions are scores
        df["prediction"] = [class_label(v, pred_task, class_names) for v in pred]
    if correct is not None:
        df["correct"] = np.where(np.asarray(correct).reshape(-1).astype(bool), "correct", "wrong")
    if split is not None:
        df["split"] = [SPLIT_NAMES.get(int(s), str(s)) for s in np.asarray(split).reshape(-1)]
    return df


def snapshot_table(
    snap: Mapping[str, np.ndarray], coords: np.ndarray, task: str, class_names: Sequence[str] | None = None
) -> pd.DataFrame:
    """``projection_table`` of one snapshot's arrays (targets, ids, splits, predictions) beside ``coords``."""
    return projection_table(
        coords,
        snap["target"],
        sample_id=snap.get("index"),
        split=snap.get("split"),
        pred=snap.get("pred"),
        correct=snap.get("correct"),
        task=task,
        class_names=class_names,
    )


def color_options(df: pd.DataFrame) -> dict[str, str]:
    """``{column: readable name}`` of the colourings a projection table allows."""
    return {k: v for k, v in COLOR_BY.items() if k in df.columns}


def _class_color_map(df: pd.DataFrame, column: str, value_column: str) -> dict[str, str]:
    """Label / prediction name -> colour, keyed by the class id so a class looks the same in both."""
    out: dict[str, str] = {}
    for name, value in zip(df[column], df[value_column]):
        if name not in out:
            try:
                out[name] = CLASS_COLORS[int(value) % len(CLASS_COLORS)]
            except (TypeError, ValueError):
                out[name] = REFERENCE_COLOR
    return out


def _hover(df: pd.DataFrame) -> tuple[np.ndarray, str]:
    cols = ["sample_id", "label"] + [c for c in ("prediction", "split") if c in df.columns]
    lines = ["sample %{customdata[0]}", "label %{customdata[1]}"]
    lines += [f"{c} %{{customdata[{i + 2}]}}" for i, c in enumerate(cols[2:])]
    return df[cols].to_numpy(dtype=object), "<br>".join(lines) + "<extra></extra>"


def projection_figure(
    df: pd.DataFrame,
    color_by: str = "label",
    title: str = "Projection",
    task: str = "classification",
    method: str = "PCA",
    height: int = HEIGHT,
    marker_size: int = 6,
) -> go.Figure:
    """Scatter of a ``projection_table`` coloured by ``label``, ``prediction``, ``correct`` or ``split``.

    Regression labels / predictions use a continuous colour scale; everything else one legend entry per value.
    Hover shows the sample id, its label, and its prediction and split when known.
    """
    if df is None or df.empty:
        return empty_figure(title, "No samples to draw.", height=height)
    if color_by not in df.columns:
        color_by = "label"
    fig = go.Figure()
    continuous = (task == "regression" and color_by in ("label", "prediction")) or (
        task == "anomaly" and color_by == "prediction"
    )
    if continuous:
        values = df["target" if color_by == "label" else "prediction_value"].astype(float)
        custom, tmpl = _hover(df)
        fig.add_trace(
            go.Scattergl(
                x=df["x"],
                y=df["y"],
                mode="markers",
                name=COLOR_BY[color_by],
                customdata=custom,
                hovertemplate=tmpl,
                marker={
                    "size": marker_size,
                    "color": values,
                    "colorscale": "Viridis",
                    "opacity": 0.8,
                    "colorbar": {
                        "title": {"text": "score" if task == "anomaly" else COLOR_BY[color_by]},
                        "thickness": 12,
                    },
                },
            )
        )
    else:
        if color_by == "label":
            cmap = _class_color_map(df, "label", "target")
        elif color_by == "prediction":
            cmap = _class_color_map(df, "prediction", "prediction_value")
        elif color_by == "correct":
            cmap = dict(CORRECT_COLORS)
        else:
            cmap = dict(SPLIT_COLORS)
        order = _category_order(df, color_by)
        for value in order:
            sub = df[df[color_by] == value]
            custom, tmpl = _hover(sub)
            fig.add_trace(
                go.Scattergl(
                    x=sub["x"],
                    y=sub["y"],
                    mode="markers",
                    name=plain(value),
                    customdata=custom,
                    hovertemplate=tmpl,
                    marker={"size": marker_size, "color": cmap.get(value, REFERENCE_COLOR), "opacity": 0.8},
                )
            )
    layout(fig, title, f"{method} 1", f"{method} 2", height=height)
    fig.update_layout(legend_title_text=COLOR_BY.get(color_by, color_by), hovermode="closest")
    fig.update_xaxes(showticklabels=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, zeroline=False)
    return fig


def _category_order(df: pd.DataFrame, column: str) -> list[str]:
    """Legend order: classes by id, splits train/val/test, correct before wrong."""
    values = list(dict.fromkeys(df[column]))
    if column == "split":
        return [s for s in ("train", "val", "test") if s in values] + [
            v for v in values if v not in SPLIT_NAMES.values()
        ]
    if column == "correct":
        return [v for v in ("correct", "wrong") if v in values]
    key = "target" if column == "label" else "prediction_value"
    ids = df.groupby(column, sort=False)[key].first()
    try:
        return sorted(values, key=lambda v: float(ids[v]))
    except (TypeError, ValueError):
        return sorted(values)


def array_label(name: str) -> str:
    """Readable name of a snapshot array: ``xi`` -> 'xi (fused)', ``zeta_audio`` -> 'zeta_audio (bottleneck)'."""
    if name == "xi":
        return "xi (fused representation)"
    if name.startswith("zeta_"):
        return f"{name} (bottleneck of {name[5:]})"
    if name.startswith("z_"):
        return f"{name} (encoder output of {name[2:]})"
    return name


def snapshot_facts(snapshot: Mapping[str, np.ndarray], array: str) -> dict[str, str]:
    """Headline numbers of one snapshot: points, dimensions of ``array``, and accuracy on these points per split."""
    x = np.asarray(snapshot.get(array, np.zeros((0, 0))))
    out = {"points": f"{x.shape[0]:,}", "dimensions": str(x.shape[1] if x.ndim == 2 else 0)}
    correct = snapshot.get("correct")
    split = snapshot.get("split")
    if correct is not None and split is not None:
        correct = np.asarray(correct).astype(bool).reshape(-1)
        split = np.asarray(split).reshape(-1)
        for code in (1, 2):
            sel = split == code
            if sel.any():
                out[f"{SPLIT_NAMES[code]} accuracy"] = f"{100 * correct[sel].mean():.1f} %"
    return out


def snapshot_grid_figure(
    frames: Sequence[tuple[str, pd.DataFrame]],
    color_by: str = "label",
    task: str = "classification",
    columns: int = 4,
    max_points: int = 500,
) -> go.Figure:
    """Small multiples: one PCA panel per snapshot (title = epoch), same colours, at most ``max_points`` each."""
    from plotly.subplots import make_subplots

    if not frames:
        return empty_figure("xi, epoch by epoch", "No snapshots yet.")
    n = len(frames)
    cols = min(columns, n)
    rows = -(-n // cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[t for t, _ in frames],
        horizontal_spacing=0.03,
        vertical_spacing=0.12 / rows + 0.04,
    )
    seen: set[str] = set()
    for i, (_, df) in enumerate(frames):
        sub = df.iloc[:: max(1, -(-len(df) // max_points))]
        panel = projection_figure(sub, color_by, task=task, marker_size=4)
        for tr in panel.data:
            tr.showlegend = tr.name not in seen and tr.name is not None
            tr.legendgroup = tr.name
            if tr.name is not None:
                seen.add(tr.name)
            if getattr(tr.marker, "colorbar", None) is not None and i:
                tr.marker.showscale = False
            fig.add_trace(tr, row=i // cols + 1, col=i % cols + 1)
    layout(fig, "", height=230 * rows + 70)
    fig.update_layout(
        hovermode="closest",
        legend_title_text=COLOR_BY.get(color_by, color_by),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.02, "xanchor": "left", "x": 0.0},
    )
    frame = {
        "showticklabels": False,
        "zeroline": False,
        "showgrid": False,
        "showline": True,
        "mirror": True,
        "linecolor": "#E5E7EB",
    }
    fig.update_xaxes(**frame)
    fig.update_yaxes(**frame)
    return fig
