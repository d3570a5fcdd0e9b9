"""Metrics against scikit-learn and an independent re-statement of MMSA's CMU-MOSI protocol."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from omib_core.analysis import (
    HIGHER_IS_BETTER,
    PRIMARY_METRIC,
    anomaly_metrics,
    anomaly_threshold,
    classification_metrics,
    compute_metrics,
    regression_metrics,
)
from omib_core.config import TASKS
from omib_core.errors import ConfigError, DataError

# oracles


def mmsa_mosi(y_pred: np.ndarray, y_true: np.ndarray) -> dict[str, float]:
    """MMSA MetricsTop.__eval_mosei_regression (used for MOSI), restated with scikit-learn."""
    a7p, a7t = np.clip(y_pred, -3.0, 3.0), np.clip(y_true, -3.0, 3.0)
    nz = np.array([i for i, e in enumerate(y_true) if e != 0])
    return {
        "mae": float(np.mean(np.absolute(y_pred - y_true))),
        "corr": float(np.corrcoef(y_pred, y_true)[0][1]),
        "acc7": float(np.sum(np.round(a7p) == np.round(a7t)) / float(len(a7t))),
        "acc2": float(accuracy_score(y_pred[nz] > 0, y_true[nz] > 0)),
        "f1": float(f1_score(y_true[nz] > 0, y_pred[nz] > 0, average="weighted")),
        "acc2_has0": float(accuracy_score(y_pred >= 0, y_true >= 0)),
        "f1_has0": float(f1_score(y_true >= 0, y_pred >= 0, average="weighted")),
    }


# classification


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), k=st.integers(2, 6), seed=st.integers(0, 10_000))
def test_classification_matches_sklearn(n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    pred = logits.argmax(1)
    m = classification_metrics(y, logits)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["f1_macro"] == pytest.approx(f1_score(y, pred, average="macro", zero_division=0))


def test_classification_accepts_probabilities_and_class_ids() -> None:
    y = np.array([0, 1, 2, 2, 1])
    probs = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.5, 0.4, 0.1], [0.3, 0.3, 0.4]])
    a = classification_metrics(y, probs)
    b = classification_metrics(y, probs.argmax(1))
    assert a == b
    assert a["accuracy"] == pytest.approx(3 / 5)


def test_classification_non_finite_output_gives_nan() -> None:
    logits = np.array([[0.0, 1.0], [np.nan, 0.0]])
    m = classification_metrics(np.array([1, 0]), logits)
    assert math.isnan(m["accuracy"]) and math.isnan(m["f1_macro"])


@pytest.mark.parametrize(
    ("y", "out", "needle"),
    [
        (np.array([0, 1, 1]), np.zeros((2, 2)), "rows"),
        (np.array([]), np.zeros((0, 2)), "empty"),
        (np.array([[0, 1], [1, 0]]), np.zeros((2, 2)), "1-D"),
        (np.array([0, 1], dtype=object), np.zeros((2, 2)), "object"),
        (np.array([0, 1]), np.zeros((2, 2, 2)), "shape"),
    ],
)
def test_classification_bad_inputs(y: np.ndarray, out: np.ndarray, needle: str) -> None:
    with pytest.raises(DataError, match=needle):
        classification_metrics(y, out)


# regression


@settings(max_examples=40, deadline=None)
@given(n=st.integers(3, 80), seed=st.integers(0, 10_000))
def test_regression_matches_mmsa(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    # MOSI-like truths: multiples of 1/3 in [-3, 3] (some exactly 0), predictions spread past the clip
    y = np.round(rng.uniform(-3, 3, n) * 3) / 3
    y[: max(1, n // 5)] = 0.0
    y[-1] = 1.0  # at least one non-zero truth
    p = rng.normal(0, 2, n)
    p[0] = 0.5  # a half: np.round's half-to-even must agree with MMSA
    ours = regression_metrics(y, p)
    ref = mmsa_mosi(p, y)
    for key, value in ref.items():
        if np.isnan(value):  # corrcoef of a constant side
            continue
        assert ours[key] == pytest.approx(value, abs=1e-12), key


def test_regression_constant_predictions_corr_zero_not_nan() -> None:
    m = regression_metrics(np.array([-1.0, 0.5, 2.0]), np.zeros(3))
    assert m["corr"] == 0.0
    m = regression_metrics(np.ones(4), np.array([0.1, 0.2, 0.3, 0.4]))
    assert m["corr"] == 0.0


def test_regression_all_zero_truth_gives_nan_non0_acc() -> None:
    m = regression_metrics(np.zeros(4), np.array([0.1, -0.2, 0.3, 0.0]))
    assert math.isnan(m["acc2"]) and math.isnan(m["f1"])
    assert m["mae"] == pytest.approx(0.15)


def test_regression_accepts_column_vector_and_nan_output() -> None:
    y = np.array([1.0, -1.0, 2.0])
    assert regression_metrics(y, y[:, None])["mae"] == 0.0
    assert math.isnan(regression_metrics(y, np.array([1.0, np.inf, 0.0]))["mae"])


def test_regression_shape_mismatch() -> None:
    with pytest.raises(DataError, match="'y_pred' has 2"):
        regression_metrics(np.zeros(3), np.zeros(2))


# anomaly


@settings(max_examples=40, deadline=None)
@given(n=st.integers(4, 80), seed=st.integers(0, 10_000), ties=st.booleans())
def test_auc_matches_sklearn_with_ties(n: int, seed: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[0], y[1] = 0, 1
    s = rng.integers(0, 4, n).astype(float) if ties else rng.normal(size=n) + y
    m = anomaly_metrics(y, s, threshold=0.5)
    assert m["auc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert m["f1"] == pytest.approx(f1_score(y, s > 0.5, zero_division=0))


def test_anomaly_single_class_auc_is_nan() -> None:
    m = anomaly_metrics(np.zeros(5, dtype=int), np.arange(5.0), threshold=2.0)
    assert math.isnan(m["auc"])
    assert m["f1"] == 0.0  # no true anomalies, two false alarms


def test_anomaly_default_threshold_from_reference_scores() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=500)
    y = np.r_[np.zeros(50, int), np.ones(50, int)]
    s = np.r_[rng.normal(size=50), rng.normal(3, 1, 50)]
    thr = np.quantile(ref, 0.95)
    assert anomaly_threshold(ref) == pytest.approx(thr)
    m = anomaly_metrics(y, s, normal_reference_scores=ref)
    assert m["f1"] == pytest.approx(f1_score(y, s > thr))
    # without reference scores: the 95th percentile of the normal rows passed in
    m2 = anomaly_metrics(y, s)
    assert m2["f1"] == pytest.approx(f1_score(y, s > np.quantile(s[y == 0], 0.95)))
    assert m["f1"] != m2["f1"]  # the two thresholds differ here, so the test can tell them apart


def test_anomaly_needs_normal_rows_or_threshold() -> None:
    with pytest.raises(DataError, match="threshold"):
        anomaly_metrics(np.ones(3, dtype=int), np.arange(3.0))
    with pytest.raises(DataError, match="0 \\(normal\\) and 1"):
        anomaly_metrics(np.array([0, 2]), np.zeros(2), threshold=0.0)
    m = anomaly_metrics(np.array([0, 1]), np.array([0.0, np.nan]), threshold=0.0)
    assert math.isnan(m["auc"]) and math.isnan(m["f1"])


# dispatcher and tables


def test_compute_metrics_dispatch_and_tables() -> None:
    y = np.array([0, 1, 1, 0])
    out = {
        "classification": compute_metrics("classification", y, np.eye(2)[[0, 1, 0, 0]]),
        "regression": compute_metrics("regression", y.astype(float), np.array([0.1, 0.9, 1.2, -0.3])),
        "anomaly": compute_metrics("anomaly", y, np.array([0.1, 0.9, 1.2, -0.3]), threshold=0.5),
    }
    assert set(PRIMARY_METRIC) == set(TASKS)
    for task, metrics in out.items():
        assert PRIMARY_METRIC[task] in metrics
        assert set(metrics) <= set(HIGHER_IS_BETTER), set(metrics) - set(HIGHER_IS_BETTER)
    assert out["classification"]["accuracy"] == 0.75
    assert out["anomaly"]["auc"] == 1.0
    assert HIGHER_IS_BETTER["mae"] is False and HIGHER_IS_BETTER["auc"] is True
    with pytest.raises(ConfigError, match="'task' parameter"):
        compute_metrics("ranking", y, y)


def test_confusion_counts_rows_are_true_classes_columns_predictions():
    from omib_core.analysis.metrics import confusion_counts

    y, p = np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2])
    c = confusion_counts(y, p)
    assert c.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]] and c.sum() == 6 and np.trace(c) == 4
    assert confusion_counts(y, p, 4).shape == (4, 4)  # a class with no rows still gets its row and column
