"""The beta bound M_u of OMIB (paper Prop. 5.7, SPEC section 5), its estimates, and a result cache.

Two modalities::

    H_joint = H(v1) + H(v2) - I(v1; v2)
    M_u     = 1 / (3 * H_joint)            conservative, r-free: r < 2 so 1 + r < 3
    M_u(r)  = 1 / ((1 + r) * H_joint)      paper form (``BoundResult.M_u_with_r``)
    M_l     = 1 / (3 * (H(v1) + H(v2)))

M >= 3 modalities [choice]: M_u = 1 / ((2M - 1) * H_joint) with the joint entropy from the chain rule,
every term from the same estimator::

    H_joint = sum_i H(v_i) - sum_{j>=2} I(v_1..v_{j-1}; v_j)

(exact identity: H(v_1..v_M) = sum_j H(v_j | v_<j) and H(v_j | v_<j) = H(v_j) - I(v_<j; v_j)); for the
gaussian estimator it equals the log-det joint entropy exactly. M_l = 1 / ((2M - 1) * sum_i H(v_i)) [choice].

Scale convention: ``estimate_bound`` works on the *training rows of ``dataset.standardized()``* (every
feature z-scored with train-split mean/std). Differential entropies, hence H_joint and M_u, depend on that
scale (the same data multiplied by 0.1 can give a negative H_joint); mutual information does not.
``estimate_bound_arrays`` takes the arrays as given.

A negative, zero, NaN or infinite H_joint never gives a number: ``M_u`` is None and ``failure`` says why.

Gaussian estimator, two departures from the differential entropy, each recorded in ``BoundResult.warning``,
in the Estimates' notes and in ``settings`` (README, "Our choices"):

- n <= D (fewer training rows than features in all, e.g. nutrimouse): ``small_sample`` (default ``"shrink"``,
  Ledoit-Wolf; ``"pca"``; ``"refuse"``), see ``small_sample.py``.
- [choice] On the standardised scale (``estimate_bound``, ``resolution=RESOLUTION``), when the differential
  joint entropy is unusable, every term is re-estimated at the resolution of one standard deviation:
  H(X) = I(X; X + N) = 0.5 logdet(I + 2 pi e Cov), N ~ N(0, I / (2 pi e)) (``gaussian.py``). Unusable means
  a singular covariance (the UCI profile correlations ``fac``: the differential entropy is minus infinity and
  a ridge would pick the number) or H_joint < ``MIN_H_JOINT`` nats (nearly collinear features, e.g. the UCI
  Zernike moments with the morphological features: -11.5 nats). The resolution form is the paper's
  H(X) = I(X; X) made finite by an explicit resolution, never negative, about the differential entropy where
  the features are not degenerate, and the chain rule still holds. Where the differential H_joint is fine
  (all SIM data, breast cancer) nothing changes. ``resolution=None`` (the default of ``estimate_bound_arrays``,
  whose arrays have no known scale) keeps the differential form: a ridge for a singular covariance (said in
  the notes) and no M_u when H_joint <= 0.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from omib_core.bound.cache import ESTIMATOR_VERSION, fingerprint, load_cached, store
from omib_core.bound.gaussian import PLAIN, GaussianMode, gaussian_entropy, gaussian_mi, singular
from omib_core.bound.neural import neural_mi
from omib_core.bound.result import BoundResult, Estimate
from omib_core.bound.small_sample import prepare
from omib_core.config import BoundConfig
from omib_core.data.dataset import MultimodalDataset
from omib_core.device import resolve_device
from omib_core.errors import DataError

STANDARDISED_SCALE = "standardised features (train-split mean/std), training rows"
RESOLUTION = 1.0  # [choice] one standard deviation of a standardised feature (the resolution form's Delta)
MIN_H_JOINT = 1.0  # [choice] nats: a differential H_joint below this (M_u > 1/3 for M = 2) is not used
DIFFERENTIAL = "differential"

Progress = Callable[[str, float], None]


# helpers


def _rows(x: np.ndarray, what: str) -> np.ndarray:
    """A finite (n, d) float64 array, or a DataError saying what is wrong."""
    a = np.asarray(x)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2 or not np.issubdtype(a.dtype, np.number):
        raise DataError(f"{what} must be a numeric 2-D array (rows = samples). Got shape {a.shape}, dtype {a.dtype}.")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise DataError(f"{what} contains NaN/inf values; impute or drop those rows first.")
    return a


def _subsample(arrays: list[np.ndarray], max_samples: int) -> list[np.ndarray]:
    """The same seeded random ``max_samples`` rows of every array (all rows if fewer)."""
    n = arrays[0].shape[0]
    if any(a.shape[0] != n for a in arrays):
        raise DataError(f"Paired arrays need the same number of rows; got {[a.shape[0] for a in arrays]}.")
    if n <= max_samples:
        return arrays
    keep = np.sort(np.random.default_rng(0).choice(n, size=max_samples, replace=False))
    return [a[keep] for a in arrays]


def _entropy_note(config: BoundConfig) -> str:
    return (
        f"H(X) is estimated as I(X; X), as the paper does. For continuous X the true I(X; X) is infinite, so this "
        f"number is a property of the {config.estimator} estimator and its {config.steps}-step budget, not of the "
        "data: it keeps growing with more steps (SPEC section 5). The gaussian estimator gives the differential "
        "entropy itself."
    )


def _resolve(estimator: str | None, config: BoundConfig | None, device: torch.device | None):
    config = config or BoundConfig()
    if estimator is not None and estimator != config.estimator:
        config = config.replace(estimator=estimator)  # validated by BoundConfig
    return config, (device if device is not None else resolve_device("auto"))


def _mi_rows(
    x, y, config: BoundConfig, device, name: str, progress: Callable[[float], None] | None, mode: GaussianMode = PLAIN
) -> Estimate:
    if config.estimator == "gaussian":
        est = gaussian_mi(x, y, seeds=config.seeds, name=name, mode=mode)
        if progress is not None:
            progress(1.0)
        return est
    return neural_mi(x, y, config.estimator, config, device, name=name, progress=progress)


def _entropy_rows(
    x, config: BoundConfig, device, name: str, progress: Callable[[float], None] | None, mode: GaussianMode = PLAIN
) -> Estimate:
    if config.estimator == "gaussian":
        est = gaussian_entropy(x, seeds=config.seeds, name=name, mode=mode)
        if progress is not None:
            progress(1.0)
        return est
    est = neural_mi(x, x, config.estimator, config, device, name=name, progress=progress)  # H(X) = I(X; X)
    return replace(est, note=f"{est.note} {_entropy_note(config)}")


def _signed_sum(plus: list[tuple[float, ...]], minus: list[tuple[float, ...]]) -> tuple[float, ...]:
    """Element-wise sum(plus) - sum(minus) of equal-length sequences; () when lengths differ or are 0."""
    if not plus[0] or any(len(v) != len(plus[0]) for v in plus + minus):
        return ()
    total = np.sum([np.array(v) for v in plus] + [-np.array(v) for v in minus], axis=0)
    return tuple(float(v) for v in total)


def _combine(name: str, plus: list[Estimate], minus: list[Estimate], neural: bool) -> Estimate:
    """sum(plus) - sum(minus), seed by seed and along the curves (seeds are matched: same splits, same draws)."""
    value = sum(e.value for e in plus) - sum(e.value for e in minus)
    per_seed = _signed_sum([e.per_seed for e in plus], [e.per_seed for e in minus])
    curve = _signed_sum([e.curve for e in plus], [e.curve for e in minus])
    std = float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else 0.0
    converged = all(e.converged for e in plus + minus)
    terms = " + ".join(e.name for e in plus) + "".join(f" - {e.name}" for e in minus)
    note = f"{name} = {terms}."
    if neural:
        note += " Its entropies are the paper's I(X; X) estimates, which depend on the step budget (see their notes)."
    if not converged:
        note += " Some of its terms had not levelled off (see their notes)."
    return Estimate(
        name=name, value=float(value), std=std, per_seed=per_seed, curve=curve, converged=converged, note=note
    )


def bound_values(
    h_joint: float, h_sum: float, n_modalities: int, expression: str, estimator: str, *, standardised: bool = False
) -> tuple[float | None, float | None, str | None]:
    """(M_u, M_l, failure) from H_joint and sum_i H(v_i); None and a sentence where a bound does not exist.

    Args:
        h_joint: the joint entropy estimate (nats).
        h_sum: sum_i H(v_i) (nats), for M_l.
        n_modalities: M; the factor is 3 for M = 2 and 2M - 1 in general.
        expression: how H_joint was formed, quoted in the failure sentence.
        estimator: quoted in the failure sentence.
        standardised: the features were already standardised (changes the advice in the sentence).
    """
    k = 2 * n_modalities - 1  # 3 for two modalities (SPEC 5: conservative, r < 2)
    m_l = 1.0 / (k * h_sum) if math.isfinite(h_sum) and h_sum > 0 else None
    if not math.isfinite(h_joint):
        return (
            None,
            m_l,
            (
                f"{expression} came out as {h_joint} nats: the {estimator} estimate is not a finite number (a critic "
                "diverged or a covariance was degenerate), so the bound has no value; try the gaussian estimator, a "
                "smaller lr, or set beta by hand."
            ),
        )
    if h_joint <= 0:
        sign = "negative" if h_joint < 0 else "zero"
        advice = (
            "the features are already standardised, so use the gaussian estimator (whose resolution form is never "
            "negative) or set beta by hand."
            if standardised
            else "use the standardised convention (estimate_bound on a dataset) or set beta by hand."
        )
        return (
            None,
            m_l,
            (
                f"{expression} came out as {h_joint:.3g} nats: the joint entropy estimate is {sign} at this "
                f"feature scale, so the bound 1/({k} H) does not exist; {advice}"
            ),
        )
    return 1.0 / (k * h_joint), m_l, None  # SPEC 5: M_u = 1 / ((2M - 1) H_joint), 2M - 1 = 3 for M = 2


def _with_exact(result: BoundResult, ground_truth: Mapping[str, Any] | None) -> BoundResult:
    """Fill Estimate.exact from synthetic ground truth (exact_h, exact_mi_v1_v2, exact_h_joint)."""
    if not ground_truth or result.settings.get("entropy", DIFFERENTIAL) != DIFFERENTIAL:
        return result  # the exact values are differential entropies: no comparison with another quantity
    exact_h = ground_truth.get("exact_h") or {}
    entropies = {
        m: replace(e, exact=float(exact_h[m])) if exact_h.get(m) is not None else e for m, e in result.entropies.items()
    }
    mi = result.mutual_information
    if mi is not None and ground_truth.get("exact_mi_v1_v2") is not None:
        mi = replace(mi, exact=float(ground_truth["exact_mi_v1_v2"]))
    hj = result.h_joint
    if ground_truth.get("exact_h_joint") is not None:
        hj = replace(hj, exact=float(ground_truth["exact_h_joint"]))
    return replace(result, entropies=entropies, mutual_information=mi, h_joint=hj)


# main functions


def estimate_mi(
    x: np.ndarray,
    y: np.ndarray,
    estimator: str | None = None,
    config: BoundConfig | None = None,
    device: torch.device | None = None,
    *,
    name: str = "I(x;y)",
    progress: Callable[[float], None] | None = None,
    small_sample: str = "shrink",
) -> Estimate:
    """Estimate I(X; Y) in nats from paired rows, as given (no standardisation beyond the estimator's own).

    Args:
        x: (n, dx) rows; y: (n, dy) rows paired with x (1-D arrays are taken as one column).
        estimator: ``"gaussian"``, ``"mine"``, ``"infonce"`` or ``"smile"``; None = ``config.estimator``.
        config: estimator settings (default ``BoundConfig()``); rows are subsampled to ``max_samples`` (seeded).
        device: where neural critics train; None = ``resolve_device("auto")``.
        name: the Estimate's name.
        progress: called with the fraction done (0..1).
        small_sample: gaussian estimator with n <= dx + dy: ``"shrink"``, ``"pca"`` or ``"refuse"``
            (``small_sample.py``).
    """
    config, device = _resolve(estimator, config, device)
    arrays = _subsample([_rows(x, "x"), _rows(y, "y")], config.max_samples)
    mode, note = PLAIN, None
    if config.estimator == "gaussian":
        arrays, mode, note = prepare(arrays, ("x", "y"), small_sample)
    est = _mi_rows(arrays[0], arrays[1], config, device, name, progress, mode)
    return replace(est, note=f"{est.note} {note}") if note else est


def estimate_entropy(
    x: np.ndarray,
    estimator: str | None = None,
    config: BoundConfig | None = None,
    device: torch.device | None = None,
    *,
    name: str = "H(x)",
    progress: Callable[[float], None] | None = None,
    small_sample: str = "shrink",
) -> Estimate:
    """Estimate H(X) in nats from rows, as given.

    ``gaussian``: the differential entropy 0.5 logdet(2 pi e Cov) (scale-dependent). Neural estimators follow
    the paper, H(X) = I(X; X): for continuous X the true I(X; X) is infinite, so their number is a property of
    the estimator and its step budget, not of the data (it is also scale-free, unlike a differential entropy).

    Args: as ``estimate_mi``.
    """
    config, device = _resolve(estimator, config, device)
    arrays = _subsample([_rows(x, "x")], config.max_samples)
    mode, note = PLAIN, None
    if config.estimator == "gaussian":
        arrays, mode, note = prepare(arrays, ("x",), small_sample)
    est = _entropy_rows(arrays[0], config, device, name, progress, mode)
    return replace(est, note=f"{est.note} {note}") if note else est


def _terms(
    names: tuple[str, ...],
    arrays: list[np.ndarray],
    config: BoundConfig,
    device: torch.device,
    mode: GaussianMode,
    step: Callable[[str], Callable[..., None] | None],
) -> tuple[dict[str, Estimate], list[Estimate]]:
    """H(v_i) for every modality and the chain-rule terms I(v_1..v_{j-1}; v_j), j = 2..M."""
    entropies = {m: _entropy_rows(x, config, device, f"H({m})", step(f"H({m})"), mode) for m, x in zip(names, arrays)}
    chain: list[Estimate] = []
    for j in range(1, len(names)):
        label = f"I({','.join(names[:j])};{names[j]})"
        chain.append(_mi_rows(np.concatenate(arrays[:j], axis=1), arrays[j], config, device, label, step(label), mode))
    return entropies, chain


def _singular(names: tuple[str, ...], arrays: list[np.ndarray]) -> str | None:
    """A sentence when the joint covariance of the features is singular (differential entropy = -inf)."""
    if not singular(np.concatenate(arrays, axis=1)):
        return None
    own = [m for m, a in zip(names, arrays) if singular(a)]
    where = f"within {', '.join(own)}" if own else "across the modalities"
    return (
        f"The features' covariance is singular {where} (some features are exact linear combinations of others, "
        "or constant), so their differential entropy is minus infinity and a finite value would only reflect a "
        "ridge."
    )


def _too_small(h_joint: float, expression: str) -> str | None:
    """Why a differential H_joint of the gaussian estimator cannot give M_u, or None when it can."""
    if not math.isfinite(h_joint) or h_joint < MIN_H_JOINT:
        return (
            f"The differential joint entropy {expression} came out as {h_joint:.4g} nats, below {MIN_H_JOINT:g} nat: "
            "the features are nearly collinear, so the differential entropy is dominated by directions of almost "
            "no variance and 1/(3 H) would be negative or huge."
        )
    return None


def _check_inputs(modalities: Mapping[str, np.ndarray], resolution: float | None) -> None:
    if len(modalities) < 2:
        raise DataError(f"The beta bound needs at least 2 modalities; got {len(modalities)}.")
    if resolution is not None and not (math.isfinite(resolution) and resolution > 0):
        raise DataError(f"The 'resolution' of the bound must be a positive number. Got {resolution!r} instead.")


def _prepared_arrays(
    modalities: Mapping[str, np.ndarray], names: tuple[str, ...], config: BoundConfig, small_sample: str
) -> tuple[list[np.ndarray], GaussianMode, list[str], str]:
    """Checked, subsampled rows (and, for the gaussian estimator with n <= D, the small-sample treatment):
    (arrays, gaussian mode, warnings, the small-sample treatment applied or "none")."""
    arrays = _subsample([_rows(modalities[m], f"Modality {m!r}") for m in names], config.max_samples)
    if config.estimator != "gaussian":
        return arrays, PLAIN, [], "none"
    arrays, mode, note = prepare(arrays, names, small_sample)
    return arrays, mode, ([note] if note else []), (small_sample if note else "none")


class _StepReporter:
    """Progress over the ``units`` estimates of a bound: ``step(label)`` starts the next one and returns its
    ``report(fraction, value=None)`` callback, or None when nobody listens."""

    def __init__(self, units: int, estimator: str, progress: Progress | None, on_estimate) -> None:
        self.units, self.estimator, self.progress, self.on_estimate = units, estimator, progress, on_estimate
        self.done = 0

    def __call__(self, label: str) -> Callable[..., None] | None:
        base = self.done
        self.done += 1
        if self.progress is None and self.on_estimate is None:
            return None
        full = f"{self.estimator}: {label}"

        def report(f: float, value: float | None = None) -> None:
            if self.progress is not None:
                self.progress(full, (base + f) / self.units)
            if self.on_estimate is not None and value is not None:
                self.on_estimate(full, (base + f) / self.units, value)  # the live curve of a neural estimate

        report(0.0)
        return report


def _joint_expression(names: tuple[str, ...]) -> str:
    """How H_joint is formed, as quoted in sentences."""
    if len(names) == 2:
        return f"H({names[0]})+H({names[1]})-I({names[0]};{names[1]})"
    return "The chain-rule joint entropy sum_i H(v_i) - sum_j I(v_<j; v_j)"


def _estimates(
    names: tuple[str, ...],
    arrays: list[np.ndarray],
    config: BoundConfig,
    device: torch.device,
    mode: GaussianMode,
    steps: _StepReporter,
    expression: str,
    resolution: float | None,
) -> tuple[dict[str, Estimate], list[Estimate], Estimate, GaussianMode, str | None]:
    """Every term and H_joint: (entropies, chain-rule MI terms, H_joint, the mode used, a warning or None).

    ``resolution`` (gaussian estimator only): when the differential H_joint is unusable, every term is estimated
    again at that resolution [choice] (module docstring), and the warning says so.
    """
    why = _singular(names, arrays) if resolution is not None and mode.plain else None
    if why is None:
        entropies, chain = _terms(names, arrays, config, device, mode, steps)
        h_joint = _combine("H_joint", list(entropies.values()), chain, neural=config.estimator != "gaussian")
        why = _too_small(h_joint.value, expression) if resolution is not None else None
    if why is None:
        return entropies, chain, h_joint, mode, None
    mode = replace(mode, resolution=float(resolution))
    entropies, chain = _terms(names, arrays, config, device, mode, steps if steps.done == 0 else lambda label: None)
    h_joint = _combine("H_joint", list(entropies.values()), chain, neural=False)
    warning = (
        f"{why} So every entropy here is the entropy at the resolution of {resolution:g} standard deviation "
        "of the standardised features, H(X) = I(X; X + N) = 0.5 logdet(I + 2 pi e Cov) (never negative; the "
        "paper's H(X) = I(X; X) made finite by an explicit resolution), and M_u comes from it."
    )
    return entropies, chain, h_joint, mode, warning


def _settings(
    config: BoundConfig, scale: str, arrays: list[np.ndarray], device: torch.device, applied: str, mode: GaussianMode
) -> dict[str, Any]:
    """What a result was computed with, as kept in ``BoundResult.settings``."""
    return {
        **config.to_dict(),
        "scale": scale,
        "rows": int(arrays[0].shape[0]),
        "device": str(device),
        "version": ESTIMATOR_VERSION,
        "small_sample": applied,
        "entropy": DIFFERENTIAL if mode.resolution is None else f"resolution {mode.resolution:g}",
    }


def estimate_bound_arrays(
    modalities: Mapping[str, np.ndarray],
    config: BoundConfig | None = None,
    *,
    device: torch.device | None = None,
    cache_dir: str | Path | None = None,
    progress: Progress | None = None,
    ground_truth: Mapping[str, Any] | None = None,
    scale: str = "as given",
    on_estimate: Callable[[str, float, float], None] | None = None,
    small_sample: str = "shrink",
    resolution: float | None = None,
) -> BoundResult:
    """M_u and M_l from paired modality arrays taken as given (no standardisation: mind the scale).

    Args:
        modalities: ordered ``{name: (n, d_i) array}``, at least 2, same rows; the first is v_1.
        config: estimator settings (default ``BoundConfig()``).
        device: where neural critics train; None = ``resolve_device("auto")``.
        cache_dir: folder of cached results (JSON keyed by ``fingerprint``); None = no cache.
        progress: ``progress(label, fraction)`` while estimating (fraction 0..1 over the whole bound).
        ground_truth: synthetic ground truth (``exact_h``, ``exact_mi_v1_v2``, ``exact_h_joint``) for ``exact``.
        scale: a description of the feature scale, recorded in ``settings["scale"]``.
        on_estimate: ``on_estimate(label, fraction, value)`` at every logged point of a neural curve.
        small_sample: gaussian estimator with no more rows than features in all: ``"shrink"`` (Ledoit-Wolf,
            default), ``"pca"`` or ``"refuse"`` (``small_sample.py``).
        resolution: gaussian estimator: when the differential H_joint is unusable (singular covariance, or
            below ``MIN_H_JOINT``), re-estimate every term at this resolution (in the arrays' units); None = the
            differential estimate as before (a ridge for a singular covariance, said in the notes; ``failure``
            when H_joint <= 0). ``estimate_bound`` passes ``RESOLUTION`` (standardised scale).

    Raises:
        DataError: fewer than 2 modalities, or malformed arrays.
        BoundError: too few rows for the estimator (or n <= D with ``small_sample="refuse"``).
    """
    config = config or BoundConfig()
    _check_inputs(modalities, resolution)
    names, gaussian = tuple(modalities), config.estimator == "gaussian"
    fp = fingerprint(modalities, config, {"small_sample": small_sample, "resolution": resolution} if gaussian else None)
    cached = load_cached(cache_dir, fp)
    if cached is not None:
        if progress is not None:
            progress("cache hit", 1.0)
        return _with_exact(cached, ground_truth)

    device = device if device is not None else resolve_device("auto")
    start = time.perf_counter()
    arrays, mode, warnings, applied = _prepared_arrays(modalities, names, config, small_sample)
    steps = _StepReporter(2 * len(names) - 1, config.estimator, progress, on_estimate)  # M H terms + (M - 1) MI
    expression = _joint_expression(names)
    entropies, chain, h_joint, mode, warning = _estimates(
        names, arrays, config, device, mode, steps, expression, resolution if gaussian else None
    )
    m_u, m_l, failure = bound_values(
        h_joint.value,
        sum(e.value for e in entropies.values()),
        len(names),
        expression,
        config.estimator,
        standardised=scale == STANDARDISED_SCALE,
    )
    result = BoundResult(
        estimator=config.estimator,
        modalities=names,
        entropies=entropies,
        mutual_information=chain[0],
        h_joint=h_joint,
        M_u=m_u,
        M_l=m_l,
        failure=failure,
        fingerprint=fp,
        settings=_settings(config, scale, arrays, device, applied, mode),
        seconds=time.perf_counter() - start,
        warning=" ".join(warnings + ([warning] if warning else [])) or None,
    )
    store(cache_dir, result)
    if progress is not None:
        progress("done", 1.0)
    return _with_exact(result, ground_truth)


def estimate_bound(
    dataset: MultimodalDataset,
    config: BoundConfig | None = None,
    *,
    device: torch.device | None = None,
    cache_dir: str | Path | None = None,
    progress: Progress | None = None,
    on_estimate: Callable[[str, float, float], None] | None = None,
    small_sample: str = "shrink",
    resolution: float | None = RESOLUTION,
) -> BoundResult:
    """M_u (and M_l) of a dataset, on the training rows of ``dataset.standardized()`` (the scale convention).

    Args:
        dataset: the data; only its training split is used, standardised with train-split mean/std.
        config: estimator settings (default ``BoundConfig()``, the gaussian estimator).
        device: where neural critics train; None = ``resolve_device("auto")``.
        cache_dir: folder of cached results; a hit returns at once with the original fingerprint,
            settings and seconds.
        progress: ``progress(label, fraction)`` during estimation.
        on_estimate: ``on_estimate(label, fraction, value)`` at every logged point of a neural estimator's
            training curve (nats, held-out rows), so a UI can draw the curve live.
        small_sample: fewer training rows than features (gaussian estimator): ``"shrink"`` (Ledoit-Wolf,
            default), ``"pca"`` or ``"refuse"``.
        resolution: gaussian estimator: the resolution form's Delta in standard deviations when the
            differential H_joint is unusable (default ``RESOLUTION`` = 1); None = the differential estimate
            (a ridge for a singular covariance; ``failure`` when H_joint <= 0).

    Returns:
        A BoundResult; ``M_u`` None with ``failure`` set when the bound does not exist, ``warning`` set when
        the estimate departs from the differential entropies of the sample covariance (and says how).
    """
    train = dataset.standardized().subset("train")
    mods = {m: train[m] for m in dataset.modality_names}
    return estimate_bound_arrays(
        mods,
        config,
        device=device,
        cache_dir=cache_dir,
        progress=progress,
        ground_truth=dataset.ground_truth,
        scale=STANDARDISED_SCALE,
        on_estimate=on_estimate,
        small_sample=small_sample,
        resolution=resolution,
    )
