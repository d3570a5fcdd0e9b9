"""The Ray backend: train runs execute on an existing Ray cluster, and the scheduler records what they report.

Switched on by ``OMIB_RAY_ADDRESS`` (``host:port`` of the cluster's head, as ``ray start --head`` prints it, or
``ray://host:10001`` for Ray Client); without it runs stay local subprocesses. ``OMIB_RAY_ADDRESS=local`` starts a
private Ray on this machine (benchmarks).

How a run travels:

- The scheduler keeps the store. For each train run it takes a ``RunActor`` (a Ray actor, ``num_cpus`` = the
  run's torch threads, ``num_gpus`` = 1 for ``device="cuda"``; a CPU actor that ended its last run cleanly is
  reused for the next run of the same shape, and killed after ``POOL_IDLE_SECONDS`` without one) and a thread in its own process that runs the usual
  ``Worker`` over a *remote event iterator*: each ``next`` asks the actor for the events up to the next epoch end
  (``RunActor.pull``). The worker records them exactly as for a local run (metric batches, epoch counter,
  history.csv, the final status), so pause, step, resume, stop and delete behave as they do locally: pause simply
  stops pulling (the actor's generator waits), stop closes the generator (a stop not honoured in time kills the
  actor). Remote workers never open the SQLite file.
- Snapshots and the checkpoint are written by the actor in a scratch folder, read back as bytes in the same pull
  and written by the scheduler into the run's folder; the event's path is rewritten to the local file.
- A Ray worker process or node that dies raises ``RayActorError`` on the next pull: the run ends ``interrupted``
  with its metrics kept (``RemoteWorkerLost``). The scheduler's heartbeat rules still apply: the worker thread beats
  the run's heartbeat, and a dead scheduler leaves the run to be marked interrupted by the next one (its actors are
  owned by it and die with it).
- Data: generated datasets regenerate from their config on the node; bundled ones come from the installed package;
  an upload (``upload:<id>``) is read by the scheduler and shipped through Ray's object store (``ray.put``) into a
  scratch ``OMIB_DATA_DIR`` on the node; admin datasets (``OMIB_DATASETS_DIR``) and folder paths are read from a path
  that must be the same on every node (a shared mount the admin configures; the variable is passed on).

Ray APIs used: ``ray.init`` (connect), ``ray.remote`` actors with ``num_cpus`` / ``num_gpus`` (placement and GPU
visibility), actor method calls + ``ray.get`` with a timeout (a pull per epoch: the scheduler decides when the
next events are computed, which is what pause and step need; a streaming generator would run ahead), ``ray.put``
(upload bytes), ``ray.kill`` (stop), ``ray.cluster_resources`` (GPU check, default concurrency).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from omib_core.config import RunConfig
from omib_core.env import env_text
from omib_core.errors import ConfigError, OmibError
from omib_core.fileio import atomic_write
from omib_core.paths import CACHE_FOLDER, ray_scratch_dir, uploads_dir
from omib_core.runs.store import RunStore
from omib_core.runs.worker import Worker, WorkerLost, _default_train, load_source

log = logging.getLogger(__name__)

RAY_ADDRESS_ENV = "OMIB_RAY_ADDRESS"
PULL_SECONDS = 0.5  # longest an actor gathers events before answering a pull (live charts stay live)
PULL_MAX_EVENTS = 256
PULL_TIMEOUT = 600.0  # seconds a pull may take (a slow epoch); a dead actor answers at once with an error
POOL_IDLE_SECONDS = 30.0  # an actor between runs keeps its CPUs this long, waiting for the next run of a sweep
FORWARDED_ENV = ("OMIB_DATASETS_DIR", "OMIB_FOLDER_DATASETS", "OMIB_MAX_RUN_MEMORY_MB")


class RemoteWorkerLost(WorkerLost):
    """The Ray worker (or node) running a run died; the run is interrupted, its metrics kept."""


class ClusterUnreachable(ConfigError):
    """``OMIB_RAY_ADDRESS`` names a cluster that does not answer."""


# helpers


def ray_address() -> str | None:
    """``$OMIB_RAY_ADDRESS`` stripped, or None when runs stay local."""
    return env_text(RAY_ADDRESS_ENV) or None


def backend_from_env() -> RayBackend | None:
    """The Ray backend of ``$OMIB_RAY_ADDRESS``, or None (local subprocesses)."""
    address = ray_address()
    return RayBackend(address) if address else None


def unreachable_message(address: str, reason: str, outcome: str = "The run was not queued") -> str:
    return (
        f"{outcome}: the Ray cluster at {address} (OMIB_RAY_ADDRESS) does not answer ({reason}). Start it "
        "(`ray start --head` on its head node), fix the address, or unset OMIB_RAY_ADDRESS to run on this server."
    )


def check_reachable(address: str, timeout: float = 3.0, outcome: str = "The run was not queued") -> None:
    """A TCP connect to the head's port (cheap: the web replicas never import ray); ``ClusterUnreachable`` if not."""
    if address in ("local", "auto"):
        return
    hostport = address.removeprefix("ray://").rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterUnreachable(unreachable_message(address, "it is not host:port or ray://host:port", outcome))
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise ClusterUnreachable(unreachable_message(address, exc.strerror or type(exc).__name__, outcome)) from None


def event_to_wire(event: Any) -> tuple[str, dict[str, Any]]:
    """(class name, shallow field dict) of an event: plain values only cross the wire, never our classes."""
    return type(event).__name__, {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}


def event_from_wire(kind: str, fields: Mapping[str, Any]) -> Any:
    from omib_core.train import events  # the event classes import without torch

    return getattr(events, kind)(**fields)


def resources(config: RunConfig, threads: int | None) -> dict[str, float]:
    """The Ray resources of a run: its torch threads as CPUs, one GPU when it asks for CUDA."""
    cpus = threads or config.train.num_threads or 1
    return {"num_cpus": float(cpus), "num_gpus": 1.0 if str(config.train.device).startswith("cuda") else 0.0}


def upload_files(config: RunConfig) -> dict[str, bytes] | None:
    """The files of the run's upload (``upload:<id>``) as bytes, to ship through the object store; None otherwise."""
    from omib_core.data.registry import UPLOAD_PREFIX

    dataset = config.data.dataset
    if not isinstance(dataset, str) or not dataset.startswith(UPLOAD_PREFIX):
        return None
    from omib_core.data.uploads import upload_path

    folder = upload_path(dataset.removeprefix(UPLOAD_PREFIX))
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# the remote side


class RunActor:
    """Runs on a Ray node, one at a time: the event generator, pulled an epoch at a time by the scheduler.

    An actor that ended a run cleanly goes back to the backend's pool and takes the next run of the same shape
    (``start`` resets the environment it changed), so a sweep pays the worker start and the imports once per slot,
    not once per run.
    """

    def __init__(self) -> None:
        self.base_env = dict(os.environ)
        self.events: Iterator[Any] | None = None
        self.scratch: Path | None = None
        self.grid: Any = None

    def start(
        self,
        config: dict[str, Any],
        run_id: str,
        source: str | None,
        env: Mapping[str, str],
        upload: Mapping[str, bytes] | None,
    ) -> dict[str, Any]:
        """Begin a run; returns ``where()``.

        Args:
            config: the ``RunConfig`` dict (device and threads already decided by the scheduler).
            run_id: the run (names the scratch folder only).
            source: ``"module:callable"`` replacing ``omib_core.train.train`` (tests), or None.
            env: environment variables to set in this worker process (``FORWARDED_ENV``).
            upload: ``{relative path: bytes}`` of the run's upload, from the object store, or None.
        """
        os.environ.clear()
        os.environ.update({**self.base_env, **env})
        self.scratch = ray_scratch_dir(run_id)
        if upload is not None:  # a scratch data dir holding just this upload: load_dataset finds it there
            dataset = str(config["data"]["dataset"])
            folder = uploads_dir(self.scratch / "data", create=False) / dataset.split(":", 1)[1]
            for rel, data in upload.items():
                (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                (folder / rel).write_bytes(data)
            os.environ["OMIB_DATA_DIR"] = str(self.scratch / "data")
        self.out_dir = self.scratch / "out"
        self.out_dir.mkdir()
        cfg = RunConfig.from_dict(config)
        train = load_source(source) if source else _default_train
        self.events = iter(train(cfg, out_dir=self.out_dir, cache_dir=self.scratch / CACHE_FOLDER))
        return self.where()

    def start_grid(
        self,
        configs: list[dict[str, Any]],
        run_ids: list[str],
        env: Mapping[str, str],
        upload: Mapping[str, bytes] | None,
    ) -> dict[str, Any]:
        """Begin a grid job (``omib_core.train.grid``): every member trains here, as one model; returns ``where()``.

        Member g's snapshots and checkpoint go to ``out/<g>/`` (read back as bytes by ``pull``)."""
        from omib_core.train.grid import GridTrainer

        os.environ.clear()
        os.environ.update({**self.base_env, **env})
        self.scratch = ray_scratch_dir(run_ids[0], grid=True)
        if upload is not None:
            dataset = str(configs[0]["data"]["dataset"])
            folder = uploads_dir(self.scratch / "data", create=False) / dataset.split(":", 1)[1]
            for rel, data in upload.items():
                (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                (folder / rel).write_bytes(data)
            os.environ["OMIB_DATA_DIR"] = str(self.scratch / "data")
        self.out_dir = self.scratch / "out"
        dirs = [self.out_dir / str(g) for g in range(len(configs))]
        for d in dirs:
            d.mkdir(parents=True)
        self.grid = GridTrainer([RunConfig.from_dict(c) for c in configs], dirs, cache_dir=self.scratch / CACHE_FOLDER)
        self.events = self.grid.run()
        return self.where()

    def pull_grid(self, max_events: int = PULL_MAX_EVENTS, max_seconds: float = PULL_SECONDS) -> tuple[list, bool]:
        """The grid's next events ``[(member, kind, fields, files), ...]``, ``done``; an empty batch while every member
        left is paused (the scheduler resumes one first)."""
        out, start = [], time.monotonic()
        while len(out) < max_events and not self.grid.waiting:
            try:
                g, event = next(self.events)
            except StopIteration:
                return out, True
            if event is None:
                break
            kind, fields = event_to_wire(event)
            out.append((g, kind, fields, self._files(kind, fields)))
            if time.monotonic() - start >= max_seconds:
                break
        return out, False

    def control(self, action: str, g: int) -> None:
        """``pause`` / ``resume`` / ``stop`` member g of the grid."""
        getattr(self.grid, action)(g)

    def where(self) -> dict[str, Any]:
        """Node address, node id, worker pid and the GPUs Ray gave this actor."""
        import ray

        node_id = ray.get_runtime_context().get_node_id()
        node = next((n for n in ray.nodes() if n["NodeID"] == node_id), {})  # the address the node joined with
        return {
            "node": node.get("NodeManagerAddress") or ray.util.get_node_ip_address(),
            "node_id": node_id,
            "pid": os.getpid(),
            "gpus": [str(g) for g in ray.get_gpu_ids()],
        }

    def pull(self, max_events: int = PULL_MAX_EVENTS, max_seconds: float = PULL_SECONDS) -> tuple[list, bool]:
        """Events up to and including the next epoch end (or ``max_events`` / ``max_seconds``), with file bytes.

        Returns ``([(kind, fields, {relpath: bytes}), ...], done)``; ``done`` once the generator is exhausted.
        """
        out, start = [], time.monotonic()
        while len(out) < max_events:
            try:
                event = next(self.events)
            except StopIteration:
                return out, True
            kind, fields = event_to_wire(event)
            out.append((kind, fields, self._files(kind, fields)))
            if kind in ("EpochEvent", "RunFinished", "RunFailed") or time.monotonic() - start >= max_seconds:
                break
        return out, False

    def close(self) -> None:
        """Close the generator (GeneratorExit inside train) and remove the scratch folder; ready for another run."""
        close = getattr(self.events, "close", None)
        if close is not None:
            close()
        self.events = None
        self.grid = None
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
        self.scratch = None

    def _files(self, kind: str, fields: Mapping[str, Any]) -> dict[str, bytes]:
        path = fields.get("path") if kind == "SnapshotEvent" else fields.get("checkpoint_path")
        if kind not in ("SnapshotEvent", "RunFinished") or not path:
            return {}
        p = Path(path)
        return {str(p.resolve().relative_to(self.out_dir.resolve())): p.read_bytes()}


# the scheduler's side


class RayBackend:
    """The scheduler's connection to a Ray cluster (connects on first use, once per process).

    Args:
        address: ``OMIB_RAY_ADDRESS``; ``"local"`` starts a private Ray on this machine.
    """

    def __init__(self, address: str) -> None:
        self.address = address
        self._lock = threading.Lock()
        self._actor_cls: Any = None
        self.placements: list[float] = []  # seconds from asking for a run's actor to its answer (dispatch latency)
        self._idle: list[tuple[float, float, Any]] = []  # (cpus, idle since, actor): CPU actors between runs
        self.reused = 0  # runs that started on a pooled actor

    def check(self) -> None:
        """At submit: refuse with a sentence when the cluster does not answer (no ray import here)."""
        check_reachable(self.address)

    def connect(self) -> Any:
        """``import ray`` and ``ray.init`` once; returns the remote ``RunActor`` class."""
        with self._lock:
            if self._actor_cls is not None:
                return self._actor_cls
            check_reachable(self.address, outcome="Queued runs wait")
            try:
                import ray
            except ImportError:
                raise OmibError(
                    f"OMIB_RAY_ADDRESS is set ({self.address}) but Ray is not installed for {sys.executable}; "
                    "install it (pip install ray==2.60.0, as in requirements-dev.txt) or unset OMIB_RAY_ADDRESS. "
                    "Queued runs wait."
                ) from None

            if not ray.is_initialized():
                kwargs: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
                if self.address != "local":
                    kwargs["address"] = self.address
                ray.init(**kwargs)
            self._actor_cls = ray.remote(max_restarts=0, max_task_retries=0)(RunActor)
            return self._actor_cls

    def cpus(self) -> int:
        """CPUs of the cluster (the default number of runs at once)."""
        import ray

        self.connect()
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def gpus(self) -> int:
        import ray

        self.connect()
        return int(ray.cluster_resources().get("GPU", 0))

    def launch(
        self,
        store: RunStore,
        run: Mapping[str, Any],
        *,
        source: str | None = None,
        threads: int | None = None,
        heartbeat_interval: float | None = None,
        max_seconds: float | None = None,
        device: str | None = None,
    ) -> RayRun:
        """Start a run: a ``Worker`` thread in this process over the events of a ``RunActor`` on the cluster."""
        handle = RayRun()

        def remote_train(config: RunConfig, *, out_dir: Path, cache_dir: Path) -> Iterator[Any]:
            return self.events(handle, run["id"], config, out_dir, source, threads)

        kwargs: dict[str, Any] = {"heartbeat_interval": heartbeat_interval} if heartbeat_interval else {}
        worker = Worker(store, run["id"], None, remote_train, threads, max_seconds=max_seconds, device=device, **kwargs)
        return _start_thread(handle, worker.run, f"omib-ray-{run['id']}")

    def events(
        self, handle: RayRun, run_id: str, config: RunConfig, out_dir: Path, source: str | None, threads: int | None
    ) -> Iterator[Any]:
        """Start the run's actor and yield its events, writing the files they carry under ``out_dir``."""
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

        actor_cls = self.connect()
        res = resources(config, threads)
        if res["num_gpus"] and self.gpus() == 0:
            raise OmibError(
                f"This run asks for a GPU (device={config.train.device!r}) but the Ray cluster at {self.address} has "
                "none; set device to auto or cpu, or add a GPU node to the cluster."
            )
        env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
        upload = upload_files(config)
        upload_ref = ray.put(upload) if upload is not None else None  # the bytes travel once, via the object store
        asked = time.monotonic()
        pooled = self._take(res["num_cpus"]) if not res["num_gpus"] else None
        actor = handle.actor = pooled or actor_cls.options(**res).remote()
        released = stopped = False
        try:
            try:
                start_args = (config.to_dict(), run_id, source, env, upload_ref)
                try:
                    handle.where = ray.get(actor.start.remote(*start_args), timeout=PULL_TIMEOUT)
                except RayActorError:
                    if pooled is None:
                        raise
                    actor = handle.actor = actor_cls.options(**res).remote()  # the idle one died: a fresh one
                    handle.where = ray.get(actor.start.remote(*start_args), timeout=PULL_TIMEOUT)
                self.placements.append(time.monotonic() - asked)
                self.reused += pooled is not None and actor is pooled
            except (RayActorError, RayTaskError) as exc:
                raise RemoteWorkerLost(start_failure_message(self.address, exc)) from None
            log.info("run %s runs on Ray node %s (pid %s)", run_id, handle.where["node"], handle.where["pid"])
            while True:
                try:
                    batch, done = ray.get(actor.pull.remote(), timeout=PULL_TIMEOUT)
                except RayActorError as exc:
                    raise RemoteWorkerLost(lost_message(self.address, exc)) from None
                except GetTimeoutError:
                    raise RemoteWorkerLost(lost_message(self.address, "no answer")) from None
                except RayTaskError as exc:
                    raise exc.as_instanceof_cause() from None  # the training's own error: the worker words it
                if done or any(kind in ("RunFinished", "RunFailed") for kind, _, _ in batch):
                    # the run ended as train() ends runs: free the actor before the worker records the end, so the
                    # next queued run (started once this one is marked finished) finds it in the pool
                    released = True
                    self._release(actor, res, reusable=not handle.killed)
                for kind, fields, files in batch:
                    fields = land(kind, fields, {out_dir / rel: data for rel, data in files.items()}, handle)
                    try:
                        yield event_from_wire(kind, fields)
                    except GeneratorExit:  # the worker closed us: a stop (the actor closes cleanly: reusable)
                        stopped = True
                        raise
                if done:
                    return
        finally:  # stop, error or lost: close the generator there; a clean CPU actor goes back to the pool
            if not released:
                self._release(actor, res, reusable=stopped and not handle.killed)

    def launch_grid(
        self,
        store: RunStore,
        runs: list[Mapping[str, Any]],
        *,
        threads: int | None = None,
        heartbeat_interval: float | None = None,
        max_seconds: float | None = None,
        device: str | None = None,
    ) -> RayRun:
        """Start a grid job on one actor: a ``GridWorker`` thread here over the actor's grid (``RemoteGrid``)."""
        from omib_core.runs.grid_worker import GridWorker

        handle = RayRun()

        def engine(configs: list[RunConfig], dirs: list[Path], cache: Path) -> RemoteGrid:
            if device is not None:
                configs = [c.replace(train=c.train.replace(device=device)) for c in configs]
            return RemoteGrid(self, handle, configs, [r["id"] for r in runs], dirs, threads)

        kwargs: dict[str, Any] = {"heartbeat_interval": heartbeat_interval} if heartbeat_interval else {}
        worker = GridWorker(
            store, [r["id"] for r in runs], None, threads, max_seconds=max_seconds, engine=engine, **kwargs
        )
        return _start_thread(handle, worker.run, f"omib-ray-grid-{runs[0]['id']}")

    def _release(self, actor: Any, res: Mapping[str, float], reusable: bool) -> None:
        """Close the actor's run; back to the pool when it closed cleanly and holds no GPU, else kill it."""
        import ray

        try:
            ray.get(actor.close.remote(), timeout=10)
        except Exception:
            reusable = False
        if reusable and not res["num_gpus"]:
            self._give_back(res["num_cpus"], actor)
        else:
            ray.kill(actor)

    def _take(self, cpus: float) -> Any:
        """An idle actor of this shape, else None (idle actors of other shapes are killed to free their CPUs)."""
        import ray

        with self._lock:
            match = next((entry for entry in self._idle if entry[0] == cpus), None)
            if match is None:
                others, self._idle = self._idle, []
            else:
                others, self._idle = [], [entry for entry in self._idle if entry is not match]
        for _, _, actor in others:
            ray.kill(actor)
        return match[2] if match else None

    def _give_back(self, cpus: float, actor: Any) -> None:
        with self._lock:
            self._idle.append((cpus, time.monotonic(), actor))
        timer = threading.Timer(POOL_IDLE_SECONDS + 0.5, self.reap_idle)
        timer.daemon = True
        timer.start()

    def reap_idle(self, max_idle: float = POOL_IDLE_SECONDS) -> int:
        """Kill the pooled actors idle for more than ``max_idle`` seconds (they hold cluster CPUs); returns how many."""
        now = time.monotonic()
        with self._lock:
            old = [entry for entry in self._idle if now - entry[1] >= max_idle]
            self._idle = [entry for entry in self._idle if now - entry[1] < max_idle]
        if old:
            import ray

            for _, _, actor in old:
                ray.kill(actor)
        return len(old)


class RemoteGrid:
    """A grid job's engine on a Ray actor, as ``GridWorker`` drives one: ``run()`` yields ``(member, event)`` (the files
    an event carries written under the member's folder here), and ``pause`` / ``resume`` / ``stop`` / ``waiting``."""

    def __init__(
        self,
        backend: RayBackend,
        handle: RayRun,
        configs: list[RunConfig],
        run_ids: list[str],
        dirs: list[Path],
        threads,
    ) -> None:
        import ray
        from ray.exceptions import RayActorError, RayTaskError

        self.backend, self.handle, self.dirs = backend, handle, dirs
        self.frozen: set[int] = set()
        self.done: set[int] = set()
        actor_cls = backend.connect()
        res = resources(configs[0], threads)
        if res["num_gpus"] and backend.gpus() == 0:
            raise OmibError(
                f"This grid asks for a GPU (device={configs[0].train.device!r}) but the Ray cluster at "
                f"{backend.address} has none; set device to auto or cpu, or add a GPU node to the cluster."
            )
        env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
        upload = upload_files(configs[0])
        upload_ref = ray.put(upload) if upload is not None else None
        self.actor = handle.actor = actor_cls.options(**res).remote()  # a grid gets an actor of its own
        try:
            args = ([c.to_dict() for c in configs], run_ids, env, upload_ref)
            handle.where = ray.get(self.actor.start_grid.remote(*args), timeout=PULL_TIMEOUT)
        except (RayActorError, RayTaskError) as exc:
            raise RemoteWorkerLost(start_failure_message(backend.address, exc)) from None
        log.info("grid of %d runs on Ray node %s (pid %s)", len(configs), handle.where["node"], handle.where["pid"])

    @property
    def waiting(self) -> bool:
        going = [g for g in range(len(self.dirs)) if g not in self.done]
        return bool(going) and all(g in self.frozen for g in going)

    def _control(self, action: str, g: int) -> None:
        import ray

        try:
            ray.get(self.actor.control.remote(action, g), timeout=PULL_TIMEOUT)
        except Exception as exc:  # a dead actor: the next pull says so
            log.warning("grid control %s %s: %s", action, g, exc)

    def pause(self, g: int) -> None:
        self.frozen.add(g)
        self._control("pause", g)

    def resume(self, g: int) -> None:
        self.frozen.discard(g)
        self._control("resume", g)

    def stop(self, g: int) -> None:
        self.done.add(g)
        self._control("stop", g)

    def run(self) -> Iterator[tuple[int, Any]]:
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

        try:
            while True:
                try:
                    batch, done = ray.get(self.actor.pull_grid.remote(), timeout=PULL_TIMEOUT)
                except RayActorError as exc:
                    raise RemoteWorkerLost(lost_message(self.backend.address, exc)) from None
                except GetTimeoutError:
                    raise RemoteWorkerLost(lost_message(self.backend.address, "no answer")) from None
                except RayTaskError as exc:
                    raise exc.as_instanceof_cause() from None
                for g, kind, fields, files in batch:  # member g's files come back under "<g>/"
                    local = {self.dirs[g] / Path(rel).relative_to(str(g)): data for rel, data in files.items()}
                    fields = land(kind, fields, local, self.handle)
                    if kind in ("RunFinished", "RunFailed"):
                        self.done.add(g)
                    yield g, event_from_wire(kind, fields)
                if done:
                    return
                if not batch:
                    yield -1, None  # every member left is paused: the worker waits for a resume
        finally:
            import ray as _ray

            try:
                _ray.get(self.actor.close.remote(), timeout=10)
            except Exception:
                pass
            _ray.kill(self.actor)


class RayRun:
    """A Ray run as the job launcher sees it: ``poll`` / ``terminate`` / ``kill`` like a ``subprocess.Popen``."""

    pid = -1  # the run row holds the scheduler's pid: never match a launcher's process by it

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        self.actor: Any = None
        self.where: dict[str, Any] = {}
        self.killed = False

    def poll(self) -> int | None:
        """None while the worker thread runs, else 0."""
        return None if self.thread is not None and self.thread.is_alive() else 0

    def terminate(self) -> None:
        """Kill the actor (a stop not honoured in time); the worker thread then ends the run."""
        self.killed = True
        if self.actor is not None:
            import ray

            ray.kill(self.actor)

    kill = terminate


def land(kind: str, fields: Mapping[str, Any], files: Mapping[Path, bytes], handle: RayRun) -> dict[str, Any]:
    """An event's fields as recorded here: the files it carried written (atomically) to their local paths and its
    path rewritten to the local file; a RunStarted's device names the node it runs on."""
    fields = dict(fields)
    for local, data in files.items():
        local.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(local, data)
        fields["path" if kind == "SnapshotEvent" else "checkpoint_path"] = str(local)
    if kind == "RunStarted":  # where it runs, for every view that shows the device
        fields["device"] = f"{fields['device']} @ {handle.where['node']}"
    return fields


def _start_thread(handle: RayRun, target: Any, name: str) -> RayRun:
    """Run ``target`` (the worker that records a Ray run) in a daemon thread of this process; the handle tracks it."""
    handle.thread = threading.Thread(target=target, name=name, daemon=True)
    handle.thread.start()
    return handle


def lost_message(address: str, exc: Any) -> str:
    detail = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
    return (
        f"The Ray worker running this run on the cluster at {address} died ({detail}), so the run was interrupted; "
        "the metrics saved before that are kept. Start a new run from this run's config to train it again."
    )


def start_failure_message(address: str, exc: Any) -> str:
    text = str(exc)
    if "ModuleNotFoundError" in text or "No module named" in text:
        return (
            f"The Ray cluster at {address} could not start this run because its nodes lack a package the worker "
            f"needs ({text.strip().splitlines()[-1][:160]}); install OMIB Studio and its requirements on every node "
            "(scripts/setup.sh, or the same Docker image), then start the run again."
        )
    return lost_message(address, exc)


__all__ = [
    "RAY_ADDRESS_ENV",
    "ClusterUnreachable",
    "RayBackend",
    "RayRun",
    "backend_from_env",
    "RemoteWorkerLost",
    "RunActor",
    "check_reachable",
    "ray_address",
]
