"""Information per latent block (omib_core.analysis.information) against exactly known Gaussian mutual information,
and the latent blocks the SIM generators carry for held-out rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from omib_core.analysis.information import (
    exact_gaussian_mi,
    gaussian_information,
    held_out_blocks,
    information_table,
    kept,
    metric_name,
    parse_metric_name,
    split_bias,
    table_from_metrics,
    table_metrics,
)
from omib_core.config import DataConfig
from omib_core.data import load_dataset
from omib_core.data.dataset import TRAIN
from omib_core.data.latent import LatentSpec

# helpers


def gaussian_pair(n: int, p: int, q: int, rho: list[float], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Jointly Gaussian (n, p) and (n, q) with canonical correlations ``rho`` (the rest 0), each side mixed by a random
    invertible map so that the canonical directions are not the coordinates."""
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((n, p)), rng.standard_normal((n, q))
    k = len(rho)
    r = np.asarray(rho)
    y[:, :k] = r * x[:, :k] + np.sqrt(1 - r**2) * y[:, :k]
    return x @ rng.standard_normal((p, p)), y @ rng.standard_normal((q, q))


def rhos_for(total: float, k: int) -> list[float]:
    """k equal canonical correlations whose Gaussian MI sums to ``total`` nats."""
    return [math.sqrt(1 - math.exp(-2 * total / k))] * k


# the estimator


def test_exact_gaussian_mi_formula():
    assert exact_gaussian_mi([0.0, 0.0]) == 0.0
    assert exact_gaussian_mi([0.6]) == pytest.approx(-0.5 * math.log(1 - 0.36))
    assert exact_gaussian_mi(rhos_for(1.3, 4)) == pytest.approx(1.3)


def test_split_bias_matches_a_monte_carlo_of_the_fitted_coefficients_error():
    """E log det(I + B_err B_err^T) for least squares on pure noise: the closed form against simulation (the oracle)."""
    n, p, q = 60, 4, 7
    rng = np.random.default_rng(0)
    draws = []
    for _ in range(3000):
        x, z = rng.standard_normal((n, p)), rng.standard_normal((n, q))
        x, z = x - x.mean(0), z - z.mean(0)
        b = np.linalg.solve(x.T @ x, x.T @ z)  # (p, q) the coefficient error (true coefficients 0)
        draws.append(np.linalg.slogdet(np.eye(p) + b @ b.T)[1])
    mc, se = float(np.mean(draws)), float(np.std(draws) / math.sqrt(len(draws)))
    assert abs(split_bias(n, p, q) - mc) < 4 * se + 1e-3, (split_bias(n, p, q), mc, se)


@pytest.mark.parametrize(
    "n, p, q, total",
    [(1000, 32, 4, 0.1), (1000, 32, 4, 1.0), (1000, 32, 2, 3.0), (1000, 8, 32, 0.3), (2000, 32, 128, 1.0)],
)
def test_mean_over_draws_matches_the_exact_gaussian_mi(n, p, q, total):
    """Within 5 % of the exact value (or 4 standard errors of the mean over draws, whichever is larger)."""
    est = [
        gaussian_information(*gaussian_pair(n, p, q, rhos_for(total, min(4, p, q)), seed=s), seed=s) for s in range(8)
    ]
    mean, se = float(np.mean(est)), float(np.std(est) / math.sqrt(len(est)))
    assert abs(mean - total) <= max(0.05 * total, 4 * se), (mean, se, total)
    assert se < 0.05 * total + 0.01  # and each draw is informative, not just right on average


@pytest.mark.parametrize("n, p, q", [(1000, 32, 2), (1000, 32, 4), (3000, 64, 4), (2000, 16, 8)])
def test_independent_blocks_read_about_zero(n, p, q):
    est = [gaussian_information(*gaussian_pair(n, p, q, [], seed=s), seed=s) for s in range(10)]
    assert max(abs(v) for v in est) < 0.05, est


def test_a_wide_independent_block_reads_zero_on_average_and_the_plain_split_half_does_not():
    """The naive split-half estimate of issue 19 read -0.4 and -1.1 nats for a block xi hardly holds; the correction
    removes that. 32-dim representation, 128-dim block, 1,000 rows: one estimate's spread is about 0.06 nats here (the
    sample's own noise: 32 x 128 cross-correlations of 1,000 rows), so the mean is held to 0.05 and each draw to 0.3."""
    pairs = [gaussian_pair(1000, 32, 128, [], seed=s) for s in range(16)]
    fixed = [gaussian_information(x, y, seed=s) for s, (x, y) in enumerate(pairs)]
    plain = [gaussian_information(x, y, seed=s, bias_correction=False) for s, (x, y) in enumerate(pairs)]
    assert abs(float(np.mean(fixed))) < 0.05 and max(abs(v) for v in fixed) < 0.3, fixed
    assert max(plain) < -0.5, plain  # the positive control: without the correction, far below 0


def test_degenerate_representation_columns_are_dropped():
    x, y = gaussian_pair(2000, 3, 2, rhos_for(0.8, 2), seed=1)
    wide = np.c_[x, np.zeros((2000, 5)), x[:, :1] * 2.0, np.full((2000, 1), 7.0)]  # constants and a duplicate
    assert gaussian_information(wide, y, seed=1) == pytest.approx(gaussian_information(x, y, seed=1), abs=1e-6)
    assert information_table({"c": np.ones((100, 4))}, {"b": np.ones((100, 2))})["c"]["b"] == 0.0


def test_too_few_rows_give_nan_not_a_number_from_nowhere():
    x, y = gaussian_pair(60, 40, 2, [], seed=0)
    assert math.isnan(gaussian_information(x, y))
    assert math.isnan(gaussian_information(x[:10], y[:10]))


def test_information_table_covers_every_pair_and_names_round_trip():
    x, y = gaussian_pair(800, 6, 3, rhos_for(1.0, 3), seed=2)
    z = np.random.default_rng(3).standard_normal((800, 4))
    b2 = z[:, :2] + 0.01 * np.random.default_rng(4).standard_normal((800, 2))
    table = information_table({"xi": x, "z_v1": z}, {"a1": y, "b2": b2})
    assert table["xi"]["a1"] == pytest.approx(1.0, abs=0.15)
    assert abs(table["xi"]["b2"]) < 0.05 and abs(table["z_v1"]["a1"]) < 0.05
    assert table["z_v1"]["b2"] > 5  # z holds b2 up to 1 % noise: 2 x ln(100) = 9.2 nats
    metrics = table_metrics(table)
    assert set(metrics) == {"info/xi/a1", "info/xi/b2", "info/z_v1/a1", "info/z_v1/b2"}
    assert parse_metric_name(metric_name("zeta_v1", "b0")) == ("zeta_v1", "b0")
    assert parse_metric_name("kl/v1") is None and parse_metric_name("info/xi") is None
    assert table_from_metrics({**metrics, "loss": 1.0}) == table
    assert kept({"a0": 1.0, "a1": 2.0, "b0": 0.5, "b2": 0.25}) == (3.0, 0.75)


# the blocks the generators carry


@pytest.mark.parametrize("dataset", ["sim-i", "sim-teach", "sim-3m", "sim-reg", "sim-anomaly"])
def test_sim_datasets_carry_their_blocks_for_held_out_rows_only(dataset):
    ds = load_dataset(DataConfig(dataset=dataset, params={"n_samples": 400}, seed=1))
    rows, blocks = held_out_blocks(ds.ground_truth)
    assert np.array_equal(rows, np.flatnonzero(ds.split != TRAIN))
    sizes = {b: v.shape[1] for b, v in blocks.items()}
    assert sizes == {b: s for b, s in ds.meta["blocks"].items() if s > 0}
    task = [b for b in ds.meta["task_blocks"] if sizes.get(b)]
    assert np.allclose(np.hstack([blocks[b] for b in task]), ds.ground_truth["optimal_features"][rows], atol=1e-6)
    # the blocks reach no input: standardising leaves them aside, and no modality column equals a block column
    std = ds.standardized()
    assert std.ground_truth is ds.ground_truth and set(std.modalities) == set(ds.modalities)
    assert all(x.shape[0] == ds.n_samples for x in std.modalities.values())


def test_real_data_carries_no_blocks():
    assert held_out_blocks(None) is None
    assert held_out_blocks({"optimal_features": np.zeros((3, 2))}) is None


def test_the_views_hold_exactly_the_blocks_they_are_made_of():
    """On the generator's own views: I(v1; b2) = I(v2; a1) = 0 exactly and I(v1; a1) is the exact Gaussian value."""
    spec = LatentSpec.of(
        "t",
        blocks={"a0": 2, "a1": 4, "a2": 2, "b0": 2, "b1": 16, "b2": 16},
        view_blocks={"v1": ("a0", "a1", "b0", "b1"), "v2": ("a0", "a2", "b0", "b2")},
        task_blocks=("a0", "a1", "a2"),
        weights={"a0": 1, "a1": 1, "a2": 1},
        dims={"v1": None, "v2": None},
        noise=1.0,
        n_samples=3000,
        seed=4,
        val_fraction=0.2,
        test_fraction=0.2,
    )
    draw = spec.draw()
    views = draw.views()
    table = information_table(views, {b: draw.latents[b] for b in ("a1", "b2")})
    load = draw.lv.loading("v1")[:, draw.lv.slices()["a1"]]  # (dim, 4): v1 = load a1 + independent rest
    cov = draw.lv.population_cov()[: load.shape[0], : load.shape[0]]
    exact = 0.5 * (np.linalg.slogdet(cov)[1] - np.linalg.slogdet(cov - load @ load.T)[1])
    assert table["v1"]["a1"] == pytest.approx(exact, rel=0.05)
    assert abs(table["v1"]["b2"]) < 0.05 and abs(table["v2"]["a1"]) < 0.05


def test_a_large_draw_is_measured_on_a_bounded_seeded_subset_of_its_held_out_rows():
    ds = load_dataset(DataConfig(dataset="sim-i", params={"n_samples": 1000, "reference": False}, seed=2))
    rows, blocks = held_out_blocks(ds.ground_truth, max_rows=100)
    again, _ = held_out_blocks(ds.ground_truth, max_rows=100)
    assert len(rows) == 100 and np.array_equal(rows, again) and np.all(np.diff(rows) > 0)
    assert set(rows) <= set(np.flatnonzero(ds.split != TRAIN)) and all(len(v) == 100 for v in blocks.values())
    first = np.flatnonzero(ds.split != TRAIN)
    full_rows, full = held_out_blocks(ds.ground_truth, max_rows=None)
    assert np.array_equal(full_rows, first)
    pos = np.searchsorted(full_rows, rows)
    assert np.array_equal(blocks["a1"], full["a1"][pos])  # each kept row keeps its own blocks
