"""beta_for: the one rule for a run's KL weight, checked by hand and against what the training loop logs."""

from __future__ import annotations

import pytest
import torch

from omib_core.bound.result import BoundResult, Estimate
from omib_core.config import TrainConfig
from omib_core.train import RunFinished, RunStarted, StepEvent
from omib_core.train.beta import beta_follows_r, beta_for, beta_over_mu, m_u_for
from tests.core.test_train import BOUND, TINY, config, make_dataset, run

torch.set_num_threads(1)

NO_MU = BoundResult("gaussian", ("v1", "v2"), {}, None, Estimate("H_joint", -1.0), None, None, failure="negative")


def test_beta_for_follows_the_settings_the_bound_and_r():
    # H_joint = 10: conservative M_u = 1/30, M_u(r) = 1 / ((1 + r) 10)
    assert beta_for(TrainConfig(beta_scale=3.0), BOUND, 0.5) == pytest.approx(3.0 / 30)
    assert beta_for(TrainConfig(beta_scale=3.0, bound="with_r"), BOUND, 0.5) == pytest.approx(3.0 / 15)
    assert beta_for(TrainConfig(beta=0.25, bound="with_r"), BOUND, 0.5) == 0.25  # by hand: the bound does not count
    assert beta_for(TrainConfig(beta=0.25), None, 1.0) == 0.25
    assert beta_for(TrainConfig(), NO_MU, 1.0) is None and beta_for(TrainConfig(), None, 1.0) is None
    assert beta_for(TrainConfig(), None, 1.0, bottleneck=False) == 0.0  # no KL term: beta unused
    assert m_u_for(TrainConfig(bound="with_r"), BOUND, 1.0) == pytest.approx(1 / 20)
    assert beta_follows_r(TrainConfig(bound="with_r"), BOUND) and not beta_follows_r(TrainConfig(), BOUND)
    assert not beta_follows_r(TrainConfig(bound="with_r", beta=0.1), BOUND)
    assert beta_over_mu(0.1, 1 / 30) == pytest.approx(3.0) and beta_over_mu(0.1, None) is None


def test_a_tensor_r_gives_the_same_beta_as_a_float():
    t = TrainConfig(beta_scale=2.0, bound="with_r")
    got = beta_for(t, BOUND, torch.tensor(0.7, dtype=torch.float64))
    assert isinstance(got, torch.Tensor) and float(got) == pytest.approx(beta_for(t, BOUND, 0.7), rel=1e-12)


@pytest.mark.parametrize("train_kw", [{"beta_scale": 2.0}, {"beta_scale": 2.0, "bound": "with_r"}, {"beta": 0.02}])
def test_the_loop_logs_the_beta_of_beta_for(train_kw):
    cfg = config(epochs=3, r_evidence=0.0, **train_kw)  # no evidence gate: r moves from the first main epoch on
    events = run(cfg, make_dataset(n=240))
    start, steps = events[0], [e for e in events if isinstance(e, StepEvent) and e.stage == "main"]
    assert isinstance(start, RunStarted) and isinstance(events[-1], RunFinished)
    assert start.beta == beta_for(cfg.train, BOUND, 1.0)  # r = 1 at the start: the sum of r_j (j >= 2) is 1
    if cfg.train.bound == "with_r":  # r has moved, so beta has followed it
        assert any(s.metrics["r/v2"] != 1.0 for s in steps)
    for s in steps:  # r is constant within an epoch (r_update="epoch"), so each window's mean beta is beta_for's
        want = beta_for(cfg.train, BOUND, s.metrics["r/v2"])
        assert s.metrics["beta"] == pytest.approx(want, rel=1e-5)
    final = events[-1]
    assert final.beta == pytest.approx(beta_for(cfg.train, BOUND, sum(final.r_final[1:])), rel=1e-6)


def test_a_run_without_mu_stops_with_a_sentence():
    events = run(config(model=TINY), make_dataset(n=120), bound=NO_MU)
    assert len(events) == 1 and "there is no M_u (negative)" in events[0].message
