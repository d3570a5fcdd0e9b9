"""More synthetic data with a known optimal MIB: regression, anomaly detection, three views.

All three reuse the latent-block model of ``omib_core.data.latent`` (``LatentSpec``: blocks N(0, I), fixed seeded
maps, isotropic view noise, validated once; the exact Gaussian entropies and mutual information of the
standardised views ship in ``ground_truth``) and supply only their target. [choice] Every target below is ours (the paper's generators are not public):

- ``make_sim_regression`` ("sim-reg"): f = t [a0; a1; a2] with unit variance (block shares set by w0..w2)
  and y = clip(gain * f + target_noise * eps, -3, 3), a continuous score in [-3, 3] like CMU-MOSI's
  sentiment. The MAE-optimal prediction given the optimal features is the conditional median
  clip(gain * f), so ``bayes_mae`` is exact up to a 10^6-draw Monte Carlo.
- ``make_sim_anomaly`` ("sim-anomaly"): target 0 normal / 1 anomaly. An anomaly moves the task-relevant
  blocks by ``shift`` along a random direction (each block's part of the move set by w0..w2), so only
  [a0; a1; a2] tell anomalies apart, and the superfluous blocks only dilute a distance. Training rows are
  all normal by default (Deep SVDD trains on normal rows); validation and test rows are anomalies with
  probability ``anomaly_fraction`` and always hold both classes. The reference score is the squared
  distance of the standardised optimal features to the normal training mean (Deep SVDD with an identity
  embedding); the same distance on the raw views is given as the naive baseline.
- ``make_sim_multi`` ("sim-3m"): three views v1, v2, v3 sharing a0 and b0, each with its own a_i, b_i,
  classification as in SIM-I/II/III; for tests and demos with M >= 3.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from omib_core.data.dataset import TEST, TRAIN, VAL, MultimodalDataset
from omib_core.data.latent import LatentSpec, LatentViews, cached_truth
from omib_core.data.sim import TWO_VIEWS, simulate_classification
from omib_core.data.sim_params import sim_check
from omib_core.metrics_core import anomaly_metrics, anomaly_threshold

THREE_VIEWS = {f"v{i}": ("a0", f"a{i}", "b0", f"b{i}") for i in (1, 2, 3)}
TASK_BLOCKS = ("a0", "a1", "a2")
BAYES_MAE_MC = 1_000_000


# helpers


def _posterior_explained(lv: LatentViews, t_full: np.ndarray) -> float:
    """Var(E[f | views]) for a unit-variance scalar f = t_full L (the share of f the views reveal)."""
    b = lv.stacked_loading()
    g = np.linalg.solve(lv.population_cov(), b @ t_full.T)  # (D, 1)
    return float((t_full @ b.T @ g)[0, 0])


def _bayes_mae(gain: float, target_noise: float, explained: float, seed: int) -> float:
    """E|y - clip(gain * m)| with m = E[f | input], y = clip(gain * f + noise): the conditional median's MAE."""
    rng = np.random.default_rng(seed)
    m = math.sqrt(explained) * rng.standard_normal(BAYES_MAE_MC)
    spread = math.sqrt(gain**2 * (1.0 - explained) + target_noise**2)
    y = np.clip(gain * m + spread * rng.standard_normal(BAYES_MAE_MC), -3.0, 3.0)
    return float(np.mean(np.abs(y - np.clip(gain * m, -3.0, 3.0))))


# regression


def make_sim_regression(
    *,
    n_samples: int = 10000,
    a0: int = 2,
    a1: int = 3,
    a2: int = 3,
    b0: int = 2,
    b1: int = 128,
    b2: int = 128,
    w0: float = 1 / 3,
    w1: float = 1 / 3,
    w2: float = 1 / 3,
    dim_v1: int | None = None,
    dim_v2: int | None = None,
    noise: float = 0.1,
    gain: float = 1.5,
    target_noise: float = 0.5,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> MultimodalDataset:
    """Two views, a continuous target in [-3, 3] (CMU-MOSI-like), with its ground truth.

    Args:
        n_samples, a0..b2, w0..w2, dim_v1, dim_v2, noise, seed, val_fraction, test_fraction: as ``make_sim``.
        gain: scale of the unit-variance task score f in the target.
        target_noise: standard deviation of the target noise.

    Returns:
        A regression ``MultimodalDataset`` ("sim-reg"); ``ground_truth`` holds ``optimal_features``,
        ``bayes_mae`` (given the optimal features), ``bayes_mae_views`` (given the views) and the exact
        entropies / mutual information (``optimal_mib_mae``, from a model trained on the optimal features, is
        ``omib_core.analysis.reference.optimal_reference``).
    """
    spec = LatentSpec.of(
        "sim-reg",
        blocks={"a0": a0, "a1": a1, "a2": a2, "b0": b0, "b1": b1, "b2": b2},
        view_blocks=TWO_VIEWS,
        task_blocks=TASK_BLOCKS,
        weights={"a0": w0, "a1": w1, "a2": w2},
        dims={"v1": dim_v1, "v2": dim_v2},
        noise=noise,
        n_samples=n_samples,
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
    )
    gain = sim_check(spec.owner, "gain", gain)
    target_noise = sim_check(spec.owner, "target_noise", target_noise)

    draw = spec.draw()
    t, t_full, shares = draw.task_map(1)  # (1, d_task), (1, L)
    views = draw.views()
    optimal = draw.optimal()  # (N, d_task)
    f = (optimal @ t.T)[:, 0]  # (N,) unit-variance task score
    y = np.clip(gain * f + target_noise * draw.rng_label.standard_normal(spec.n_samples), -3.0, 3.0)
    y = y.astype(np.float32)
    split = spec.split()

    def compute() -> dict[str, Any]:
        return {
            "bayes_mae": _bayes_mae(gain, target_noise, 1.0, spec.seed),
            "bayes_mae_views": _bayes_mae(gain, target_noise, _posterior_explained(draw.lv, t_full), spec.seed),
        }

    ref = cached_truth(spec.cache_key(gain=gain, target_noise=target_noise), compute)
    te = split == TEST
    ground_truth = draw.ground_truth(
        split,
        bayes_mae=ref["bayes_mae"],
        bayes_mae_views=ref["bayes_mae_views"],
        bayes_mae_test=float(np.mean(np.abs(y[te] - np.clip(gain * f[te], -3.0, 3.0)))),
    )
    meta = spec.meta(
        "SIM-REG: a continuous target in [-3, 3] (like CMU-MOSI sentiment) from the task-relevant blocks.",
        task_weights=spec.weights,
        task_variance_shares=shares,
        gain=gain,
        target_noise=target_noise,
    )
    return MultimodalDataset("sim-reg", views, y, "regression", split, ground_truth=ground_truth, meta=meta)


# anomaly detection


def _anomaly_labels(rng: np.random.Generator, split: np.ndarray, fraction: float, contamination: float) -> np.ndarray:
    """0/1 labels: anomalies in val/test with prob ``fraction`` (>= 2 of each class there), in train with ``contamination``."""
    n = split.shape[0]
    p = np.where(split == TRAIN, contamination, fraction)
    y = (rng.random(n) < p).astype(np.int64)
    for code in (VAL, TEST):
        idx = np.flatnonzero(split == code)
        for cls in (1, 0):
            have = int((y[idx] == cls).sum())
            if have < 2:  # force two rows of the missing class, chosen at random
                others = idx[y[idx] != cls]
                y[rng.choice(others, size=2 - have, replace=False)] = cls
    return y


def _distance_scores(x: np.ndarray, normal_train: np.ndarray) -> np.ndarray:
    """Squared distance of standardised rows to the mean of the normal training rows."""
    mu, sd = x[normal_train].mean(0), x[normal_train].std(0)
    sd[sd < 1e-12] = 1.0
    return np.sum(((x - mu) / sd) ** 2, axis=1)


def _score_metrics(y: np.ndarray, split: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Test AUC / F1, threshold = 95th percentile of the validation normal rows' scores."""
    thr = anomaly_threshold(scores[(split == VAL) & (y == 0)])
    te = split == TEST
    return anomaly_metrics(y[te], scores[te], threshold=thr)


def make_sim_anomaly(
    *,
    n_samples: int = 10000,
    a0: int = 2,
    a1: int = 4,
    a2: int = 2,
    b0: int = 2,
    b1: int = 128,
    b2: int = 128,
    w0: float = 0.3,
    w1: float = 0.6,
    w2: float = 0.1,
    dim_v1: int | None = None,
    dim_v2: int | None = None,
    noise: float = 0.1,
    anomaly_fraction: float = 0.1,
    shift: float = 3.5,
    train_contamination: float = 0.0,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> MultimodalDataset:
    """Two views, target 0 (normal) / 1 (anomaly); anomalies move the task-relevant blocks.

    Args:
        n_samples, a0..b2, dim_v1, dim_v2, noise, seed, val_fraction, test_fraction: as ``make_sim``.
        w0, w1, w2: relative share of a0, a1, a2 in an anomaly's move (SIM-I-like by default: mostly a1, in v1).
        anomaly_fraction: probability that a validation / test row is an anomaly (at least 2 of each class
            are always present in both).
        shift: length of an anomaly's move in the task-relevant blocks.
        train_contamination: probability that a training row is an anomaly (default 0: clean).

    Returns:
        An anomaly ``MultimodalDataset`` ("sim-anomaly"); ``ground_truth`` holds ``optimal_features``,
        ``optimal_mib_auc`` / ``optimal_mib_metrics`` (distance score on the optimal features, test rows),
        ``views_distance_metrics`` (the same score on the raw views) and the exact entropies / mutual
        information of the normal data.
    """
    spec = LatentSpec.of(
        "sim-anomaly",
        blocks={"a0": a0, "a1": a1, "a2": a2, "b0": b0, "b1": b1, "b2": b2},
        view_blocks=TWO_VIEWS,
        task_blocks=TASK_BLOCKS,
        weights={"a0": w0, "a1": w1, "a2": w2},
        dims={"v1": dim_v1, "v2": dim_v2},
        noise=noise,
        n_samples=n_samples,
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
    )
    fraction = sim_check(spec.owner, "anomaly_fraction", anomaly_fraction)
    shift = sim_check(spec.owner, "shift", shift)
    contamination = sim_check(spec.owner, "train_contamination", train_contamination)

    draw = spec.draw()
    split = spec.split()
    y = _anomaly_labels(draw.rng_label, split, fraction, contamination)
    w, total = spec.weights, sum(spec.weights.values())
    for b in TASK_BLOCKS:  # an anomaly moves block b by shift * sqrt(w_b) along a random unit direction
        if spec.blocks[b] == 0 or w[b] == 0:
            continue
        d = draw.rng_task.standard_normal((spec.n_samples, spec.blocks[b]))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        draw.latents[b] = draw.latents[b] + (y[:, None] * shift * math.sqrt(w[b] / total)) * d
    views = draw.views()  # after the move
    optimal = draw.optimal()  # (N, d_task), anomalies moved

    normal_train = (split == TRAIN) & (y == 0)
    opt_metrics = _score_metrics(y, split, _distance_scores(optimal, normal_train))
    concat = np.hstack(list(views.values())).astype(np.float64)
    view_metrics = _score_metrics(y, split, _distance_scores(concat, normal_train))
    ground_truth = draw.ground_truth(
        split, optimal_mib_metrics=opt_metrics, optimal_mib_auc=opt_metrics["auc"], views_distance_metrics=view_metrics
    )
    meta = spec.meta(
        "SIM-ANOMALY: anomalies are moved in the task-relevant blocks only; training rows are normal.",
        task_weights=w,
        anomaly_fraction=fraction,
        shift=shift,
        train_contamination=contamination,
        anomaly_counts={
            name: int(((split == code) & (y == 1)).sum())
            for code, name in ((TRAIN, "train"), (VAL, "val"), (TEST, "test"))
        },
    )
    return MultimodalDataset("sim-anomaly", views, y, "anomaly", split, ground_truth=ground_truth, meta=meta)


# three views


def make_sim_multi(
    *,
    n_samples: int = 10000,
    a0: int = 2,
    a1: int = 3,
    a2: int = 3,
    a3: int = 3,
    b0: int = 2,
    b1: int = 64,
    b2: int = 64,
    b3: int = 64,
    w0: float = 0.25,
    w1: float = 0.35,
    w2: float = 0.25,
    w3: float = 0.15,
    dim_v1: int | None = None,
    dim_v2: int | None = None,
    dim_v3: int | None = None,
    noise: float = 0.1,
    n_classes: int = 4,
    bayes_accuracy: float = 0.91,
    label_model: str = "softmax",
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> MultimodalDataset:
    """Three views v1, v2, v3 (classification): v_i = A_i [a0; a_i; b0; b_i] + noise.

    Args: as ``make_sim``, with a third task block a3 (weight w3), superfluous block b3 and width dim_v3.

    Returns:
        A classification ``MultimodalDataset`` ("sim-3m") with the ground truth of ``make_sim``;
        ``exact_mi_pairs`` holds I(v_i; v_j) for every pair and ``exact_h_joint`` the joint entropy used by
        the M >= 3 bound.
    """
    spec = LatentSpec.of(
        "sim-3m",
        blocks={"a0": a0, "a1": a1, "a2": a2, "a3": a3, "b0": b0, "b1": b1, "b2": b2, "b3": b3},
        view_blocks=THREE_VIEWS,
        task_blocks=("a0", "a1", "a2", "a3"),
        weights={"a0": w0, "a1": w1, "a2": w2, "a3": w3},
        dims={"v1": dim_v1, "v2": dim_v2, "v3": dim_v3},
        noise=noise,
        n_samples=n_samples,
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
    )
    return simulate_classification(
        spec,
        n_classes,
        bayes_accuracy,
        label_model,
        description="SIM-3M: three views sharing a0 and b0; v1 holds the largest share of the task information.",
    )
