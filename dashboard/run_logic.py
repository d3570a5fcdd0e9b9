"""What the Train and Runs pages say about a run, with no Streamlit in them: the schedule a config will get on its
data before it starts, and the two selections (best-val and last epoch) of a finished run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omib_core.config import RunConfig
from omib_core.errors import ConfigError, OmibError
from omib_core.train.schedule import Schedule, resolve_schedule

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

SELECTION_LABELS = {"best_val": "best-val epoch", "last": "last epoch"}


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
