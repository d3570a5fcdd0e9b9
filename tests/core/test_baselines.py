"""The linear baseline: logistic regression / ridge on the concatenated views, chosen on validation only."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from omib_core.analysis.metrics import HIGHER_IS_BETTER
from omib_core.baselines import ALPHA_GRID, C_GRID, LinearBaselineResult, baseline_reference, linear_baseline
from omib_core.config import DataConfig
from omib_core.data import TEST, TRAIN, VAL, MultimodalDataset, load_dataset, make_split
from omib_core.errors import ConfigError, DataError

SMALL = {"n_samples": 1500, "b1": 32, "b2": 32}  # narrow superfluous blocks: the generators' ground truth is fast


@pytest.fixture(scope="module")
def sim_i() -> MultimodalDataset:
    return load_dataset(DataConfig(dataset="sim-i", params={**SMALL, "reference": False}))


@pytest.fixture(scope="module")
def sim_i_result(sim_i: MultimodalDataset) -> LinearBaselineResult:
    result = linear_baseline(sim_i)
    assert result is not None
    return result


def blobs(n: int = 120, gap: float = 8.0, seed: int = 0) -> MultimodalDataset:
    """Two classes far apart in both views: every C separates them perfectly."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    shift = gap * (y[:, None] - 0.5)
    mods = {"a": rng.normal(size=(n, 3)) + shift, "b": rng.normal(size=(n, 2)) + shift}
    split = make_split(n, 0.2, 0.2, seed=seed, stratify=y)
    return MultimodalDataset("blobs", mods, y, "classification", split)


def expected_choice(grid: tuple[tuple[float, float], ...], higher: bool, prefer_small: bool) -> float:
    """The grid value with the best validation score; ties go to the strongest regularisation."""
    items = sorted(grid, key=lambda ps: ps[0], reverse=not prefer_small)  # strongest regularisation first
    best_p, best_s = items[0]
    for p, s in items[1:]:
        if (s > best_s) if higher else (s < best_s):
            best_p, best_s = p, s
    return best_p


# classification


def test_logistic_baseline_on_sim_i(sim_i: MultimodalDataset, sim_i_result: LinearBaselineResult) -> None:
    r = sim_i_result
    assert (r.method, r.param_name, r.metric) == ("logistic regression", "C", "accuracy")
    assert r.param in C_GRID and [p for p, _ in r.grid] == list(C_GRID)
    assert r.param == expected_choice(r.grid, higher=True, prefer_small=True)
    assert r.val_metrics["accuracy"] == dict(r.grid)[r.param]
    for m in (r.train_metrics, r.val_metrics, r.test_metrics):
        assert set(m) == {"accuracy", "f1_macro"}
    assert r.val_metrics["accuracy"] > 0.6 and r.test_metrics["accuracy"] > 0.6  # chance is 0.25
    assert r.n_train_used == len(sim_i.indices(TRAIN)) and r.n_features == sum(sim_i.input_dims.values())
    assert 0 < r.seconds < 30


def test_baseline_reference_keys(sim_i_result: LinearBaselineResult) -> None:
    ref = baseline_reference(sim_i_result)
    assert set(ref) == {f"linear_{s}_{m}" for s in ("train", "val", "test") for m in ("accuracy", "f1_macro")}
    assert ref["linear_val_accuracy"] == sim_i_result.val_metrics["accuracy"]
    assert ref["linear_test_accuracy"] == sim_i_result.test_metrics["accuracy"]
    assert baseline_reference(None) == {}


def test_to_dict_is_json(sim_i_result: LinearBaselineResult) -> None:
    d = json.loads(json.dumps(sim_i_result.to_dict()))
    assert d["param"] == sim_i_result.param and d["param_name"] == "C"
    assert d["grid"] == [[p, s] for p, s in sim_i_result.grid]
    assert d["test_metrics"] == sim_i_result.test_metrics


def test_choice_never_reads_test_labels(sim_i: MultimodalDataset, sim_i_result: LinearBaselineResult) -> None:
    rng = np.random.default_rng(1)
    y = sim_i.target.copy()
    te = sim_i.split == TEST
    y[te] = (y[te] + rng.integers(1, 4, te.sum())) % 4  # every test label changed
    scrambled = linear_baseline(replace(sim_i, target=y))
    assert scrambled is not None
    assert scrambled.param == sim_i_result.param and scrambled.grid == sim_i_result.grid
    assert scrambled.val_metrics == sim_i_result.val_metrics
    assert scrambled.test_metrics["accuracy"] < sim_i_result.test_metrics["accuracy"] - 0.3


def test_choice_reads_validation_labels(sim_i: MultimodalDataset, sim_i_result: LinearBaselineResult) -> None:
    y = sim_i.target.copy()
    va = sim_i.split == VAL
    y[va] = (y[va] + 1) % 4  # every validation label wrong for a good model
    r = linear_baseline(replace(sim_i, target=y))
    assert r is not None
    assert [s for _, s in r.grid] != [s for _, s in sim_i_result.grid]
    assert r.param == expected_choice(r.grid, higher=True, prefer_small=True)
    assert r.test_metrics["accuracy"] <= sim_i_result.test_metrics["accuracy"]  # the worst C looked best


def test_ties_go_to_the_strongest_regularisation() -> None:
    r = linear_baseline(blobs())
    assert r is not None
    assert all(s == 1.0 for _, s in r.grid)
    assert r.param == min(C_GRID)


def test_scale_of_a_view_does_not_matter() -> None:
    ds = blobs(gap=1.0)
    scaled = replace(ds, modalities={"a": ds.modalities["a"] * 1000.0 + 5.0, "b": ds.modalities["b"]})
    a, b = linear_baseline(ds), linear_baseline(scaled)
    assert a is not None and b is not None
    assert a.param == b.param
    assert a.test_metrics["accuracy"] == pytest.approx(b.test_metrics["accuracy"])


def test_wide_table_nutrimouse() -> None:
    for label, k in (("genotype", 2), ("diet", 5)):
        ds = load_dataset(DataConfig(dataset="nutrimouse", params={"label": label}))
        r = linear_baseline(ds)
        assert r is not None
        assert r.n_features == 141 > r.n_train_used
        assert r.param in C_GRID and ds.n_classes == k
        assert all(0.0 <= r.test_metrics[m] <= 1.0 for m in ("accuracy", "f1_macro"))


def test_train_rows_are_subsampled_with_a_seed(sim_i: MultimodalDataset) -> None:
    a = linear_baseline(sim_i, max_train_rows=200, seed=3)
    b = linear_baseline(sim_i, max_train_rows=200, seed=3)
    c = linear_baseline(sim_i, max_train_rows=200, seed=4)
    assert a is not None and b is not None and c is not None
    assert a.n_train_used == 200
    assert a.grid == b.grid and a.test_metrics == b.test_metrics
    assert a.train_metrics != c.train_metrics  # other rows


def test_single_training_class_is_a_data_error() -> None:
    ds = blobs()
    ds.target = np.where(ds.split == TRAIN, 0, ds.target)  # validation only runs at construction
    with pytest.raises(DataError, match="single class"):
        linear_baseline(ds)


def test_bad_arguments() -> None:
    with pytest.raises(DataError, match="MultimodalDataset"):
        linear_baseline({"v1": np.zeros((3, 2))})  # type: ignore[arg-type]
    for bad in (1, 0, 2.5, True):
        with pytest.raises(ConfigError, match="max_train_rows"):
            linear_baseline(blobs(), max_train_rows=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="seed"):
        linear_baseline(blobs(), seed=-1)


# regression and anomaly


def test_ridge_baseline_on_sim_reg() -> None:
    ds = load_dataset(DataConfig(dataset="sim-reg", params={**SMALL, "reference": False}))
    r = linear_baseline(ds)
    assert r is not None
    assert (r.method, r.param_name, r.metric) == ("ridge", "alpha", "mae")
    assert r.param in ALPHA_GRID and [p for p, _ in r.grid] == list(ALPHA_GRID)
    assert r.param == expected_choice(r.grid, higher=HIGHER_IS_BETTER["mae"], prefer_small=False)
    assert {"mae", "corr", "acc2", "acc7"} <= set(r.test_metrics)
    y_tr, y_te = ds.target[ds.split == TRAIN], ds.target[ds.split == TEST]
    mean_mae = float(np.mean(np.abs(y_te - y_tr.mean())))
    assert r.test_metrics["mae"] < 0.8 * mean_mae and r.test_metrics["corr"] > 0.5
    assert baseline_reference(r)["linear_test_mae"] == r.test_metrics["mae"]
    assert all(math.isfinite(v) for v in baseline_reference(r).values())


def test_anomaly_has_no_linear_baseline() -> None:
    ds = load_dataset(DataConfig(dataset="sim-anomaly", params={"n_samples": 600, "b1": 16, "b2": 16}))
    assert ds.task == "anomaly"
    assert linear_baseline(ds) is None
