"""Sizes the training loop uses that the submit-time estimate (``omib_core.runs.budget``) needs too.

A module of its own so that the estimate can read them without importing the loop (and torch).
"""

from __future__ import annotations

SVDD_DIM = 16  # Deep SVDD embedding size (anomaly task)
EVAL_CHUNK = 8192  # rows per forward pass when the loop evaluates without gradients


def out_dim(task: str, n_classes: int) -> int:
    """The model's output size: ``n_classes`` (classification), 1 (regression), ``SVDD_DIM`` (anomaly)."""
    return {"classification": n_classes, "regression": 1, "anomaly": SVDD_DIM}[task]
