"""Sweep configs and aggregation (omib_core.sweeps) on hand-made numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from omib_core.config import ModelConfig, RunConfig, TrainConfig
from omib_core.errors import ConfigError
from omib_core.sweeps import (
    MAX_SWEEP_RUNS,
    aggregate,
    build_sweep,
    default_scales,
    empirical_best,
    empirical_knee,
    final_metric,
    log_grid,
    parse_grid,
    sweep_ids,
    sweep_points,
    teaching_sweep,
)


def test_log_grid_and_parse_grid():
    assert log_grid(0.1, 10, 5) == [0.1, 0.316, 1.0, 3.16, 10.0]
    assert log_grid(10, 0.1, 3) == [0.1, 1.0, 10.0]
    assert log_grid(2, 2, 1) == [2.0]
    assert parse_grid("3, 1 0.1;1") == [0.1, 1.0, 3.0]
    for bad in ("", "a, 1", "-1", "0", "inf"):
        with pytest.raises(ConfigError):
            parse_grid(bad)
    with pytest.raises(ConfigError):
        log_grid(0, 1, 3)


def test_build_sweep_sets_beta_as_multiple_of_M_u_per_seed():
    base = RunConfig(train=TrainConfig(beta=1e-3, epochs=7, seed=4))
    runs = build_sweep(base, [0.5, 2.0], [4, 5], name="s")
    assert len(runs) == 4
    got = [(c.train.beta, c.train.beta_scale, c.train.seed, c.train.epochs) for _, c in runs]
    assert got == [(None, 0.5, 4, 7), (None, 0.5, 5, 7), (None, 2.0, 4, 7), (None, 2.0, 5, 7)]
    assert runs[0][0] == "s · β/M_u=0.5 · seed 4"
    assert all(c.data == base.data and c.model == base.model for _, c in runs)


def test_build_sweep_refuses_with_sentences():
    base = RunConfig()
    with pytest.raises(ConfigError, match="limit"):
        build_sweep(base, list(np.arange(1, MAX_SWEEP_RUNS + 1)), [0, 1])
    with pytest.raises(ConfigError, match="bottleneck"):
        build_sweep(RunConfig(model=ModelConfig(bottleneck=False)), [1.0], [0])
    with pytest.raises(ConfigError, match="differ"):
        build_sweep(base, [1.0], [0, 0])
    with pytest.raises(ConfigError):
        build_sweep(base, [], [0])


def test_the_cli_grid_reseeds_the_data_and_has_no_run_limit():
    from omib_core.presets import TEACHING_SCALES

    base = RunConfig(train=TrainConfig(seed=0))
    scales = [float(s) for s in range(1, MAX_SWEEP_RUNS + 2)]
    runs = build_sweep(base, scales, [3], max_runs=None, reseed_data=True)
    assert len(runs) == MAX_SWEEP_RUNS + 1
    assert {(c.data.seed, c.train.seed) for _, c in runs} == {(3, 3)}
    assert base.data.seed != 3 and build_sweep(base, [1.0], [3])[0][1].data.seed == base.data.seed
    assert default_scales("teaching") == list(TEACHING_SCALES)
    assert default_scales(None) == [0.01, 0.1, 1.0, 10.0]


def run(rid, scale, seed, status="finished", acc=None, sweep="s1"):
    return {
        "id": rid,
        "status": status,
        "sweep_id": sweep,
        "config": {"train": {"beta": None, "beta_scale": scale, "seed": seed}},
        "result": {"test_metrics": {"accuracy": acc}} if acc is not None else None,
    }


def test_points_aggregate_and_knee_on_hand_made_numbers():
    runs = [
        run("a", 0.1, 0, acc=0.80),
        run("b", 0.1, 1, acc=0.84),  # mean 0.82, std 0.02828
        run("c", 1.0, 0, acc=0.86),
        run("d", 1.0, 1, acc=0.88),  # mean 0.87, std 0.01414 (best)
        run("e", 3.0, 0, acc=0.86),
        run("f", 3.0, 1, acc=0.87),  # mean 0.865: within one std of the best
        run("g", 10.0, 0, acc=0.60),
        run("h", 10.0, 1, status="running"),
    ]
    points = sweep_points(runs, "accuracy")
    assert len(points) == 8 and np.isnan(points.loc[7, "value"])
    agg = aggregate(points)
    assert list(agg["beta_over_Mu"]) == [0.1, 1.0, 3.0, 10.0]
    assert list(agg["n"]) == [2, 2, 2, 1]
    np.testing.assert_allclose(agg["mean"], [0.82, 0.87, 0.865, 0.60])
    np.testing.assert_allclose(agg["std"], [np.sqrt(0.0008), np.sqrt(0.0002), np.sqrt(0.00005), 0.0], atol=1e-12)
    assert empirical_knee(agg) == 3.0
    # lower is better (an error metric): the best is the smallest mean
    err = pd.DataFrame({"beta_over_Mu": [0.1, 1.0, 3.0], "mean": [0.5, 0.4, 0.41], "std": [0.0, 0.02, 0.0], "n": 1})
    assert empirical_knee(err, higher_better=False) == 3.0
    assert empirical_knee(err.assign(std=0.0), higher_better=False) == 1.0


def test_knee_and_aggregate_when_nothing_finished():
    points = sweep_points([run("a", 1.0, 0, status="queued")], "accuracy")
    agg = aggregate(points)
    assert agg.empty and empirical_knee(agg) is None


def test_hand_set_runs_are_left_out_and_metric_lookup():
    hand = {"id": "x", "status": "finished", "config": {"train": {"beta": 1e-3, "beta_scale": 1.0, "seed": 0}}}
    assert sweep_points([hand], "accuracy").empty
    assert final_metric({"result": {"test_metrics": {"test/auc": 0.7}}}, "auc") == 0.7
    assert final_metric({"result": {"test_metrics": {"accuracy": float("nan")}}}, "accuracy") is None
    assert final_metric({"result": None}, "accuracy") is None


def test_sweep_ids_in_order_of_appearance():
    runs = [
        run("a", 1, 0, sweep="s2"),
        run("b", 1, 0, sweep=None),
        run("c", 1, 0, sweep="s1"),
        run("d", 1, 1, sweep="s2"),
    ]
    assert sweep_ids(runs) == ["s2", "s1"]


def test_the_default_sweep_is_the_teaching_preset_over_the_teaching_scales_and_five_seeds():
    from omib_core.presets import TEACHING_SCALES

    base, scales, seeds = teaching_sweep()
    assert base.data.dataset == "sim-teach" and base.model.dropout == 0.0
    assert scales == list(TEACHING_SCALES) and seeds == [0, 1, 2, 3, 4]
    runs = build_sweep(base, scales, seeds, name="teach")
    assert len(runs) == 30 and {c.data.dataset for _, c in runs} == {"sim-teach"}


def test_final_metric_reads_either_selection():
    result = {
        "test_metrics": {"accuracy": 0.90},
        "last_test_metrics": {"accuracy": 0.85},
        "selection": {
            "best_val": {"epoch": 3, "test": {"accuracy": 0.91}},
            "last": {"epoch": 9, "test": {"accuracy": 0.84}},
        },
    }
    r = {"result": result, "config": {"train": {"select": "best_val"}}}
    assert final_metric(r, "accuracy") == 0.90  # the run's own choice
    assert final_metric(r, "accuracy", select="last") == 0.84
    assert final_metric(r, "accuracy", select="best_val") == 0.91
    # an older result without "selection": last_test_metrics, and test_metrics only when the run selected by val
    old = {"result": {"test_metrics": {"accuracy": 0.9}, "last_test_metrics": {"accuracy": 0.8}}}
    assert final_metric(old, "accuracy", select="last") == 0.8
    assert final_metric(old, "accuracy", select="best_val") == 0.9
    assert final_metric({**old, "config": {"train": {"select": "last"}}}, "accuracy", select="best_val") is None
    runs = [run("a", 1.0, 0, acc=0.8), run("b", 1.0, 1, acc=0.9)]
    for r_ in runs:
        r_["result"]["last_test_metrics"] = {"accuracy": r_["result"]["test_metrics"]["accuracy"] - 0.1}
    assert list(sweep_points(runs, "accuracy", select="last")["value"]) == pytest.approx([0.7, 0.8])


def test_empirical_best_is_the_best_mean():
    agg = pd.DataFrame({"beta_over_Mu": [0.1, 1.0, 30.0], "mean": [0.7, 0.8, 0.85], "std": 0.1, "n": 2})
    assert empirical_best(agg) == 30.0 and empirical_best(agg, higher_better=False) == 0.1
    assert empirical_best(agg.iloc[:0]) is None
