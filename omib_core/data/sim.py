"""SIM-I / SIM-II / SIM-III: two views with a known optimal MIB (SPEC section 6).

[choice] The paper's generator is not public. This one follows SPEC section 6:

- latent blocks, each N(0, I): a0 (task-relevant, shared), a1 / a2 (task-relevant, specific to v1 / v2),
  b0 (superfluous, shared), b1 / b2 (superfluous, specific);
- v_1 = A_1 [a0; a1; b0; b1] + noise * eps_1 and v_2 = A_2 [a0; a2; b0; b2] + noise * eps_2, where each A_i
  is a fixed seeded map with orthonormal columns scaled by singular values drawn in [1, 2] (full column
  rank and well conditioned, so every latent can be read back from its view);
- a task score s = T [a0; a1; a2] in R^(K-1), whitened so that s ~ N(0, I); each block's share of the
  score's variance is set by the relative weights w0, w1, w2 (so SIM-I, where w1 is large, puts most of
  the task information in v1); class logits are S s with S the K vertices of a regular simplex, so the
  classes are exactly balanced (by symmetry);
- labels: ``label_model="softmax"`` (default) draws y ~ Categorical(softmax(tau * S s)) with tau solved
  (by a 200,000-draw Monte Carlo) so that the Bayes accuracy given [a0; a1; a2] is ``bayes_accuracy``;
  ``label_model="uniform"`` takes y = argmax_k (S s)_k and replaces it with probability
  p = (1 - bayes) / (1 - 1/K) by a uniformly random class, so Bayes = 1 - p + p/K exactly.
  [choice] softmax is the default because it is learnable: under uniform label noise the step-shaped posterior
  makes every boundary error cost in full, so the reference MLP stays further below Bayes.

Defaults: 10,000 rows (7,000 train), K = 4, noise 0.1, b0 = 2 and b1 = b2 = 128 superfluous dimensions
per view (views of about 140 columns). Keeping the superfluous blocks costs accuracy: this is what makes beta
visible. Measured accuracies (the ground-truth optimal MIB, Bayes, OMIB and the baselines on SIM-I/II/III) are in
``bench/results/sim_table.md`` (``bench/sim_table.py``); they are not copied here because they drift.

Ground truth (``dataset.ground_truth``) is exact wherever it can be: Bayes accuracy, and the Gaussian
entropies / mutual information of the *standardised* views (population correlation matrix R):
h(v_i) = 0.5 logdet(2 pi e R_ii), h_joint = 0.5 logdet(2 pi e R), I(v1; v2) = h(v1) + h(v2) - h_joint.
With standardised features an eigenvalue of R below 1 / (2 pi e) ~ 0.0585 contributes negatively; the
directions that carry only noise (the 4 extra columns of each view and the view-difference of the shared
blocks) have eigenvalues near noise^2 / 2.3, so very small ``noise`` can make the entropies negative.
The exact values ship in ``ground_truth`` (a test checks h_joint > 0 at the defaults);
``meta["notes"]`` warns when h_joint is not positive.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.special import softmax

from omib_core.data.dataset import TEST, MultimodalDataset
from omib_core.data.latent import (
    LatentSpec,
    LatentViews,
    cached_truth,
)
from omib_core.data.sim_params import sim_check
from omib_core.errors import ConfigError, param_error

TWO_VIEWS = {"v1": ("a0", "a1", "b0", "b1"), "v2": ("a0", "a2", "b0", "b2")}  # the latent blocks each view sees
TAU_MC_SAMPLES = 200_000  # Monte Carlo draws used to solve the softmax temperature for a Bayes accuracy

VARIANTS: dict[str, dict[str, Any]] = {
    "sim-i": {"a0": 2, "a1": 4, "a2": 2, "w0": 0.3, "w1": 0.6, "w2": 0.1},
    "sim-ii": {"a0": 2, "a1": 2, "a2": 4, "w0": 0.3, "w1": 0.1, "w2": 0.6},
    "sim-iii": {"a0": 2, "a1": 3, "a2": 3, "w0": 1 / 3, "w1": 1 / 3, "w2": 1 / 3},
    # the teaching preset: v2 carries no task information at all (a0 = a2 = 0), few rows, so that keeping the
    # superfluous dimensions visibly costs accuracy and beta visibly matters (see TEACH_DEFAULTS)
    "sim-teach": {"a0": 0, "a1": 4, "a2": 0, "w0": 0.0, "w1": 1.0, "w2": 0.0},
}
# generator parameters of the teaching preset that differ from make_sim's defaults
TEACH_DEFAULTS: dict[str, Any] = {"n_samples": 4000}
VARIANT_TEXT = {
    "sim-i": "SIM-I: v1 holds most of the task information (w1 = 0.6 of the task score, a1 has 4 dims).",
    "sim-ii": "SIM-II: v2 holds most of the task information (w2 = 0.6 of the task score, a2 has 4 dims).",
    "sim-iii": "SIM-III: the two views hold the task information in equal shares.",
    "sim-teach": (
        "SIM-TEACH (the teaching preset): all the task information is in v1, v2 is pure nuisance, and there are "
        "only 1,000 training rows (the teaching preset splits 4,000 rows 25 / 25 / 50), so too small a beta overfits the superfluous dimensions and too large a beta underfits."
    ),
}


# task score and labels


def simplex(n_classes: int) -> np.ndarray:
    """``(K, K-1)``: rows are the K vertices of a regular simplex centred at 0 (equal norms, equal angles)."""
    centering = np.eye(n_classes) - 1.0 / n_classes
    ev, vec = np.linalg.eigh(centering)
    return vec[:, ev > 0.5]  # eigenvalue 1 eigenvectors, orthonormal columns


@functools.lru_cache(maxsize=64)
def softmax_temperature(n_classes: int, bayes_accuracy: float) -> float:
    """tau with E[max_k softmax(tau * S s)_k] = bayes_accuracy for s ~ N(0, I_(K-1)) (seeded Monte Carlo)."""
    s = np.random.default_rng(20250519).standard_normal((TAU_MC_SAMPLES, n_classes - 1))
    logits = s @ simplex(n_classes).T  # (MC, K)

    def gap(tau: float) -> float:
        return float(softmax(tau * logits, axis=-1).max(axis=1).mean()) - bayes_accuracy

    hi = 1.0
    while gap(hi) < 0:
        hi *= 4.0
        if hi > 1e5:
            raise ConfigError(
                f"bayes_accuracy = {bayes_accuracy} is too close to 1 for the softmax label model; "
                "use a smaller value or label_model='uniform'."
            )
    return float(brentq(gap, 0.0, hi, xtol=1e-10))


def label_probabilities(logits: np.ndarray, label_model: str, tau: float, flip: float) -> np.ndarray:
    """P(y = k | task score) for ``(..., K)`` noiseless logits S s."""
    if label_model == "softmax":
        return softmax(tau * logits, axis=-1)
    k = logits.shape[-1]
    onehot = (logits == logits.max(axis=-1, keepdims=True)).astype(np.float64)
    return (1.0 - flip) * onehot + flip / k


def bayes_accuracy_from_views(
    lv: LatentViews,
    t_full: np.ndarray,
    probs: Any,
    seed: int = 0,
    n_outer: int = 8_000,
    n_inner: int = 64,
) -> float:
    """Bayes accuracy of a classifier that sees the views only (their noise hides part of s), by Monte Carlo.

    s = T_full L and V = B L + noise are jointly Gaussian, so s | V ~ N(G V, Sigma_post) with
    G = T_full B^T Cov(V)^-1 and Sigma_post = I - G B T_full^T; P(y | V) = E_(s | V)[probs(S s)], averaged over
    ``n_inner`` draws for each of ``n_outer`` draws of E[s | V]. Precision about +-0.005 (sampling error plus the
    small upward bias of taking the max of an average).

    Args:
        lv: the view model.
        t_full: ``(K-1, L)`` task projection against the full latent vector.
        probs: function of ``(..., K)`` logits to label probabilities.
    """
    b = lv.stacked_loading()  # (D, L)
    g = np.linalg.solve(lv.population_cov(), b @ t_full.T).T  # (K-1, D)
    explained = g @ b @ t_full.T  # Cov(E[s | V])
    explained = 0.5 * (explained + explained.T)
    post = np.eye(t_full.shape[0]) - explained
    rng = np.random.default_rng(seed)
    m = rng.multivariate_normal(np.zeros(t_full.shape[0]), explained, size=n_outer, method="eigh")  # (n, K-1)
    chol = np.linalg.cholesky(post + 1e-12 * np.eye(post.shape[0]))
    k = t_full.shape[0] + 1
    s_mat = simplex(k)
    acc = 0.0
    for start in range(0, n_outer, 2000):
        mm = m[start : start + 2000]  # (c, K-1)
        s = mm[:, None, :] + rng.standard_normal((mm.shape[0], n_inner, k - 1)) @ chol.T  # (c, inner, K-1)
        p = probs(s @ s_mat.T).mean(axis=1)  # (c, K)
        acc += float(p.max(axis=1).sum())
    return acc / n_outer


# main function


def make_sim(
    variant: str = "sim-i",
    *,
    n_samples: int = 10000,
    a0: int | None = None,
    a1: int | None = None,
    a2: int | None = None,
    b0: int = 2,
    b1: int = 128,
    b2: int = 128,
    w0: float | None = None,
    w1: float | None = None,
    w2: float | None = None,
    dim_v1: int | None = None,
    dim_v2: int | None = None,
    noise: float = 0.1,
    n_classes: int = 4,
    bayes_accuracy: float = 0.91,
    label_model: str = "softmax",
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> MultimodalDataset:
    """Draw SIM-I / SIM-II / SIM-III (two views "v1", "v2", classification), with its ground truth.

    Args:
        variant: ``"sim-i"`` (v1 holds most task information), ``"sim-ii"`` (v2 does), ``"sim-iii"`` (balanced);
            it sets the defaults of a0, a1, a2, w0, w1, w2 (see ``VARIANTS``).
        n_samples: rows drawn.
        a0, a1, a2, b0, b1, b2: block sizes (None = the variant's value).
        w0, w1, w2: relative shares of a0, a1, a2 in the task score's variance (None = the variant's).
        dim_v1, dim_v2: view widths, at least their latent size; None = latent size + 4.
        noise: standard deviation of the view noise.
        n_classes: K.
        bayes_accuracy: Bayes accuracy given the optimal features, in (1/K, 1).
        label_model: ``"softmax"`` or ``"uniform"`` (see the module docstring).
        seed: seeds the maps, the draw and the split (same seed and parameters = identical arrays).
        val_fraction, test_fraction: split sizes (stratified by class).

    Returns:
        A ``MultimodalDataset`` named ``variant`` with ``meta`` describing the blocks and ``ground_truth``:

        - ``optimal_features`` ``(N, a0+a1+a2)`` float64, the optimal MIB [a0; a1; a2];
        - (not here: the accuracy of a model trained on them, ``optimal_mib_accuracy``, is
          ``omib_core.analysis.reference.optimal_reference``; drawing trains nothing);
        - ``bayes_accuracy`` (given the optimal features), ``bayes_prediction`` ``(N,)`` (the Bayes rule's
          class), ``bayes_accuracy_test`` (the Bayes rule on this draw's test rows: the test-set noise to
          compare against), ``bayes_accuracy_views`` (the best any model can do from the noisy views,
          Monte Carlo, +-0.005);
        - ``exact_mi_v1_v2``, ``exact_h`` ``{"v1", "v2"}``, ``exact_h_joint`` (nats, standardised views),
          ``exact_mi_pairs``, ``min_corr_eigenvalue``, ``n_negative_entropy_directions``.

    Raises:
        ConfigError: an unknown variant or an invalid parameter value.
    """
    if variant not in VARIANTS:
        raise ConfigError(
            f"The 'variant' parameter of make_sim must be one of {tuple(VARIANTS)}. Got {variant!r} instead."
        )
    preset = VARIANTS[variant]
    a = {"a0": a0, "a1": a1, "a2": a2}
    w = {"w0": w0, "w1": w1, "w2": w2}
    a = {k: preset[k] if v is None else v for k, v in a.items()}
    w = {k: preset[k] if v is None else v for k, v in w.items()}
    spec = LatentSpec.of(
        variant,
        blocks={"a0": a["a0"], "a1": a["a1"], "a2": a["a2"], "b0": b0, "b1": b1, "b2": b2},
        view_blocks=TWO_VIEWS,
        task_blocks=("a0", "a1", "a2"),
        weights={"a0": w["w0"], "a1": w["w1"], "a2": w["w2"]},
        dims={"v1": dim_v1, "v2": dim_v2},
        noise=noise,
        n_samples=n_samples,
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
    )
    return simulate_classification(spec, n_classes, bayes_accuracy, label_model, description=VARIANT_TEXT[variant])


def simulate_classification(
    spec: LatentSpec, n_classes: int, bayes_accuracy: float, label_model: str, *, description: str
) -> MultimodalDataset:
    """The classification target of SIM-I/II/III and the 3-view variant (see the module docstring)."""
    owner = spec.owner
    k = sim_check(owner, "n_classes", n_classes)
    label_model = sim_check(owner, "label_model", label_model)
    bayes = sim_check(owner, "bayes_accuracy", bayes_accuracy)
    if bayes <= 1.0 / k or (bayes == 1.0 and label_model == "softmax"):
        raise param_error(
            owner,
            "bayes_accuracy",
            f"a float in (1/{k}, 1{']' if label_model == 'uniform' else ')'} for n_classes = {k}",
            bayes_accuracy,
        )

    draw = spec.draw()
    t, t_full, shares = draw.task_map(k - 1)  # (K-1, d_task), (K-1, L)
    views = draw.views()
    optimal = draw.optimal()  # (N, d_task) = [a0; a1; a2]
    logits = optimal @ t.T @ simplex(k).T  # (N, K) noiseless class logits S s

    tau = softmax_temperature(k, bayes) if label_model == "softmax" else 0.0
    flip = (1.0 - bayes) / (1.0 - 1.0 / k)  # used by the uniform model only
    probs = label_probabilities(logits, label_model, tau, flip)  # (N, K)
    u = draw.rng_label.random(spec.n_samples)[:, None]
    y = np.minimum((probs.cumsum(axis=1) < u).sum(axis=1), k - 1).astype(np.int64)  # inverse-CDF draw
    split = spec.split(stratify=y)
    bayes_pred = logits.argmax(axis=1).astype(np.int64)  # (N,) the Bayes classifier's prediction

    def compute() -> dict[str, Any]:
        return {
            "bayes_accuracy_views": bayes_accuracy_from_views(
                draw.lv, t_full, lambda z: label_probabilities(z, label_model, tau, flip), seed=spec.seed
            )
        }

    ref = cached_truth(spec.cache_key(k=k, bayes=bayes, label_model=label_model), compute)
    ground_truth = draw.ground_truth(
        split,
        bayes_accuracy=bayes,
        bayes_accuracy_views=ref["bayes_accuracy_views"],
        bayes_prediction=bayes_pred,
        bayes_accuracy_test=float(np.mean(bayes_pred[split == TEST] == y[split == TEST])),
    )
    notes = []
    if ground_truth["exact_h_joint"] <= 0:
        notes.append(
            f"h_joint = {ground_truth['exact_h_joint']:.2f} nats is not positive (noise {spec.noise} is small "
            "against the standardised scale), so M_u has no value here; raise the noise."
        )
    meta = spec.meta(
        description,
        task_weights=spec.weights,
        task_variance_shares=shares,
        view_task_shares={v: sum(shares.get(b, 0.0) for b in bs) for v, bs in spec.view_blocks.items()},
        label_model=label_model,
        softmax_tau=tau if label_model == "softmax" else None,
        flip_probability=flip if label_model == "uniform" else None,
        class_names=[f"class {c}" for c in range(k)],
        notes=notes,
    )
    return MultimodalDataset(
        name=spec.name,
        modalities=views,
        target=y,
        task="classification",
        split=split,
        ground_truth=ground_truth,
        meta=meta,
    )
