"""Analysis: evaluation metrics (and, beside them, chart series helpers and embeddings)."""

from omib_core.analysis.metrics import (
    HIGHER_IS_BETTER,
    PRIMARY_METRIC,
    classification_metrics,
    compute_metrics,
    regression_metrics,
)
from omib_core.metrics_core import anomaly_metrics, anomaly_threshold

__all__ = [
    "HIGHER_IS_BETTER",
    "PRIMARY_METRIC",
    "anomaly_metrics",
    "anomaly_threshold",
    "classification_metrics",
    "compute_metrics",
    "regression_metrics",
]
