"""Turn training events into files: ``history.csv`` and ``result.json``.

Pure file I/O, shared by the CLI and the worker. ``history.csv`` has one row per logged step or epoch event
(``kind, stage, epoch, step`` then one column per metric name, in first-seen order); ``result.json`` sums the
run up for tables and sweeps. ``events_to_rows`` gives the same events as run-store metric rows.

Events are told apart by class name (``event_type``), not ``isinstance``: importing ``omib_core.train`` pulls
in torch (seconds on a busy machine), and neither the run store, the server nor a worker's start-up should
wait for that. Any object with the fields of ``omib_core.train.events`` works.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omib_core.csvsafe import safe_row
from omib_core.fileio import atomic_open, atomic_write
from omib_core.paths import CHECKPOINT_FILE, HISTORY_FILE, RESULT_FILE
from omib_core.run_states import FINAL

if TYPE_CHECKING:
    from omib_core.train.events import EpochEvent, RunFailed, RunFinished, RunStarted, StepEvent

HISTORY_KEYS = ("kind", "stage", "epoch", "step")
RESULT_STATUSES = FINAL  # the statuses a result.json may record
# Every key of a run's result.json, in the order written (``Recorder.finish`` may add more, e.g. ``mlflow``).
RESULT_KEYS = (
    "status",
    "error",
    "dataset",
    "seed",
    "data_seed",
    "task",
    "modalities",
    "class_names",
    "device",
    "beta",
    "M_u",
    "M_l",
    "beta_over_Mu",
    "estimator",
    "r_final",
    "test_metrics",
    "val_metrics",
    "best_epoch",
    "last_test_metrics",
    "selection",
    "schedule",
    "reference",
    "information",
    "epochs_completed",
    "total_epochs",
    "step",
    "wall_seconds",
    "samples_per_second",
    "checkpoint_path",
    "config",
)
# The keys ``omib train`` prints after a run, and those of each run in a sweep's sweep.json.
SHOWN_RESULT_KEYS = (
    "dataset",
    "seed",
    "beta",
    "M_u",
    "beta_over_Mu",
    "estimator",
    "r_final",
    "test_metrics",
    "selection",
    "schedule",
    "reference",
    "information",
)
SWEEP_RESULT_KEYS = ("beta", "M_u", "status", "test_metrics", "last_test_metrics", "selection", "information")
_METRIC_KINDS = {"StepEvent": "step", "EpochEvent": "epoch"}


# helpers


def event_type(event: object) -> str:
    """The event's class name: ``"RunStarted"``, ``"StepEvent"``, ``"EpochEvent"``, ``"SnapshotEvent"``, ..."""
    return type(event).__name__


def jsonable(obj: Any) -> Any:
    """A copy of ``obj`` made of JSON types: dataclasses to dicts, tuples to lists, NaN/inf to None."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, (str, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "item"):  # numpy / torch scalars
        return jsonable(obj.item())
    return str(obj)


def selection(fin: Any) -> dict[str, Any]:
    """Both selections of a finished run side by side, whatever ``TrainConfig.select`` chose for ``test_metrics``:
    ``{"best_val": {"epoch", "val", "test"}, "last": {...}, "stopped_early"}`` (epochs 0-based, warm-up counted)."""
    return {
        "best_val": {
            "epoch": fin.best_val_epoch,
            "val": dict(fin.best_val_val_metrics),
            "test": dict(fin.best_val_test_metrics),
        },
        "last": {"epoch": fin.last_epoch, "val": dict(fin.last_val_metrics), "test": dict(fin.last_test_metrics)},
        "stopped_early": bool(fin.stopped_early),
    }


def write_json(path: str | Path, obj: Any) -> Path:
    """Write ``jsonable(obj)`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    return atomic_write(path, json.dumps(jsonable(obj), indent=2, allow_nan=False))


def events_to_rows(event: object, t: float | None = None) -> list[dict[str, Any]]:
    """Metric rows for the run store from one event (empty for events without metrics).

    Each row: ``kind`` ('step'|'epoch'), ``stage``, ``step``, ``epoch``, ``name``, ``value``, ``t``.
    """
    kind = _METRIC_KINDS.get(event_type(event))
    if kind is None:
        return []
    t = time.time() if t is None else t
    base = {"kind": kind, "stage": event.stage, "step": event.step, "epoch": event.epoch, "t": t}
    return [{**base, "name": name, "value": value} for name, value in event.metrics.items()]


def _with_prefix(metrics: Mapping[str, float], prefix: str) -> dict[str, float]:
    return {k[len(prefix) :]: v for k, v in metrics.items() if k.startswith(prefix)}


def _config_dict(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    return dict(config.to_dict() if hasattr(config, "to_dict") else config)


# main class


class Recorder:
    """Consume events with ``record`` and write ``history.csv`` / ``result.json`` with ``finish``.

    Args:
        out_dir: folder for the files (created).
        config: the run's ``RunConfig`` (or its dict), copied into ``result.json``.
    """

    def __init__(self, out_dir: str | Path, config: Any = None, tracking_tags: Mapping[str, Any] | None = None) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.config = _config_dict(config)
        self.started: RunStarted | None = None
        self.finished: RunFinished | None = None
        self.failed: RunFailed | None = None
        self.rows: list[dict[str, Any]] = []
        self.columns: dict[str, None] = {}  # metric names, first-seen order
        self.last_epoch: EpochEvent | None = None
        self.last_step: StepEvent | None = None
        self.last_info: EpochEvent | None = None  # the last epoch measuring information per latent block (info/...)
        self._t0 = time.monotonic()
        # MLflow, when MLFLOW_TRACKING_URI is set: a background thread, never in the way (omib_core/runs/tracking.py)
        from omib_core.runs.tracking import sink_for

        defaults = {"omib.name": self.out_dir.name, "omib.dataset": (self.config.get("data") or {}).get("dataset")}
        self.tracking = sink_for(self.config, {**defaults, **dict(tracking_tags or {})})

    @property
    def history_path(self) -> Path:
        return self.out_dir / HISTORY_FILE

    @property
    def result_path(self) -> Path:
        return self.out_dir / RESULT_FILE

    def record(self, event: Any) -> None:
        """Take one event; unknown event types are ignored."""
        name = event_type(event)
        if self.tracking is not None:
            self.tracking.record(event)
        if name == "RunStarted":
            self.started = event
        elif name in _METRIC_KINDS:
            row = {"kind": _METRIC_KINDS[name], "stage": event.stage, "epoch": event.epoch, "step": event.step}
            self.rows.append({**row, **event.metrics})
            self.columns.update(dict.fromkeys(event.metrics))
            if name == "EpochEvent":
                self.last_epoch = event
                if any(str(k).startswith("info/") for k in event.metrics):
                    self.last_info = event
            else:
                self.last_step = event
        elif name == "RunFinished":
            self.finished = event
        elif name == "RunFailed":
            self.failed = event

    def write_history(self) -> Path:
        """Write every row recorded so far to ``history.csv`` (atomically, text cells spreadsheet-safe); return its path."""
        with atomic_open(self.history_path, "w", newline="") as f:
            fields = [*HISTORY_KEYS, *self.columns]
            writer = csv.DictWriter(f, fieldnames=fields, restval="")
            writer.writerow(safe_row({k: k for k in fields}))  # the header, neutralised like every cell
            writer.writerows(safe_row(r) for r in self.rows)
        return self.history_path

    def _last_logged(self, name: str) -> float | None:
        for ev in (self.last_epoch, self.last_step):
            if ev is not None and name in ev.metrics:
                return ev.metrics[name]
        return None

    def result(self, status: str | None = None, error: str | None = None) -> dict[str, Any]:
        """The ``result.json`` dict; status defaults to what the events say (stopped when they say nothing)."""
        st, fin, failed = self.started, self.finished, self.failed
        status = status or ("finished" if fin else "failed" if failed else "stopped")
        epoch_metrics = self.last_epoch.metrics if self.last_epoch else {}
        modalities = list(st.modalities) if st else []
        r_final = (
            list(fin.r_final) if fin else [epoch_metrics[f"r/{m}"] for m in modalities if f"r/{m}" in epoch_metrics]
        )
        M_u = self._last_logged("M_u")
        beta_over_mu = self._last_logged("beta_over_Mu")
        sps = fin.samples_per_second if fin else self._last_logged("samples_per_second")
        data, train = self.config.get("data", {}), self.config.get("train", {})
        return jsonable(
            {
                "status": status,
                "error": error if error is not None else (failed.message if failed else None),
                "dataset": data.get("dataset"),
                "seed": train.get("seed"),
                "data_seed": data.get("seed"),
                "task": st.task if st else None,
                "modalities": modalities,
                "class_names": list(getattr(st, "class_names", ()) or ()) if st else [],
                "device": st.device if st else None,
                "beta": fin.beta if fin else (st.beta if st else None),
                "M_u": M_u if M_u is not None else (st.M_u if st else None),
                "M_l": st.M_l if st else None,
                "beta_over_Mu": beta_over_mu if beta_over_mu is not None else (st.beta_over_Mu if st else None),
                "estimator": st.estimator if st else None,
                "r_final": r_final,
                "test_metrics": dict(fin.test_metrics) if fin else _with_prefix(epoch_metrics, "test/"),
                "val_metrics": dict(fin.val_metrics) if fin else _with_prefix(epoch_metrics, "val/"),
                "best_epoch": getattr(fin, "best_epoch", None) if fin else None,
                "last_test_metrics": dict(getattr(fin, "last_test_metrics", {}) or {}) if fin else {},
                # both selections side by side, whatever TrainConfig.select chose for test_metrics
                "selection": selection(fin) if fin else {},
                "schedule": dict(st.schedule) if st else {},
                "reference": dict(st.reference) if st else {},
                "information": self.information(),
                "epochs_completed": self.last_epoch.epoch + 1 if self.last_epoch else 0,
                "total_epochs": st.total_epochs if st else None,
                "step": fin.step if fin else (max((r["step"] for r in self.rows), default=0)),
                "wall_seconds": fin.wall_seconds if fin else time.monotonic() - self._t0,
                "samples_per_second": sps,
                "checkpoint_path": fin.checkpoint_path if fin else None,
                "config": self.config,
            }
        )

    def information(self) -> dict[str, Any] | None:
        """The last measured information per latent block (simulated data only; None otherwise)."""
        if self.last_info is None:
            return None
        from omib_core.analysis.information import information_summary

        return information_summary(self.last_info.metrics, self.last_info.epoch)

    def finish(self, status: str | None = None, error: str | None = None, **extra: Any) -> dict[str, Any]:
        """Write ``history.csv`` and ``result.json`` (with ``extra`` keys added) and return the result dict."""
        if status is not None and status not in RESULT_STATUSES:
            raise ValueError(f"The result status must be one of {RESULT_STATUSES}. Got {status!r} instead.")
        self.write_history()
        result = {**self.result(status, error), **jsonable(extra)}
        write_json(self.result_path, result)
        if self.tracking is not None:  # after the files exist: they are its artifacts; waits FINISH_WAIT_S at most
            files = [self.history_path, self.result_path, self.out_dir / CHECKPOINT_FILE]
            result["mlflow"] = self.tracking.finish(result, files, result.get("status") or "stopped")
            self.tracking = None
            write_json(self.result_path, result)
        return result
