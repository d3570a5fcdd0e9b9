"""The latent-block model every synthetic generator shares (its maths is described in ``sim.py``).

- ``LatentViews``: fixed seeded linear-Gaussian maps from named latent blocks to named views, with the exact
  Gaussian entropies and mutual information of the standardised views.
- ``LatentSpec``: the shared parameters (blocks, views, task blocks and weights, widths, noise, rows, seed,
  split), validated once; ``spec.draw()`` gives the maps, the latents and the RNG streams, and each generator
  (``sim.py``, ``synthetic.py``) supplies only its target.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from omib_core.config import DataConfig
from omib_core.data.dataset import SYNTHETIC_LICENCE, SYNTHETIC_SOURCE, TRAIN, make_split
from omib_core.data.sim_params import sim_check
from omib_core.errors import ConfigError
from omib_core.params import schema

SV_RANGE = (1.0, 2.0)  # [choice] singular values of every map A_i
EXTRA_DIMS = 4  # [choice] default view width = its latent size + this many noise-only columns


def view_width(k: int, dim: int | None) -> int:
    """A view's columns: ``dim`` when given, else its latent size ``k`` plus ``EXTRA_DIMS`` noise-only columns."""
    return k + EXTRA_DIMS if dim is None else int(dim)


# parameter checks (each value by its declaration: omib_core/data/sim_params.py, DataConfig's fields)


def check_split(owner: str, n_samples: int, val_fraction: float, test_fraction: float) -> None:
    """Fractions as DataConfig takes them, leaving >= 10 % for training, and enough rows for every split."""
    declared = schema(DataConfig)
    val_fraction = declared["val_fraction"].check(owner, "val_fraction", val_fraction)
    test_fraction = declared["test_fraction"].check(owner, "test_fraction", test_fraction)
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


# cache of the slow ground-truth numbers (Monte Carlo Bayes rates), keyed by a hash of every parameter that
# determines them; nothing here trains (the reference model is ``omib_core.analysis.reference``)

_TRUTH_CACHE: dict[str, dict[str, Any]] = {}


def cached_truth(params: dict[str, Any], compute: Any) -> dict[str, Any]:
    """``compute()`` once per distinct ``params`` in this process (a copy is returned)."""
    key = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()
    if key not in _TRUTH_CACHE:
        _TRUTH_CACHE[key] = compute()
    return dict(_TRUTH_CACHE[key])


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
        n_samples = sim_check(owner, "n_samples", n_samples)
        seed = schema(DataConfig)["seed"].check(owner, "seed", seed)
        check_split(owner, n_samples, val_fraction, test_fraction)
        clean_blocks = {b: sim_check(owner, b, s) for b, s in blocks.items()}
        if sum(clean_blocks[b] for b in task_blocks) == 0:
            raise ConfigError(
                f"{owner}: the task-relevant blocks {task_blocks} are all empty; give one a positive size."
            )
        noise = sim_check(owner, "noise", noise)
        clean_w: dict[str, float] = {}
        for b, wv in weights.items():
            wname = "w" + b[1:]
            clean_w[b] = sim_check(owner, wname, wv)
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
            d = view_width(k, None if d is None else sim_check(owner, f"dim_{view}", d))
            if d < k:
                raise ConfigError(
                    f"The 'dim_{view}' parameter of {owner} must be >= {k} (the size of {' + '.join(names)}) so "
                    f"that A has full column rank. Got {d} instead; raise it or use None (= {view_width(k, None)})."
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
        """Every parameter that determines the slow ground-truth numbers, for ``cached_truth``."""
        return {**dataclasses.asdict(self), **extra}

    def meta(self, description: str, **extra: Any) -> dict[str, Any]:
        """``MultimodalDataset.meta``: the shared description of the model, plus the generator's ``extra``."""
        return {
            "description": description,
            "source": SYNTHETIC_SOURCE,
            "licence": SYNTHETIC_LICENCE,
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

    def ground_truth(self, split: np.ndarray | None = None, **extra: Any) -> dict[str, Any]:
        """The shared ground truth (optimal features, exact entropies / MI of the views) plus ``extra``.

        With ``split``, also the latent blocks of the validation and test rows, to measure what a representation
        keeps of each (``omib_core.analysis.information``): ``latent_rows`` ``(n_held,)`` row indices,
        ``latents`` ``(n_held, L)`` float32 (the non-empty blocks side by side) and ``latent_blocks``
        ``{block: size}`` in column order. Training rows are left out: nothing the model fits sees a block.
        """
        spec = self.spec
        out = {
            "optimal_features": self.optimal(),  # float64: the reference model trains on exactly these values
            "optimal_feature_blocks": {b: spec.blocks[b] for b in spec.task_blocks},
            **extra,
            **self.lv.exact_information(),
        }
        if split is not None:
            rows = np.flatnonzero(np.asarray(split) != TRAIN).astype(np.int64)
            sizes = {b: s for b, s in spec.blocks.items() if s > 0}
            out["latent_rows"] = rows
            out["latents"] = np.hstack([self.latents[b][rows] for b in sizes]).astype(np.float32)
            out["latent_blocks"] = sizes
        return out
