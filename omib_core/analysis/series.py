"""Pure helpers for metric series shown in charts: downsampling and debiased EMA smoothing."""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_POINTS = 2000


def downsample(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Keep at most ``max_points`` points of a series, preserving its extremes and its last point.

    The points between the first and the last are cut into buckets of equal width; each keeps its min and its
    max (in x order), so spikes survive, and an all-NaN bucket keeps one NaN point, so gaps survive. The first
    and the last points are always kept. Series at or under the limit come back unchanged. Vectorised: about
    2 ms for 10^5 points (the live charts call it for every series on every poll).
    """
    x = np.asarray(x)
    y = np.asarray(y, dtype=float)
    n = len(x)
    if n <= max_points:
        return x, y
    n_buckets = max(1, (max_points - 2) // 2)
    inner = n - 2
    width = -(-inner // n_buckets)  # ceil
    n_buckets = -(-inner // width)
    pad = n_buckets * width - inner
    seg = np.concatenate([y[1 : n - 1], np.full(pad, np.nan)]).reshape(n_buckets, width)  # (B, W)
    finite = np.isfinite(seg)
    lo = np.argmin(np.where(finite, seg, np.inf), axis=1)
    hi = np.argmax(np.where(finite, seg, -np.inf), axis=1)
    start = 1 + np.arange(n_buckets) * width
    empty = ~finite.any(axis=1)
    lo = np.where(empty, 0, lo)  # an all-NaN bucket: keep its first point (a NaN), so the line breaks there
    hi = np.where(empty, 0, hi)
    keep = np.unique(np.concatenate([[0], start + lo, start + hi, [n - 1]]))
    return x[keep], y[keep]


def ema_debiased(y: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential moving average with bias correction (as TensorBoard and Adam do).

    ``s_t = alpha * s_{t-1} + (1 - alpha) * y_t``, returned as ``s_t / (1 - alpha ** (t + 1))`` so the first
    points are not pulled towards 0. ``alpha = 0`` returns ``y``. Non-finite values are skipped (carried over;
    NaN before the first finite value). This is pandas' ``ewm(adjust=True, ignore_na=True)`` with its smoothing
    factor ``1 - alpha``.
    """
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"The 'alpha' smoothing factor must be in [0, 1). Got {alpha!r} instead.")
    y = np.asarray(y, dtype=float)
    finite = pd.Series(np.where(np.isfinite(y), y, np.nan))
    return finite.ewm(alpha=1.0 - alpha, adjust=True, ignore_na=True).mean().to_numpy(dtype=float)
