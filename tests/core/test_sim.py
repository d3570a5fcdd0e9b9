"""Synthetic data: reproducibility, label noise, exact information, the reference predictor, the variants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from omib_core.analysis import reference as reference_mod
from omib_core.analysis.reference import optimal_reference, reference_probe
from omib_core.config import DataConfig
from omib_core.data import (
    TEST,
    TRAIN,
    VAL,
    load_dataset,
    make_sim,
    make_sim_anomaly,
    make_sim_multi,
    make_sim_regression,
    reference_requested,
)
from omib_core.data import latent as latent_mod
from omib_core.data.latent import LatentViews
from omib_core.data.sim import simplex, softmax_temperature
from omib_core.errors import ConfigError

SMALL = {"n_samples": 2000, "b1": 8, "b2": 8}


# helpers


def plugin_information(ds) -> tuple[float, float, dict[str, float]]:
    """Gaussian plug-in (sample correlation) estimate of I(v1; v2), h_joint and h(v_i) from the data."""
    x = np.hstack([ds.modalities["v1"], ds.modalities["v2"]]).astype(np.float64)
    corr = np.corrcoef(x, rowvar=False)
    d1 = ds.modalities["v1"].shape[1]

    def h(c: np.ndarray) -> float:
        return 0.5 * (c.shape[0] * math.log(2 * math.pi * math.e) + np.linalg.slogdet(c)[1])

    h1, h2, hj = h(corr[:d1, :d1]), h(corr[d1:, d1:]), h(corr)
    return h1 + h2 - hj, hj, {"v1": h1, "v2": h2}


def probe_acc(ds, x: np.ndarray) -> float:
    return reference_probe(x, ds.target, ds.split, "classification", n_classes=ds.n_classes, seed=0)["accuracy"]


# reproducibility and shapes


def test_same_seed_same_arrays_other_seed_other_arrays() -> None:
    a, b, c = make_sim("sim-i", seed=3, **SMALL), make_sim("sim-i", seed=3, **SMALL), make_sim("sim-i", seed=4, **SMALL)
    for m in ("v1", "v2"):
        np.testing.assert_array_equal(a.modalities[m], b.modalities[m])
        assert not np.array_equal(a.modalities[m], c.modalities[m])
    np.testing.assert_array_equal(a.target, b.target)
    np.testing.assert_array_equal(a.split, b.split)
    np.testing.assert_array_equal(a.ground_truth["optimal_features"], b.ground_truth["optimal_features"])


def test_shapes_dtypes_and_dims() -> None:
    ds = make_sim("sim-i", **SMALL)
    assert ds.modality_names == ("v1", "v2") and ds.task == "classification"
    assert ds.input_dims == {"v1": 2 + 4 + 2 + 8 + 4, "v2": 2 + 2 + 2 + 8 + 4}  # latent size + 4
    assert ds.modalities["v1"].dtype == np.float32 and ds.target.dtype == np.int64
    assert ds.ground_truth["optimal_features"].shape == (2000, 8)
    wide = make_sim("sim-i", dim_v1=40, **SMALL)
    assert wide.input_dims["v1"] == 40


def test_maps_have_full_column_rank_and_bounded_singular_values() -> None:
    rng = np.random.default_rng(0)
    lv = LatentViews.build(rng, {"a": 3, "b": 5}, {"x": ("a", "b"), "y": ("b",)}, {"x": 8, "y": 5}, 0.1)
    for a in lv.maps.values():
        sv = np.linalg.svd(a, compute_uv=False)
        assert sv.min() >= latent_mod.SV_RANGE[0] - 1e-9 and sv.max() <= latent_mod.SV_RANGE[1] + 1e-9


# labels and Bayes accuracy


def test_simplex_vertices_are_equidistant_and_centred() -> None:
    for k in (2, 3, 4, 6):
        s = simplex(k)
        assert s.shape == (k, k - 1)
        np.testing.assert_allclose(s.sum(0), 0.0, atol=1e-12)
        d = np.linalg.norm(s[:, None] - s[None], axis=-1)[~np.eye(k, dtype=bool)]
        np.testing.assert_allclose(d, d[0])


@pytest.mark.parametrize(("k", "bayes"), [(4, 0.91), (2, 0.8), (6, 0.7)])
def test_softmax_temperature_gives_the_bayes_accuracy_on_fresh_draws(k: int, bayes: float) -> None:
    tau = softmax_temperature(k, bayes)
    s = np.random.default_rng(99).standard_normal((100_000, k - 1))  # independent of the solver's draws
    logits = tau * s @ simplex(k).T
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert p.max(1).mean() == pytest.approx(bayes, abs=0.004)


@pytest.mark.parametrize("label_model", ["softmax", "uniform"])
def test_labels_agree_with_the_bayes_rule_at_the_bayes_rate(label_model: str) -> None:
    ds = make_sim("sim-iii", n_samples=20000, b1=4, b2=4, label_model=label_model)
    gt = ds.ground_truth
    agree = float(np.mean(ds.target == gt["bayes_prediction"]))
    assert agree == pytest.approx(0.91, abs=0.012)  # binomial s.e. 0.002
    counts = np.bincount(ds.target, minlength=4) / ds.n_samples
    np.testing.assert_allclose(counts, 0.25, atol=0.02)  # balanced classes by symmetry
    if label_model == "uniform":
        assert ds.meta["flip_probability"] == pytest.approx((1 - 0.91) / (1 - 1 / 4))


# exact information


def test_population_covariance_and_entropy_formula_against_oracles() -> None:
    rng = np.random.default_rng(1)
    lv = LatentViews.build(rng, {"s": 2, "p": 2, "q": 1}, {"x": ("s", "p"), "y": ("s", "q")}, {"x": 5, "y": 4}, 0.3)
    lat = lv.draw_latents(np.random.default_rng(2), 200_000)
    v = lv.views(lat, np.random.default_rng(3))
    emp = np.cov(np.hstack([v["x"], v["y"]]).astype(np.float64), rowvar=False)
    np.testing.assert_allclose(emp, lv.population_cov(), atol=0.03)
    cov = lv.population_cov()
    corr = cov / np.outer(np.sqrt(np.diag(cov)), np.sqrt(np.diag(cov)))
    info = lv.exact_information()
    assert info["exact_h_joint"] == pytest.approx(multivariate_normal(cov=corr).entropy(), rel=1e-10)
    assert info["exact_h"]["x"] == pytest.approx(multivariate_normal(cov=corr[:5, :5]).entropy(), rel=1e-10)
    assert info["exact_mi_v1_v2"] > 0


def test_exact_mi_and_entropies_match_the_plugin_estimate() -> None:
    ds = make_sim("sim-i", n_samples=60000, b1=6, b2=6)
    gt = ds.ground_truth
    mi, hj, h = plugin_information(ds)
    assert mi == pytest.approx(gt["exact_mi_v1_v2"], rel=0.03)
    assert hj == pytest.approx(gt["exact_h_joint"], rel=0.03)
    for m in ("v1", "v2"):
        assert h[m] == pytest.approx(gt["exact_h"][m], rel=0.03)


@pytest.mark.parametrize("variant", ["sim-i", "sim-ii", "sim-iii"])
def test_default_entropies_are_positive(variant: str) -> None:
    gt = make_sim(variant).ground_truth
    assert gt["exact_h_joint"] > 0  # the documented property of the default noise level
    assert gt["exact_h"]["v1"] > 0 and gt["exact_h"]["v2"] > 0
    assert 0 < gt["exact_mi_v1_v2"] < min(gt["exact_h"].values())
    assert gt["exact_h_joint"] == pytest.approx(sum(gt["exact_h"].values()) - gt["exact_mi_v1_v2"])


def test_tiny_noise_warns_that_entropies_turn_negative() -> None:
    ds = make_sim("sim-i", noise=0.001, n_samples=500, b1=16, b2=16)
    assert ds.ground_truth["exact_h_joint"] < 0
    assert any("not positive" in n for n in ds.meta["notes"])


# the reference predictor and what the data is for


@pytest.mark.slow
def test_optimal_mib_accuracy_is_near_bayes(tmp_path) -> None:
    gt = make_sim("sim-iii").ground_truth
    gt.update(optimal_reference(DataConfig(dataset="sim-iii"), cache=tmp_path))
    assert gt["optimal_mib_accuracy"] == pytest.approx(gt["bayes_accuracy_test"], abs=0.03)
    assert gt["optimal_mib_accuracy"] > 0.88
    assert 0.85 < gt["bayes_accuracy_views"] <= gt["bayes_accuracy"] + 0.005  # views hide a little of s


@pytest.mark.slow
def test_superfluous_blocks_cost_accuracy(tmp_path) -> None:
    ds = make_sim("sim-iii")
    concat = np.hstack([ds.modalities["v1"], ds.modalities["v2"]])
    optimal = optimal_reference(DataConfig(dataset="sim-iii"), ds, cache=tmp_path)["optimal_mib_accuracy"]
    assert probe_acc(ds, concat) < optimal - 0.015


@pytest.mark.parametrize(("variant", "strong", "weak"), [("sim-i", "v1", "v2"), ("sim-ii", "v2", "v1")])
def test_single_view_asymmetry(variant: str, strong: str, weak: str) -> None:
    ds = make_sim(variant, n_samples=4000)
    assert probe_acc(ds, ds.modalities[strong]) > probe_acc(ds, ds.modalities[weak]) + 0.15
    shares = ds.meta["view_task_shares"]
    assert shares[strong] > shares[weak]


def test_sim_iii_is_balanced() -> None:
    meta = make_sim("sim-iii", **SMALL).meta
    assert meta["view_task_shares"]["v1"] == pytest.approx(meta["view_task_shares"]["v2"])
    assert sum(meta["task_variance_shares"].values()) == pytest.approx(1.0)


def test_probe_is_deterministic_and_leaves_torch_rng_alone() -> None:
    import torch

    ds = make_sim("sim-iii", **SMALL)
    x = ds.ground_truth["optimal_features"]
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = reference_probe(x, ds.target, ds.split, "classification", seed=1, max_epochs=5)
    after = torch.rand(1)
    b = reference_probe(x, ds.target, ds.split, "classification", seed=1, max_epochs=5)
    assert a == b
    assert torch.equal(before, after)


def test_drawing_trains_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_probe(*args, **kw):
        raise AssertionError("drawing trained the reference model")

    monkeypatch.setattr(reference_mod, "reference_probe", no_probe)
    for d in ("sim-i", "sim-teach", "sim-reg", "sim-anomaly", "sim-3m"):
        gt = load_dataset(DataConfig(dataset=d, params={"n_samples": 400})).ground_truth
        assert "optimal_mib_accuracy" not in gt and "optimal_mib_mae" not in gt


def test_optimal_reference_is_the_probe_on_the_optimal_features(tmp_path) -> None:
    cfg = DataConfig(dataset="sim-i", params={"n_samples": 600, "b1": 4, "b2": 4}, seed=5)
    ds = load_dataset(cfg)
    direct = reference_probe(
        ds.ground_truth["optimal_features"], ds.target, ds.split, "classification", n_classes=4, seed=5
    )
    ref = optimal_reference(cfg, cache=tmp_path)
    assert ref == {"optimal_mib_metrics": direct, "optimal_mib_accuracy": direct["accuracy"]}
    assert optimal_reference(cfg, ds, cache=tmp_path) == ref  # read back from disk: the same numbers
    reg = DataConfig(dataset="sim-reg", params={"n_samples": 500, "b1": 2, "b2": 2}, seed=1)
    ds = load_dataset(reg)
    direct = reference_probe(ds.ground_truth["optimal_features"], ds.target, ds.split, "regression", seed=1)
    assert optimal_reference(reg, ds, cache=tmp_path) == {
        "optimal_mib_metrics": direct,
        "optimal_mib_mae": direct["mae"],
    }
    for none in ("sim-anomaly", "digits"):  # no trained reference: the anomaly score comes with the draw
        assert optimal_reference(DataConfig(dataset=none), cache=tmp_path) == {}


def test_reference_is_cached_on_disk_per_parameters_and_seed(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    calls = []

    def fake_probe(*args, **kw):
        calls.append(kw.get("seed"))
        return {"accuracy": 0.5, "f1_macro": 0.5, "epochs": 1.0}

    monkeypatch.setattr(reference_mod, "reference_probe", fake_probe)
    kw = {"n_samples": 600, "b1": 2, "b2": 2}
    first = optimal_reference(DataConfig(dataset="sim-i", params=kw, seed=11), cache=tmp_path)
    again = optimal_reference(DataConfig(dataset="sim-i", params={**kw, "reference": False}, seed=11), cache=tmp_path)
    assert calls == [11] and first == again and again["optimal_mib_accuracy"] == 0.5
    optimal_reference(DataConfig(dataset="sim-i", params=kw, seed=12), cache=tmp_path)
    optimal_reference(DataConfig(dataset="sim-i", params={**kw, "b1": 3}, seed=11), cache=tmp_path)
    assert calls == [11, 12, 11]
    files = sorted(tmp_path.glob("*.json"))
    assert len(files) == 3 and not list(tmp_path.glob("*.tmp"))
    for f in files:  # a damaged entry is computed again, never an error
        f.write_text("{not json")
    optimal_reference(DataConfig(dataset="sim-i", params=kw, seed=11), cache=tmp_path)
    assert calls == [11, 12, 11, 11]


def test_a_run_reports_the_reference_it_asks_for(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from omib_core.train.loop import _reference

    monkeypatch.setattr(reference_mod, "reference_probe", lambda *a, **kw: {"accuracy": 0.75, "epochs": 1.0})
    monkeypatch.setenv("OMIB_DATA_DIR", str(tmp_path))
    cfg = DataConfig(dataset="sim-i", params={"n_samples": 400, "b1": 2, "b2": 2}, seed=3)
    ds = load_dataset(cfg)
    scalars = _reference(ds, False, cfg)
    assert scalars["optimal_mib_accuracy"] == 0.75 and scalars["bayes_accuracy"] == pytest.approx(0.91)
    assert list((tmp_path / "cache" / "reference").glob("*.json"))  # kept on disk for the Data page and reruns
    off = cfg.replace(params={**cfg.params, "reference": False})
    assert "optimal_mib_accuracy" not in _reference(load_dataset(off), False, off)


def test_old_configs_with_reference_still_load() -> None:
    kw = {"n_samples": 400, "b1": 2, "b2": 2}
    plain = load_dataset(DataConfig(dataset="sim-i", params=kw))
    for flag in (True, False):  # saved configs and share links carry the old generator parameter
        cfg = DataConfig.from_dict({"dataset": "sim-i", "params": {**kw, "reference": flag}})
        ds = load_dataset(cfg)
        np.testing.assert_array_equal(ds.modalities["v1"], plain.modalities["v1"])
        np.testing.assert_array_equal(ds.target, plain.target)
        assert reference_requested(cfg) is flag
    assert reference_requested(DataConfig(dataset="sim-reg")) and not reference_requested(DataConfig(dataset="digits"))
    assert not reference_requested(DataConfig(dataset="sim-anomaly"))
    with pytest.raises(ConfigError, match="'reference' parameter of dataset 'sim-i' must be true or false"):
        load_dataset(DataConfig(dataset="sim-i", params={**kw, "reference": "yes"}))


# errors


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"dim_v1": 5}, "'dim_v1' parameter.*must be >= 16"),
        ({"noise": 0.0}, "'noise'"),
        ({"bayes_accuracy": 0.25}, "'bayes_accuracy'"),
        ({"bayes_accuracy": 1.0}, "'bayes_accuracy'"),
        ({"a1": 0, "w1": 0.5}, "size is 0"),
        ({"w0": 0.0, "w1": 0.0, "w2": 0.0}, "sum to 0"),
        ({"a0": 1, "a1": 0, "a2": 0, "w1": 0, "w2": 0}, "span fewer than n_classes - 1"),
        ({"n_samples": 60, "val_fraction": 0.1}, "fewer than 10 validation"),
        ({"seed": -1}, "'seed'"),
    ],
)
def test_bad_parameters_raise_config_error(kw: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        make_sim("sim-i", **{**SMALL, **kw})


def test_unknown_variant() -> None:
    with pytest.raises(ConfigError, match="sim-iii"):
        make_sim("sim-iv")


# regression, anomaly, three views


def test_regression_target_and_bayes_mae() -> None:
    ds = make_sim_regression(n_samples=4000, b1=8, b2=8)
    y = ds.target
    assert ds.task == "regression" and y.dtype == np.float32
    assert y.min() >= -3.0 and y.max() <= 3.0 and y.std() > 1.0
    gt = ds.ground_truth
    assert gt["bayes_mae_test"] == pytest.approx(gt["bayes_mae"], abs=0.03)
    assert gt["bayes_mae_views"] >= gt["bayes_mae"] - 1e-3
    # analytic oracle: no clipping in effect, so the median's MAE is target_noise * sqrt(2 / pi)
    small = make_sim_regression(n_samples=400, b1=2, b2=2, gain=0.1, target_noise=0.5)
    assert small.ground_truth["bayes_mae"] == pytest.approx(0.5 * math.sqrt(2 / math.pi), abs=0.003)


def test_regression_reference_mlp_is_near_bayes(tmp_path) -> None:
    gt = make_sim_regression().ground_truth
    gt.update(optimal_reference(DataConfig(dataset="sim-reg"), cache=tmp_path))
    assert gt["bayes_mae"] - 0.01 < gt["optimal_mib_mae"] < gt["bayes_mae"] + 0.06
    assert gt["optimal_mib_metrics"]["corr"] > 0.9


def test_anomaly_labels_and_reference() -> None:
    ds = make_sim_anomaly(n_samples=4000)
    y, s = ds.target, ds.split
    assert ds.task == "anomaly" and set(np.unique(y)) == {0, 1}
    assert int(y[s == TRAIN].sum()) == 0  # clean training rows
    for code in (VAL, TEST):
        assert 2 <= int(y[s == code].sum()) < int((s == code).sum()) - 2
    assert float(y[s != TRAIN].mean()) == pytest.approx(0.1, abs=0.03)
    gt = ds.ground_truth
    assert gt["optimal_mib_auc"] > 0.85
    assert gt["optimal_mib_auc"] > gt["views_distance_metrics"]["auc"] + 0.1  # superfluous blocks dilute


def test_anomaly_contamination_and_null_shift() -> None:
    ds = make_sim_anomaly(n_samples=4000, train_contamination=0.2, b1=8, b2=8)
    assert float(ds.target[ds.split == TRAIN].mean()) == pytest.approx(0.2, abs=0.03)
    null = make_sim_anomaly(n_samples=4000, shift=1e-9, b1=8, b2=8)  # anomalies identical to normal rows
    assert null.ground_truth["optimal_mib_auc"] == pytest.approx(0.5, abs=0.1)


def test_multi_has_three_views_and_pairwise_information() -> None:
    ds = make_sim_multi(n_samples=2000, b1=8, b2=8, b3=8)
    assert ds.modality_names == ("v1", "v2", "v3")
    gt = ds.ground_truth
    assert set(gt["exact_mi_pairs"]) == {"v1;v2", "v1;v3", "v2;v3"}
    assert gt["exact_mi_v1_v2"] == gt["exact_mi_pairs"]["v1;v2"]
    assert 0 < gt["exact_h_joint"] < sum(gt["exact_h"].values())  # subadditivity
    assert gt["optimal_features"].shape[1] == 2 + 3 + 3 + 3
    assert float(np.mean(ds.target == gt["bayes_prediction"])) == pytest.approx(0.91, abs=0.03)
