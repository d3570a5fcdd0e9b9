"""What the Sweep page works out about a sweep, with no Streamlit in it: the time a set of configs will take, the
reference lines and measured markers of its chart, its M_u, and each run's value at the chosen selection."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.charts.training import linear_label
from dashboard.demo import MEASURED_BY, MeasuredSweep
from omib_core.config import RunConfig
from omib_core.errors import OmibError
from omib_core.presets import preset_config

OPTIMAL_MIB_LABEL = (
    "ground-truth optimal MIB (an MLP given the true a0, a1, a2; from the views it needs unlimited data)"
)


def time_estimate(configs: list[RunConfig]) -> dict | None:
    """``omib_core.runs.grid_estimate.estimate_seconds(configs)`` (``{"seconds", "basis"}``), or None where this version of
    the core has no estimate (or cannot make one for these configs)."""
    try:
        from omib_core.paths import cache_dir
        from omib_core.runs.grid_estimate import estimate_seconds

        est = estimate_seconds(configs, cache_dir())  # draws already in the cache cost nothing
    except (ImportError, AttributeError, OmibError):
        return None
    seconds = est.get("seconds") if isinstance(est, dict) else None
    if not isinstance(seconds, (int, float)) or not np.isfinite(seconds) or seconds < 0:
        return None
    return {"seconds": float(seconds), "basis": str(est.get("basis") or "")}


def sweep_references(summaries: list[dict], metric: str) -> list[tuple[float, str]]:
    """Horizontal lines of the sweep chart: the SIM optimal-MIB accuracy and the linear model, when recorded."""
    ref = next((s.get("reference") for s in summaries if s.get("reference")), None) or {}
    out = []
    if metric == "accuracy" and ref.get("optimal_mib_accuracy") is not None:
        out.append((float(ref["optimal_mib_accuracy"]), OPTIMAL_MIB_LABEL))
    if ref.get(f"linear_test_{metric}") is not None:
        out.append((float(ref[f"linear_test_{metric}"]), linear_label(metric)))
    return out


def run_values(runs: list[dict], points: pd.DataFrame) -> list[float | None]:
    by_id = dict(zip(points["run_id"], points["value"])) if not points.empty else {}
    return [by_id.get(r["id"]) for r in runs]


def sweep_mu(runs: list[dict]) -> float | None:
    """The sweep's M_u: the median over its runs' summaries (one per data draw), or None before any is known."""
    mus = [s["M_u"] for s in ((r.get("summary") or {}) for r in runs) if s.get("M_u")]
    return float(np.median(mus)) if mus else None


def is_teaching(runs: list[dict]) -> bool:
    """Every run trains the teaching preset's data (so the benchmark's measurements of that preset apply)."""
    want = {k: v for k, v in preset_config("teaching").data.to_dict().items() if k != "seed"}
    return bool(runs) and all(
        {k: v for k, v in ((r.get("config") or {}).get("data") or {}).items() if k != "seed"} == want for r in runs
    )


def measured_markers(runs: list[dict], measured: MeasuredSweep | None) -> list[tuple[float, str]]:
    """Where the paper's MINE estimate of M_u falls on this sweep's β/M_u axis, as measured by bench/teach_sweep.py
    on the teaching preset; nothing for another experiment or before the benchmark has run."""
    if measured is None or "mine" not in measured.bounds or not is_teaching(runs):
        return []
    unit = sweep_mu(runs) or measured.M_u
    if not unit:
        return []
    mine = measured.bounds["mine"]
    return [(mine / unit, f"MINE M_u {mine:.3g} ({MEASURED_BY})")]
