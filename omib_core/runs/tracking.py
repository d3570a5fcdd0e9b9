"""Runs tracked in MLflow (issue 22), turned on by the standard ``MLFLOW_TRACKING_URI``.

``Recorder`` (the CLI, the worker, grid members, the Ray backend's worker) feeds every event to an ``MlflowSink``
when a tracking URI is set. The sink never fails or slows a run:

- the training thread only puts events on a bounded queue (``put_nowait``; when the queue is full, step events are
  dropped and counted, never waited for);
- one background thread creates the MLflow run, turns events into batches (``MlflowClient.log_batch``: at most 1,000
  metrics a call) and sends them, retrying a failed call (``RETRIES`` times, backing off from ``BACKOFF_S``);
  MLflow's own HTTP timeout and retries are shortened (``MLFLOW_HTTP_REQUEST_TIMEOUT`` = 5 s,
  ``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` = 1) unless the environment sets them;
- after a call fails through its retries the sink stops sending and keeps one sentence (``error``): one warning in
  the run's log, one line on the Train page; the run's own store and files are untouched;
- at the end ``finish`` queues the final metrics (both selections, the baselines), tags and artifacts
  (result.json, history.csv, the checkpoint: not for a run on a private upload) and waits at most
  ``FINISH_WAIT_S`` for the thread.

What is logged: the flattened config as params; every per-epoch and per-step series the Train page draws, with its
step; the final metrics of both selections (``best_val/...``, ``last/...``) and the references (``reference/...``);
tags ``omib.dataset``, ``omib.task``, ``omib.owner``, ``omib.device``, ``omib.version``, ``omib.run_id``,
``omib.link``. A sweep member is a child (MLflow's nested runs, ``mlflow.parentRunId``) of one parent run per
sweep, found by the tag ``omib.sweep_id``.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omib_core.env import env_text
from omib_core.params import is_finite
from omib_core.paths import CHECKPOINT_FILE, HISTORY_FILE, RESULT_FILE

log = logging.getLogger("omib.tracking")

EXPERIMENT = "OMIB Studio"
QUEUE_MAX = 20_000  # events waiting; beyond it step events are dropped (epoch and end events always go in)
BATCH = 1000  # MLflow's limit of metrics per log_batch call
RETRIES = 3
BACKOFF_S = 0.5
FINISH_WAIT_S = 15.0
_END = object()
_PARENTS: dict[tuple[str, str | None, str], str] = {}  # (uri, experiment, sweep id) -> the sweep's parent run
_PARENT_LOCK = threading.Lock()


def tracking_uri() -> str | None:
    """``MLFLOW_TRACKING_URI`` (MLflow's standard variable), None when unset."""
    return env_text("MLFLOW_TRACKING_URI") or None


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"train.beta_scale": "1.0", ...}``: nested config dicts as MLflow params (values as text, 500 chars)."""
    out: dict[str, str] = {}
    for k, v in config.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = (json.dumps(v, default=str) if not isinstance(v, str) else v)[:500]
    return out


def _metric_key(name: str) -> str:
    """MLflow keys allow letters, digits, ``_ - . / :`` and spaces; anything else becomes ``_``."""
    return "".join(c if c.isalnum() or c in "_-./: " else "_" for c in name)[:250]


def run_link(uri: str | None, experiment_id: str | None, run_id: str | None) -> str | None:
    """The MLflow UI's page of a run when the tracking URI is a server (http/https), else None."""
    if not (uri and experiment_id and run_id) or not uri.startswith(("http://", "https://")):
        return None
    return f"{uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


class MlflowSink:
    """Events in, an MLflow run out, from a background thread (see the module docstring).

    Args:
        uri: the tracking URI.
        config: the run's config dict (logged as params).
        tags: ``omib.*`` tags known at the start (run id, owner, name, sweep id, link, private).
    """

    def __init__(self, uri: str, config: Mapping[str, Any], tags: Mapping[str, Any]) -> None:
        self.uri = uri
        self.config = dict(config or {})
        from omib_core import __version__

        self.tags = {"omib.version": __version__, **{str(k): str(v) for k, v in tags.items() if v is not None}}
        self.private = str(tags.get("omib.private", "")).lower() == "true"
        self.run_id: str | None = None
        self.experiment_id: str | None = None
        self.error: str | None = None
        self.dropped = 0
        self._logged_at: dict[str, int] = {}  # metric -> the last step it was logged at (background thread only)
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_MAX)
        self._client: Any = None
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
        os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # stdout carries the CLI's JSON lines
        self._thread = threading.Thread(target=self._loop, name="omib-mlflow", daemon=True)
        self._thread.start()

    # the training thread's side: never blocks

    def record(self, event: Any) -> None:
        kind = type(event).__name__
        if kind not in ("RunStarted", "StepEvent", "EpochEvent", "RunFinished", "RunFailed"):
            return
        if self.error is not None or not self._thread.is_alive():
            return  # logging gave up: queueing more would only fill the queue and make epoch events wait
        try:
            self._queue.put_nowait(("event", event))
        except queue.Full:
            if kind == "StepEvent":
                self.dropped += 1
                return
            self._queue.put(("event", event), timeout=1.0)  # an epoch or end event: wait a moment, then drop

    def record_rows(self, rows: Any) -> None:
        """Store metric rows (``RunStore.read_metrics``: kind, step, name, value, finite, t) of a past run, for
        ``export_runs``; waits for room in the queue (an export has no training thread to protect)."""
        for r in rows.itertuples(index=False):
            if bool(r.finite):
                self._queue.put(("metric", (str(r.name), float(r.value), int(float(r.t) * 1000), int(r.step))))

    def finish(self, result: Mapping[str, Any], files: list[Path], status: str) -> dict[str, Any]:
        """Queue the end of the run and wait at most ``FINISH_WAIT_S``; returns ``result.json``'s ``mlflow`` entry."""
        if self._thread.is_alive():
            try:
                self._queue.put(("finish", (dict(result), list(files), status)), timeout=1.0)
                self._queue.put((_END, None), timeout=1.0)
            except queue.Full:
                self._fail("the MLflow queue stayed full")
        self._thread.join(FINISH_WAIT_S)
        if self._thread.is_alive() and self.error is None:
            self.error = f"MLflow logging had not finished after {FINISH_WAIT_S:.0f} s; the rest was dropped."
        if self.error:
            log.warning("MLflow: %s", self.error)
        return self.summary()

    def summary(self) -> dict[str, Any]:
        return {
            "tracking_uri": self.uri if "@" not in self.uri else "(hidden: it holds credentials)",
            "experiment_id": self.experiment_id,
            "run_id": self.run_id,
            "link": run_link(self.uri, self.experiment_id, self.run_id),
            "error": self.error,
            "dropped_steps": self.dropped,
        }

    # the background thread

    def _fail(self, why: str) -> None:
        if self.error is None:
            self.error = (
                f"{why}; this run was not (fully) logged to MLflow at {self._shown_uri()}. Training was not affected."
            )

    def _shown_uri(self) -> str:
        return self.uri if "@" not in self.uri else "the configured server"

    def _call(self, what: str, fn: Any, *args: Any, **kw: Any) -> Any:
        delay = BACKOFF_S
        for attempt in range(RETRIES):
            try:
                return fn(*args, **kw)
            except Exception as e:  # noqa: BLE001 - any failure of the tracking server is a sentence, never a crash
                if attempt == RETRIES - 1:
                    raise _Gave(f"MLflow refused or did not answer ({what}: {type(e).__name__}: {str(e)[:160]})") from e
                time.sleep(delay)
                delay *= 2
        return None

    def _loop(self) -> None:
        metrics: list[Any] = []
        try:
            self._start()
            while True:
                try:
                    kind, item = self._queue.get(timeout=0.5)
                except queue.Empty:
                    self._flush(metrics)
                    continue
                if kind is _END:
                    self._flush(metrics)
                    return
                if kind == "finish":
                    self._flush(metrics)
                    self._end(*item)
                    continue
                if kind == "metric":
                    from mlflow.entities import Metric

                    name, value, ts, step = item
                    metrics.append(Metric(_metric_key(name), value, ts, step))
                else:
                    metrics.extend(self._metrics_of(item))
                if len(metrics) >= BATCH:
                    self._flush(metrics)
        except _Gave as e:
            self._fail(str(e))
        except Exception as e:  # noqa: BLE001
            self._fail(f"MLflow logging stopped ({type(e).__name__}: {str(e)[:160]})")
        finally:  # drain, so the training thread never waits on a full queue after a failure
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break

    def _start(self) -> None:
        from mlflow.tracking import MlflowClient

        self._client = MlflowClient(tracking_uri=self.uri)
        name = env_text("MLFLOW_EXPERIMENT_NAME") or EXPERIMENT
        exp = self._call("experiment", self._client.get_experiment_by_name, name)
        if exp is not None:
            self.experiment_id = exp.experiment_id
        else:  # a sqlite store keeps artifacts beside its database, not in ./mlruns of whatever folder we run in
            where = _artifacts_beside(self.uri)
            self.experiment_id = self._call("experiment", self._client.create_experiment, name, artifact_location=where)
        tags = dict(self.tags)
        sweep = tags.get("omib.sweep_id")
        if sweep:
            tags["mlflow.parentRunId"] = self._parent(sweep)
        run = self._call(
            "create run", self._client.create_run, self.experiment_id, tags=tags, run_name=tags.get("omib.name")
        )
        self.run_id = run.info.run_id
        from mlflow.entities import Param

        params = [Param(k, v) for k, v in flatten(self.config).items()]
        for i in range(0, len(params), 100):
            self._call("params", self._client.log_batch, self.run_id, params=params[i : i + 100])

    def _parent(self, sweep_id: str) -> str:
        """One parent run per sweep: found by its tag, created when missing. Members in this process share it
        (a lock); a race between processes (grid shards) keeps the earliest parent and deletes the others."""
        key = (self.uri, self.experiment_id, sweep_id)
        with _PARENT_LOCK:
            if key in _PARENTS:
                return _PARENTS[key]
            query = f"tags.`omib.sweep_id` = '{sweep_id}' and tags.`omib.parent` = 'true'"

            def find() -> list[Any]:
                runs = self._call("parent", self._client.search_runs, [self.experiment_id], query, max_results=20)
                return sorted(runs, key=lambda r: (r.info.start_time or 0, r.info.run_id))

            found = find()
            if not found:
                tags = {"omib.sweep_id": sweep_id, "omib.parent": "true", "omib.owner": self.tags.get("omib.owner", "")}
                name = sweep_id if sweep_id.startswith("sweep") else f"sweep {sweep_id}"
                mine = self._call("parent", self._client.create_run, self.experiment_id, tags=tags, run_name=name)
                found = find()
                if found and found[0].info.run_id != mine.info.run_id:  # another process was first: keep its parent
                    self._call("parent", self._client.delete_run, mine.info.run_id)
            _PARENTS[key] = found[0].info.run_id
            return _PARENTS[key]

    def _metrics_of(self, event: Any) -> list[Any]:
        from mlflow.entities import Metric

        kind = type(event).__name__
        now = int(time.time() * 1000)
        if kind in ("StepEvent", "EpochEvent"):
            step, out = int(event.step), []
            for k, v in event.metrics.items():
                if not isinstance(v, (int, float)) or v != v or abs(v) == float("inf"):
                    continue
                if kind == "EpochEvent" and self._logged_at.get(k) == step:
                    continue  # an epoch event repeats the step series (loss, KL, r) at its last step: log it once
                self._logged_at[k] = step
                out.append(Metric(_metric_key(k), float(v), now, step))
            return out
        if kind == "RunStarted":
            tags = {"omib.task": event.task, "omib.device": event.device, "omib.modalities": ",".join(event.modalities)}
            from mlflow.entities import RunTag

            self._call("tags", self._client.log_batch, self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])
        return []

    def _flush(self, metrics: list[Any]) -> None:
        while metrics:
            chunk, metrics[:] = metrics[:BATCH], metrics[BATCH:]
            self._call("metrics", self._client.log_batch, self.run_id, metrics=chunk)

    def _end(self, result: dict[str, Any], files: list[Path], status: str) -> None:
        from mlflow.entities import Metric, RunTag

        now = int(time.time() * 1000)
        finals: dict[str, float] = {}
        for sel, metrics in (result.get("selection") or {}).items():
            for k, v in (metrics.get("test") or {}).items() if isinstance(metrics, Mapping) else ():
                finals[f"{sel}/test/{k}"] = v
        for k, v in (result.get("test_metrics") or {}).items():
            finals.setdefault(f"final/test/{k}", v)
        for k, v in (result.get("last_test_metrics") or {}).items():
            finals.setdefault(f"last/test/{k}", v)
        for k, v in (result.get("reference") or {}).items():
            finals[f"reference/{k}"] = v
        batch = [Metric(_metric_key(k), float(v), now, 0) for k, v in finals.items() if is_finite(v)]
        self._flush(batch)
        tags = [RunTag("omib.status", status)]
        if result.get("class_names"):
            tags.append(RunTag("omib.class_names", json.dumps(result["class_names"])[:5000]))
        self._call("tags", self._client.log_batch, self.run_id, tags=tags)
        for f in files:
            if f.is_file() and not (self.private and f.name == CHECKPOINT_FILE):
                self._call("artifact", self._client.log_artifact, self.run_id, str(f))
        state = {"finished": "FINISHED", "failed": "FAILED"}.get(status, "KILLED")
        self._call("end", self._client.set_terminated, self.run_id, state)
        parent = self.tags.get("omib.sweep_id") and _PARENTS.get(
            (self.uri, self.experiment_id, self.tags["omib.sweep_id"])
        )
        if parent:  # the sweep's run ends with its last member (each member's end moves its end time on)
            self._call("end", self._client.set_terminated, parent, "FINISHED")


def _artifacts_beside(uri: str) -> str | None:
    """``file:///dir/mlartifacts`` for ``sqlite:////dir/mlflow.db``; None (the server's default) otherwise."""
    if not uri.startswith("sqlite:///"):
        return None
    db = Path(uri.removeprefix("sqlite:///"))
    db = db if db.is_absolute() else Path.cwd() / db
    return (db.parent / "mlartifacts").as_uri()


class _Gave(Exception):
    """A tracking call failed through its retries."""


def sink_for(config: Mapping[str, Any], tags: Mapping[str, Any]) -> MlflowSink | None:
    """A sink when ``MLFLOW_TRACKING_URI`` is set and the MLflow client is installed, else None (a missing client
    is one warning, never an error)."""
    uri = tracking_uri()
    if not uri:
        return None
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:  # found, not imported: the import happens off the training thread
        log.warning("MLFLOW_TRACKING_URI is set but the mlflow client is not installed; runs are not tracked")
        return None
    return MlflowSink(uri, config, tags)


def export_runs(store: Any, run_ids: list[str], uri: str | None = None) -> list[dict[str, Any]]:
    """Log finished (or ended) runs from the store to MLflow, as if they were tracked live: config, every metric
    row with its step, the final metrics, tags and files (the checkpoint not for a private upload). Returns one
    ``{"run", "mlflow"}`` per run; a run that cannot be read is a sentence in its entry, never an exception."""
    uri = uri or tracking_uri()
    if not uri:
        from omib_core.errors import ConfigError

        raise ConfigError(
            "Set MLFLOW_TRACKING_URI to the tracking server (http://host:5000) or a store (sqlite:///path/mlflow.db) "
            "to export runs to."
        )
    out = []
    for rid in run_ids:
        run = store.get_run(rid)
        if run is None:
            out.append({"run": rid, "mlflow": {"error": f"no run {rid} in the store"}})
            continue
        folder = store.run_dir(rid)
        result = dict(run.get("result") or {})
        if (folder / RESULT_FILE).is_file():
            try:
                result = {**json.loads((folder / RESULT_FILE).read_text("utf-8")), **result}
            except ValueError:
                pass
        result.setdefault("class_names", (run.get("summary") or {}).get("class_names"))
        config = run.get("config") or {}
        dataset = str((config.get("data") or {}).get("dataset") or "")
        tags = {
            "omib.run_id": rid,
            "omib.name": run.get("name"),
            "omib.owner": run.get("owner"),
            "omib.dataset": dataset,
            "omib.task": (run.get("summary") or {}).get("task"),
            "omib.sweep_id": run.get("sweep_id"),
            "omib.private": str(upload_is_private(dataset)).lower(),
            "omib.link": f"train?run={rid}",
            "omib.exported": "true",
        }
        sink = MlflowSink(uri, config, tags)
        sink.record_rows(store.read_metrics(rid))
        files = [folder / HISTORY_FILE, folder / RESULT_FILE, folder / CHECKPOINT_FILE]
        out.append({"run": rid, "mlflow": sink.finish(result, files, str(run.get("status") or "stopped"))})
    return out


def upload_is_private(dataset: str) -> bool:
    """A run on an upload that is not shared: its checkpoint stays out of MLflow (issue 20's rule)."""
    if not dataset.startswith("upload:"):
        return False
    from omib_core.data.uploads import upload_path, uploads_public

    try:
        meta = json.loads((upload_path(dataset.removeprefix("upload:")) / "meta.json").read_text("utf-8"))
        return not (uploads_public() or meta.get("shared") is True)
    except Exception:  # noqa: BLE001 - unreadable or deleted: treat as private
        return True
