"""Fewer rows than features: what the Gaussian estimator does when n <= d (SPEC section 5).

The Gaussian log-det estimator needs the sample covariance of every block, including the joint one of all
modalities together (the chain-rule mutual information). With n rows and D features in all, that covariance
is singular when n <= D (e.g. nutrimouse: 28 training rows, 120 + 21 features) and the Wishart correction is
undefined. Three documented ways out, ``small_sample``:

- ``"shrink"`` (default): the Ledoit-Wolf covariance ``(1 - rho) S + rho mu I``, rho and mu fitted once on all
  the features together and applied to every block (``gaussian.ledoit_wolf``). Keeps every feature; the
  entropy of the directions the rows do not span comes from the shrinkage target, so it is a regularised
  estimate, not a bias-corrected one.
- ``"pca"``: each modality replaced by its leading principal components, at most ``n // (2 M)`` of them, so
  the joint has at most n / 2 dimensions and the Wishart-corrected estimator applies. The entropies are then
  those of the leading components, a lower-dimensional quantity (what the other directions hold is dropped).
- ``"refuse"``: raise ``BoundError`` with a sentence (the behaviour before this option existed).

Where n > D nothing changes: the sample covariance with the Wishart correction.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from omib_core.bound.gaussian import PLAIN, GaussianMode, ledoit_wolf
from omib_core.errors import BoundError, ConfigError

SMALL_SAMPLE = ("shrink", "pca", "refuse")
MIN_SHRINKAGE = 1e-3


# helpers


def _pca_scores(x: np.ndarray, k: int) -> np.ndarray:
    """The first k principal-component scores of rows x (n, d) -> (n, k)."""
    xc = x - x.mean(0)
    _, _, vt = np.linalg.svd(xc, full_matrices=False)  # vt: (min(n, d), d), rows by decreasing variance
    return xc @ vt[:k].T


# main function


def prepare(
    arrays: list[np.ndarray], names: tuple[str, ...], small_sample: str = "shrink"
) -> tuple[list[np.ndarray], GaussianMode, str | None]:
    """The arrays and GaussianMode the Gaussian estimator should use, and a note when n <= D changed them.

    Args:
        arrays: paired rows, one (n, d_i) array per modality.
        names: the modality names, for the note.
        small_sample: ``"shrink"``, ``"pca"`` or ``"refuse"`` (see the module docstring).

    Raises:
        ConfigError: an unknown ``small_sample``.
        BoundError: n <= D with ``small_sample="refuse"``.
    """
    if small_sample not in SMALL_SAMPLE:
        raise ConfigError(
            f"The 'small_sample' parameter of the bound must be one of {SMALL_SAMPLE}. Got {small_sample!r} instead."
        )
    n, dims = arrays[0].shape[0], [a.shape[1] for a in arrays]
    total = sum(dims)
    if n > total:
        return arrays, PLAIN, None
    head = (
        f"There are {n} rows for {total} features in all ({', '.join(f'{m} {d}' for m, d in zip(names, dims))}), "
        "too few for a sample covariance"
    )
    if small_sample == "refuse":
        raise BoundError(
            f"{head}: the Gaussian estimator needs more rows than features. Use more samples, fewer features, or "
            "small_sample='shrink' / 'pca'."
        )
    if small_sample == "shrink":
        mode = ledoit_wolf(np.concatenate(arrays, axis=1))
        if mode.shrinkage == 0.0:  # degenerate rows (e.g. all equal): some shrinkage keeps the covariance invertible
            mode = replace(mode, shrinkage=MIN_SHRINKAGE, target=mode.target or 1.0)
        note = (
            f"{head}, so every entropy and mutual information comes from one Ledoit-Wolf shrunk covariance "
            f"(rho = {mode.shrinkage:.3g}): a regularised estimate, not bias-corrected; the directions the rows do "
            "not span get the shrinkage target's entropy."
        )
        return arrays, mode, note
    k = max(1, n // (2 * len(arrays)))  # joint dimension <= n / 2: the Wishart-corrected estimator applies
    reduced = [_pca_scores(a, min(k, a.shape[1], n - 1)) for a in arrays]
    kept = ", ".join(f"{m} {r.shape[1]} of {d}" for m, r, d in zip(names, reduced, dims))
    note = (
        f"{head}, so each modality was reduced to its leading principal components ({kept}) and the estimates are "
        "those of the components (what the other directions hold is not counted)."
    )
    return reduced, PLAIN, note
