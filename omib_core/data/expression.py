"""Gene expression counts -> a feature matrix: library-size normalisation, log1p, the most variable genes.

The standard single-cell / spatial recipe (scanpy's ``normalize_total``, ``log1p``, ``highly_variable_genes`` with
its default ``flavor='seurat'``), written with NumPy and scipy.sparse so that neither scanpy nor anndata is needed:

- each spot's counts are scaled to sum to ``TARGET_SUM`` (spots with no counts stay zero), then ``log1p``;
- genes are ranked by *normalised dispersion*: the dispersion var / mean of the normalised counts, logged, then
  z-scored among genes of similar mean expression (``N_BINS`` equal-width bins of log1p(mean)). Plain variance of
  the logged values would instead favour genes that are often zero (0 vs ~5 on the log scale), whatever the tissue.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TARGET_SUM = 1e4  # counts per 10k
N_BINS = 20


def log_normalize(counts: Any, target_sum: float = TARGET_SUM) -> Any:
    """``(N, G)`` sparse counts -> CSR float32 ``log1p(counts / spot total * target_sum)``."""
    import scipy.sparse as sp

    totals = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
    scale = np.divide(target_sum, totals, out=np.zeros_like(totals), where=totals > 0)  # empty spots stay 0
    x = sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ sp.csr_matrix(counts), dtype=np.float32)
    np.log1p(x.data, out=x.data)
    return x


def normalized_dispersion(logged: Any) -> np.ndarray:
    """``(N, G)`` log-normalised CSR -> ``(G,)`` normalised dispersion (NaN for genes never or evenly expressed).

    As scanpy's ``flavor='seurat'``: a bin holding a single gene gives it 1, a bin of equal dispersions 0.
    """
    e = logged.copy()
    np.expm1(e.data, out=e.data)  # back to counts per 10k
    n = max(e.shape[0], 2)
    mean = np.asarray(e.mean(axis=0), dtype=np.float64).ravel()
    var = (np.asarray(e.multiply(e).mean(axis=0), dtype=np.float64).ravel() - mean**2) * n / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        disp = np.log(np.where((mean > 0) & (var > 0), var / np.where(mean > 0, mean, 1.0), np.nan))
    level = np.log1p(mean)
    edges = np.linspace(level.min(), level.max(), N_BINS + 1)
    bins = np.clip(np.searchsorted(edges, level, side="left") - 1, 0, N_BINS - 1)  # (G,) bin of each gene
    out = np.full(disp.shape, np.nan)
    for b in np.unique(bins):
        idx = np.flatnonzero((bins == b) & np.isfinite(disp))
        if idx.size == 1:
            out[idx] = 1.0
        elif idx.size > 1:
            sd = disp[idx].std(ddof=1)
            out[idx] = (disp[idx] - disp[idx].mean()) / sd if sd > 0 else 0.0
    return out


def variable_genes(logged: Any, n_genes: int) -> np.ndarray:
    """Column indices of the ``n_genes`` genes of highest normalised dispersion, highest first (ties: lower index)."""
    score = normalized_dispersion(logged)
    score = np.where(np.isfinite(score), score, -np.inf)  # never-expressed genes last
    return np.argsort(-score, kind="stable")[: min(int(n_genes), logged.shape[1])]


def expression_features(counts: Any, n_genes: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Counts ``(N, G)`` -> ``(N, g)`` float32 log-normalised expression of the most variable genes, and their columns.

    Args:
        counts: sparse (or dense) non-negative counts, spots x genes.
        n_genes: genes kept (all of them when there are fewer).
        rows: ``(N,)`` bool, the spots the genes are ranked on (None = all).
    """
    x = log_normalize(counts)
    genes = variable_genes(x if rows is None else x[np.flatnonzero(rows)], n_genes)
    return x[:, genes].toarray().astype(np.float32), genes


__all__ = ["TARGET_SUM", "expression_features", "log_normalize", "normalized_dispersion", "variable_genes"]
