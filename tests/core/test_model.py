"""The OMIB network against oracles: KL vs torch.distributions, attention vs F.scaled_dot_product_attention."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from omib_core.config import ModelConfig
from omib_core.model import (
    CAN,
    OMIB,
    ConcatFusion,
    VariationalBottleneck,
    attention,
    kl_standard_normal,
    reparameterize,
)

torch.set_num_threads(1)

SMALL = ModelConfig(hidden_dim=16, enc_layers=1, z_dim=8, latent_dim=8, xi_dim=6, tokens=2, heads=2, dropout=0.0)


def _xs(dims: dict[str, int], b: int = 5) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {m: torch.randn(b, d, generator=g) for m, d in dims.items()}


def test_kl_matches_torch_distributions_summed_over_dims():
    g = torch.Generator().manual_seed(1)
    mu, logvar = torch.randn(7, 5, generator=g), torch.randn(7, 5, generator=g)
    oracle = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(-1).mean()
    assert torch.allclose(kl_standard_normal(mu, logvar), oracle, atol=1e-6)
    # summed, not averaged, over dims: doubling the dims doubles the KL
    assert torch.allclose(kl_standard_normal(mu.repeat(1, 2), logvar.repeat(1, 2)), 2 * oracle, atol=1e-5)
    assert kl_standard_normal(torch.zeros(3, 4), torch.zeros(3, 4)).item() == 0.0


def test_reparameterize_eval_path_is_mu_and_sampling_is_seeded():
    mu, logvar = torch.randn(4, 3), torch.zeros(4, 3)
    assert torch.equal(reparameterize(mu, logvar, sample=False), mu)
    a = reparameterize(mu, logvar, True, torch.Generator().manual_seed(3))
    b = reparameterize(mu, logvar, True, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and not torch.equal(a, mu)


def test_logvar_is_clamped():
    vae = VariationalBottleneck(4, 3)
    with torch.no_grad():
        vae.proj.weight.fill_(100.0)
    _, _, logvar = vae(torch.ones(2, 4), sample=False)
    assert logvar.max().item() == 10.0
    _, _, logvar = vae(-torch.ones(2, 4), sample=False)
    assert logvar.min().item() == -10.0


@pytest.mark.parametrize("tq,tk", [(4, 4), (3, 8)])
def test_attention_core_matches_sdpa(tq, tk):
    g = torch.Generator().manual_seed(2)
    q, k, v = (
        torch.randn(2, 3, tq, 5, generator=g),
        torch.randn(2, 3, tk, 5, generator=g),
        torch.randn(2, 3, tk, 5, generator=g),
    )
    assert torch.allclose(attention(q, k, v), F.scaled_dot_product_attention(q, k, v), atol=1e-6)


@pytest.mark.parametrize("M", [2, 3])
def test_can_shape_and_cross_modal_dependence(M):
    can = CAN(M, latent_dim=8, xi_dim=6, tokens=2, heads=2)
    zetas = [torch.randn(5, 8, requires_grad=True) for _ in range(M)]
    xi = can(zetas)
    assert xi.shape == (5, 6)
    xi.sum().backward()
    assert all(z.grad is not None and z.grad.abs().sum() > 0 for z in zetas)
    # changing the last modality changes xi: its tokens are keys/values for the others
    moved = [z.detach().clone() for z in zetas]
    moved[-1] += 1.0
    assert not torch.allclose(can(moved), xi.detach())


def test_concat_fusion_shape():
    assert ConcatFusion(3, 8, 6)([torch.randn(4, 8)] * 3).shape == (4, 6)


@pytest.mark.parametrize("task,out_dim", [("classification", 3), ("regression", 1), ("anomaly", 16)])
def test_omib_forward_shapes(task, out_dim):
    dims = {"a": 7, "b": 4, "c": 5}
    model = OMIB(dims, out_dim, SMALL, task=task)
    out = model(_xs(dims), "main", sample=True)
    assert out["xi"].shape == (5, 6) and out["y_hat"].shape == (5, out_dim)
    for m in dims:
        assert out["z"][m].shape == (5, 8) and out["zeta"][m].shape == (5, 8) and out["mu"][m].shape == (5, 8)
        assert out["y_hat_i"][m].shape == (5, out_dim) and out["kl"][m].dim() == 0 and out["kl"][m] >= 0
    warm = model(_xs(dims), "warmup", sample=True)
    assert set(warm) == {"z", "y_hat_i"} and warm["y_hat_i"]["a"].shape == (5, out_dim)
    last_layers = [model.ddec.net[-1]] + [model.trb[m].net[-1] for m in dims]
    assert all((layer.bias is None) == (task == "anomaly") for layer in last_layers)


def test_eval_path_is_deterministic_and_sampling_is_not():
    dims = {"a": 3, "b": 4}
    model = OMIB(dims, 2, SMALL)
    xs = _xs(dims)
    a, b = model(xs, "main", sample=False), model(xs, "main", sample=False)
    assert torch.equal(a["y_hat"], b["y_hat"])
    assert torch.equal(a["zeta"]["a"], a["mu"]["a"])
    assert not torch.equal(model(xs, "main", sample=True)["y_hat"], a["y_hat"])
    assert not torch.equal(
        model(xs, "warmup", sample=True)["y_hat_i"]["a"], model(xs, "warmup", sample=False)["y_hat_i"]["a"]
    )


def test_warmup_touches_only_encoders_and_trb_heads():
    dims = {"a": 3, "b": 4}
    model = OMIB(dims, 2, SMALL)
    out = model(_xs(dims), "warmup", sample=True)
    sum(y.sum() for y in out["y_hat_i"].values()).backward()
    warm = {id(p) for p in model.warmup_parameters()}
    for name, p in model.named_parameters():
        assert (p.grad is not None) == (id(p) in warm), name


@pytest.mark.parametrize("fusion", ["can", "concat"])
def test_no_bottleneck_is_deterministic_with_zero_kl(fusion):
    dims = {"a": 3, "b": 4}
    model = OMIB(dims, 2, SMALL.replace(bottleneck=False, fusion=fusion))
    xs = _xs(dims)
    a, b = model(xs, "main", sample=True), model(xs, "main", sample=True)
    assert torch.equal(a["y_hat"], b["y_hat"])
    assert all(a["kl"][m].item() == 0.0 for m in dims)


def test_omib_needs_two_modalities():
    with pytest.raises(ValueError, match="at least 2 modalities"):
        OMIB({"a": 3}, 2, SMALL)


def test_dropout_is_off_in_eval_mode():
    dims = {"a": 3, "b": 4}
    model = OMIB(dims, 2, ModelConfig(**{**SMALL.to_dict(), "dropout": 0.5}))
    xs = _xs(dims)
    assert not torch.equal(model(xs, "main", sample=False)["y_hat"], model(xs, "main", sample=False)["y_hat"])
    model.eval()
    assert torch.equal(model(xs, "main", sample=False)["y_hat"], model(xs, "main", sample=False)["y_hat"])
