"""Data preview: pure builders for the modality table, the class balance, per-modality PCA and the ground truth."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import SPLIT_COLORS, modality_color, plain
from dashboard.charts.embeddings import (
    class_label,
    colored_title,
    empty_figure,
    layout,
    projection_figure,
    projection_table,
)

SPLITS = ((0, "train"), (1, "val"), (2, "test"))


# tables


def modality_table(modalities: Mapping[str, tuple[int, ...]] | Mapping[str, int], n_samples: int) -> pd.DataFrame:
    """One row per modality: its position (v_1, v_2, ...), name, feature count and shape."""
    rows = []
    for i, (name, shape) in enumerate(modalities.items()):
        d = int(shape[1]) if isinstance(shape, (tuple, list)) else int(shape)
        role = f"v{i + 1}" + (" (reference)" if i == 0 else "")
        rows.append({"role": role, "modality": name, "features": d, "shape": f"({n_samples:,} x {d})"})
    return pd.DataFrame(rows)


def _nats(v: Any) -> str:
    return f"{float(v):.3f} nats" if v is not None and math.isfinite(float(v)) else "n/a"


def _pct(v: Any) -> str:
    return f"{100 * float(v):.1f} %" if v is not None and math.isfinite(float(v)) else "n/a"


def ground_truth_table(ground_truth: Mapping[str, Any] | None, modalities: Sequence[str]) -> pd.DataFrame:
    """The synthetic data's known answers as (quantity, value, meaning) rows; empty for real data.

    Reads ``bayes_accuracy``, ``optimal_mib_accuracy``, ``exact_mi_v1_v2``, ``exact_h`` (per modality),
    ``exact_h_joint`` and ``optimal_features`` when present. Also states the exact conservative bound
    M_u = 1 / (3 H_joint) (two modalities; 1 / ((2M - 1) H_joint) in general) when H_joint > 0.
    """
    gt = dict(ground_truth or {})
    if not gt:
        return pd.DataFrame(columns=["quantity", "value", "meaning"])
    names = list(modalities)
    v1, v2 = (names + ["v1", "v2"])[:2]
    rows: list[dict[str, str]] = []

    def add(q: str, value: str, meaning: str) -> None:
        rows.append({"quantity": q, "value": value, "meaning": meaning})

    if gt.get("bayes_accuracy") is not None:
        add("Bayes accuracy", _pct(gt["bayes_accuracy"]), "The best any model can reach: the labels carry noise.")
    if gt.get("bayes_accuracy_views") is not None:
        add(
            "Bayes accuracy from the views",
            _pct(gt["bayes_accuracy_views"]),
            "The best possible from the noisy modalities themselves: the realistic ceiling for a model.",
        )
    if gt.get("optimal_mib_accuracy") is not None:
        add(
            "Optimal-MIB accuracy",
            _pct(gt["optimal_mib_accuracy"]),
            "The same predictor trained on the true task-relevant blocks {a0, a1, a2}: what OMIB aims for.",
        )
    if gt.get("exact_mi_v1_v2") is not None:
        add(f"I({v1}; {v2})", _nats(gt["exact_mi_v1_v2"]), "Information the two modalities share (a0 and b0).")
    pairs = gt.get("exact_mi_pairs") or {}
    if isinstance(pairs, Mapping) and len(pairs) > 1:  # three or more modalities: every pair
        for pair, v in pairs.items():
            a, _, b = str(pair).partition(";")
            if (a, b) == (v1, v2) and gt.get("exact_mi_v1_v2") is not None:
                continue  # already listed
            add(f"I({a}; {b})", _nats(v), "Information this pair of modalities shares.")
    exact_h = gt.get("exact_h") or {}
    if isinstance(exact_h, Mapping):
        for m in names:
            if exact_h.get(m) is not None:
                add(f"H({m})", _nats(exact_h[m]), "Differential entropy of the modality (standardised features).")
    h_joint = gt.get("exact_h_joint")
    if h_joint is not None:
        add("H_joint", _nats(h_joint), "Joint entropy H(v1) + H(v2) - I(v1; v2): what M_u is built from.")
        k = 2 * max(2, len(names)) - 1
        hj = float(h_joint)
        if math.isfinite(hj) and hj > 0:
            add(
                "M_u (exact, conservative)",
                f"{1.0 / (k * hj):.4g}",
                f"1 / ({k} H_joint): any β up to it provably keeps the task information (sufficient, conservative).",
            )
        else:
            add("M_u (exact)", "none", "H_joint is not positive at this scale, so the bound does not exist.")
    feats = gt.get("optimal_features")
    if feats is not None and np.ndim(feats) == 2:
        add("Optimal features", f"{np.shape(feats)[1]} dims", "Size of [a0; a1; a2], the ideal xi.")
    return pd.DataFrame(rows, columns=["quantity", "value", "meaning"])


# figures


def class_balance_figure(
    target: np.ndarray,
    split: np.ndarray | None = None,
    task: str = "classification",
    class_names: Sequence[str] | None = None,
    height: int = 320,
) -> go.Figure:
    """Samples per class, stacked by split (train / val / test); a histogram of the target for regression."""
    target = np.asarray(target).reshape(-1)
    if target.size == 0:
        return empty_figure("Class balance", "No samples.", height=height)
    split = np.zeros(target.shape[0], dtype=int) if split is None else np.asarray(split).reshape(-1)
    fig = go.Figure()
    if task == "regression":
        for code, name in SPLITS:
            vals = target[split == code]
            if vals.size:
                fig.add_trace(go.Histogram(x=vals, name=name, marker_color=SPLIT_COLORS[name], nbinsx=40, opacity=0.85))
        fig.update_layout(barmode="stack")
        return layout(fig, "Target distribution", "target value", "samples", height=height)
    classes = np.unique(target)
    labels = [plain(class_label(c, task, class_names)) for c in classes]
    for code, name in SPLITS:
        counts = [int(((target == c) & (split == code)).sum()) for c in classes]
        if sum(counts):
            fig.add_trace(
                go.Bar(
                    x=labels,
                    y=counts,
                    name=name,
                    marker_color=SPLIT_COLORS[name],
                    hovertemplate=f"%{{x}}, {name}: %{{y}} samples<extra></extra>",
                )
            )
    fig.update_layout(barmode="stack", bargap=0.25)
    layout(fig, "Class balance", "", "samples", height=height)
    fig.update_xaxes(type="category")
    return fig


def modality_pca_figure(
    coords: np.ndarray,
    target: np.ndarray,
    name: str,
    index: int,
    *,
    sample_id: np.ndarray | None = None,
    split: np.ndarray | None = None,
    task: str = "classification",
    class_names: Sequence[str] | None = None,
    height: int = 380,
) -> go.Figure:
    """2-D PCA of one modality's (standardised) features, coloured by label; title in the modality's colour."""
    df = projection_table(coords, target, sample_id=sample_id, split=split, task=task, class_names=class_names)
    role = f"v{index + 1}"
    title = colored_title(name, modality_color(index), f"{'' if name == role else f' ({role})'}: PCA")
    return projection_figure(df, "label", title=title, task=task, method="PC", height=height, marker_size=5)
