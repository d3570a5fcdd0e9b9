"""Evaluation metrics for the three tasks: thin wrappers over scikit-learn / scipy that fix the protocol.

- classification: accuracy and macro F1 (the F1 of each class present in the labels or the predictions,
  averaged without weights; a class never predicted and never true does not count; 0/0 counts as 0,
  as scikit-learn's ``zero_division=0``).
- regression: the CMU-MOSI protocol of MMSA's ``MetricsTop.__eval_mosei_regression`` (used for MOSI too):
  MAE and Pearson correlation on the raw values, Acc-7 on values clipped to [-3, 3] and rounded with
  ``np.round`` (half to even, as MMSA does), and Acc-2 / weighted F1 on the rows whose true value is not
  0, positive (> 0) against negative (the "non0" variant most papers quote, and the one OMIB's table
  uses). The "has0" variant (>= 0 against < 0, all rows) is given as ``acc2_has0`` / ``f1_has0``.
- anomaly (in ``omib_core.metrics_core``, which the data layer uses too): ROC AUC (scikit-learn's
  ``roc_auc_score``: a tie counts one half) and the F1 of the anomaly class at a threshold that never looks at
  the test labels' F1.

Degenerate inputs give documented numbers instead of warnings: constant predictions or targets give a
correlation of 0 (not NaN); a single class in ``y_true`` gives an AUC of NaN, because the AUC is not
defined without both classes; any non-finite model output (a diverged run) gives NaN for every metric.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from omib_core.config import TASKS
from omib_core.errors import ConfigError, DataError
from omib_core.metrics_core import (
    anomaly_metrics,
    nan_dict,
    same_length,
    vector,
)

PRIMARY_METRIC = {"classification": "accuracy", "regression": "mae", "anomaly": "auc"}
# The one direction rule: a metric whose name ends in one of these is an error (lower is better, e.g. ``val/mae``,
# ``task_loss``); every other metric (accuracy, AUC, F1, correlation) is better higher.
LOWER_IS_BETTER = ("mae", "mse", "rmse", "loss")


def higher_is_better(metric: str) -> bool:
    """False for error metrics (a name ending in one of ``LOWER_IS_BETTER``: MAE, MSE, losses), True otherwise."""
    return not metric.lower().endswith(LOWER_IS_BETTER)


def is_better(metric: str, value: float, than: float) -> bool:
    """Whether ``value`` of ``metric`` is strictly better than ``than`` (a tie is not); NaN is never better, and
    any number beats NaN."""
    if math.isnan(value):
        return False
    if math.isnan(than):
        return True
    return value > than if higher_is_better(metric) else value < than


METRIC_NAMES = ("accuracy", "f1_macro", "mae", "corr", "acc2", "f1", "acc7", "acc2_has0", "f1_has0", "auc", "loss")
HIGHER_IS_BETTER = {m: higher_is_better(m) for m in METRIC_NAMES}  # the metrics the tasks report, by the rule


# helpers


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    """scipy's Pearson correlation; 0 (not NaN) when either side is constant or there are fewer than 2 rows."""
    from scipy.stats import pearsonr

    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(np.clip(pearsonr(a, b).statistic, -1.0, 1.0))


# main functions


def classification_metrics(y_true: Any, logits_or_probs: Any) -> dict[str, float]:
    """Accuracy and macro F1 of class scores.

    Args:
        y_true: ``(N,)`` integer class ids.
        logits_or_probs: ``(N, K)`` logits or probabilities (the argmax is the prediction), or ``(N,)``
            predicted class ids.

    Returns:
        ``{"accuracy", "f1_macro"}``; both NaN when an output is NaN/inf.
    """
    y = vector("y_true", y_true)
    out = np.asarray(logits_or_probs)
    if out.dtype == object:
        raise DataError("'logits_or_probs' is an object array; pass a float (N, K) or int (N,) array.")
    if out.ndim not in (1, 2):
        raise DataError(f"'logits_or_probs' must be (N, K) scores or (N,) class ids. Got shape {out.shape}.")
    same_length(y, out, "logits_or_probs")
    if not np.all(np.isfinite(out)):
        return nan_dict(("accuracy", "f1_macro"))
    pred = out.argmax(axis=1) if out.ndim == 2 else out
    return {"accuracy": float(np.mean(pred == y)), "f1_macro": macro_f1(y, pred)}


def macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    """Macro F1 as scikit-learn's ``f1_score(average="macro", zero_division=0)``: the mean over the classes present in
    ``y`` or ``pred`` of 2 TP / (2 TP + FP + FN), counted with ``np.unique`` / ``bincount`` (a training grid scores
    every member every epoch: scikit-learn's input checks cost 3 ms a call, this ~50 us; equal in tests)."""
    classes, codes = np.unique(np.concatenate([np.asarray(y).ravel(), np.asarray(pred).ravel()]), return_inverse=True)
    k, n = len(classes), len(y)
    t, p = codes[:n], codes[n:]
    tp = np.bincount(t[t == p], minlength=k).astype(np.float64)
    denom = np.bincount(t, minlength=k) + np.bincount(p, minlength=k)  # 2 TP + FP + FN
    f1 = np.divide(2 * tp, denom, out=np.zeros(k), where=denom > 0)
    return float(f1.mean())


def confusion_counts(y_true: Any, pred: Any, n_classes: int | None = None) -> np.ndarray:
    """``(K, K)`` counts of rows with true class i (row) predicted as class j (column); K from the data when None."""
    y, p = vector("y_true", y_true).astype(np.int64), vector("pred", pred).astype(np.int64)
    same_length(y, p, "pred")
    k = int(n_classes) if n_classes is not None else int(max(y.max(initial=-1), p.max(initial=-1)) + 1)
    keep = (y >= 0) & (y < k) & (p >= 0) & (p < k)
    out = np.zeros((k, k), dtype=np.int64)
    np.add.at(out, (y[keep], p[keep]), 1)
    return out


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """CMU-MOSI metrics as MMSA computes them (see the module docstring for the exact protocol).

    Args:
        y_true: ``(N,)`` true values (sentiment in [-3, 3] for CMU-MOSI).
        y_pred: ``(N,)`` (or ``(N, 1)``) predicted values.

    Returns:
        ``{"mae", "corr", "acc2", "f1", "acc7", "acc2_has0", "f1_has0"}``. ``acc2`` / ``f1`` use the
        non-zero truths only (NaN when every truth is 0); ``f1`` / ``f1_has0`` are F1 averaged over the
        two classes weighted by their true counts (scikit-learn ``average="weighted"``).
    """
    y = vector("y_true", y_true).astype(np.float64)
    p = vector("y_pred", y_pred)
    same_length(y, p, "y_pred")
    names = ("mae", "corr", "acc2", "f1", "acc7", "acc2_has0", "f1_has0")
    if not np.all(np.isfinite(p)):
        return nan_dict(names)
    p = p.astype(np.float64)
    # Acc-7: clip to [-3, 3], round to the nearest integer (np.round: half to even, as MMSA)
    acc7 = float(np.mean(np.round(np.clip(p, -3.0, 3.0)) == np.round(np.clip(y, -3.0, 3.0))))
    out = {"mae": float(np.mean(np.abs(p - y))), "corr": _pearson(p, y), "acc7": acc7}
    nz = y != 0  # non0: drop neutral truths, positive (> 0) vs negative
    out["acc2"], out["f1"] = _binary_pair(y[nz] > 0, p[nz] > 0)
    out["acc2_has0"], out["f1_has0"] = _binary_pair(y >= 0, p >= 0)  # has0: >= 0 vs < 0 on all rows
    return {k: out[k] for k in names}


def _binary_pair(t: np.ndarray, q: np.ndarray) -> tuple[float, float]:
    """Accuracy and class-count-weighted F1 of two boolean vectors (NaN, NaN when empty)."""
    from sklearn.metrics import f1_score

    if t.size == 0:
        return float("nan"), float("nan")
    return float(np.mean(t == q)), float(f1_score(t, q, average="weighted", zero_division=0))


def compute_metrics(task: str, y_true: Any, output: Any, **kw: Any) -> dict[str, float]:
    """Dispatch to the metrics of ``task``.

    Args:
        task: ``"classification"``, ``"regression"`` or ``"anomaly"``.
        y_true: the targets.
        output: logits / probabilities / class ids, predicted values, or anomaly scores.
        **kw: passed to :func:`anomaly_metrics` (``threshold``, ``normal_reference_scores``); ignored for
            the other tasks, so a caller can pass them for every task.
    """
    if task == "classification":
        return classification_metrics(y_true, output)
    if task == "regression":
        return regression_metrics(y_true, output)
    if task == "anomaly":
        return anomaly_metrics(y_true, output, **kw)
    raise ConfigError(f"The 'task' parameter of compute_metrics must be one of {TASKS}. Got {task!r} instead.")
