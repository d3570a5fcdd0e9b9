"""The dynamic weight r (SPEC section 4): range, fixed points, direction, guards, both forms, M >= 3."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from omib_core.train.dynamic_r import (
    GAIN_SCALE,
    compute_r,
    compute_r_all,
    compute_r_gain,
    ema_update,
    head_divergence,
    head_gain,
    head_score,
    shrunk_difference,
)

torch.set_num_threads(1)
FORMS = ["mean_of_ratios", "ratio_of_means"]


@pytest.mark.parametrize("form", FORMS)
def test_equal_divergences_give_one(form):
    d = torch.rand(50) + 0.1
    assert compute_r(d, d.clone(), form).item() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("form", FORMS)
def test_larger_second_divergence_gives_r_below_one(form):
    d1 = torch.rand(50) + 0.1
    assert compute_r(d1, 3 * d1, form).item() < 1.0
    assert compute_r(3 * d1, d1, form).item() > 1.0
    # the formula itself: 1 - tanh(ln 3)
    assert compute_r(d1, 3 * d1, form).item() == pytest.approx(1 - math.tanh(math.log(3)), rel=1e-6)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("scale", [1e-30, 1e-6, 1.0, 1e6, 1e30])
def test_r_stays_strictly_inside_zero_two(form, scale):
    d = torch.rand(20) + 0.5
    for a, b in ((d, d * scale), (d * scale, d), (torch.zeros(20), d * scale), (d * scale, torch.zeros(20))):
        r = compute_r(a, b, form).item()
        assert 0.0 < r < 2.0 and math.isfinite(r)


@pytest.mark.parametrize("form", FORMS)
def test_zeros_give_no_nan(form):
    z = torch.zeros(10)
    r = compute_r(z, z, form)
    assert torch.isfinite(r) and r.item() == pytest.approx(1.0)


def test_forms_differ_on_heterogeneous_samples():
    d1 = torch.tensor([1.0, 0.01], dtype=torch.float64)
    d2 = torch.tensor([1.0, 1.0], dtype=torch.float64)
    mor = compute_r(d1, d2, "mean_of_ratios").item()
    rom = compute_r(d1, d2, "ratio_of_means").item()
    eps = 1e-8
    assert mor == pytest.approx(1 - math.tanh(math.log((1 + (1 + eps) / (0.01 + eps)) / 2)), rel=1e-9)
    assert rom == pytest.approx(1 - math.tanh(math.log((1 + eps) / (0.505 + eps))), rel=1e-9)


def test_gradients_are_stopped():
    a, b = torch.rand(5, requires_grad=True), torch.rand(5, requires_grad=True)
    assert not compute_r(a, b).requires_grad
    assert not head_divergence("regression", torch.rand(5, 1, requires_grad=True), torch.rand(5, 1)).requires_grad


def test_three_modalities_use_the_first_as_reference():
    d1, d2, d3 = torch.full((8,), 1.0), torch.full((8,), 2.0), torch.full((8,), 0.5)
    r = compute_r_all([d1, d2, d3])
    assert r.shape == (3,) and r[0].item() == 1.0
    assert r[1].item() == pytest.approx(1 - math.tanh(math.log(2.0)))
    assert r[2].item() == pytest.approx(1 - math.tanh(math.log(0.5)))
    assert r[1].item() < 1.0 < r[2].item()


def test_classification_divergence_is_kl_trb_first():
    g = torch.Generator().manual_seed(0)
    trb, ddec = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    oracle = F.kl_div(F.log_softmax(ddec, -1), F.log_softmax(trb, -1), reduction="none", log_target=True).sum(-1)
    assert torch.allclose(head_divergence("classification", trb, ddec), oracle, atol=1e-6)
    assert torch.allclose(head_divergence("classification", trb, trb), torch.zeros(6), atol=1e-6)


def test_regression_and_anomaly_divergences():
    a, b = torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0], [1.0]])
    assert torch.allclose(head_divergence("regression", a, b), torch.tensor([0.5, 2.0]))
    e1, e2 = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 0.0]])
    assert torch.allclose(head_divergence("anomaly", e1, e2), torch.tensor([5.0]))
    with pytest.raises(ValueError):
        head_divergence("ranking", a, b)


def test_ema_update():
    r = torch.tensor([1.0, 1.0], dtype=torch.float64)
    out = ema_update(r, torch.tensor([1.0, 0.0], dtype=torch.float64), 0.9)
    assert torch.allclose(out, torch.tensor([1.0, 0.9], dtype=torch.float64))


def test_rounding_negative_kl_never_gives_nan_r():
    """Near-identical confident heads give KL values around -1e-8 in float32; r must stay finite."""
    import torch

    from omib_core.train.dynamic_r import compute_r_all, head_divergence

    torch.manual_seed(0)
    logits = torch.randn(4096, 4) * 40.0
    d_ref = head_divergence("classification", logits + 1e-6 * torch.randn_like(logits), logits)
    d_2 = head_divergence("classification", logits, logits + 1e-6 * torch.randn_like(logits))
    assert (d_ref >= 0).all() and (d_2 >= 0).all()
    r = compute_r_all([d_ref, d_2])
    assert torch.isfinite(r).all() and 0.0 < float(r[1]) < 2.0


# the default form: paired held-out gains, shrunk by their standard error (issue 19)


def test_brier_score_and_gain_against_a_hand_computed_oracle():
    logits = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    y = torch.tensor([0, 1])
    p1 = math.exp(2) / (1 + math.exp(2))
    oracle = torch.tensor([0.25 + 0.25, (p1 - 0) ** 2 + (1 - p1 - 1) ** 2])
    torch.testing.assert_close(head_score("classification", logits, y), oracle)
    # gain of a head over dDec = dDec's score - the head's score; a perfect head gains, a wrong one loses
    ddec = torch.zeros(2, 2)
    assert head_gain("classification", torch.tensor([[9.0, 0.0], [0.0, 9.0]]), ddec, y).min() > 0.49
    assert head_gain("classification", torch.tensor([[0.0, 9.0], [9.0, 0.0]]), ddec, y).max() < -1.4
    # bounded: an overconfident wrong row costs at most 2 (its log-loss would be ~1e4)
    assert head_score("classification", torch.tensor([[0.0, 1e4]]), torch.tensor([0])).item() == pytest.approx(2.0)
    reg = head_score("regression", torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 1.0]))
    torch.testing.assert_close(reg, torch.tensor([0.5, 2.0]))
    with pytest.raises(ValueError):
        head_score("anomaly", logits, y)


def test_shrunk_difference_soft_thresholds_by_standard_errors():
    d = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)  # mean 2.5, sd 1.291, se 0.6455
    se = float(d.std()) / 2
    assert float(shrunk_difference(d, 0.0)) == pytest.approx(2.5)
    assert float(shrunk_difference(d, 2.0)) == pytest.approx(2.5 - 2 * se)
    assert float(shrunk_difference(-d, 2.0)) == pytest.approx(-(2.5 - 2 * se))
    assert float(shrunk_difference(d, 4.0)) == 0.0  # 2.5 < 4 se: no evidence
    one = torch.tensor([0.7], dtype=torch.float64)
    assert float(shrunk_difference(one, 3.0)) == pytest.approx(0.7)  # one row: no standard error, the plain mean


def test_gain_r_is_exactly_one_for_noise_and_moves_for_a_real_difference():
    g = torch.Generator().manual_seed(0)
    n = 400
    base = torch.tensor(0.4, dtype=torch.float64)
    g1 = 0.3 * torch.randn(n, generator=g, dtype=torch.float64)
    noise = g1 + 0.3 * torch.randn(n, generator=g, dtype=torch.float64) / n**0.5 * 20  # same mean: no evidence
    shrunk = float(shrunk_difference(noise - g1, 3.0))
    assert shrunk == 0.0 and compute_r_gain([g1, noise], base)[1].item() == 1.0
    worse = g1 - 0.1  # head 2 loses 0.1 on every row: its view adds less, squeezed more
    r = compute_r_gain([g1, worse, g1 + 0.1], base)
    assert r.shape == (3,) and r[0].item() == 1.0
    assert r[1].item() == pytest.approx(1 + math.tanh(0.1 / (GAIN_SCALE * 0.4)), rel=1e-9)  # se = 0: no shrinkage
    assert r[2].item() == pytest.approx(1 - math.tanh(0.1 / (GAIN_SCALE * 0.4)), rel=1e-9)
    assert 0.0 < r.min().item() and r.max().item() < 2.0
    # a paired comparison: a difference far below the spread of either head's gains is still evidence
    assert compute_r_gain([g1, g1 - 0.02], base)[1].item() > 1.0
    assert compute_r_gain([g1, g1.flip(0) - 0.02], base)[1].item() == 1.0  # unpaired rows: lost in the spread
