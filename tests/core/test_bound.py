"""Tests of omib_core.bound: estimators against exact Gaussian information, and the M_u bound logic.

Oracles: closed-form Gaussian entropy / mutual information (np.linalg.slogdet on the true covariance),
ln(batch) for InfoNCE, and the bound formulas of SPEC section 5.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from omib_core.bound import (
    BoundResult,
    Estimate,
    beta_bound,
    bound_values,
    estimate_bound,
    estimate_bound_arrays,
    estimate_entropy,
    estimate_mi,
    fingerprint,
    gaussian_entropy,
    gaussian_mi,
    levelled_off,
)
from omib_core.bound.gaussian import (
    GaussianMode,
    gaussian_entropy_value,
    gaussian_mi_value,
    ledoit_wolf,
    logdet_bias,
)
from omib_core.config import BoundConfig, DataConfig, ModelConfig, RunConfig, TrainConfig
from omib_core.data import load_dataset
from omib_core.data.dataset import MultimodalDataset, make_split
from omib_core.errors import BoundError

CPU = torch.device("cpu")
LOG_2PIE = math.log(2 * math.pi * math.e)
# small, fast neural settings (a few hundred steps); tolerances below are for these
FAST = {"seeds": 1, "steps": 300, "lr": 1e-3, "hidden_dim": 64, "batch_size": 128}


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


# helpers


def correlated(n: int, d: int, mi: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x ~ N(0, I_d), y = rho x + sqrt(1 - rho^2) e: exact I(x; y) = -d/2 ln(1 - rho^2) = mi."""
    rho = math.sqrt(1 - math.exp(-2 * mi / d))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((n, d))
    return x, y


def gaussian_h(cov: np.ndarray) -> float:
    return 0.5 * (cov.shape[0] * LOG_2PIE + np.linalg.slogdet(cov)[1])


def random_cov(d: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).standard_normal((d, d))
    return a @ a.T + 0.5 * np.eye(d)


def with_sample_cov(cov: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n rows whose sample covariance (ddof=1) is exactly cov."""
    z = np.random.default_rng(seed).standard_normal((n, cov.shape[0]))
    z -= z.mean(0)
    white = np.linalg.cholesky(np.cov(z, rowvar=False))
    return z @ np.linalg.inv(white).T @ np.linalg.cholesky(cov).T


def dataset(modalities: dict[str, np.ndarray], ground_truth: dict | None = None) -> MultimodalDataset:
    n = next(iter(modalities.values())).shape[0]
    target = np.random.default_rng(0).integers(0, 2, size=n)
    return MultimodalDataset(
        name="gauss",
        modalities={k: v.astype(np.float32) for k, v in modalities.items()},
        target=target,
        task="classification",
        split=make_split(n, 0.15, 0.15, seed=0),
        ground_truth=ground_truth,
    )


# gaussian estimator


def test_gaussian_plugin_is_exact_on_a_known_covariance():
    cov = random_cov(5, seed=1)
    z = with_sample_cov(cov, n=500, seed=2)  # sample covariance == cov to rounding
    x, y = z[:, :3], z[:, 3:]
    h_x, _ = gaussian_entropy_value(x, corrected=False)
    mi, _ = gaussian_mi_value(x, y, corrected=False)
    assert h_x == pytest.approx(gaussian_h(cov[:3, :3]), abs=1e-9)
    exact_mi = gaussian_h(cov[:3, :3]) + gaussian_h(cov[3:, 3:]) - gaussian_h(cov)
    assert mi == pytest.approx(exact_mi, abs=1e-9)
    # the Wishart correction shifts each log-det by exactly its bias term
    h_corr, _ = gaussian_entropy_value(x)
    assert h_corr == pytest.approx(h_x - 0.5 * logdet_bias(3, 500), abs=1e-9)


def test_gaussian_estimates_match_closed_form_on_a_sample():
    cov = random_cov(5, seed=3)
    z = np.random.default_rng(4).multivariate_normal(np.zeros(5), cov, size=30000)
    h = gaussian_entropy(z[:, :2], seeds=3)
    mi = gaussian_mi(z[:, :2], z[:, 2:], seeds=3)
    assert h.value == pytest.approx(gaussian_h(cov[:2, :2]), abs=0.03)
    assert mi.value == pytest.approx(gaussian_h(cov[:2, :2]) + gaussian_h(cov[2:, 2:]) - gaussian_h(cov), abs=0.03)
    assert len(mi.per_seed) == 3 and 0 < mi.std < 0.05 and mi.converged and mi.curve == ()


def test_bias_correction_removes_small_sample_bias():
    d, n, reps = 8, 40, 300
    rng = np.random.default_rng(5)
    truth = d / 2 * LOG_2PIE  # identity covariance
    plug = [gaussian_entropy_value(rng.standard_normal((n, d)), corrected=False)[0] for _ in range(reps)]
    rng = np.random.default_rng(5)
    corr = [gaussian_entropy_value(rng.standard_normal((n, d)))[0] for _ in range(reps)]
    se = np.std(corr) / math.sqrt(reps)
    assert abs(np.mean(corr) - truth) < 4 * se
    assert np.mean(plug) < truth - 0.5  # the plug-in is biased low by ~ d^2 / (2n)


def test_singular_covariance_uses_a_ridge_and_says_so():
    x = np.random.default_rng(0).standard_normal((200, 3))
    x = np.concatenate([x, x[:, :1]], axis=1)  # duplicated column
    est = gaussian_entropy(x, seeds=1)
    assert math.isfinite(est.value) and "ridge" in est.note


# neural estimators against the exact Gaussian MI


@pytest.mark.parametrize("estimator", ["mine", "infonce", "smile"])
def test_neural_estimator_close_to_exact_mi(estimator):
    x, y = correlated(6000, 2, mi=1.0, seed=0)
    est = estimate_mi(x, y, estimator, BoundConfig(**FAST), CPU)
    # 1 nat, 300 steps, 1,800 held-out rows: sampling noise is ~0.1 nat; a zero estimate fails
    assert est.value == pytest.approx(1.0, abs=0.2)
    assert len(est.curve) >= 50 and est.per_seed == (est.value,)


def test_infonce_never_exceeds_ln_batch():
    x, y = correlated(2000, 4, mi=8.0, seed=1)
    cfg = BoundConfig(**{**FAST, "steps": 150, "batch_size": 16})
    est = estimate_mi(x, y, "infonce", cfg, CPU)
    assert all(v <= math.log(16) + 1e-5 for v in est.per_seed + est.curve)
    assert est.value > math.log(16) - 1.0  # it saturates on 8 nats...
    assert "ln(batch)" in est.note  # ...and says so


def test_mine_entropy_is_i_x_x_with_a_loud_note():
    x, _ = correlated(2000, 1, mi=0.5)
    est = estimate_entropy(x, "mine", BoundConfig(**{**FAST, "steps": 100}), CPU)
    assert est.value > 0 and "infinite" in est.note and "I(X; X)" in est.note


def test_neural_estimates_are_reproducible():
    x, y = correlated(1000, 2, mi=1.0)
    cfg = BoundConfig(**{**FAST, "steps": 40, "seeds": 2})
    a = estimate_mi(x, y, "mine", cfg, CPU)
    b = estimate_mi(x, y, "mine", cfg, CPU)
    assert a == b and a.per_seed[0] != a.per_seed[1]


# convergence flag


def test_levelled_off_criterion():
    t = np.linspace(0, 1, 64)
    noise = np.random.default_rng(0).normal(0, 0.02, 64)
    assert levelled_off(2 * (1 - np.exp(-20 * t)) + noise)[0]  # plateau with noise
    ok, why = levelled_off(2 * t + noise)  # still rising
    assert not ok and "rising" in why
    assert not levelled_off([1.0, 1.0])[0]  # too short to judge


def test_short_budget_curve_is_flagged_not_converged():
    x, y = correlated(3000, 2, mi=1.0)
    cfg = BoundConfig(**{**FAST, "steps": 50, "lr": 1e-4})
    est = estimate_mi(x, y, "mine", cfg, CPU)
    assert est.curve[-1] > est.curve[0]
    assert not est.converged and "levelled off" in est.note


# the bound


def test_scaled_down_raw_features_give_no_bound():
    x, y = correlated(3000, 3, mi=1.0)
    result = estimate_bound_arrays({"a": 0.01 * x, "b": 0.01 * y}, BoundConfig(), device=CPU)
    assert result.h_joint.value < 0
    assert result.M_u is None and result.M_u_with_r(1.0) is None
    assert "negative" in result.failure and "H(a)+H(b)-I(a;b)" in result.failure


def test_standardised_convention_makes_the_bound_scale_free():
    x, y = correlated(3000, 3, mi=1.0)
    a = estimate_bound(dataset({"a": x, "b": y}), BoundConfig(), device=CPU)
    b = estimate_bound(dataset({"a": 0.01 * x, "b": 100 * y}), BoundConfig(), device=CPU)
    assert a.M_u is not None and a.failure is None
    assert b.M_u == pytest.approx(a.M_u, rel=1e-4)
    assert "standardised" in a.settings["scale"]


def test_two_modality_bound_formulas_and_exact_values():
    x, y = correlated(20000, 3, mi=1.0)
    gt = {"exact_h": {"a": 1.5 * LOG_2PIE, "b": 1.5 * LOG_2PIE}, "exact_mi_v1_v2": 1.0}
    gt["exact_h_joint"] = 3 * LOG_2PIE - 1.0
    r = estimate_bound(dataset({"a": x, "b": y}, gt), BoundConfig(), device=CPU)
    h1, h2, mi = r.entropies["a"].value, r.entropies["b"].value, r.mutual_information.value
    assert r.h_joint.value == pytest.approx(h1 + h2 - mi)
    assert r.M_u == pytest.approx(1 / (3 * (h1 + h2 - mi)))
    assert r.M_l == pytest.approx(1 / (3 * (h1 + h2)))
    assert r.M_l < r.M_u
    assert r.entropies["a"].exact == gt["exact_h"]["a"] and r.mutual_information.exact == 1.0
    assert r.h_joint.exact == pytest.approx(gt["exact_h_joint"])
    assert r.h_joint.value == pytest.approx(gt["exact_h_joint"], abs=0.05)  # standardised N(0, I) marginals


@settings(max_examples=50, deadline=None)
@given(r=st.floats(min_value=1e-6, max_value=2.0, exclude_max=True), h=st.floats(min_value=1e-3, max_value=1e3))
def test_conservative_bound_never_exceeds_paper_form(r, h):
    m_u, _, failure = bound_values(h, h + 1.0, 2, "H", "gaussian")
    res = BoundResult("gaussian", ("a", "b"), {}, None, Estimate(name="H_joint", value=h), m_u, None, failure)
    assert failure is None and m_u <= res.M_u_with_r(r)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 0.0, -11.4])
def test_no_number_for_a_degenerate_joint_entropy(bad):
    m_u, m_l, failure = bound_values(bad, 5.0, 2, "H(v1)+H(v2)-I(v1;v2)", "mine")
    assert m_u is None and m_l == pytest.approx(1 / 15)
    assert failure.startswith("H(v1)+H(v2)-I(v1;v2) came out as") and "beta by hand" in failure


def test_three_modalities_use_the_chain_rule_joint_entropy():
    cov = random_cov(6, seed=7)
    z = np.random.default_rng(8).multivariate_normal(np.zeros(6), cov, size=20000)
    mods = {"a": z[:, :2], "b": z[:, 2:4], "c": z[:, 4:]}
    r = estimate_bound_arrays(mods, BoundConfig(), device=CPU)
    direct, _ = gaussian_entropy_value(z)  # log-det joint entropy of all features
    assert r.h_joint.value == pytest.approx(direct, abs=1e-8)  # chain rule is exact for the gaussian estimator
    assert r.h_joint.value == pytest.approx(gaussian_h(cov), abs=0.05)
    assert r.M_u == pytest.approx(1 / (5 * r.h_joint.value))  # 2M - 1 = 5
    assert r.mutual_information.name == "I(a;b)"


def test_three_modalities_with_a_neural_estimator():
    x, y = correlated(1500, 2, mi=1.0)
    mods = {"a": x, "b": y, "c": x[:, :1] + y[:, 1:]}
    r = estimate_bound_arrays(mods, BoundConfig(**{**FAST, "steps": 20, "seeds": 2, "estimator": "mine"}), device=CPU)
    assert set(r.entropies) == {"a", "b", "c"} and len(r.h_joint.per_seed) == 2
    assert not r.h_joint.converged  # 20 steps: the combined estimate inherits its terms' flags
    h = np.sum([r.entropies[m].curve for m in "abc"], axis=0)
    assert len(r.h_joint.curve) == len(h) > 0 and r.h_joint.curve[-1] != pytest.approx(h[-1])


# cache, fingerprint, progress


def test_cache_hit_returns_identical_result_without_recomputation(tmp_path, monkeypatch):
    x, y = correlated(2000, 2, mi=1.0)
    data = dataset({"a": x, "b": y})
    first = estimate_bound(data, BoundConfig(), device=CPU, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("bound-*.json"))) == 1

    def boom(*args, **kwargs):
        raise AssertionError("recomputed despite a cache hit")

    monkeypatch.setattr(beta_bound, "_entropy_rows", boom)
    calls = []
    again = estimate_bound(data, BoundConfig(), device=CPU, cache_dir=tmp_path, progress=lambda s, f: calls.append(s))
    assert again == first and again.fingerprint == first.fingerprint and again.seconds == first.seconds
    assert calls == ["cache hit"]
    with pytest.raises(AssertionError, match="recomputed"):  # another config is another key
        estimate_bound(data, BoundConfig(seeds=2), device=CPU, cache_dir=tmp_path)


def test_fingerprint_depends_on_data_names_and_config():
    x, y = correlated(100, 2, mi=1.0)
    base = fingerprint({"a": x, "b": y}, BoundConfig())
    assert base == fingerprint({"a": x.copy(), "b": y.copy()}, BoundConfig())
    assert base != fingerprint({"a": x, "c": y}, BoundConfig())
    assert base != fingerprint({"a": x, "b": y + 1e-6}, BoundConfig())
    assert base != fingerprint({"a": x, "b": y}, BoundConfig(steps=999))


def test_progress_is_monotone_and_ends_at_one():
    x, y = correlated(1500, 2, mi=1.0)
    seen: list[tuple[str, float]] = []
    estimate_bound_arrays(
        {"a": x, "b": y},
        BoundConfig(**{**FAST, "steps": 20, "estimator": "infonce"}),
        device=CPU,
        progress=lambda s, f: seen.append((s, f)),
    )
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(seen) > 10
    assert any("I(a;b)" in s for s, _ in seen)


def test_on_estimate_streams_the_neural_curve_live():
    x, y = correlated(1500, 2, mi=1.0)
    points: list[tuple[str, float, float]] = []
    r = estimate_bound_arrays(
        {"a": x, "b": y},
        BoundConfig(**{**FAST, "steps": 40, "estimator": "mine"}),
        device=CPU,
        on_estimate=lambda label, f, v: points.append((label, f, v)),
    )
    h_a = [v for label, _, v in points if label == "mine: H(a)"]
    assert len(h_a) == len(r.entropies["a"].curve)  # one point per logged step of the single seed
    assert h_a == pytest.approx(list(r.entropies["a"].curve))
    assert {label for label, _, _ in points} == {"mine: H(a)", "mine: H(b)", "mine: I(a;b)"}


# fewer rows than features (n <= D)


def test_ledoit_wolf_matches_scikit_learn():
    from sklearn.covariance import ledoit_wolf as sk_ledoit_wolf

    z = np.random.default_rng(0).standard_normal((30, 50)) @ np.diag(np.linspace(0.5, 3, 50))
    mode = ledoit_wolf(z)
    cov, rho = sk_ledoit_wolf(z)
    assert mode.shrinkage == pytest.approx(rho, rel=1e-9)
    n = z.shape[0]
    assert mode.target == pytest.approx(np.trace(cov) / 50 * n / (n - 1), rel=1e-9)  # on the (n - 1) scale


def test_small_sample_options_on_wide_data():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 60))
    y = x[:, :10] + rng.standard_normal((40, 10))
    shrunk = estimate_bound_arrays({"a": x, "b": y}, BoundConfig(), device=CPU)  # default: shrink
    assert shrunk.M_u is not None and shrunk.M_u > 0 and math.isfinite(shrunk.h_joint.value)
    assert "Ledoit-Wolf" in shrunk.warning and shrunk.settings["small_sample"] == "shrink"
    assert shrunk.h_joint.value == pytest.approx(
        shrunk.entropies["a"].value + shrunk.entropies["b"].value - shrunk.mutual_information.value
    )  # one shrunk joint covariance: the chain rule still holds
    pca = estimate_bound_arrays({"a": x, "b": y}, BoundConfig(), device=CPU, small_sample="pca")
    assert pca.M_u is not None and "principal components" in pca.warning and "a 10 of 60" in pca.warning
    with pytest.raises(BoundError, match="40 rows for 70 features"):
        estimate_bound_arrays({"a": x, "b": y}, BoundConfig(), device=CPU, small_sample="refuse")
    assert "Ledoit-Wolf" in estimate_entropy(x, "gaussian", BoundConfig(), CPU).note


def test_enough_rows_keep_the_wishart_corrected_estimate():
    x, y = correlated(3000, 3, mi=1.0)
    r = estimate_bound_arrays({"a": x, "b": y}, BoundConfig(), device=CPU, resolution=1.0)
    assert r.warning is None and r.settings["small_sample"] == "none" and r.settings["entropy"] == "differential"
    assert r.mutual_information.value == pytest.approx(gaussian_mi(x, y).value)


def test_nutrimouse_bound_is_finite_and_says_it_was_shrunk():
    r = estimate_bound(load_dataset(DataConfig(dataset="nutrimouse")), BoundConfig(), device=CPU)
    assert r.failure is None and r.M_u is not None and 0 < r.M_u < 1 and math.isfinite(r.M_u)
    assert r.settings["rows"] < 120 and "Ledoit-Wolf" in r.warning


# the resolution form of the entropy (standardised scale, degenerate covariances)


def test_resolution_entropy_is_i_x_x_plus_noise_in_closed_form():
    cov = random_cov(4, seed=9)
    z = with_sample_cov(cov, n=400, seed=10)
    mode = GaussianMode(resolution=1.0)
    h, _ = gaussian_entropy_value(z, mode=mode)
    assert h == pytest.approx(0.5 * np.linalg.slogdet(np.eye(4) + 2 * math.pi * math.e * cov)[1], abs=1e-9)
    mi, _ = gaussian_mi_value(z[:, :2], z[:, 2:], mode=mode)
    h1, _ = gaussian_entropy_value(z[:, :2], mode=mode)
    h2, _ = gaussian_entropy_value(z[:, 2:], mode=mode)
    assert h1 + h2 - mi == pytest.approx(h, abs=1e-9)  # chain rule
    assert 0 <= mi <= gaussian_mi_value(z[:, :2], z[:, 2:], corrected=False)[0]  # data processing
    # never negative, even for a singular covariance or a tiny scale...
    assert gaussian_entropy_value(np.c_[z[:, :1], z[:, :1]], mode=mode)[0] > 0
    assert gaussian_entropy_value(1e-3 * z, mode=mode)[0] == pytest.approx(0.0, abs=1e-3)
    # ...and the differential entropy minus d ln(Delta) where the variance is far above the resolution
    fine = GaussianMode(resolution=0.01)
    assert gaussian_entropy_value(z, mode=fine)[0] == pytest.approx(
        gaussian_entropy_value(z, corrected=False)[0] - 4 * math.log(0.01), abs=0.01
    )


def test_singular_standardised_data_fall_back_to_the_resolution_form():
    x, y = correlated(2000, 3, mi=1.0)
    data = dataset({"a": np.c_[x, x[:, :1] + x[:, 1:2]], "b": y})  # a's fourth feature = sum of two others
    r = estimate_bound(data, BoundConfig(), device=CPU)
    assert r.M_u is not None and r.M_u > 0 and r.failure is None
    assert "singular within a" in r.warning and "resolution" in r.warning
    assert r.settings["entropy"] == "resolution 1" and r.h_joint.value > 0
    ridged = estimate_bound(data, BoundConfig(), device=CPU, resolution=None)  # the differential form, as before
    assert ridged.warning is None and "ridge" in ridged.entropies["a"].note


def test_fac_mor_bound_is_positive_and_explained():
    r = estimate_bound(load_dataset(DataConfig(dataset="uci-mfeat-fac-mor")), BoundConfig(), device=CPU)
    assert r.failure is None and r.M_u is not None and r.M_u > 0 and r.h_joint.value > 0
    assert "singular within fac" in r.warning and "resolution of 1 standard deviation" in r.warning
    assert r.M_l <= r.M_u
    refused = estimate_bound(
        load_dataset(DataConfig(dataset="uci-mfeat-fac-mor")), BoundConfig(), device=CPU, resolution=None
    )
    assert refused.M_u is None and "negative" in refused.failure and "beta by hand" in refused.failure
    assert "already standardised" in refused.failure


def test_cache_keys_the_fallback_options(tmp_path):
    x, y = correlated(500, 2, mi=1.0)
    data = dataset({"a": np.c_[x, x[:, :1]], "b": y})
    a = estimate_bound(data, BoundConfig(), device=CPU, cache_dir=tmp_path)
    b = estimate_bound(data, BoundConfig(), device=CPU, cache_dir=tmp_path, resolution=None)
    assert a.fingerprint != b.fingerprint and a.M_u is not None and b.M_u is None
    assert BoundResult.from_dict(a.to_dict()) == a  # the warning survives the cache round trip


# the bound in training: beta is never negative


def _tiny_run(result: BoundResult | None, data: MultimodalDataset, **train_kw) -> list:
    from omib_core.train import train

    model = ModelConfig(hidden_dim=16, enc_layers=1, z_dim=8, latent_dim=8, xi_dim=8, tokens=2, heads=2)
    kw = dict(
        schedule="fixed", epochs=1, warmup_epochs=0, batch_size=64, device="cpu", snapshot_every=0, seed=0, **train_kw
    )
    return list(train(RunConfig(model=model, train=TrainConfig(**kw)), data, bound=result))


@pytest.mark.parametrize(("m_u", "h"), [(-0.01, -30.0), (float("inf"), 0.0), (0.01, -30.0)])
@pytest.mark.parametrize("form", ["conservative", "with_r"])
def test_a_negative_or_infinite_bound_never_becomes_beta(m_u, h, form):
    from omib_core.train import RunFailed

    x, y = correlated(300, 2, mi=1.0)
    bad = BoundResult("gaussian", ("a", "b"), {}, None, Estimate(name="H_joint", value=h), m_u, None)
    events = _tiny_run(bad, dataset({"a": x, "b": y}), bound=form)
    assert len(events) == 1 and isinstance(events[0], RunFailed)
    assert "no M_u" in events[0].message and "not a positive finite bound" in events[0].message


def test_training_on_a_singular_dataset_gets_a_positive_beta():
    from omib_core.train import RunStarted

    torch.manual_seed(0)
    x, y = correlated(300, 2, mi=1.0)
    data = dataset({"a": np.c_[x, x[:, :1]], "b": y})  # singular: the differential H_joint is -inf
    start = _tiny_run(None, data)[0]
    assert isinstance(start, RunStarted) and start.M_u is not None
    assert start.beta > 0 and start.beta == pytest.approx(start.M_u) and math.isfinite(start.beta)
