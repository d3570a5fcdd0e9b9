"""The CLI's baselines, presets and resolved schedule, in subprocesses as a user would call them."""

from __future__ import annotations

import json

from omib_core.config import DataConfig
from omib_core.data import load_dataset
from omib_core.presets import PRESETS, TEACHING_SCALES, preset_config
from tests.core.test_cli import TINY, cli


def test_train_baseline_linear_writes_its_metrics(tmp_path) -> None:
    out = cli("train", "--dataset", "sim-i", *TINY, "--baseline", "linear", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    res = json.loads((tmp_path / "result.json").read_text())
    assert res["method"] == "logistic regression" and res["param_name"] == "C"
    assert res["test_metrics"]["accuracy"] > 0.5 and "accuracy" in res["val_metrics"]


def test_train_prints_the_resolved_schedule_and_both_selections(tmp_path) -> None:
    out = cli(
        "train",
        "--dataset",
        "sim-i",
        *TINY,
        "--baseline",
        "no-bottleneck",
        "--param",
        "b1=16",
        "--param",
        "b2=16",
        "--min-steps",
        "40",
        "--epochs",
        "2",
        "--warmup-epochs",
        "1",
        "--out",
        str(tmp_path),
    )
    assert out.returncode == 0, out.stderr
    assert "schedule: batch 84 · 10 steps/epoch" in out.stderr  # 0.1 of the 840 training rows
    assert "auto schedule: epochs 2 -> 4 (at least 40 optimizer steps)" in out.stderr
    res = json.loads((tmp_path / "result.json").read_text())
    assert res["config"]["model"]["bottleneck"] is False
    assert set(res["selection"]) == {"best_val", "last", "stopped_early"}
    assert res["selection"]["last"]["epoch"] == res["schedule"]["warmup_epochs"] + res["schedule"]["epochs"] - 1
    assert res["schedule"]["batch_size"] == 84


def test_an_impossible_fixed_schedule_is_refused_with_a_sentence(tmp_path) -> None:
    out = cli(
        "train",
        "--dataset",
        "sim-i",
        *TINY,
        "--schedule",
        "fixed",
        "--batch-size",
        "5000",
        "--quiet",
        "--out",
        str(tmp_path),
    )
    assert out.returncode == 1
    assert "batch_size = 5000 is larger than the 840 training rows. Use batch_size <= 840" in out.stderr


def test_teaching_preset_has_a_nuisance_view_and_a_large_test_split() -> None:
    cfg = preset_config("teaching", beta_scale=30.0, seed=2)
    assert cfg.data.dataset == "sim-teach" and cfg.train.beta_scale == 30.0 and cfg.train.seed == 2
    assert cfg.model.enc_layers == 0 and cfg.model.dropout == 0.0 and TEACHING_SCALES[0] < 1 < TEACHING_SCALES[-1]
    ds = load_dataset(
        DataConfig.from_dict({**PRESETS["teaching"]["data"], "params": {"n_samples": 400, "reference": False}})
    )
    assert ds.meta["blocks"]["a0"] == 0 and ds.meta["blocks"]["a2"] == 0  # v2 holds no task information
    n = {s: len(ds.indices(s)) for s in ("train", "val", "test")}
    assert n["test"] >= 2 * n["train"] - 2
