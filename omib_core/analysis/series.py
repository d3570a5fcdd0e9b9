"""Pure helpers for metric series shown in charts: downsampling and debiased EMA smoothing."""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_POINTS = 2000


def downsample(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Keep at most ``max_points`` points of a series, preserving its extremes and its last point.

    Buckets of equal index width keep their min and max (in x order), so spikes survive; the first and the
    last points are always kept. Series at or under the limit come back unchanged.
    """
    x = np.asarray(x)
    y = np.asarray(y, dtype=float)
    n = len(x)
    if n <= max_points:
        return x, y
    n_buckets = max(1, (max_points - 2) // 2)
    edges = np.linspace(1, n - 1, n_buckets + 1).astype(int)
    keep = [0]
    for lo, hi in zip(edges[:-1], edges[1:]):
        if hi <= lo:
            continue
        seg = y[lo:hi]
        finite = np.isfinite(seg)
        if not finite.any():
            keep.append(lo)
            continue
        seg = np.where(finite, seg, np.nan)
        a, b = lo + int(np.nanargmin(seg)), lo + int(np.nanargmax(seg))
        keep.extend(sorted({a, b}))
    keep.append(n - 1)
    idx = np.unique(np.asarray(keep))
    return x[idx], y[idx]


def ema_debiased(y: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential moving average with bias correction (as TensorBoard and Adam do).

    ``s_t = alpha * s_{t-1} + (1 - alpha) * y_t``, returned as ``s_t / (1 - alpha ** (t + 1))`` so the first
    points are not pulled towards 0. ``alpha = 0`` returns ``y``. Non-finite values are skipped (carried over).
    """
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"The 'alpha' smoothing factor must be in [0, 1). Got {alpha!r} instead.")
    y = np.asarray(y, dtype=float)
    out = np.empty_like(y)
    s, w = 0.0, 0.0
    for i, v in enumerate(y):
        if np.isfinite(v):
            s = alpha * s + (1 - alpha) * v
            w = alpha * w + (1 - alpha)
        out[i] = s / w if w > 0 else np.nan
    return out


def wide_to_long(df: pd.DataFrame, x: str, columns: list[str]) -> pd.DataFrame:
    """Long format (x, series, value) for plotting several metrics of one run."""
    cols = [c for c in columns if c in df.columns]
    return df.melt(id_vars=[x], value_vars=cols, var_name="series", value_name="value").dropna(subset=["value"])
