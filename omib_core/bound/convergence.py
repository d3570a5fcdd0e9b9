"""Has a training curve levelled off?

Criterion (documented, used for ``Estimate.converged``): fit a straight line to the last 20 % of the
logged points (at least 3). The curve is *still moving* when the drift the line predicts across that
window, |slope| x (window length), is both

- larger than ``max(rel_tol * |window mean|, abs_tol)`` (default 2 % of the value, at least 0.005 nats), and
- larger than twice its own standard error (so noise around a flat line is not called a trend).

A curve with fewer than 5 points is too short to judge and counts as not levelled off.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

WINDOW = 0.2
REL_TOL = 0.02
ABS_TOL = 0.005
MIN_POINTS = 5


def levelled_off(
    curve: Sequence[float], window: float = WINDOW, rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL
) -> tuple[bool, str]:
    """Whether ``curve`` has levelled off, and a sentence saying why not (empty when it has).

    Args:
        curve: estimates at evenly spaced logged steps.
        window: share of the last points the trend is fitted on.
        rel_tol: drift tolerated across the window, relative to the window mean.
        abs_tol: drift always tolerated (nats), for values near zero.
    """
    y = np.asarray(curve, dtype=np.float64)
    if y.size < MIN_POINTS:
        return False, f"The curve has {y.size} logged point(s), too few to tell whether it levelled off."
    if not np.all(np.isfinite(y)):
        return False, "The curve contains NaN/inf values: the critic diverged."
    k = max(3, int(round(window * y.size)))
    w = y[-k:]
    t = np.arange(k, dtype=np.float64)
    slope, intercept = np.polyfit(t, w, 1)
    resid = w - (slope * t + intercept)
    se_slope = np.sqrt(np.sum(resid**2) / max(k - 2, 1) / np.sum((t - t.mean()) ** 2))
    drift, drift_se = slope * (k - 1), se_slope * (k - 1)
    tol = max(rel_tol * abs(float(w.mean())), abs_tol)
    if abs(drift) > tol and abs(drift) > 2.0 * drift_se:
        direction = "rising" if drift > 0 else "falling"
        return False, (
            f"Not levelled off: the curve is still {direction} by {abs(drift):.3g} nats over its last "
            f"{int(round(100 * window))} % (tolerance {tol:.3g}); give it more steps."
        )
    return True, ""
