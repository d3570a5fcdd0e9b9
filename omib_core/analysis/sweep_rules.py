"""When a sweep may announce its empirical best beta (and knee). Pure.

A best read off one finished beta/M_u value is no best at all ("Empirical best 0.1, left of M_u" with one value in);
a best read off values finished for different seeds compares different data draws. So the best is **earned** once at
least ``MIN_COMPLETE`` beta/M_u values have finished for every seed of the sweep, and it is chosen among those
complete values only: their means are over the same seeds, a paired comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from omib_core.run_states import UNSUCCESSFUL

MIN_COMPLETE = 2
SCALE_DIGITS = 6  # beta/M_u values equal to 6 significant digits are one value (0.1 * 100 = 10.000000000000002)


@dataclass(frozen=True)
class BestRule:
    """``earned``: the best may be announced; ``complete``: the beta/M_u values finished for every seed;
    ``missing``: a sentence saying what is still needed (empty once earned)."""

    earned: bool
    complete: tuple[float, ...]
    missing: str


def _key(scale: float) -> float:
    return float(f"{float(scale):.{SCALE_DIGITS}g}")


def best_rule(points: pd.DataFrame, min_complete: int = MIN_COMPLETE) -> BestRule:
    """Whether ``points`` (``omib_core.sweeps.sweep_points`` rows: beta_over_Mu, seed, status, value) earn a best.

    A value is complete when every seed of the sweep (every seed among its runs) has a finished run with a value there.
    """
    if points is None or points.empty:
        return BestRule(
            False,
            (),
            f"The empirical best is shown once {min_complete} β/M_u values have finished for "
            "every seed; nothing has finished yet.",
        )
    p = points.assign(scale=points["beta_over_Mu"].map(_key))
    seeds = set(p["seed"].dropna())
    done = p.dropna(subset=["value"])
    by_scale = done.groupby("scale")["seed"].agg(lambda s: set(s.dropna()))
    complete = tuple(sorted(s for s, got in by_scale.items() if seeds and seeds <= got))
    if len(complete) >= min_complete:
        return BestRule(True, complete, "")
    progress = []
    for scale in sorted(p["scale"].unique()):
        n = len(by_scale.get(scale, set()) & seeds)
        progress.append(f"{scale:g}: {n} of {len(seeds)}")
    failed = sorted(p[p["status"].isin(UNSUCCESSFUL)]["scale"].unique())
    note = (
        f" β/M_u {', '.join(f'{s:g}' for s in failed)} cannot complete: a run there ended without a result."
        if failed
        else ""
    )
    return BestRule(
        False,
        complete,
        f"The empirical best is shown once {min_complete} β/M_u values have finished for every seed "
        f"({len(complete)} so far). Seeds finished per β/M_u: {'; '.join(progress)}.{note}",
    )


def complete_points(points: pd.DataFrame, rule: BestRule) -> pd.DataFrame:
    """The rows of ``points`` at the complete beta/M_u values (where the best is chosen)."""
    if points is None or points.empty or not rule.complete:
        return points.iloc[0:0] if points is not None else pd.DataFrame()
    return points[points["beta_over_Mu"].map(_key).isin(rule.complete)]
