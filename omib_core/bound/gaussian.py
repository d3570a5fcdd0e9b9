"""Gaussian (log-det) estimates of entropy and mutual information (SPEC section 5).

    H(X)    = 0.5 * logdet(2 pi e Cov(X))
    I(X; Y) = 0.5 * (logdet C_xx + logdet C_yy - logdet C)      C = Cov([X; Y])

Exact for Gaussian data. For other data H is the entropy of the Gaussian with the same covariance (an
upper bound on the true differential entropy, the maximum-entropy property) and I measures linear
(second-order) dependence only.

The sample log-determinant is biased low by about d^2 / (2 n); we remove that bias exactly for Gaussian
data with the Wishart correction of Ahmed & Gokhale (1989):

    E[ln |S|] = ln |Sigma| + d ln(2 / (n - 1)) + sum_{i=1..d} digamma((n - i) / 2)

(S the sample covariance with divisor n - 1), so ``ln |S| - d ln(2/(n-1)) - sum digamma(...)`` is unbiased.
Because every quantity is built from the corrected log-det of its own block, the chain rule
H(X, Y) = H(X) + H(Y) - I(X; Y) holds exactly between the estimates.

The spread comes from bootstrap resamples, one per seed: ``std`` is their standard deviation and ``value``
the estimate on all rows. A resample repeats rows, which shifts every replicate by about the same amount
(about +0.8 nat on I(v1; v2) for 214 features and 7,000 rows), so ``per_seed`` holds the replicates
re-centred on ``value`` (replicate - mean of replicates + value): the bootstrap spread around the estimate.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import digamma

from omib_core.bound.result import Estimate
from omib_core.errors import BoundError

# A covariance whose smallest eigenvalue is below this share of its largest is treated as singular.
_SINGULAR_RTOL = 1e-10
# Ridge added to the diagonal of a singular covariance, relative to its mean variance.
_RIDGE = 1e-6
_LOG_2PIE = math.log(2.0 * math.pi * math.e)


# helpers


def logdet_bias(d: int, n: int) -> float:
    """E[ln |S|] - ln |Sigma| for the sample covariance of n Gaussian rows in d dimensions (Wishart)."""
    if n <= d:
        raise BoundError(
            f"The Gaussian estimator needs more rows than dimensions to estimate a {d}-dimensional covariance; "
            f"got {n} rows. Use more samples or fewer features."
        )
    return d * math.log(2.0 / (n - 1)) + float(np.sum(digamma((n - np.arange(1, d + 1)) / 2.0)))


def logdet(cov: np.ndarray) -> tuple[float, bool]:
    """ln |cov| of a symmetric PSD matrix and whether a ridge was needed (singular covariance)."""
    cov = 0.5 * (cov + cov.T)
    eig = np.linalg.eigvalsh(cov)  # ascending
    top = float(eig[-1])
    if top > 0 and float(eig[0]) > _SINGULAR_RTOL * top:
        return float(np.sum(np.log(eig))), False
    scale = max(float(np.trace(cov)) / cov.shape[0], 1e-300)
    eig = np.linalg.eigvalsh(cov + _RIDGE * scale * np.eye(cov.shape[0]))
    return float(np.sum(np.log(np.clip(eig, 1e-300, None)))), True


def _blocks_logdet(z: np.ndarray, blocks: list[slice], corrected: bool) -> tuple[list[float], bool]:
    """Corrected ln|S| of each diagonal block of the sample covariance of z (n, D)."""
    n = z.shape[0]
    cov = np.cov(z, rowvar=False, ddof=1).reshape(z.shape[1], z.shape[1])  # (D, D)
    out, ridged = [], False
    for b in blocks:
        ld, r = logdet(cov[b, b])
        ridged |= r
        d = b.stop - b.start
        out.append(ld - (logdet_bias(d, n) if corrected else 0.0))
    return out, ridged


def _as_2d(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(-1, 1) if x.ndim == 1 else x


# main functions


def gaussian_entropy_value(x: np.ndarray, corrected: bool = True) -> tuple[float, bool]:
    """H(X) in nats of rows x (n, d) under the Gaussian model, and whether a ridge was needed."""
    x = _as_2d(x)
    (ld,), ridged = _blocks_logdet(x, [slice(0, x.shape[1])], corrected)
    return 0.5 * (x.shape[1] * _LOG_2PIE + ld), ridged  # SPEC 5: H = 0.5 logdet(2 pi e Cov)


def gaussian_mi_value(x: np.ndarray, y: np.ndarray, corrected: bool = True) -> tuple[float, bool]:
    """I(X; Y) in nats of paired rows x (n, dx), y (n, dy) under the Gaussian model, and the ridge flag."""
    x, y = _as_2d(x), _as_2d(y)
    dx, dy = x.shape[1], y.shape[1]
    z = np.concatenate([x, y], axis=1)  # (n, dx + dy)
    (ld_x, ld_y, ld_xy), ridged = _blocks_logdet(z, [slice(0, dx), slice(dx, dx + dy), slice(0, dx + dy)], corrected)
    return 0.5 * (ld_x + ld_y - ld_xy), ridged  # SPEC 5: I = 0.5 (logdet Cxx + logdet Cyy - logdet C)


def _bootstrap(fn, arrays: list[np.ndarray], seeds: int) -> tuple[float, list[float], bool]:
    value, ridged = fn(*arrays)
    n = arrays[0].shape[0]
    reps = []
    for s in range(seeds):
        idx = np.random.default_rng(s).integers(0, n, size=n)  # one bootstrap resample per seed
        v, r = fn(*(a[idx] for a in arrays))
        reps.append(v)
        ridged |= r
    shift = value - float(np.mean(reps)) if reps else 0.0
    return value, [v + shift for v in reps], ridged  # re-centred on the full-sample estimate


def _estimate(name: str, value: float, reps: list[float], ridged: bool, what: str) -> Estimate:
    note = (
        f"Gaussian log-det {what} (Wishart bias-corrected) on all rows; spread from {len(reps)} bootstrap "
        "resample(s), re-centred on the estimate."
    )
    if ridged:
        note += (
            f" The covariance was singular (a constant or duplicated feature), so a ridge of {_RIDGE:g} x the mean "
            "variance was added to its diagonal: the value depends on that ridge; drop constant/duplicate features."
        )
    std = float(np.std(reps, ddof=1)) if len(reps) > 1 else 0.0
    return Estimate(name=name, value=float(value), std=std, per_seed=tuple(float(r) for r in reps), note=note)


def gaussian_entropy(x: np.ndarray, seeds: int = 3, name: str = "H(x)") -> Estimate:
    """Estimate H(X) (nats) with the Gaussian log-det formula; bootstrap resamples give the spread."""
    value, reps, ridged = _bootstrap(gaussian_entropy_value, [_as_2d(x)], seeds)
    return _estimate(name, value, reps, ridged, "entropy")


def gaussian_mi(x: np.ndarray, y: np.ndarray, seeds: int = 3, name: str = "I(x;y)") -> Estimate:
    """Estimate I(X; Y) (nats) with the Gaussian log-det formula; bootstrap resamples give the spread."""
    value, reps, ridged = _bootstrap(gaussian_mi_value, [_as_2d(x), _as_2d(y)], seeds)
    return _estimate(name, value, reps, ridged, "mutual information")
