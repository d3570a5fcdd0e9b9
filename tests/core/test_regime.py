"""The regime verdict: computed from a run's own numbers, against its demo's other runs when they have finished.

The per-seed numbers below are bench/results/teach_sweep.json's last-epoch values on the teaching preset (dynamic r):
(train accuracy, test accuracy, KL_v1, KL_v2, linear model's test accuracy).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from omib_core.analysis.regime import (
    BASIS_ALONE,
    BASIS_PEERS,
    GAP_OVERFIT,
    final_numbers,
    gap,
    learner_deltas,
    live_state,
    verdict,
)

MEASURED = {  # beta/M_u -> per seed (train, test, KL_v1, KL_v2, linear)
    0.1: [
        (1.0, 0.7545, 78.48, 18.70, 0.700),
        (1.0, 0.7491, 83.49, 15.31, 0.680),
        (1.0, 0.7615, 92.20, 18.21, 0.716),
        (1.0, 0.7690, 93.95, 16.86, 0.721),
        (1.0, 0.7525, 82.72, 17.76, 0.695),
    ],
    30.0: [
        (0.987, 0.7855, 12.77, 0.45, 0.700),
        (0.993, 0.7716, 13.72, 2.34, 0.680),
        (0.962, 0.7795, 13.30, 0.71, 0.716),
        (0.984, 0.7875, 12.98, 1.74, 0.721),
        (0.983, 0.7810, 13.00, 1.70, 0.695),
    ],
    300.0: [
        (0.819, 0.7045, 1.83, 0.01, 0.700),
        (0.857, 0.7156, 1.94, 0.01, 0.680),
        (0.871, 0.7540, 1.70, 0.00, 0.716),
        (0.790, 0.6775, 1.69, 0.00, 0.721),
        (0.863, 0.7345, 1.79, 0.04, 0.695),
    ],
}
EXPECTED = {0.1: "overfits", 30.0: "about right", 300.0: "underfits"}


def final(train, test, kl1, kl2, _linear=None) -> dict[str, float]:
    return {"train/accuracy": train, "test/accuracy": test, "kl/v1": kl1, "kl/v2": kl2}


@pytest.mark.parametrize("scale", sorted(MEASURED))
def test_alone_every_measured_seed_lands_in_its_regime(scale):
    for row in MEASURED[scale]:
        v = verdict(final(*row), linear=row[4])
        assert v.label == EXPECTED[scale], (scale, row, v)
        assert v.basis == BASIS_ALONE


@pytest.mark.parametrize("seed", range(5))
def test_against_its_peers_each_seed_of_the_demo_gets_its_regime(seed):
    finals = {s: final(*MEASURED[s][seed]) for s in MEASURED}
    for s, f in finals.items():
        peers = [g for t, g in finals.items() if t != s]
        v = verdict(f, peers, linear=MEASURED[s][seed][4])
        assert (v.label, v.basis) == (EXPECTED[s], BASIS_PEERS), (s, seed, v)


def test_the_sentences_carry_the_runs_own_numbers():
    over = verdict(final(1.0, 0.7545, 78.48, 18.70), linear=0.70)
    assert over.sentence == "overfits: train-test gap 0.25 (train 1.00, test 0.75)"
    right = verdict(final(0.987, 0.7855, 12.77, 1.39))
    assert right.sentence == "about right: test 0.79, gap 0.20, KL_v2 1.4 nats"
    under = verdict(final(0.819, 0.7045, 1.83, 0.01), linear=0.70)
    assert under.sentence == "underfits: KL_v2 0.0 nats, KL_v1 1.8 nats, test 0.70, +0.00 vs linear"
    # other numbers, other sentence: nothing is a fixed string
    assert verdict(final(1.0, 0.70, 60.0, 9.0)).sentence == "overfits: train-test gap 0.30 (train 1.00, test 0.70)"


def test_peers_overrule_the_thresholds_in_both_directions():
    # a wide gap (alone: overfits), but the best test accuracy of its demo: about right
    wide = final(1.0, 0.77, 40.0, 6.0)
    assert verdict(wide).label == "overfits"
    others = [final(0.9, 0.70, 2.0, 0.1), final(1.0, 0.74, 90.0, 18.0)]
    assert verdict(wide, others).label == "about right"
    # a narrow gap (alone: about right), but clearly below the best and keeping more nats than it: overfits
    narrow = final(0.95, 0.75, 30.0, 5.0)
    assert verdict(narrow).label == "about right"
    best = final(0.97, 0.79, 12.0, 1.0)
    v = verdict(narrow, [best])
    assert v.label == "overfits" and "0.04 below the best here" in v.sentence
    # below the best and keeping fewer nats than it: underfits
    assert verdict(final(0.85, 0.74, 4.0, 0.2), [best]).label == "underfits"


def test_within_the_tie_of_the_best_is_about_right_and_just_outside_is_not():
    best = final(0.98, 0.780, 13.0, 1.4)
    assert verdict(final(1.0, 0.771, 80.0, 17.0), [best]).label == "about right"  # 0.009 below: a tie
    assert verdict(final(1.0, 0.768, 80.0, 17.0), [best]).label == "overfits"  # 0.012 below


def test_the_linear_model_marks_underfitting_when_the_kl_is_not_tiny():
    f = final(0.80, 0.71, 3.5, 0.5)  # 4 nats kept: above the KL threshold
    assert verdict(f).label == "about right"
    v = verdict(f, linear=0.70)  # but only +0.01 over the linear model
    assert v.label == "underfits" and "+0.01 vs linear" in v.sentence


def test_the_gap_threshold_is_the_boundary():
    assert verdict(final(1.0, 1.0 - GAP_OVERFIT - 0.001, 20.0, 2.0)).label == "overfits"
    assert verdict(final(1.0, 1.0 - GAP_OVERFIT + 0.01, 20.0, 2.0)).label == "about right"


def test_a_run_without_its_numbers_waits():
    assert verdict({}).label == "waiting"
    assert verdict({"train/accuracy": 1.0, "test/accuracy": float("nan"), "kl/v1": 3.0}).label == "waiting"
    assert gap({"train/accuracy": 0.9}) is None


def test_live_state_names_the_epoch_and_the_gap_so_far():
    assert (
        live_state(40, 110, {"train/accuracy": 0.95, "test/accuracy": 0.80})
        == "training: epoch 40 of 110, gap 0.15 so far"
    )
    assert live_state(3, 110, {}).startswith("training: epoch 3 of 110 (warm-up")
    assert live_state(None, None, {}).startswith("training: epoch 0")


def test_final_numbers_read_the_last_epoch_and_average_its_kl_steps():
    steps = pd.DataFrame(
        {
            "step": [1, 2, 3, 4, 5, 6],
            "epoch": [0, 0, 1, 1, 2, 2],
            "kl/v1": [np.nan, np.nan, 5.0, 7.0, 2.0, 4.0],
            "kl/v2": [np.nan, np.nan, 1.0, 1.0, 0.5, np.nan],
            "r/v2": [np.nan, np.nan, 1.0, 1.2, 0.8, 0.6],
        }
    )
    epochs = pd.DataFrame(
        {"epoch": [0, 1, 2], "train/accuracy": [np.nan, 0.9, 0.95], "test/accuracy": [np.nan, 0.7, np.nan]}
    )
    out = final_numbers(steps, epochs)
    assert (
        out["kl/v1"] == pytest.approx(3.0) and out["kl/v2"] == pytest.approx(0.5) and out["r/v2"] == pytest.approx(0.7)
    )
    assert out["train/accuracy"] == 0.95 and out["test/accuracy"] == 0.7  # the last epoch that has it
    assert final_numbers(pd.DataFrame(), pd.DataFrame()) == {}


def test_learner_deltas_are_against_the_linear_model_and_the_best_beta_never_the_ground_truth():
    ref = {"linear_test_accuracy": 0.70, "optimal_mib_accuracy": 0.896}
    assert learner_deltas(0.7855, ref, best=0.7805) == ["+0.086 vs the linear model", "+0.005 vs the sweep's best β"]
    assert learner_deltas(0.7045, ref) == ["+0.005 vs the linear model"]
    assert learner_deltas(0.75, {}) == [] and learner_deltas(None, ref) == []
