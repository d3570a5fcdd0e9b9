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

import dataclasses
import functools
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.special import softmax

from omib_core.data.dataset import TEST, MultimodalDataset, make_split
from omib_core.errors import ConfigError, param_error

SV_RANGE = (1.0, 2.0)  # [choice] singular values of every map A_i
EXTRA_DIMS = 4  # [choice] default view width = its latent size + this many noise-only columns
LABEL_MODELS = ("softmax", "uniform")
SYNTHETIC_SOURCE = "synthetic (OMIB Studio generator, SPEC section 6)"
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
PARAM_HELP: dict[str, str] = {
    "n_samples": "rows drawn (train / val / test split by val_fraction, test_fraction)",
    "a0": "size of a0, task-relevant information shared by both views",
    "a1": "size of a1, task-relevant information only in v1",
    "a2": "size of a2, task-relevant information only in v2",
    "b0": "size of b0, superfluous information shared by both views",
    "b1": "size of b1, superfluous information only in v1",
    "b2": "size of b2, superfluous information only in v2",
    "w0": "relative share of a0 in the task score's variance",
    "w1": "relative share of a1 in the task score's variance",
    "w2": "relative share of a2 in the task score's variance",
    "dim_v1": "columns of v1 (>= a0+a1+b0+b1); None = that sum + 4",
    "dim_v2": "columns of v2 (>= a0+a2+b0+b2); None = that sum + 4",
    "noise": "standard deviation of the Gaussian noise added to every view column",
    "n_classes": "number of classes K",
    "bayes_accuracy": "accuracy of the Bayes classifier given the optimal features [a0; a1; a2]",
    "label_model": "'softmax' (y drawn from softmax(tau * logits)) or 'uniform' (argmax, then random flips)",
    "reference": "train the reference MLP on the optimal features (ground-truth optimal-MIB accuracy)",
}


# parameter checks


def check_int(owner: str, name: str, value: Any, minimum: int) -> int:
    """An int >= minimum (integral floats accepted), else ConfigError naming the parameter."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise param_error(owner, name, f"an int >= {minimum}", value)
    return int(value)


def check_float(owner: str, name: str, value: Any, low: float, high: float, closed: str = "()") -> float:
    """A finite float in the interval ``low..high`` (``closed`` says which ends are included)."""
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value >= low if closed[0] == "[" else value > low) and (
            value <= high if closed[1] == "]" else value < high
        )
    if not ok:
        raise param_error(owner, name, f"a finite float in {closed[0]}{low}, {high}{closed[1]}", value)
    return float(value)


def check_split(owner: str, n_samples: int, val_fraction: float, test_fraction: float) -> None:
    """Fractions in (0, 1) leaving >= 10 % for training, and enough rows for every split."""
    check_float(owner, "val_fraction", val_fraction, 0.0, 1.0)
    check_float(owner, "test_fraction", test_fraction, 0.0, 1.0)
    if val_fraction + test_fraction >= 0.9:
        raise ConfigError(
            f"{owner}: val_fraction + test_fraction must leave at least 10% for training. "
            f"Got {val_fraction} + {test_fraction}."
        )
    if n_samples * min(val_fraction, test_fraction) < 10:
        raise ConfigError(
            f"{owner}: n_samples = {n_samples} leaves fewer than 10 validation or test rows "
            f"(val_fraction {val_fraction}, test_fraction {test_fraction}); draw more samples."
        )


# latent blocks -> views


@dataclass(frozen=True)
class LatentViews:
    """A fixed linear-Gaussian map from named latent blocks (each N(0, I)) to named views.

    Attributes:
        blocks: ordered ``{block name: size}``; the full latent vector L stacks them in this order.
        view_blocks: ``{view name: block names it sees}``, in the order of the map's columns.
        maps: ``{view name: A_i}``, ``(dim_i, k_i)`` with ``k_i`` the summed size of its blocks.
        noise: standard deviation of the isotropic noise added to every view column.
    """

    blocks: dict[str, int]
    view_blocks: dict[str, tuple[str, ...]]
    maps: dict[str, np.ndarray]
    noise: float

    @classmethod
    def build(
        cls,
        rng: np.random.Generator,
        blocks: dict[str, int],
        view_blocks: dict[str, tuple[str, ...]],
        dims: dict[str, int],
        noise: float,
    ) -> LatentViews:
        """Draw every A_i = U diag(s) V^T, U with orthonormal columns, s uniform in SV_RANGE (full column rank)."""
        maps = {}
        for view, names in view_blocks.items():
            k = sum(blocks[b] for b in names)
            u, _ = np.linalg.qr(rng.standard_normal((dims[view], k)))  # (dim, k) orthonormal columns
            v, _ = np.linalg.qr(rng.standard_normal((k, k)))  # (k, k) rotation
            s = rng.uniform(*SV_RANGE, size=k)
            maps[view] = (u * s) @ v.T  # (dim, k)
        return cls(blocks=dict(blocks), view_blocks=dict(view_blocks), maps=maps, noise=float(noise))

    def slices(self) -> dict[str, slice]:
        """Position of each block in the full latent vector L."""
        out, start = {}, 0
        for name, size in self.blocks.items():
            out[name] = slice(start, start + size)
            start += size
        return out

    def loading(self, view: str) -> np.ndarray:
        """``(dim_view, L)``: the view's map written against the full latent vector (zeros elsewhere)."""
        sl = self.slices()
        a = self.maps[view]
        out = np.zeros((a.shape[0], sum(self.blocks.values())))
        col = 0
        for b in self.view_blocks[view]:
            size = self.blocks[b]
            out[:, sl[b]] = a[:, col : col + size]
            col += size
        return out

    def stacked_loading(self) -> np.ndarray:
        """``(D, L)``: all views' loadings stacked in view order."""
        return np.vstack([self.loading(v) for v in self.view_blocks])

    def draw_latents(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        """``{block: (n, size)}`` standard normal draws, in block order."""
        return {b: rng.standard_normal((n, size)) for b, size in self.blocks.items()}

    def views(self, latents: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``{view: (n, dim) float32}`` = A_i [its blocks] + noise."""
        out = {}
        for view, names in self.view_blocks.items():
            z = np.hstack([latents[b] for b in names])  # (n, k)
            x = z @ self.maps[view].T + self.noise * rng.standard_normal((z.shape[0], self.maps[view].shape[0]))
            out[view] = x.astype(np.float32)
        return out

    def population_cov(self) -> np.ndarray:
        """``(D, D)`` covariance of the stacked views: B B^T + noise^2 I."""
        b = self.stacked_loading()
        return b @ b.T + self.noise**2 * np.eye(b.shape[0])

    def exact_information(self) -> dict[str, Any]:
        """Exact Gaussian entropies and mutual informations of the standardised views (nats).

        Standardised = divided by the population standard deviation of each column, i.e. computed from the
        correlation matrix R (the scale convention of SPEC section 5).
        """
        cov = self.population_cov()
        sd = np.sqrt(np.diag(cov))
        corr = cov / np.outer(sd, sd)  # (D, D) correlation matrix R
        idx, start = {}, 0
        for v, a in self.maps.items():
            idx[v] = np.arange(start, start + a.shape[0])
            start += a.shape[0]

        def h(ix: np.ndarray) -> float:
            sign, logdet = np.linalg.slogdet(corr[np.ix_(ix, ix)])
            return float(0.5 * (len(ix) * math.log(2 * math.pi * math.e) + logdet)) if sign > 0 else float("-inf")

        hv = {v: h(ix) for v, ix in idx.items()}
        names = list(idx)
        pairs = {}
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                pairs[f"{a};{b}"] = float(hv[a] + hv[b] - h(np.r_[idx[a], idx[b]]))
        ev = np.linalg.eigvalsh(corr)
        return {
            "exact_h": hv,
            "exact_h_joint": h(np.arange(corr.shape[0])),
            "exact_mi_v1_v2": pairs[f"{names[0]};{names[1]}"],
            "exact_mi_pairs": pairs,
            "min_corr_eigenvalue": float(ev.min()),
            "n_negative_entropy_directions": int((ev < 1.0 / (2 * math.pi * math.e)).sum()),
        }


# task score and labels


def task_projection(
    rng: np.random.Generator, sizes: dict[str, int], weights: dict[str, float], out_dim: int, owner: str
) -> tuple[np.ndarray, dict[str, float]]:
    """T with s = T [task blocks] ~ N(0, I_out_dim), each block carrying about its weight of the variance.

    Returns:
        ``T`` ``(out_dim, sum(sizes))`` and the exact share of each block in trace(Cov(s)) after whitening.
    """
    total = sum(weights.values())
    parts = []
    for b, size in sizes.items():
        w = weights[b] / total
        if size == 0:
            parts.append(np.zeros((out_dim, 0)))
            continue
        if size >= out_dim:  # orthonormal rows: contributes exactly w * I
            q, _ = np.linalg.qr(rng.standard_normal((size, out_dim)))  # (size, out_dim)
            r = q.T
        else:  # fewer dims than the score: orthonormal columns, same trace, whitened below
            q, _ = np.linalg.qr(rng.standard_normal((out_dim, size)))  # (out_dim, size)
            r = q * math.sqrt(out_dim / size)
        parts.append(math.sqrt(w) * r)
    t = np.hstack(parts)  # (out_dim, d_task)
    ev, vec = np.linalg.eigh(t @ t.T)
    if ev.min() < 1e-8:
        raise ConfigError(
            f"{owner}: the task-relevant blocks {sizes} with weights {weights} span fewer than n_classes - 1 = "
            f"{out_dim} directions; enlarge the a-blocks, give them positive weights, or lower n_classes."
        )
    t = (vec / np.sqrt(ev)) @ vec.T @ t  # whiten: Cov(T z) = I
    shares, col = {}, 0
    for b, size in sizes.items():
        shares[b] = float(np.sum(t[:, col : col + size] ** 2) / out_dim)
        col += size
    return t, shares


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


# cache of the slow ground-truth numbers, keyed by a hash of every parameter that determines them

_REFERENCE_CACHE: dict[str, dict[str, Any]] = {}


def cached_reference(params: dict[str, Any], compute: Any) -> dict[str, Any]:
    """``compute()`` once per distinct ``params`` in this process (a copy is returned)."""
    key = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()
    if key not in _REFERENCE_CACHE:
        _REFERENCE_CACHE[key] = compute()
    return dict(_REFERENCE_CACHE[key])


# the latent-block model every generator shares: its parameters, checked once, and one draw of it


@dataclass(frozen=True)
class LatentSpec:
    """The latent-block model of a synthetic dataset, validated once (``LatentSpec.of``).

    Every generator (SIM-I/II/III, sim-3m, sim-reg, sim-anomaly) builds one, draws it (``draw``) and supplies only
    its target. Attributes hold clean numbers: ``blocks`` ``{block: size}``, ``view_blocks`` ``{view: blocks}``,
    ``task_blocks`` (the optimal features, in block order), ``weights`` ``{task block: relative weight}``, ``dims``
    ``{view: width}``, ``noise``, ``n_samples``, ``seed`` and the split fractions.
    """

    name: str
    blocks: dict[str, int]
    view_blocks: dict[str, tuple[str, ...]]
    task_blocks: tuple[str, ...]
    weights: dict[str, float]
    dims: dict[str, int]
    noise: float
    n_samples: int
    seed: int
    val_fraction: float
    test_fraction: float

    @property
    def owner(self) -> str:
        return f"dataset {self.name!r}"

    @classmethod
    def of(
        cls,
        name: str,
        *,
        blocks: dict[str, Any],
        view_blocks: dict[str, tuple[str, ...]],
        task_blocks: tuple[str, ...],
        weights: dict[str, Any],
        dims: dict[str, Any],
        noise: Any,
        n_samples: Any,
        seed: Any,
        val_fraction: Any,
        test_fraction: Any,
    ) -> LatentSpec:
        """Check every shared parameter (ConfigError naming the one that is wrong) and return the spec."""
        owner = f"dataset {name!r}"
        check_int(owner, "n_samples", n_samples, 50)
        check_int(owner, "seed", seed, 0)
        check_split(owner, int(n_samples), val_fraction, test_fraction)
        clean_blocks = {b: check_int(owner, b, s, 0) for b, s in blocks.items()}
        if sum(clean_blocks[b] for b in task_blocks) == 0:
            raise ConfigError(
                f"{owner}: the task-relevant blocks {task_blocks} are all empty; give one a positive size."
            )
        check_float(owner, "noise", noise, 0.0, math.inf)
        clean_w: dict[str, float] = {}
        for b, wv in weights.items():
            wname = "w" + b[1:]
            clean_w[b] = check_float(owner, wname, wv, 0.0, math.inf, "[)")
            if clean_w[b] > 0 and clean_blocks[b] == 0:
                raise ConfigError(
                    f"{owner}: {wname} = {wv} gives weight to block {b}, whose size is 0; set one of them."
                )
        if sum(clean_w.values()) <= 0:
            raise ConfigError(
                f"{owner}: the weights {weights} sum to 0; give at least one task block a positive weight."
            )
        clean_dims = {}
        for view, names in view_blocks.items():
            k = sum(clean_blocks[b] for b in names)
            if k == 0:
                raise ConfigError(
                    f"{owner}: view {view} sees only empty blocks {names}; give one of them a positive size."
                )
            d = dims.get(view)
            d = k + EXTRA_DIMS if d is None else check_int(owner, f"dim_{view}", d, 1)
            if d < k:
                raise ConfigError(
                    f"The 'dim_{view}' parameter of {owner} must be >= {k} (the size of {' + '.join(names)}) so "
                    f"that A has full column rank. Got {d} instead; raise it or use None (= {k + EXTRA_DIMS})."
                )
            clean_dims[view] = d
        return cls(
            name,
            clean_blocks,
            dict(view_blocks),
            tuple(task_blocks),
            clean_w,
            clean_dims,
            float(noise),
            int(n_samples),
            int(seed),
            float(val_fraction),
            float(test_fraction),
        )

    def draw(self) -> LatentDraw:
        """The seeded maps and latents; five independent RNG streams, so each generator's use of one leaves the
        others unchanged: maps, task map (or anomaly directions), latents, view noise, labels."""
        rng_maps, rng_task, rng_lat, rng_noise, rng_label = (
            np.random.default_rng(s) for s in np.random.SeedSequence(self.seed).spawn(5)
        )
        lv = LatentViews.build(rng_maps, self.blocks, self.view_blocks, self.dims, self.noise)
        return LatentDraw(self, lv, lv.draw_latents(rng_lat, self.n_samples), rng_task, rng_noise, rng_label)

    def split(self, stratify: np.ndarray | None = None) -> np.ndarray:
        """The seeded train / val / test split (stratified by ``stratify`` when given)."""
        return make_split(self.n_samples, self.val_fraction, self.test_fraction, self.seed, stratify=stratify)

    def cache_key(self, **extra: Any) -> dict[str, Any]:
        """Every parameter that determines the slow ground-truth numbers, for ``cached_reference``."""
        return {**dataclasses.asdict(self), **extra}

    def meta(self, description: str, **extra: Any) -> dict[str, Any]:
        """``MultimodalDataset.meta``: the shared description of the model, plus the generator's ``extra``."""
        return {
            "description": description,
            "source": SYNTHETIC_SOURCE,
            "licence": "generated data, no licence restrictions",
            "blocks": self.blocks,
            "view_blocks": {v: list(bs) for v, bs in self.view_blocks.items()},
            "view_dims": self.dims,
            "task_blocks": list(self.task_blocks),
            "noise": self.noise,
            **extra,
        }


@dataclass
class LatentDraw:
    """One draw of a ``LatentSpec``: the view model, the latents ``{block: (N, size)}`` and the unused streams."""

    spec: LatentSpec
    lv: LatentViews
    latents: dict[str, np.ndarray]
    rng_task: np.random.Generator
    rng_noise: np.random.Generator
    rng_label: np.random.Generator

    def views(self) -> dict[str, np.ndarray]:
        """``{view: (N, dim) float32}`` from the current latents (draw them after any change to the latents)."""
        return self.lv.views(self.latents, self.rng_noise)

    def optimal(self) -> np.ndarray:
        """``(N, d_task)`` the optimal MIB features [a0; a1; a2 ...]."""
        return np.hstack([self.latents[b] for b in self.spec.task_blocks])

    def task_map(self, out_dim: int) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
        """The task score s = T [task blocks] ~ N(0, I_out_dim) (see ``task_projection``).

        Returns:
            ``T`` ``(out_dim, d_task)``, the same map against the full latent vector ``(out_dim, L)``, and each
            task block's share of the score's variance.
        """
        spec = self.spec
        sizes = {b: spec.blocks[b] for b in spec.task_blocks}
        t, shares = task_projection(self.rng_task, sizes, spec.weights, out_dim, spec.owner)
        t_full = np.zeros((out_dim, sum(spec.blocks.values())))
        sl, col = self.lv.slices(), 0
        for b in spec.task_blocks:
            t_full[:, sl[b]] = t[:, col : col + spec.blocks[b]]
            col += spec.blocks[b]
        return t, t_full, shares

    def ground_truth(self, **extra: Any) -> dict[str, Any]:
        """The shared ground truth (optimal features, exact entropies / MI of the views) plus ``extra``."""
        spec = self.spec
        return {
            "optimal_features": self.optimal().astype(np.float32),
            "optimal_feature_blocks": {b: spec.blocks[b] for b in spec.task_blocks},
            **extra,
            **self.lv.exact_information(),
        }


def check_bool(owner: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise param_error(owner, name, "a bool", value)
    return value


def probe(*args: Any, **kw: Any) -> dict[str, float]:
    """``omib_core.analysis.reference.reference_probe``, imported on use: it imports torch, and it imports
    ``omib_core.data.dataset``, whose package imports this module."""
    from omib_core.analysis import reference

    return reference.reference_probe(*args, **kw)


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
    reference: bool = True,
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
        reference: train the reference MLP for ``optimal_mib_accuracy`` (cached per parameters; ~1-3 s).
        seed: seeds the maps, the draw and the split (same seed and parameters = identical arrays).
        val_fraction, test_fraction: split sizes (stratified by class).

    Returns:
        A ``MultimodalDataset`` named ``variant`` with ``meta`` describing the blocks and ``ground_truth``:

        - ``optimal_features`` ``(N, a0+a1+a2)`` float32, the optimal MIB [a0; a1; a2];
        - ``optimal_mib_accuracy`` / ``optimal_mib_metrics``: test metrics of the reference MLP on them
          (only with ``reference=True``);
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
        view_blocks={"v1": ("a0", "a1", "b0", "b1"), "v2": ("a0", "a2", "b0", "b2")},
        task_blocks=("a0", "a1", "a2"),
        weights={"a0": w["w0"], "a1": w["w1"], "a2": w["w2"]},
        dims={"v1": dim_v1, "v2": dim_v2},
        noise=noise,
        n_samples=n_samples,
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
    )
    return simulate_classification(
        spec, n_classes, bayes_accuracy, label_model, reference, description=VARIANT_TEXT[variant]
    )


def simulate_classification(
    spec: LatentSpec, n_classes: int, bayes_accuracy: float, label_model: str, reference: bool, *, description: str
) -> MultimodalDataset:
    """The classification target of SIM-I/II/III and the 3-view variant (see the module docstring)."""
    owner = spec.owner
    k = check_int(owner, "n_classes", n_classes, 2)
    if label_model not in LABEL_MODELS:
        raise param_error(owner, "label_model", f"one of {LABEL_MODELS}", label_model)
    bayes = check_float(
        owner, "bayes_accuracy", bayes_accuracy, 1.0 / k, 1.0, "(]" if label_model == "uniform" else "()"
    )
    check_bool(owner, "reference", reference)

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
        out: dict[str, Any] = {
            "bayes_accuracy_views": bayes_accuracy_from_views(
                draw.lv, t_full, lambda z: label_probabilities(z, label_model, tau, flip), seed=spec.seed
            )
        }
        if reference:
            out["optimal_mib_metrics"] = probe(optimal, y, split, "classification", n_classes=k, seed=spec.seed)
        return out

    ref = cached_reference(
        spec.cache_key(k=k, bayes=bayes, label_model=label_model, reference=reference, probe=3), compute
    )
    ground_truth = draw.ground_truth(
        bayes_accuracy=bayes,
        bayes_accuracy_views=ref["bayes_accuracy_views"],
        bayes_prediction=bayes_pred,
        bayes_accuracy_test=float(np.mean(bayes_pred[split == TEST] == y[split == TEST])),
    )
    if reference:
        ground_truth["optimal_mib_metrics"] = ref["optimal_mib_metrics"]
        ground_truth["optimal_mib_accuracy"] = ref["optimal_mib_metrics"]["accuracy"]
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
