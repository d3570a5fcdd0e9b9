"""Limits on memory and work, not on two fields (issue 10, item 4), and the worker's out-of-memory and full-disk
sentences (items 4 and 9).

At submit a run's peak memory and work are estimated from its config (``omib_core.runs.budget``); over a limit it is
refused with a sentence naming the parameter that dominates and a value that fits (and that value really fits).
"""

from __future__ import annotations

import errno
import re
import sqlite3

import numpy as np
import pytest

from omib_core.config import RunConfig
from omib_core.errors import ConfigError
from omib_core.presets import PRESETS
from omib_core.runs import budget
from omib_core.runs.jobs import JobManager
from omib_core.runs.store import RunStore, StoreFull
from omib_core.runs.worker import Worker, failure_message, is_out_of_memory
from tests.runs import fakes

GB_MB = 1024


def _jobs(store, memory_mb: float = 4 * GB_MB, work: float | None = None) -> JobManager:
    return JobManager(store, max_concurrent=1, gpu_available=False, max_run_memory_mb=memory_mb, max_run_work=work)


def _refusal(jobs: JobManager, config: dict, kind: str = "train") -> str:
    with pytest.raises(ConfigError) as info:
        jobs.submit(config, "alice", kind=kind)
    return str(info.value)


def _suggested(message: str, knob: str) -> int:
    match = re.search(rf"Use {re.escape(knob)} <= (\d+)", message)
    assert match, message
    return int(match.group(1))


def _set(config: dict, knob: str, value) -> dict:
    section, name = knob.split(".")
    out = {k: dict(v) for k, v in config.items()}
    if section == "data":
        out.setdefault("data", {})["params"] = {**out.get("data", {}).get("params", {}), name: value}
    else:
        out.setdefault(section, {})[name] = value
    return out


def _assert_refused_with_a_fitting_value(store, jobs, config, knob, kind="train"):
    message = _refusal(jobs, config, kind)
    current = config[knob.split(".")[0]].get("params", config[knob.split(".")[0]]).get(knob.split(".")[1])
    assert f"{knob} = {current}" in message and "OMIB_MAX_RUN_" in message, message
    value = _suggested(message, knob)
    assert 1 <= value < current
    jobs.submit(_set(config, knob, value), "alice", kind=kind)  # the value named really fits
    return message


def test_sim_block_of_30000_is_refused_naming_b1_and_a_value_that_fits(store):
    jobs = _jobs(store)
    message = _assert_refused_with_a_fitting_value(store, jobs, {"data": {"params": {"b1": 30000}}}, "data.b1")
    assert message.startswith("This run needs about ") and "GB of memory" in message
    assert "SIM generator's 30,150 x 30,150 matrices" in message and "allows 4.0 GB per run" in message
    assert len(store.list_runs()) == 1  # only the fitting one


def test_huge_hidden_dim_is_refused_at_submit(store):
    jobs = _jobs(store)
    _assert_refused_with_a_fitting_value(store, jobs, {"model": {"hidden_dim": 10**9}}, "model.hidden_dim")
    assert "'hidden_dim' parameter" in _refusal(jobs, {"model": {"hidden_dim": 1e9}})  # a float: not an int


def test_huge_batch_is_refused(store):
    jobs = _jobs(store, memory_mb=16 * GB_MB)
    big = {"data": {"params": {"n_samples": 1_000_000}}, "train": {"schedule": "fixed", "batch_size": 600_000}}
    message = _assert_refused_with_a_fitting_value(store, jobs, big, "train.batch_size")
    assert "one step's activations at batch 600,000" in message


def test_huge_snapshot_is_refused(store):
    cfg = {"data": {"params": {"n_samples": 200_000}}, "train": {"snapshot_max_points": 10**9}}
    est = budget.estimate(RunConfig.from_dict(cfg))
    limit = (est.memory_bytes - est.parts["snapshot"] // 2) / budget.MB
    _assert_refused_with_a_fitting_value(store, _jobs(store, memory_mb=limit), cfg, "train.snapshot_max_points")


def test_bound_steps_and_seeds_are_sized(store):
    jobs = _jobs(store)
    steps = {"bound": {"estimator": "mine", "steps": 10**9}}
    message = _assert_refused_with_a_fitting_value(store, jobs, steps, "bound.steps", kind="bound")
    assert "batch index tables" in message
    seeds = {"bound": {"estimator": "mine", "seeds": 10**6}}
    message = _assert_refused_with_a_fitting_value(store, jobs, seeds, "bound.seeds", kind="bound")
    assert "floating-point operations" in message and "(OMIB_MAX_RUN_WORK)" in message


def test_wrong_types_are_refused_naming_the_field(store):
    jobs = _jobs(store)
    for value, kind in (("1000", "a string"), (1000.0, "a float"), (True, "a bool")):
        message = _refusal(jobs, {"data": {"params": {"n_samples": value}}})
        assert "'n_samples' parameter of dataset 'sim-i' must be an int >= 50 (a whole number" in message
        assert f"({kind})" in message
    assert "must be a finite float > 0 (a number such as 0.5, without quotes). Got '0.1' (a string)" in _refusal(
        jobs, {"data": {"params": {"noise": "0.1"}}}
    )
    assert "must be true or false" in _refusal(jobs, {"data": {"params": {"reference": "no"}}})
    assert store.list_runs() == []


def test_defaults_presets_and_bundled_datasets_pass(store):
    jobs = JobManager(store, max_concurrent=4, gpu_available=False, max_run_memory_mb=2 * GB_MB)
    configs = [{}, *PRESETS.values(), {"data": {"dataset": "uci-mfeat"}}, {"data": {"dataset": "sim-3m"}}]
    configs += [{"data": {"dataset": d}} for d in ("sim-ii", "sim-iii", "sim-reg", "sim-anomaly", "digits")]
    for cfg in configs:
        jobs.submit(cfg, "alice")
        jobs.submit(cfg, "alice", kind="bound")
    assert len(store.list_runs()) == 2 * len(configs)


def test_limits_from_the_environment(store, monkeypatch):
    monkeypatch.setenv("OMIB_MAX_RUN_MEMORY_MB", "100")
    jobs = JobManager(store, max_concurrent=1, gpu_available=False)
    assert jobs.max_run_memory == 100 * budget.MB
    assert "allows 100 MB per run (OMIB_MAX_RUN_MEMORY_MB)" in _refusal(jobs, {})
    monkeypatch.setenv("OMIB_MAX_RUN_MEMORY_MB", "lots")
    with pytest.raises(ConfigError, match="OMIB_MAX_RUN_MEMORY_MB must be a positive number"):
        JobManager(store)
    monkeypatch.delenv("OMIB_MAX_RUN_MEMORY_MB")
    monkeypatch.setenv("OMIB_MAX_RUN_WORK", "1e9")
    assert "(OMIB_MAX_RUN_WORK)" in _refusal(JobManager(store, max_concurrent=1, gpu_available=False), {})


def test_default_memory_limit_divides_the_machine_by_the_slots(monkeypatch):
    monkeypatch.delenv("OMIB_MAX_RUN_MEMORY_MB", raising=False)
    monkeypatch.setattr(budget, "machine_memory", lambda: 16 * 2**30)
    assert budget.memory_limit(1) == int(0.8 * 16 * 2**30)
    assert budget.memory_limit(4) == int(0.8 * 4 * 2**30)
    assert budget.memory_limit(1000) == budget.MIN_DEFAULT_MEMORY


# the worker: every out-of-memory form, and a full disk


def _numpy_memory_error() -> MemoryError:
    try:
        np.empty(2**48, dtype=np.float64)  # 2 PiB: more than the address space, so malloc fails at once
    except MemoryError as e:
        return e
    raise AssertionError("numpy allocated 2 PiB")


def _numpy_too_big() -> ValueError:
    try:
        np.empty((2**62, 2**62))
    except ValueError as e:
        return e
    raise AssertionError("numpy accepted 2^124 elements")


class OutOfMemoryError(RuntimeError):
    """Named as torch.cuda.OutOfMemoryError."""


@pytest.mark.parametrize(
    "exc",
    [
        MemoryError(),
        _numpy_memory_error(),
        _numpy_too_big(),
        RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 4000000000000 bytes."),
        RuntimeError("[enforce fail at alloc_cpu.cpp] not enough memory: you tried to allocate 8 GB."),
        OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("CUDA error: out of memory"),
        ValueError("Maximum allowed dimension exceeded"),
        OSError(errno.ENOMEM, "Cannot allocate memory"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_out_of_memory_form_is_a_sentence_naming_what_to_lower(exc, monkeypatch):
    monkeypatch.setenv("OMIB_MAX_RUN_MEMORY_MB", "1500")  # the launcher passes its limit to the worker this way
    cfg = RunConfig.from_dict({"model": {"hidden_dim": 4096}})
    assert is_out_of_memory(exc)
    message = failure_message(exc, "a1b2c3d4e5f6", cfg)
    assert message.startswith("The run ran out of memory; its estimated peak is ")
    assert "model.hidden_dim = 4096" in message and re.search(r"use model\.hidden_dim <= \d+", message)
    assert "unexpected error" not in message


def test_a_small_run_out_of_memory_blames_the_crowded_machine(monkeypatch):
    monkeypatch.setenv("OMIB_MAX_RUN_MEMORY_MB", "16000")
    message = failure_message(MemoryError(), "a1b2c3d4e5f6", RunConfig.from_dict({}))
    assert "its estimated peak is only" in message and "short of memory because of other programs" in message


def test_not_memory_errors_stay_unexpected():
    assert not is_out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    assert not is_out_of_memory(ValueError("could not convert string to float"))


def test_worker_turns_a_cpu_allocation_failure_into_the_memory_sentence(store, tiny):
    """A config that passed submit but whose worker runs out of memory (torch's CPU allocator message)."""
    run_id = store.create_run(tiny, "alice", "a")
    Worker(store, run_id, source=fakes.cpu_alloc_failure, heartbeat_interval=0.2).run()
    run = store.get_run(run_id)
    assert run["status"] == "failed" and run["error"].startswith("The run ran out of memory; its estimated peak is")
    assert "RuntimeError" not in run["error"] and re.search(r"use [\w.]+ <= \d+", run["error"])
    assert len(store.read_metrics(run_id, kind="epoch")) > 0  # the first epoch stands


def test_worker_on_a_full_disk_says_so_and_removes_its_temporary_files(store, tiny):
    run_id = store.create_run(tiny, "alice", "a")
    Worker(store, run_id, source=fakes.disk_full, heartbeat_interval=0.2).run()
    run = store.get_run(run_id)
    folder = store.run_dir(run_id)
    assert run["status"] == "failed" and run["error"].startswith(f"The disk holding {folder} is full")
    assert "OSError" not in run["error"] and "Free space" in run["error"]
    assert list(folder.rglob("*.tmp")) == []
    assert len(store.read_metrics(run_id, kind="epoch")) > 0


def test_a_full_database_at_submit_is_a_sentence(tmp_path, tiny):
    store = RunStore(tmp_path / "omib.db")
    jobs = JobManager(store, max_concurrent=1, gpu_available=False)
    jobs.submit(tiny, "alice")
    conn = store._conn()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    big = {**tiny, "data": {**tiny["data"], "dataset": "sim-i"}}
    with pytest.raises(StoreFull) as info:
        for i in range(200):  # each run adds a row; the file may not grow by a page
            jobs.submit(big, "alice", name="x" * 2000 + str(i))
    message = str(info.value)
    assert message.startswith("The run was not queued: the disk holding the run store") and "Free space" in message
    assert isinstance(info.value, sqlite3.OperationalError) is False and store.integrity_check()
