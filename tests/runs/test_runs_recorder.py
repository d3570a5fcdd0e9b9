"""The recorder: history.csv and result.json from events."""

from __future__ import annotations

import csv
import json
import math

from omib_core.config import RunConfig
from omib_core.runs.recorder import (
    RESULT_KEYS,
    SHOWN_RESULT_KEYS,
    SWEEP_RESULT_KEYS,
    Recorder,
    events_to_rows,
    jsonable,
)
from tests.runs import fakes

REQUIRED = set(RESULT_KEYS)  # the result keys every run reports


def _config():
    return RunConfig.from_dict(
        {
            "data": {"dataset": "sim-iii", "seed": 3},
            "train": {"schedule": "fixed", "epochs": 2, "warmup_epochs": 1, "seed": 7},
        }
    )


def test_finished_run_writes_history_and_result(tmp_path):
    config = _config()
    rec = Recorder(tmp_path / "out", config)
    for event in fakes.epochs(config, out_dir=tmp_path):
        rec.record(event)
    result = rec.finish(run_id="abc")
    rows = list(csv.DictReader(rec.history_path.open()))
    assert len(rows) == 3 * (fakes.STEPS_PER_EPOCH + 1)
    assert list(rows[0])[:6] == ["kind", "stage", "epoch", "step", "loss", "kl/a"]
    assert rows[0]["kind"] == "step" and rows[0]["stage"] == "warmup" and rows[-1]["kind"] == "epoch"
    assert rows[0]["kl/a"] == "nan" and rows[0]["val/accuracy"] == "" and rows[-1]["val/accuracy"] == "0.52"
    on_disk = json.loads(rec.result_path.read_text())
    assert on_disk == result and REQUIRED <= set(on_disk)
    assert on_disk["status"] == "finished" and on_disk["error"] is None and on_disk["run_id"] == "abc"
    assert (on_disk["dataset"], on_disk["seed"], on_disk["beta_over_Mu"]) == ("sim-iii", 7, 0.5)
    assert on_disk["r_final"] == [1.0, 0.7] and on_disk["test_metrics"] == {"accuracy": 0.8}
    assert on_disk["reference"]["bayes_accuracy"] == 0.91
    assert on_disk["config"] == config.to_dict()
    assert RunConfig.from_dict(on_disk["config"]) == config


def test_failed_and_stopped_runs_fall_back_to_last_epoch(tmp_path):
    config = _config()
    rec = Recorder(tmp_path / "failed", config)
    for event in fakes.epochs(config, fail_at=2):
        rec.record(event)
    failed = rec.finish()
    assert failed["status"] == "failed" and "NaN" in failed["error"]
    assert failed["test_metrics"] == {"accuracy": 0.5} and failed["r_final"] == [1.0, 0.7]
    assert failed["epochs_completed"] == 2

    rec = Recorder(tmp_path / "stopped", config)
    gen = fakes.epochs(config)
    for _ in range(3):
        rec.record(next(gen))
    stopped = rec.finish("stopped")
    assert stopped["status"] == "stopped" and stopped["test_metrics"] == {} and stopped["beta"] == 0.01
    assert REQUIRED <= set(stopped)


def test_events_to_rows():
    step = fakes.ev.StepEvent(stage="main", epoch=1, step=9, metrics={"loss": 0.5, "r/b": 0.9})
    rows = events_to_rows(step, t=12.0)
    assert rows == [
        {"kind": "step", "stage": "main", "step": 9, "epoch": 1, "t": 12.0, "name": "loss", "value": 0.5},
        {"kind": "step", "stage": "main", "step": 9, "epoch": 1, "t": 12.0, "name": "r/b", "value": 0.9},
    ]
    epoch = fakes.ev.EpochEvent(stage="main", epoch=1, step=9, metrics={"val/accuracy": 0.7})
    assert events_to_rows(epoch)[0]["kind"] == "epoch"
    assert events_to_rows(fakes.started(3)) == [] and events_to_rows(object()) == []


def test_jsonable():
    assert jsonable({"a": (1, math.nan), "b": math.inf, 3: None}) == {"a": [1, None], "b": None, "3": None}
    assert jsonable(fakes.started(2))["modalities"] == ["a", "b"]


def test_result_carries_the_last_measured_information_per_block(tmp_path):
    """The last epoch with info/<rep>/<block> metrics (a snapshot epoch) gives result.json its ``information``; a run
    without them (real data, an old run) has None."""
    from omib_core.train.events import EpochEvent

    config = _config()
    rec = Recorder(tmp_path / "out", config)
    events = list(fakes.epochs(config, out_dir=tmp_path))
    assert rec.result()["information"] is None
    info = {"info/xi/a1": 2.5, "info/xi/a0": 0.5, "info/xi/b2": 0.25, "info/z_a/b2": 3.0}
    for event in events:
        if type(event).__name__ == "EpochEvent" and event.stage == "main" and event.epoch == 1:
            event = EpochEvent("main", 1, event.step, {**event.metrics, **info})
        rec.record(event)
    res = rec.finish()
    assert res["information"] == {
        "epoch": 1,
        "nats": {"xi": {"a1": 2.5, "a0": 0.5, "b2": 0.25}, "z_a": {"b2": 3.0}},
        "task_kept": {"xi": 3.0, "z_a": None},  # no a-block measured for z_a: NaN, written as null
        "superfluous_kept": {"xi": 0.25, "z_a": 3.0},
    }


def test_result_keys_are_the_one_list(tmp_path):
    """The recorder writes exactly RESULT_KEYS, in order, finished or not; what the CLI prints is a part of it."""
    config = _config()
    rec = Recorder(tmp_path / "out", config)
    assert tuple(rec.result()) == RESULT_KEYS
    for event in fakes.epochs(config, out_dir=tmp_path):
        rec.record(event)
    assert tuple(rec.result()) == RESULT_KEYS
    assert set(SHOWN_RESULT_KEYS) <= set(RESULT_KEYS) and set(SWEEP_RESULT_KEYS) <= set(RESULT_KEYS)
