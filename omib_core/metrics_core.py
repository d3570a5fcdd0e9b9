"""Metric helpers with no model behind them, shared by the data layer and ``omib_core.analysis.metrics``.

The synthetic anomaly data scores its optimal features with ``anomaly_metrics`` while drawing, and the data layer
imports no analysis; so the anomaly metrics and the checks they use live here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from omib_core.errors import DataError

ANOMALY_QUANTILE = 0.95  # default threshold: this quantile of the normal rows' scores


# helpers


def vector(name: str, x: Any) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype == object:
        raise DataError(f"'{name}' is an object array; pass numbers (a float or int numpy array).")
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise DataError(f"'{name}' must be a 1-D array with one value per sample. Got shape {a.shape}.")
    if a.size == 0:
        raise DataError(f"'{name}' is empty; metrics need at least one sample.")
    return a


def same_length(y_true: np.ndarray, other: np.ndarray, other_name: str) -> None:
    if other.shape[0] != y_true.shape[0]:
        raise DataError(
            f"'y_true' has {y_true.shape[0]} rows but '{other_name}' has {other.shape[0]}; "
            "pass one output per sample, in the same order."
        )


def nan_dict(names: tuple[str, ...]) -> dict[str, float]:
    return {n: float("nan") for n in names}


# anomaly metrics


def anomaly_threshold(normal_scores: Any, quantile: float = ANOMALY_QUANTILE) -> float:
    """The default decision threshold: the ``quantile`` of scores of normal rows (a row is an anomaly above it)."""
    s = vector("normal_scores", normal_scores).astype(np.float64)
    s = s[np.isfinite(s)]
    if s.size == 0:
        raise DataError("No finite normal scores to set the anomaly threshold from; pass 'threshold' explicitly.")
    return float(np.quantile(s, quantile))


def anomaly_metrics(
    y_true: Any,
    scores: Any,
    threshold: float | None = None,
    normal_reference_scores: Any = None,
) -> dict[str, float]:
    """ROC AUC and F1 of anomaly scores (higher score = more anomalous).

    Args:
        y_true: ``(N,)`` 0 (normal) / 1 (anomaly).
        scores: ``(N,)`` anomaly scores, e.g. the Deep SVDD distance to the centre.
        threshold: rows with ``score > threshold`` are predicted anomalous. Choosing it by maximising F1
            on the evaluated rows is not allowed (it would leak the test labels); pass one fixed elsewhere.
        normal_reference_scores: when ``threshold`` is None, the threshold is the 95th percentile of these
            scores (pass the scores of normal *training* or *validation* rows for an honest test number).
            When this is None as well, the 95th percentile of the normal rows among ``scores`` is used,
            which reads the evaluated labels; use it only for quick looks.

    Returns:
        ``{"auc", "f1"}`` (the threshold used is :func:`anomaly_threshold` of the reference scores). ``auc`` is NaN when ``y_true`` holds a single class (undefined);
        every value is NaN when a score is NaN/inf. ``f1`` is the F1 of the anomaly class.
    """
    y = vector("y_true", y_true)
    s = vector("scores", scores)
    same_length(y, s, "scores")
    if not np.isin(y, (0, 1)).all():
        raise DataError("Anomaly 'y_true' must hold 0 (normal) and 1 (anomaly) only.")
    if not np.all(np.isfinite(s)):
        return nan_dict(("auc", "f1"))
    from sklearn.metrics import f1_score, roc_auc_score

    y = y.astype(bool)
    s = s.astype(np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    auc = float(roc_auc_score(y, s)) if n_pos and n_neg else float("nan")
    if threshold is None:
        if normal_reference_scores is not None:
            threshold = anomaly_threshold(normal_reference_scores)
        elif n_neg:
            threshold = anomaly_threshold(s[~y])
        else:
            raise DataError(
                "anomaly_metrics got no normal rows and no 'threshold' or 'normal_reference_scores'; "
                "pass the threshold fixed on normal training/validation rows."
            )
    f1 = f1_score(y.astype(np.int64), (s > threshold).astype(np.int64), pos_label=1, zero_division=0)
    return {"auc": auc, "f1": float(f1)}
