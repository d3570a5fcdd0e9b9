"""r as the paper means it, pinned over the main stage (issue 19): a view that adds nothing or only nuisance is
squeezed MORE (r > 1), the only informative view LESS (r < 1), and r drifts back to 1, never flips, when neither
head adds held-out information beyond xi.

Each regime trains seeds 0, 1, 2 (ordinary seeds, never tuned: seed = data draw + initialisation) as one grid
(omib_core.train.grid) on a small SIM draw (1,000 rows, 32 superfluous dimensions per view) with the default r
(``info_gain``: paired Brier gains shrunk by ``r_evidence`` standard errors) at beta = M_u. Every test checks r at
several points of the main stage: the mean over the whole stage, every epoch of its second half, the final value.
Measured on main at dda1df2 with the log-likelihood gains and no shrinkage: the pure-nuisance v2 ended at r 0.45
and the only informative v2 at 1.35-1.67 (the full regime grid: bench/results/r_regimes.md).
"""

from __future__ import annotations

import numpy as np
import torch

from omib_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from omib_core.data import load_dataset
from omib_core.data.dataset import MultimodalDataset
from omib_core.train import EpochEvent, RunFinished, train
from omib_core.train.dynamic_r import compute_r
from omib_core.train.grid import train_grid
from tests.core.test_train import BOUND

SEEDS = (0, 1, 2)
SMALL = {"n_samples": 1000, "b1": 32, "b2": 32, "reference": False}
TRAIN = {"snapshot_every": 0, "device": "cpu", "num_threads": 1, "linear_reference": False}
TRAIN.update(min_steps=400, min_warmup_steps=100)


def _traces(dataset: str, params: dict, view: str, **train_kw) -> np.ndarray:
    """Main-stage r of ``view`` per epoch (the r each epoch trained with), one row per seed: ``(seeds, epochs)``."""
    configs = [
        RunConfig(
            data=DataConfig(dataset=dataset, seed=s, params={**SMALL, **params}),
            model=ModelConfig(),
            train=TrainConfig(seed=s, **{**TRAIN, **train_kw}),
        )
        for s in SEEDS
    ]
    rs: list[list[float]] = [[] for _ in SEEDS]
    for g, ev in train_grid(configs):
        if isinstance(ev, EpochEvent) and ev.stage == "main":
            rs[g].append(ev.metrics[f"r/{view}"])
    assert all(len(r) > 10 for r in rs), "too few main-stage epochs to pin r at several points"
    return np.array(rs)


def _late(r: np.ndarray) -> np.ndarray:
    return r[:, r.shape[1] // 2 :]


V2_NUISANCE = {"a0": 0, "a2": 0, "w0": 0.0, "w1": 1.0, "w2": 0.0}
V1_NUISANCE = {"a0": 0, "a1": 0, "a2": 4, "w0": 0.0, "w1": 0.0, "w2": 1.0}
WEAK_V2 = {"a0": 0, "a1": 4, "a2": 2, "w0": 0.0, "w1": 0.8, "w2": 0.2}
THREE_V3_NUISANCE = {"a0": 0, "a3": 0, "w0": 0.0, "w1": 0.6, "w2": 0.4, "w3": 0.0, "b3": 32}


def test_pure_nuisance_v2_is_squeezed_more_over_the_whole_main_stage() -> None:
    r = _traces("sim-i", V2_NUISANCE, "v2")
    assert r.mean() > 1.05  # squeezed more on average over seeds and the whole main stage
    assert (r.mean(axis=1) > 1.0).all()  # and in every seed
    assert _late(r).min() >= 0.95  # never flips in the second half (the old r ended at 0.45)
    assert _late(r).mean() > 1.0 and r[:, -1].min() >= 0.95  # still >= 1 late and at the end


def test_only_informative_v2_is_squeezed_less_over_the_whole_main_stage() -> None:
    r = _traces("sim-i", V1_NUISANCE, "v2")
    assert r.mean() < 0.95 and (r.mean(axis=1) < 1.0).all()
    assert _late(r).max() <= 1.05  # never flips (the old r ended at 1.35 - 1.67)
    assert r[:, -1].max() <= 1.05


def test_pure_nuisance_v1_puts_v2_below_one_at_every_beta_tried() -> None:
    # the same regime at a large beta, where the bottleneck squeezes xi hardest
    r = _traces("sim-i", V1_NUISANCE, "v2", beta_scale=30.0)
    assert (r.mean(axis=1) < 1.0).all() and _late(r).max() <= 1.05


def test_a_weak_but_needed_v2_is_not_squeezed_hard() -> None:
    r = _traces("sim-i", WEAK_V2, "v2")
    assert _late(r).max() <= 1.25 and r[:, -1].max() <= 1.25  # v2 holds a2, which the optimum needs


def test_two_equal_views_keep_r_near_one_throughout() -> None:
    r = _traces("sim-iii", {}, "v2")
    assert r.min() >= 0.8 and r.max() <= 1.25


def test_three_views_squeeze_the_pure_nuisance_one_more() -> None:
    r = _traces("sim-3m", THREE_V3_NUISANCE, "v3")
    assert r.mean() > 1.05 and (r.mean(axis=1) > 1.0).all()
    assert _late(r).min() >= 0.95 and r[:, -1].min() >= 0.95


def test_regression_keeps_the_direction_both_ways() -> None:
    # SIM-REG: the gains are half squared errors; the same shrinkage and smoothing
    nuisance = _traces("sim-reg", V2_NUISANCE, "v2")
    assert nuisance.mean() > 1.0 and (nuisance.mean(axis=1) > 1.0).all() and _late(nuisance).min() >= 0.95
    only = _traces("sim-reg", {**V1_NUISANCE, "a2": 3}, "v2")
    assert only.mean() < 1.0 and (only.mean(axis=1) < 1.0).all() and _late(only).max() <= 1.05


def test_identical_views_give_r_one() -> None:
    ds = load_dataset(DataConfig(dataset="sim-i", params={**SMALL, **V2_NUISANCE}))
    v1 = ds.modalities["v1"]
    same = MultimodalDataset("same", {"a": v1, "b": v1.copy()}, ds.target, ds.task, ds.split)
    cfg = RunConfig(train=TrainConfig(**TRAIN))
    rs = [
        ev.metrics["r/b"] for ev in train(cfg, same, bound=BOUND) if isinstance(ev, EpochEvent) and ev.stage == "main"
    ]
    assert min(rs) >= 0.9 and max(rs) <= 1.1  # two identical heads differ by noise only: no evidence, r stays at 1


def test_mean_of_ratios_collapses_on_near_zero_divisors_and_ratio_of_means_does_not() -> None:
    # two statistically identical heads whose per-row divergences spread over ~1.5 e-folds (as measured on real runs)
    g = torch.Generator().manual_seed(0)
    a = torch.exp(1.5 * torch.randn(2000, generator=g, dtype=torch.float64)) * 1e-3
    b = torch.exp(1.5 * torch.randn(2000, generator=g, dtype=torch.float64)) * 1e-3
    assert float(compute_r(a, b, "mean_of_ratios")) < 0.1  # the literal Eq. 11 reading: r near 0
    assert abs(float(compute_r(a, b, "ratio_of_means")) - 1.0) < 0.2  # the default: near 1, as it should be


def test_default_form_is_the_held_out_gain_gated_by_its_noise() -> None:
    assert TrainConfig().r_form == "info_gain" and TrainConfig().r_evidence == 3.0

    def final_r(evidence: float) -> tuple[float, ...]:
        cfg = RunConfig(
            train=TrainConfig(
                epochs=3, warmup_epochs=0, min_steps=0, device="cpu", snapshot_every=0, r_evidence=evidence
            )
        )
        ds = load_dataset(DataConfig(dataset="sim-teach", params={"n_samples": 200, "reference": False}))
        fin = [e for e in train(cfg, ds, bound=BOUND) if isinstance(e, RunFinished)]
        assert fin
        return fin[0].r_final

    assert final_r(0.0)[0] == 1.0 and final_r(0.0)[1] != 1.0  # the raw difference moves r after one main epoch
    assert final_r(3.0) == (1.0, 1.0)  # 30 held-out rows after 3 epochs: no difference beyond 3 SE, r stays at 1
