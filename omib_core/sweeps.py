"""Beta sweeps, pure: the configs of a sweep, and its results aggregated per beta/M_u (the paper's Figure 3).

The one home of the sweep grid: the Sweep page and ``python -m omib_core sweep`` both call ``build_sweep``.

The default sweep (``teaching_sweep``) is the teaching preset over ``TEACHING_SCALES`` x 5 seeds. Results can be
read at the last epoch or at the best-validation epoch (``final_metric(select=...)``).

A sweep is one base ``RunConfig`` trained at several multiples of M_u (``train.beta_scale``), each with several
training seeds; its runs share one ``sweep_id`` in the run store. The empirical knee is the largest beta/M_u whose
mean test metric is within one standard deviation (of the best point) of the best mean: past it, accuracy falls.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from omib_core.config import RunConfig, TrainConfig
from omib_core.errors import ConfigError
from omib_core.params import is_finite, schema
from omib_core.presets import TEACHING_SCALES, preset_config

MAX_SWEEP_RUNS = 60  # runs one sweep may queue on the dashboard (the CLI trains in turn and passes no limit)
DEFAULT_SCALES = (0.01, 0.1, 1.0, 10.0)  # beta/M_u of a sweep of any other experiment than the teaching preset
TEACHING_SEEDS = 5  # seeds per beta/M_u of the default (teaching) sweep
# the sweep reads the last epoch first (it is the honest one to plot); the words are the declaration's
SELECT_LABELS = {k: schema(TrainConfig)["select"].labels[k] for k in ("last", "best_val")}
POINT_COLUMNS = ["run_id", "beta_over_Mu", "seed", "status", "value"]
AGG_COLUMNS = ["beta_over_Mu", "mean", "std", "n"]


# grids


def log_grid(lo: float, hi: float, n: int) -> list[float]:
    """``n`` log-spaced multiples of M_u from ``lo`` to ``hi``, rounded to 3 significant digits, 1.0 kept exact."""
    if not (isinstance(n, int) and n >= 1):
        raise ConfigError(f"A sweep needs at least one beta/M_u value. Got {n!r} points.")
    if not (lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi)):
        raise ConfigError(f"beta/M_u must be positive. Got the range {lo!r} to {hi!r}.")
    if lo > hi:
        lo, hi = hi, lo
    if n == 1:
        return [float(f"{lo:.3g}")]
    values = np.geomspace(lo, hi, n)
    return sorted({float(f"{v:.3g}") for v in values})


def parse_grid(text: str) -> list[float]:
    """A typed list of beta/M_u values ("0.1, 0.3, 1, 3") -> sorted unique floats; ConfigError with a sentence."""
    parts = [p for p in re.split(r"[,\s;]+", text.strip()) if p]
    if not parts:
        raise ConfigError("Type at least one beta/M_u value, for example: 0.1, 0.3, 1, 3, 10.")
    values = []
    for p in parts:
        try:
            v = float(p)
        except ValueError:
            raise ConfigError(f"{p!r} is not a number; type beta/M_u values separated by commas.") from None
        if not (v > 0 and math.isfinite(v)):
            raise ConfigError(f"beta/M_u must be a positive number. Got {p!r}.")
        values.append(v)
    return sorted(set(values))


# configs


def sweep_run_name(base_name: str, scale: float, seed: int) -> str:
    return f"{base_name} · β/M_u={scale:g} · seed {seed}"


def build_sweep(
    base: RunConfig,
    scales: Sequence[float],
    seeds: Sequence[int],
    name: str = "sweep",
    *,
    max_runs: int | None = MAX_SWEEP_RUNS,
    reseed_data: bool = False,
) -> list[tuple[str, RunConfig]]:
    """One (name, config) per beta/M_u value and training seed, beta set as ``scale * M_u``.

    Args:
        max_runs: the most runs the sweep may have (None: no limit).
        reseed_data: also draw the data split (and a synthetic dataset) with each seed, as ``train --seed`` does.

    Raises:
        ConfigError: no values, too many runs, or a base config in which beta plays no part.
    """
    scales = [float(s) for s in scales]
    seeds = [int(s) for s in seeds]
    if not scales or not seeds:
        raise ConfigError("A sweep needs at least one beta/M_u value and one seed.")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"The seeds of a sweep must differ. Got {seeds}.")
    n = len(scales) * len(seeds)
    if max_runs is not None and n > max_runs:
        raise ConfigError(
            f"This sweep would queue {n} runs; the limit is {max_runs}. Use fewer beta/M_u values or seeds."
        )
    if not base.model.bottleneck:
        raise ConfigError(
            "The base config has the bottleneck switched off, so beta has no effect; switch it on (on the Train page, "
            "or leave out --no-bottleneck and --baseline on the command line)."
        )
    out = []
    for scale in scales:
        for seed in seeds:
            train = base.train.replace(beta=None, beta_scale=scale, seed=seed)
            data = base.data.replace(seed=seed) if reseed_data else base.data
            out.append((sweep_run_name(name, scale, seed), base.replace(data=data, train=train)))
    return out


def default_scales(preset: str | None = None) -> list[float]:
    """The beta/M_u values of a sweep when none are given: ``TEACHING_SCALES`` for the teaching preset."""
    return [float(s) for s in (TEACHING_SCALES if preset == "teaching" else DEFAULT_SCALES)]


def teaching_sweep(n_seeds: int = TEACHING_SEEDS) -> tuple[RunConfig, list[float], list[int]]:
    """The default sweep: the teaching preset (SIM-TEACH) over ``TEACHING_SCALES`` x ``n_seeds`` training seeds."""
    base = preset_config("teaching")
    return base, [float(s) for s in TEACHING_SCALES], [base.train.seed + i for i in range(n_seeds)]


# results


def final_metric(run: Mapping[str, Any], metric: str, split: str = "test", select: str | None = None) -> float | None:
    """A finished run's final ``split`` metric from its stored result, or None.

    Args:
        select: ``None`` = the run's own choice (``test_metrics``); ``"last"`` = the last epoch
            (``selection.last`` or ``last_test_metrics``); ``"best_val"`` = the best-validation epoch
            (``selection.best_val``, or ``test_metrics`` of a run that selected by validation).
    """
    result = run.get("result") or {}
    candidates: list[Any]
    if select is None:
        candidates = [result.get(f"{split}_metrics"), result.get("metrics"), result]
    else:
        chosen = ((result.get("selection") or {}).get(select) or {}).get(split)
        if select == "last":
            candidates = [chosen, result.get(f"last_{split}_metrics")]
        else:
            own = ((run.get("config") or {}).get("train") or {}).get("select", "best_val")
            candidates = [chosen, result.get(f"{split}_metrics") if own == "best_val" else None]
    for d in candidates:
        if isinstance(d, Mapping):
            for key in (metric, f"{split}/{metric}"):
                v = d.get(key)
                if is_finite(v):
                    return float(v)
    return None


def run_scale(run: Mapping[str, Any]) -> float | None:
    """beta/M_u a run was queued with (its config's ``beta_scale``; None when beta was set by hand)."""
    train = (run.get("config") or {}).get("train") or {}
    if train.get("beta") is not None:
        return None
    scale = train.get("beta_scale")
    return float(scale) if scale is not None else None


def sweep_points(runs: Iterable[Mapping[str, Any]], metric: str, select: str | None = None) -> pd.DataFrame:
    """One row per run of a sweep: beta/M_u, seed, status and (finished runs only) the final test metric of the
    ``select`` epoch (see ``final_metric``)."""
    rows = []
    for run in runs:
        scale = run_scale(run)
        if scale is None:
            continue
        seed = ((run.get("config") or {}).get("train") or {}).get("seed")
        value = final_metric(run, metric, select=select) if run.get("status") == "finished" else None
        rows.append((run.get("id"), scale, seed, run.get("status"), np.nan if value is None else value))
    return pd.DataFrame(rows, columns=POINT_COLUMNS)


def aggregate(points: pd.DataFrame) -> pd.DataFrame:
    """Mean, sample std (0 for a single seed) and count of the finished values per beta/M_u, sorted by beta/M_u."""
    done = points.dropna(subset=["value"]) if not points.empty else points
    if done.empty:
        return pd.DataFrame(columns=AGG_COLUMNS)
    g = done.groupby("beta_over_Mu")["value"]
    out = pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1).fillna(0.0), "n": g.count()}).reset_index()
    return out[AGG_COLUMNS].sort_values("beta_over_Mu").reset_index(drop=True)


def empirical_knee(agg: pd.DataFrame, higher_better: bool = True) -> float | None:
    """Largest beta/M_u whose mean is within one std of the best mean (the best point's std); None when empty."""
    if agg is None or agg.empty:
        return None
    best_idx = agg["mean"].idxmax() if higher_better else agg["mean"].idxmin()
    best, tol = float(agg.loc[best_idx, "mean"]), float(agg.loc[best_idx, "std"])
    close = agg[(agg["mean"] - best).abs() <= tol + 1e-12]
    return float(close["beta_over_Mu"].max())


def empirical_best(agg: pd.DataFrame, higher_better: bool = True) -> float | None:
    """The beta/M_u with the best mean metric; None when nothing finished."""
    if agg is None or agg.empty:
        return None
    idx = agg["mean"].idxmax() if higher_better else agg["mean"].idxmin()
    return float(agg.loc[idx, "beta_over_Mu"])


def sweep_ids(runs: Iterable[Mapping[str, Any]]) -> list[str]:
    """Sweep ids in the order their newest run appears (runs come newest first)."""
    seen: list[str] = []
    for r in runs:
        sid = r.get("sweep_id")
        if sid and sid not in seen:
            seen.append(sid)
    return seen
