"""The demo experiments the Home page and teachers' links start from, and the measured teaching sweep."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from omib_core.config import RunConfig
from omib_core.presets import TEACHING_REGIMES, preset_config

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"
TEACH_SWEEP_REPORT = RESULTS / "teach_sweep.md"
TEACH_SWEEP_JSON = RESULTS / "teach_sweep.json"
MEASURED_BY = "bench/teach_sweep.py"
_BOUND = re.compile(r"(\w+) M_u = ([0-9.eE+-]+)")


def demo_config(beta_scale: float = 1.0) -> RunConfig:
    """The Home demo: the teaching preset (SIM-TEACH) at ``beta_scale`` x M_u, a snapshot every 2 epochs."""
    return preset_config("teaching", beta_scale=float(beta_scale), snapshot_every=2)


def regime_name(regime: str, scale: float) -> str:
    """The stored name of one run of the three-regime demo, e.g. 'Teaching demo · too little β (0.1 × M_u)'."""
    return f"Teaching demo · {regime} β ({scale:g} × M_u)"


def regimes_plan() -> list[tuple[str, RunConfig]]:
    """The three-regime demo as ``(name, config)`` pairs for ``submit_sweep``: ``TEACHING_REGIMES`` in order."""
    return [(regime_name(regime, scale), demo_config(scale)) for regime, scale in TEACHING_REGIMES.items()]


def teach_sweep_report(path: Path = TEACH_SWEEP_REPORT) -> str | None:
    """The benchmark's measured teaching sweep (markdown), or None before bench/teach_sweep.py has written it."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


@dataclass(frozen=True)
class MeasuredSweep:
    """What bench/teach_sweep.py measured on the teaching preset (dynamic r, last epoch, mean over seeds).

    ``bounds``: M_u per estimator (``{"gaussian": 0.000941, "mine": 0.0164}``); ``test`` and ``gap``: mean test
    accuracy and train-test gap per beta/M_u; ``best_scale``: the beta/M_u of the best mean test accuracy.
    """

    date: str
    seeds: int
    M_u: float | None  # noqa: N815 - the paper's name
    best_scale: float | None
    bounds: dict[str, float] = field(default_factory=dict)
    test: dict[float, float] = field(default_factory=dict)
    gap: dict[float, float] = field(default_factory=dict)

    @property
    def best_beta(self) -> float | None:
        return self.best_scale * self.M_u if self.best_scale and self.M_u else None


def measured_sweep(path: Path = TEACH_SWEEP_JSON) -> MeasuredSweep | None:
    """The teaching sweep as bench/teach_sweep.py wrote it (``bench/results/teach_sweep.json``), or None when the
    file is missing or unreadable: numbers shown in the app come from here, never from prose."""
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        tests: dict[float, list[float]] = {}
        gaps: dict[float, list[float]] = {}
        for run in d.get("runs", []):
            if run.get("status") != "finished" or not run["config"]["train"].get("dynamic_r", True):
                continue
            scale = float(f"{float(run['beta_over_Mu']):.6g}")
            test = float(run["last_test"]["accuracy"])
            tests.setdefault(scale, []).append(test)
            train = (run.get("last_epoch_metrics") or {}).get("train/accuracy")
            if train is not None:
                gaps.setdefault(scale, []).append(float(train) - test)
        bounds = {name: float(v) for name, v in _BOUND.findall(str(d.get("bounds", "")))}
        return MeasuredSweep(
            date=str((d.get("machine") or {}).get("date", "")),
            seeds=int(d.get("seeds", 0)),
            M_u=float(d["M_u"]) if d.get("M_u") else None,
            best_scale=float(d["best_scale"]) if d.get("best_scale") else None,
            bounds=bounds,
            test={k: sum(v) / len(v) for k, v in sorted(tests.items())},
            gap={k: sum(v) / len(v) for k, v in sorted(gaps.items())},
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
