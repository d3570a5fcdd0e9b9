"""Information per latent block, in nats: I(representation; block) on held-out rows (SPEC section 8).

The estimate is the Gaussian (canonical-correlation) mutual information, I = -1/2 sum_k log(1 - rho_k^2), which is
exact for jointly Gaussian data and the linear information otherwise. It is *cross-fitted*, so that a 32-dim xi
cannot find information by overfitting 500 rows:

- split the rows at random into halves A and B (``InformationProbe`` deals them into ``FOLDS`` seeded folds once and
  takes half the folds, so that a split costs additions only); regress the wider side Y (q columns) on the narrower
  side X (p columns) on A (least squares with an intercept);
- on B, compare the sample covariance of Y with that of the residual of A's fit:
  ``I_AB = 1/2 (log det S_YY,B - log det S_res,B)``. Both are q x q sample covariances of the same n_B rows, so
  their small-sample log-det biases cancel; what stays is the price of A's estimation error, which makes the
  residual larger than the true conditional covariance Sigma_Y|X (the naive split-half probe of issue 19 read
  -0.4 and -1.1 nats for a block xi hardly holds);
- that price is a pivot for Gaussian data. With B_err the error of A's coefficients (whitened),
  ``log det(I + B_err B_err^T) = log det(S + W) - log det S`` with S ~ Wishart_p(n_A - 1) and W ~ Wishart_p(q)
  independent, so S + W ~ Wishart_p(n_A - 1 + q) and its expectation is exact (``split_bias``):
  ``kappa = sum_{i=1..p} [psi((n_A - 1 + q - i + 1) / 2) - psi((n_A - 1 - i + 1) / 2)]``.
  ``I_AB + kappa / 2`` is then an unbiased estimate of I(X; Y) for jointly Gaussian data;
- the two directions of a split (A -> B, B -> A) and ``repeats`` random splits are averaged (less variance, the
  same mean). An independent block therefore reads about 0 (either sign), never a large negative number.

Degenerate representation columns (a collapsed latent dimension is constant) are dropped first: each representation
is reduced to the principal directions whose variance exceeds ``RANK_TOL`` times the largest. Too few rows for the
dimensions (p >= n_A - 1 or q >= n_B - 1) give NaN. Accuracy against exactly known Gaussian MI:
``bench/results/info_estimator.md`` (``bench/info_estimator.py``).

Numpy and scipy only (threadpoolctl keeps BLAS on one thread): no torch, no training code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
from scipy.special import psi

REPEATS = 3  # random half-splits averaged per estimate (bench/results/info_estimator.md; cost: info_cost.md)
FOLDS = 6  # the rows are dealt into this many folds; a half-split takes half of them (10 distinct splits)
RANK_TOL = 1e-9  # representation directions with variance below this share of the largest are dropped
MIN_ROWS = 20  # below this many rows there is no estimate
MAX_ROWS = 6000  # a run measures on at most this many held-out rows (a 1e6-row draw would cost minutes a snapshot)
METRIC_PREFIX = "info/"  # metric names: info/<representation>/<block>, in nats
TASK_PREFIX, SUPERFLUOUS_PREFIX = "a", "b"  # SPEC section 1: a-blocks task-relevant, b-blocks superfluous


# helpers


def exact_gaussian_mi(rho: Iterable[float]) -> float:
    """I = -1/2 sum_k log(1 - rho_k^2) for canonical correlations ``rho`` (nats)."""
    r = np.asarray(list(rho), dtype=np.float64)
    return float(-0.5 * np.sum(np.log1p(-(r**2))))


def split_bias(n_fit: int, p: int, q: int) -> float:
    """E log det(I + B_err B_err^T): what fitting p -> q coefficients on ``n_fit`` rows costs, in 2 x nats.

    Exact for Gaussian rows: log det(S + W) - log det S with S ~ W_p(n_fit - 1), W ~ W_p(q), S + W ~ W_p(n_fit - 1 + q),
    and E log det W_p(m, I) = sum_{i=1..p} psi((m - i + 1) / 2) + p log 2.
    """
    m = n_fit - 1
    i = np.arange(1, p + 1)
    return float(np.sum(psi((m + q - i + 1) / 2.0) - psi((m - i + 1) / 2.0)))


def _reduce(x: np.ndarray) -> np.ndarray:
    """``(n, k)`` coordinates of ``x`` on its non-degenerate principal directions (k <= x's columns)."""
    x = np.asarray(x, dtype=np.float64)
    x = x.reshape(x.shape[0], -1) - x.mean(0)
    if x.shape[1] == 0:
        return x
    ev, vec = np.linalg.eigh(x.T @ x)
    keep = ev > RANK_TOL * max(float(ev.max()), 1e-300)
    return x @ vec[:, keep]


def _logdet(c: np.ndarray) -> float:
    """log det of a symmetric positive definite matrix (Cholesky; -inf when it is singular)."""
    try:
        return float(2.0 * np.sum(np.log(np.diag(np.linalg.cholesky(c)))))
    except np.linalg.LinAlgError:
        sign, ld = np.linalg.slogdet(c)
        return float(ld) if sign > 0 else float("-inf")


def _one_way(a: dict, b: dict, kp: str, kr: str, n_fit: int, correct: bool, ld_yy: float) -> float:
    """Fit the response ``kr`` on the predictor ``kp`` with half A's centred cross-products ``a``; evaluate on half
    B's ``b`` (``{(name, name): matrix}``); ``n_fit`` rows in A; ``ld_yy`` = log det of B's ``(kr, kr)``."""
    sxx, sxy = a[(kp, kp)], a[(kp, kr)]
    coef = np.linalg.solve(sxx, sxy)  # (p, q) least squares on A
    byy, bxy, bxx = b[(kr, kr)], b[(kp, kr)], b[(kp, kp)]
    cross = coef.T @ bxy
    res = byy - cross - cross.T + coef.T @ bxx @ coef  # (q, q) residual cross-products on B
    bias = split_bias(n_fit, sxx.shape[0], byy.shape[0]) if correct else 0.0
    return 0.5 * (ld_yy - _logdet(res)) + 0.5 * bias


class _Grams:
    """Raw cross-products of some rows: each representation and block with itself, each representation with each
    block (representation x representation and block x block pairs are never needed), and the column sums."""

    def __init__(self, n: int, sums: dict, g: dict) -> None:
        self.n, self.sums, self.g = n, sums, g

    @classmethod
    def of(cls, xs: dict[str, np.ndarray], ys: dict[str, np.ndarray], rows: np.ndarray | None, selves: bool) -> _Grams:
        """``selves`` False: the blocks' own products are left out (they are cached by ``InformationProbe``)."""
        x = {k: v if rows is None else v[rows] for k, v in xs.items()}
        y = {k: v if rows is None else v[rows] for k, v in ys.items()}
        n = next(iter({**x, **y}.values())).shape[0]
        own = {**x, **y} if selves else x
        g = {(k, k): v.T @ v for k, v in own.items()}
        if x and y:
            cross = np.hstack(list(x.values())).T @ np.hstack(list(y.values()))  # (sum p, sum q) in one product
            i = 0
            for kx, vx in x.items():
                j = 0
                for ky, vy in y.items():
                    g[(kx, ky)] = cross[i : i + vx.shape[1], j : j + vy.shape[1]]
                    j += vy.shape[1]
                i += vx.shape[1]
        return cls(n, {k: v.sum(0) for k, v in own.items()}, g)

    def merged(self, other: _Grams) -> _Grams:
        return _Grams(self.n, {**self.sums, **other.sums}, {**self.g, **other.g})

    def minus(self, other: _Grams) -> _Grams:
        """The rows of ``self`` not in ``other`` (``other`` a subset of them)."""
        sums = {k: v - other.sums[k] for k, v in self.sums.items()}
        return _Grams(self.n - other.n, sums, {k: v - other.g[k] for k, v in self.g.items()})

    def centred(self) -> dict[tuple[str, str], np.ndarray]:
        m = {k: v / self.n for k, v in self.sums.items()}
        return {(a, b): g - self.n * np.outer(m[a], m[b]) for (a, b), g in self.g.items()}


# main class and functions


class InformationProbe:
    """I(rep; block) for fixed latent blocks of fixed rows, measured again and again (at every snapshot of a run).

    The rows are dealt once into ``FOLDS`` seeded folds; each half-split is a seeded choice of half the folds (so a
    call computes the representations' cross-products once per fold, and a split only adds them up), and the
    blocks' own cross-products are computed here once. Same numbers as ``information_table`` with the same
    ``repeats`` and ``seed``.

    Args:
        blocks: ``{name: (n, size)}`` latent blocks of the held-out rows.
        repeats: half-splits averaged (distinct, at most the ``FOLDS``-choose-half / 2 there are).
        seed: seed of the folds and splits.
        bias_correction: add ``split_bias / 2`` (False: the plain split-half estimate, biased low; for benches).
    """

    def __init__(
        self, blocks: Mapping[str, np.ndarray], *, repeats: int = REPEATS, seed: int = 0, bias_correction: bool = True
    ) -> None:
        ys = {k: np.asarray(v, dtype=np.float64).reshape(len(v), -1) for k, v in blocks.items()}
        self.ys = {f"b:{k}": v - v.mean(0) for k, v in ys.items()}  # centred: no cancellation in the products
        self.names = list(blocks)
        sizes = {v.shape[0] for v in self.ys.values()}
        if len(sizes) > 1:
            raise ValueError(f"Every block needs the same rows; got {sorted(sizes)}.")
        self.n = sizes.pop() if sizes else 0
        self.correct = bias_correction
        rng = np.random.default_rng(seed)
        self.folds = np.array_split(rng.permutation(self.n), FOLDS)
        self.splits = _fold_splits(rng, max(1, int(repeats)))  # each: the folds of half A
        self.ready = self.n >= MIN_ROWS and bool(self.ys)
        if self.ready:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=1, user_api="blas"):
                self.block_folds = [_Grams.of({}, self.ys, f, True) for f in self.folds]

    def __call__(self, reps: Mapping[str, np.ndarray]) -> dict[str, dict[str, float]]:
        """``{rep: {block: nats}}`` for ``reps`` ``{name: (n, d)}`` of the same rows; NaN where there are too few rows
        for the dimensions. BLAS runs on one thread: the products are small, and on the shared 2-core server a
        threaded BLAS made them 10x slower (measured 0.7 s against 0.07 s for the teaching preset's snapshot)."""
        from threadpoolctl import threadpool_limits  # a scikit-learn dependency

        with threadpool_limits(limits=1, user_api="blas"):
            return self._table(reps)

    def _table(self, reps: Mapping[str, np.ndarray]) -> dict[str, dict[str, float]]:
        xs = {f"r:{k}": _reduce(v) for k, v in reps.items()}
        sizes = {v.shape[0] for v in xs.values()}
        if sizes - {self.n}:
            raise ValueError(f"The representations need the blocks' {self.n} rows; got {sorted(sizes)}.")
        out = {r: dict.fromkeys(self.names, float("nan")) for r in reps}
        if not self.ready or not reps:
            return out
        folds = [_Grams.of(xs, self.ys, f, False).merged(b) for f, b in zip(self.folds, self.block_folds)]
        full = _sum(folds)
        sums = {(r, b): 0.0 for r in reps for b in self.names}
        for chosen in self.splits:
            ga = _sum([folds[i] for i in chosen])
            halves = (ga.centred(), full.minus(ga).centred())
            ns = (ga.n, full.n - ga.n)
            lds: dict[tuple[int, str], float] = {}  # log det of each response's own cross-products, per half
            for r in reps:
                for b in self.names:
                    sums[(r, b)] += self._cell(halves, ns, lds, f"r:{r}", f"b:{b}")
        for (r, b), v in sums.items():
            out[r][b] = v / len(self.splits) if np.isfinite(v) else float("nan")
        return out

    def _cell(self, halves: tuple, ns: tuple, lds: dict, kx: str, ky: str) -> float:
        """Both directions of one split for one (representation, block) pair."""
        ca, cb = halves
        p, q = ca[(kx, kx)].shape[0], ca[(ky, ky)].shape[0]
        if p == 0 or q == 0:  # a constant representation (or an empty block) holds nothing
            return 0.0
        if max(p, q) >= min(ns) - 1:  # too few rows for the dimensions
            return float("nan")
        if p > q:  # the narrower side predicts the wider one
            ca, cb = {**ca, (ky, kx): ca[(kx, ky)].T}, {**cb, (ky, kx): cb[(kx, ky)].T}
            kx, ky = ky, kx
        for h, c in ((0, ca), (1, cb)):
            if (h, ky) not in lds:
                lds[(h, ky)] = _logdet(c[(ky, ky)])
        one = _one_way(ca, cb, kx, ky, ns[0], self.correct, lds[(1, ky)])
        one += _one_way(cb, ca, kx, ky, ns[1], self.correct, lds[(0, ky)])
        return 0.5 * one


def _sum(parts: list[_Grams]) -> _Grams:
    """The cross-products of the union of disjoint row sets."""
    return _Grams(
        sum(p.n for p in parts),
        {k: sum(p.sums[k] for p in parts) for k in parts[0].sums},
        {k: sum(p.g[k] for p in parts) for k in parts[0].g},
    )


def _fold_splits(rng: np.random.Generator, repeats: int) -> list[tuple[int, ...]]:
    """``repeats`` distinct half-splits of the folds (a split and its mirror image count once), seeded."""
    import itertools

    half = FOLDS // 2
    combos = [c for c in itertools.combinations(range(FOLDS), half) if 0 in c]  # one of each mirror pair
    order = rng.permutation(len(combos))
    return [combos[i] for i in order[: min(repeats, len(combos))]]


def information_table(
    reps: Mapping[str, np.ndarray],
    blocks: Mapping[str, np.ndarray],
    *,
    repeats: int = REPEATS,
    seed: int = 0,
    bias_correction: bool = True,
) -> dict[str, dict[str, float]]:
    """I(rep; block) in nats for every representation and block, cross-fitted (see the module docstring).

    Args:
        reps: ``{name: (n, d)}`` representations of the same held-out rows (xi, z_<m>, zeta_<m>).
        blocks: ``{name: (n, size)}`` latent blocks of those rows.
        repeats: random half-splits averaged.
        seed: seed of the splits.
        bias_correction: add ``split_bias / 2`` (False: the plain split-half estimate, biased low; for benches).

    Returns:
        ``{rep: {block: nats}}``; NaN where there are too few rows for the dimensions.
    """
    probe = InformationProbe(blocks, repeats=repeats, seed=seed, bias_correction=bias_correction)
    return probe(reps)


def gaussian_information(
    x: np.ndarray, y: np.ndarray, *, repeats: int = REPEATS, seed: int = 0, bias_correction: bool = True
) -> float:
    """I(x; y) in nats for one pair of ``(n, p)`` / ``(n, q)`` arrays (``information_table`` for a single cell)."""
    table = information_table({"x": x}, {"y": y}, repeats=repeats, seed=seed, bias_correction=bias_correction)
    return table["x"]["y"]


# metric names and sums


def metric_name(rep: str, block: str) -> str:
    """``info/<rep>/<block>``, e.g. ``info/xi/a1`` (nats)."""
    return f"{METRIC_PREFIX}{rep}/{block}"


def parse_metric_name(name: str) -> tuple[str, str] | None:
    """``(rep, block)`` of an ``info/<rep>/<block>`` metric name, else None."""
    if not name.startswith(METRIC_PREFIX):
        return None
    rep, sep, block = name[len(METRIC_PREFIX) :].rpartition("/")
    return (rep, block) if sep and rep and block else None


def table_metrics(table: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """``{info/<rep>/<block>: nats}`` from ``information_table``'s result."""
    return {metric_name(r, b): float(v) for r, row in table.items() for b, v in row.items()}


def table_from_metrics(metrics: Mapping[str, float | None]) -> dict[str, dict[str, float]]:
    """``{rep: {block: nats}}`` from a metric dict (other names ignored; None read as NaN)."""
    out: dict[str, dict[str, float]] = {}
    for name, v in metrics.items():
        key = parse_metric_name(str(name))
        if key is not None:
            out.setdefault(key[0], {})[key[1]] = float("nan") if v is None else float(v)
    return out


def is_task_block(block: str) -> bool:
    """a-blocks (a0, a1, ...) hold task information; b-blocks are superfluous (SPEC section 1)."""
    return block.startswith(TASK_PREFIX)


def kept(row: Mapping[str, float]) -> tuple[float, float]:
    """(task information kept, superfluous information kept): the sums over a-blocks and over b-blocks (nats)."""
    task = [float(v) for b, v in row.items() if is_task_block(b)]
    sup = [float(v) for b, v in row.items() if b.startswith(SUPERFLUOUS_PREFIX)]
    return (float(np.sum(task)) if task else float("nan"), float(np.sum(sup)) if sup else float("nan"))


def representation_label(rep: str) -> str:
    """``xi`` -> ``ξ``, ``z_v1`` -> ``z (v1)``, ``zeta_v1`` -> ``ζ (v1)``: for charts and tables."""
    if rep == "xi":
        return "ξ"
    for prefix, sym in (("zeta_", "ζ"), ("z_", "z")):
        if rep.startswith(prefix):
            return f"{sym} ({rep[len(prefix) :]})"
    return rep


# the ground truth's latent blocks


def held_out_blocks(
    ground_truth: Mapping | None, max_rows: int | None = MAX_ROWS
) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
    """``(rows, {block: (n_held, size)})`` from a synthetic dataset's ground truth, or None without latent blocks
    (real data, uploads, a draw cached before the blocks were kept). At most ``max_rows`` rows (a seeded subset, in
    row order): the cost grows with the rows, the estimate's spread shrinks only as 1 / rows."""
    gt = ground_truth or {}
    rows, lat, sizes = gt.get("latent_rows"), gt.get("latents"), gt.get("latent_blocks")
    if rows is None or lat is None or not isinstance(sizes, Mapping) or not sizes:
        return None
    lat = np.asarray(lat)
    if max_rows is not None and len(rows) > max_rows and lat.shape[0] == len(rows):
        keep = np.sort(np.random.default_rng(0).choice(len(rows), size=max_rows, replace=False))
        rows, lat = np.asarray(rows)[keep], lat[keep]
    out, start = {}, 0
    for b, size in sizes.items():
        out[str(b)] = lat[:, start : start + int(size)]
        start += int(size)
    if start != lat.shape[1] or lat.shape[0] != len(rows):
        return None
    return np.asarray(rows, dtype=np.int64), out


def information_summary(metrics: Mapping[str, float | None], epoch: int | None = None) -> dict | None:
    """What ``result.json`` carries: ``{"epoch", "nats": {rep: {block: nats}}, "task_kept": {rep: nats},
    "superfluous_kept": {rep: nats}}`` from one epoch's metrics; None when they hold no ``info/`` numbers."""
    table = table_from_metrics(metrics)
    if not table:
        return None
    sums = {rep: kept(row) for rep, row in table.items()}
    return {
        "epoch": epoch,
        "nats": table,
        "task_kept": {rep: s[0] for rep, s in sums.items()},
        "superfluous_kept": {rep: s[1] for rep, s in sums.items()},
    }


def gaussian_pair(n: int, p: int, q: int, rho: Iterable[float], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Jointly Gaussian ``(n, p)`` and ``(n, q)`` rows with canonical correlations ``rho`` (the rest 0), each side mixed
    by a random invertible map; their exact MI is ``exact_gaussian_mi(rho)`` (for benches)."""
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((n, p)), rng.standard_normal((n, q))
    r = np.asarray(list(rho), dtype=np.float64)
    k = len(r)
    y[:, :k] = r * x[:, :k] + np.sqrt(1 - r**2) * y[:, :k]
    return x @ rng.standard_normal((p, p)), y @ rng.standard_normal((q, q))
