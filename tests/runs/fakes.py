"""Fake event sources for the worker tests (``--source tests.runs.fakes:NAME``).

They yield the real event classes, loaded from ``omib_core/train/events.py`` without importing the
``omib_core.train`` package (which pulls torch: seconds per worker start on a busy machine).
"""

from __future__ import annotations

import importlib.util
import math
import sys
import time
from pathlib import Path
from types import ModuleType

import omib_core.config

CORE = Path(omib_core.config.__file__).parent
STEPS_PER_EPOCH = 4


def _standalone(name: str, relpath: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    alias = "_standalone_" + name.replace(".", "_")
    if alias in sys.modules:
        return sys.modules[alias]
    spec = importlib.util.spec_from_file_location(alias, CORE / relpath)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[alias] = mod
    spec.loader.exec_module(mod)
    return mod


ev = _standalone("omib_core.train.events", "train/events.py")
bound_result = _standalone("omib_core.bound.result", "bound/result.py")


def started(total_epochs: int, device: str = "cpu") -> object:
    return ev.RunStarted(
        device=device,
        task="classification",
        modalities=("a", "b"),
        n_train=70,
        n_val=15,
        n_test=15,
        total_epochs=total_epochs,
        steps_per_epoch=STEPS_PER_EPOCH,
        beta=0.01,
        M_u=0.02,
        M_l=0.01,
        beta_over_Mu=0.5,
        estimator="gaussian",
        num_threads=1,
        reference={"optimal_mib_accuracy": 0.9, "bayes_accuracy": 0.91},
    )


def finished(epochs: int, step: int) -> object:
    return ev.RunFinished(
        epochs=epochs,
        step=step,
        test_metrics={"accuracy": 0.8},
        val_metrics={"accuracy": 0.82},
        r_final=(1.0, 0.7),
        beta=0.01,
        wall_seconds=1.5,
        samples_per_second=1000.0,
    )


def epochs(config, sleep: float = 0.0, fail_at: int | None = None, raise_at: int | None = None, out_dir=None):
    """RunStarted, then per epoch STEPS_PER_EPOCH step events and one epoch event, then RunFinished."""
    total = config.train.warmup_epochs + config.train.epochs
    yield started(total)
    step = 0
    for epoch in range(total):
        stage = "warmup" if epoch < config.train.warmup_epochs else "main"
        if fail_at is not None and epoch == fail_at:
            yield ev.RunFailed(epoch=epoch, step=step, message="The loss became NaN at epoch 2; lower lr.")
            return
        if raise_at is not None and epoch == raise_at:
            raise ValueError("internal detail that users must not see")
        for _ in range(STEPS_PER_EPOCH):
            step += 1
            time.sleep(sleep)
            yield ev.StepEvent(stage=stage, epoch=epoch, step=step, metrics={"loss": 1.0 / step, "kl/a": math.nan})
        metrics = {"loss": 1.0 / step, "val/accuracy": 0.5 + epoch / 100, "test/accuracy": 0.5, "r/a": 1.0, "r/b": 0.7}
        yield ev.EpochEvent(stage=stage, epoch=epoch, step=step, metrics=metrics, eta_seconds=float(total - epoch))
        if out_dir is not None and epoch == 0:
            path = Path(out_dir) / "snap_0.npz"
            path.write_bytes(b"x")
            yield ev.SnapshotEvent(epoch=0, path=str(path))
    yield finished(total, step)


def fast(config, *, out_dir, cache_dir):
    return epochs(config, out_dir=out_dir)


def slow(config, *, out_dir, cache_dir):
    return epochs(config, sleep=0.03, out_dir=out_dir)


def failing(config, *, out_dir, cache_dir):
    return epochs(config, fail_at=2)


def crashing(config, *, out_dir, cache_dir):
    return epochs(config, raise_at=1)


def out_of_memory(config, *, out_dir, cache_dir):
    yield started(1)
    raise MemoryError()


class OutOfMemoryError(RuntimeError):
    """Stands in for ``torch.cuda.OutOfMemoryError`` (a RuntimeError of that name) without importing torch."""


def oom_after_epoch(config, *, out_dir, cache_dir):
    """One full epoch (committed), then the host runs out of memory."""
    for event in epochs(config, out_dir=out_dir):
        yield event
        if event_name(event) == "EpochEvent":
            raise MemoryError()


def cuda_oom(config, *, out_dir, cache_dir):
    """One full epoch, then CUDA runs out of memory, worded as torch words it."""
    for event in epochs(config, out_dir=out_dir):
        yield event
        if event_name(event) == "EpochEvent":
            raise OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.10 GiB total capacity)")


def stuck(config, *, out_dir, cache_dir):
    """One epoch, then a step that never returns (a worker that cannot see control requests or its time limit)."""
    for event in epochs(config, out_dir=out_dir):
        yield event
        if event_name(event) == "EpochEvent":
            time.sleep(600)


def device_echo(config, *, out_dir, cache_dir):
    """Reports the device it was given (``config.train.device``) in RunStarted, then runs slowly."""
    events = epochs(config, sleep=0.03)
    next(events)  # its own RunStarted, replaced by one naming the device
    yield started(config.train.warmup_epochs + config.train.epochs, device=config.train.device)
    yield from events


def event_name(event: object) -> str:
    return type(event).__name__


def many_epochs(config, *, out_dir, cache_dir):
    """200 epoch events, each committed at once: many small concurrent transactions.

    Waits first until ``config.data.params["parties"]`` runs have reached this point (a file barrier in
    ``runs/``), so that their writes overlap even when the machine is slow to start processes.
    """
    Path(out_dir, "ready").touch()
    deadline = time.monotonic() + 20
    while len(list(Path(out_dir).parent.glob("*/ready"))) < config.data.params.get("parties", 1):
        if time.monotonic() > deadline:
            raise TimeoutError("the other workers never started")
        time.sleep(0.01)
    yield started(200)
    for epoch in range(200):
        time.sleep(0.002)  # a write phase long enough to overlap the others' on a loaded machine
        yield ev.EpochEvent(stage="main", epoch=epoch, step=epoch + 1, metrics={"loss": float(epoch), "val/x": 1.0})
    yield finished(200, 200)


def long_writer(config, *, out_dir, cache_dir):
    """100 epoch events 0.05 s apart (5 s): a worker that is still writing when the test acts on its run."""
    yield started(100)
    for epoch in range(100):
        time.sleep(0.05)
        yield ev.EpochEvent(stage="main", epoch=epoch, step=epoch + 1, metrics={"loss": float(epoch), "val/x": 1.0})
    yield finished(100, 100)


def bound(config, *, out_dir, cache_dir, progress):
    for i in range(1, 6):
        progress("H(a)", i / 5)
        time.sleep(0.02)
    h = bound_result.Estimate(name="H_joint", value=2.0)
    return bound_result.BoundResult(
        estimator="gaussian",
        modalities=("a", "b"),
        entropies={"a": bound_result.Estimate(name="H(a)", value=1.5)},
        mutual_information=None,
        h_joint=h,
        M_u=1 / 6,
        M_l=0.1,
    )


def slow_bound(config, *, out_dir, cache_dir, progress):
    for i in range(1, 200):
        progress("I(a;b)", i / 200)
        time.sleep(0.03)
    raise AssertionError("should have been stopped")


def chatty_bound(config, *, out_dir, cache_dir, progress):
    """A neural estimator reporting at every one of 1,000 steps."""
    for i in range(1, 1001):
        progress("mine: H(a)", i / 1000)
    return {"M_u": None, "failure": "The joint entropy estimate was negative, so no M_u exists."}


def cpu_alloc_failure(config, *, out_dir, cache_dir):
    """One epoch, then torch's CPU allocator gives up, worded as torch words it (a RuntimeError)."""
    for event in epochs(config, out_dir=out_dir):
        yield event
        if event_name(event) == "EpochEvent":
            raise RuntimeError(
                "[enforce fail at alloc_cpu.cpp:114] data. DefaultCPUAllocator: can't allocate memory: you tried to "
                "allocate 4000000000000 bytes. Error code 12 (Cannot allocate memory)"
            )


def disk_full(config, *, out_dir, cache_dir):
    """One epoch, then a snapshot half-written to a ``.tmp`` file when the disk fills up (ENOSPC)."""
    import errno

    for event in epochs(config, out_dir=out_dir):
        yield event
        if event_name(event) == "EpochEvent":
            snaps = Path(out_dir) / "snapshots"
            snaps.mkdir(exist_ok=True)
            (snaps / "epoch_0001.npz.tmp").write_bytes(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")
