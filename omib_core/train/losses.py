"""Task losses L_task and the Deep SVDD helpers (SPEC sections 1 and 3).

- classification: cross-entropy on logits;
- regression: MSE on the single output;
- anomaly: Deep SVDD (Ruff et al. 2018), mean squared distance of the embedding to a centre c that is
  fixed after warm-up; the anomaly score is that squared distance.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

SVDD_CENTER_EPS = 0.1

# helpers


def svdd_score(embedding: Tensor, center: Tensor) -> Tensor:
    """Squared distance ||f(x) - c||^2 per sample, ``(B, E) -> (B,)``."""
    return (embedding - center).pow(2).sum(dim=-1)


def fix_center(center: Tensor, eps: float = SVDD_CENTER_EPS) -> Tensor:
    """Push near-zero coordinates of c to +-eps (Ruff et al.): a zero coordinate is reachable by zero weights."""
    c = center.clone()
    small = c.abs() < eps
    c[small & (c < 0)] = -eps
    c[small & (c >= 0)] = eps
    return c


# main functions


def row_loss(task: str, output: Tensor, target: Tensor) -> Tensor:
    """L_task of each row, ``(B,)``: cross-entropy of ``(B, K)`` logits or squared error of a ``(B, 1)`` prediction.
    The one definition: the training loop averages it over the batch, the grid trainer over each member's rows."""
    if task == "classification":
        return F.cross_entropy(output, target, reduction="none")
    if task == "regression":
        return (output.squeeze(-1) - target).pow(2)
    raise ValueError(f"row_loss takes 'classification' or 'regression'; got {task!r}.")


def task_loss(task: str, output: Tensor, target: Tensor, center: Tensor | None = None) -> Tensor:
    """L_task averaged over the batch.

    Args:
        task: ``"classification"``, ``"regression"`` or ``"anomaly"``.
        output: ``(B, K)`` logits, ``(B, 1)`` prediction or ``(B, E)`` SVDD embedding.
        target: ``(B,)`` int64 labels or float targets (unused for anomaly: only normal rows are trained on).
        center: the SVDD centre ``(E,)`` (anomaly only).
    """
    if task in ("classification", "regression"):
        return row_loss(task, output, target).mean()
    if task == "anomaly":
        if center is None:
            raise ValueError("The anomaly (Deep SVDD) loss needs its centre c.")
        return svdd_score(output, center).mean()
    raise ValueError(f"task must be 'classification', 'regression' or 'anomaly'; got {task!r}.")


def prediction(task: str, output: Tensor, center: Tensor | None = None) -> Tensor:
    """What the metrics read: logits (classification), ``(B,)`` values (regression), ``(B,)`` scores (anomaly)."""
    if task == "regression":
        return output.squeeze(-1)
    if task == "anomaly":
        assert center is not None
        return svdd_score(output, center)
    return output


__all__ = ["fix_center", "prediction", "svdd_score", "task_loss"]
