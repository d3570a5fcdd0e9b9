"""What the pages work out about a run, with no Streamlit in them: the schedule a config will get on its data before
it starts, the two selections (best-val and last epoch) of a finished run, its primary metric, β/M_u and regime
verdict, its class names, whether its data are simulated, and its files (a snapshot as CSV, a file's age)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from dashboard.charts.runs import snapshot_frame
from omib_core.analysis.metrics import PRIMARY_METRIC
from omib_core.analysis.regime import live_state, verdict
from omib_core.config import ModelConfig, RunConfig, TrainConfig
from omib_core.csvsafe import safe_csv
from omib_core.errors import ConfigError, OmibError
from omib_core.params import Param, schema
from omib_core.run_states import ACTIVE
from omib_core.train.schedule import Schedule, resolve_schedule

# the step budgets a bound estimate offers
BOUND_STEPS = (100, 250, 500, 1000, 2000, 4000, 8000, 16000)

# the resolved schedule


def schedule_from_dict(d: Mapping[str, Any]) -> Schedule:
    """A stored ``Schedule.to_dict()`` (a run's ``summary["schedule"]``) back as a Schedule."""
    return Schedule.from_dict(dict(d))


def schedule_markdown(schedule: Schedule, lead: str) -> str:
    """One markdown paragraph: ``lead``, the schedule's one-line summary, and what the auto schedule changed."""
    text = f":material/schedule: **{lead}** {schedule.summary()}"
    if schedule.changes:
        text += "  \n:material/auto_fix_high: Auto changed " + "; ".join(schedule.changes) + "."
    return text


def preview_schedule(cfg: RunConfig) -> tuple[Schedule | None, str | None, int | None]:
    """``(schedule, error, n_fit)`` of ``cfg`` on its data before it starts.

    ``error`` is the ConfigError sentence of a schedule that cannot be honoured (Start must be refused); a
    dataset that cannot be loaded gives ``(None, None, None)``: the Data page reports that, and so does the run.
    """
    from dashboard.datasets import training_rows

    try:
        n_fit = training_rows(cfg.data)
    except ConfigError as e:  # over the server's limits: nothing was drawn, and Start must be refused
        return None, str(e), None
    except OmibError:
        return None, None, None
    try:
        return resolve_schedule(cfg.train, n_fit), None, n_fit
    except ConfigError as e:
        return None, str(e), n_fit


# the two selections of a finished run

SELECTION_LABELS = dict(schema(TrainConfig)["select"].labels)  # best-val first, as the run view lists them


def selections(result: Mapping[str, Any], metric: str) -> list[tuple[str, int | None, float | None]]:
    """``(label, epoch 1-based, test metric)`` for the best-validation and the last epoch of a finished run's result.

    Older results without ``selection`` give the last epoch from ``last_test_metrics`` when present, else nothing.
    """
    sel = result.get("selection") or {}
    out = []
    for key, label in SELECTION_LABELS.items():
        part = sel.get(key) or {}
        test = part.get("test") or (result.get("last_test_metrics") if key == "last" else None) or {}
        if metric not in test:
            continue
        epoch = part.get("epoch")
        value = test[metric]
        out.append((label, int(epoch) + 1 if epoch is not None else None, float(value) if value is not None else None))
    return out


# facts about a run


def primary_metric(run: Mapping[str, Any]) -> str:
    """The test metric a run is judged by: its task's primary metric, else the first one it recorded."""
    task = (run.get("summary") or {}).get("task")
    tests = (run.get("result") or {}).get("test_metrics") or {}
    metric = PRIMARY_METRIC.get(task, "accuracy")
    return metric if metric in tests or not tests else next(iter(tests))


def simulated(run: Mapping[str, Any]) -> bool:
    """A run on generated data (SIM-I/II/III, SIM-TEACH, ...), whose latent blocks are known."""
    dataset = ((run.get("config") or {}).get("data") or {}).get("dataset") or run.get("dataset") or ""
    return str(dataset).startswith("sim-")


def class_names_of(run: Mapping[str, Any]) -> list[str] | None:
    """The run's class names (issue 22: text labels), from its summary; None for numbered classes or old runs."""
    names = (run.get("summary") or {}).get("class_names") or (run.get("result") or {}).get("class_names")
    return [str(n) for n in names] if names else None


def beta_scale_of(run: Mapping[str, Any]) -> float | None:
    """The run's β as a multiple of M_u (``train.beta_scale``), or None for an absolute β."""
    s = ((run.get("config") or {}).get("train") or {}).get("beta_scale")
    return float(s) if s is not None else None


def status_line(run: Mapping[str, Any], final: dict, peers: list[dict]) -> tuple[str, str, str]:
    """(label, sentence, basis) shown under a run: its verdict once finished, its live state before."""
    status = run["status"]
    if status == "finished":
        linear = ((run.get("summary") or {}).get("reference") or {}).get("linear_test_accuracy")
        v = verdict(final, peers, linear)
        return v.label, v.sentence, v.basis
    if status in ACTIVE:
        return "training", live_state(run.get("epoch"), run.get("total_epochs"), final), ""
    if status == "queued":
        return "queued", "queued: waiting for a worker", ""
    return status, f"{status}: {run.get('error') or 'no verdict for a run that did not finish'}", ""


def nearest_steps(steps: int) -> int:
    """The offered step budget (``BOUND_STEPS``) nearest to ``steps``."""
    return min(BOUND_STEPS, key=lambda s: abs(s - steps))


# a run's files


def file_mtime(path: str) -> float:
    """The file's modification time (a cache key: a rewritten file is read again); 0 when it is gone."""
    try:
        return os.path.getmtime(path)
    except OSError:
        return 0.0


def snapshot_csv(path: str) -> str:
    """A snapshot file (``.npz``) as one CSV, one row per sample, safe to open in a spreadsheet."""
    with np.load(path, allow_pickle=False) as z:
        return safe_csv(snapshot_frame({k: z[k] for k in z.files}))


# the Train page's controls, as values (the widgets draw them; these are pure)

SECTIONS: dict[str, dict[str, Param]] = {"train": schema(TrainConfig), "model": schema(ModelConfig)}
# every parameter the page draws, with its section: each is declared once, in omib_core.config
CONTROLS: dict[str, tuple[str, Param]] = {
    name: (section, p) for section, params in SECTIONS.items() for name, p in params.items() if not p.hidden
}
PARAMS: dict[str, Param] = {name: p for name, (_, p) in CONTROLS.items()}
ADVANCED = [name for name, p in PARAMS.items() if p.advanced]
BETA_START = 1e-3  # the hand-set β offered when the config has none


def widget_values(cfg: RunConfig) -> dict[str, Any]:
    """The controls' values for ``cfg``: every drawn parameter, plus the β mode (β None = a multiple of M_u)."""
    values = {name: getattr(getattr(cfg, section), name) for name, (section, _) in CONTROLS.items()}
    values["beta_mode"] = "absolute" if cfg.train.beta is not None else "scale"
    values["beta"] = cfg.train.beta if cfg.train.beta is not None else BETA_START
    return values


def controls_snapshot(cfg: RunConfig) -> dict[str, Any]:
    """What the Train controls were last seeded from (or produced): a change outside them re-seeds them."""
    return {"train": cfg.train.to_dict(), "model": cfg.model.to_dict()}


def device_choices() -> dict[str, str]:
    from omib_core.device import available_devices

    labels = PARAMS["device"].labels
    return {d: labels.get(d, f"CUDA GPU {d[5:]}") for d in available_devices()}


def config_from_state(base: RunConfig, v: dict[str, Any]) -> RunConfig:
    """Pure: control values -> RunConfig (raises ConfigError for an impossible combination)."""
    sections: dict[str, dict[str, Any]] = {"train": base.train.to_dict(), "model": base.model.to_dict()}
    for name, (section, _) in CONTROLS.items():
        if name in v:
            sections[section][name] = v[name]
    sections["train"]["beta"] = v.get("beta") if v.get("beta_mode") == "absolute" else None
    return base.replace(train=TrainConfig.from_dict(sections["train"]), model=ModelConfig.from_dict(sections["model"]))
