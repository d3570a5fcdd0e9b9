"""The demo experiments the Home page and teachers' links start from, and the measured teaching sweep."""

from __future__ import annotations

from pathlib import Path

from omib_core.config import RunConfig
from omib_core.presets import preset_config

TEACH_SWEEP_REPORT = Path(__file__).resolve().parents[1] / "bench" / "results" / "teach_sweep.md"


def demo_config(beta_scale: float = 1.0) -> RunConfig:
    """The Home demo: the teaching preset (SIM-TEACH) at ``beta_scale`` x M_u, a snapshot every 2 epochs."""
    return preset_config("teaching", beta_scale=float(beta_scale), snapshot_every=2)


def teach_sweep_report(path: Path = TEACH_SWEEP_REPORT) -> str | None:
    """The benchmark's measured teaching sweep (markdown), or None before bench/teach_sweep.py has written it."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None
