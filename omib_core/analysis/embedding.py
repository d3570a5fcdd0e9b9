"""2-D projections of embeddings (xi, z_i, zeta_i): PCA at once, UMAP lazily, and snapshot loading.

``umap`` (and through it numba) is imported only inside ``umap_2d`` / ``warm_up_umap``: importing it costs
about 40 s cold and its first fit compiles numba kernels (70-150 s), so ``omib_core`` never imports it at
module import. ``warm_up_umap`` pays that cost once per machine (kernels cached under ``NUMBA_CACHE_DIR``).

``project_snapshot`` is the job a UI hands to ``omib_core.analysis.projection_jobs.ProjectionJobs``, which runs
UMAP fits in one spawned worker process (so a server never imports umap or numba) and keeps their futures by
key: the UI shows the PCA meanwhile and polls until the UMAP is ready, without ever blocking.
"""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

import numpy as np

from omib_core.errors import DataError, param_error
from omib_core.paths import numba_cache_path

ZIP_MAGIC = b"PK\x03\x04"


# helpers


def _as_matrix(x: np.ndarray, what: str = "embedding") -> np.ndarray:
    """(N, d) float64 copy of ``x``; a 1-D array is one feature per row."""
    x = np.asarray(x)
    if x.dtype == object or not np.issubdtype(x.dtype, np.number):
        raise DataError(f"The {what} must hold numbers; got dtype {x.dtype}.")
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0:
        raise DataError(f"The {what} must be a non-empty 2-D array (rows = samples); got shape {x.shape}.")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise DataError(f"The {what} holds NaN/inf values, so it cannot be projected; the run may have diverged.")
    return x


def numba_cache_dir() -> str:
    """Set ``NUMBA_CACHE_DIR`` (unless already set) to ``numba_cache_path()`` and return it."""
    os.environ["NUMBA_CACHE_DIR"] = numba_cache_path()
    return os.environ["NUMBA_CACHE_DIR"]


# projections


def pca_2d(x: np.ndarray) -> np.ndarray:
    """First two principal components of ``x`` (N, d) -> (N, 2): scikit-learn's ``PCA`` (full SVD).

    Deterministic: scikit-learn's ``svd_flip`` makes each component's largest-magnitude loading positive. With
    fewer than 2 features or rows the missing columns are 0.
    """
    from sklearn.decomposition import PCA

    x = _as_matrix(x)
    n, d = x.shape
    out = np.zeros((n, 2))
    if n < 2:
        return out
    k = min(2, n, d)
    out[:, :k] = PCA(n_components=k, svd_solver="full").fit_transform(x)
    return out


def umap_2d(x: np.ndarray, seed: int = 0, n_neighbors: int = 15, min_dist: float = 0.1) -> np.ndarray:
    """UMAP projection of ``x`` (N, d) -> (N, 2); seeded (single-threaded, reproducible).

    ``umap`` is imported here, not at module import. Fewer than 4 rows fall back to ``pca_2d``.
    """
    x = _as_matrix(x)
    n = x.shape[0]
    if n < 4:
        return pca_2d(x)
    numba_cache_dir()
    import umap  # lazy: ~40 s cold import, numba compilation on first fit

    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=max(2, min(int(n_neighbors), n - 1)),
        min_dist=float(min_dist),
        random_state=int(seed),
        n_jobs=1,  # a seed forces one thread anyway; saying so silences umap's warning
        init="spectral" if n > 16 else "random",
    )
    return np.asarray(reducer.fit_transform(x), dtype=np.float64)


def warm_up_umap(n: int = 5000, dim: int = 16) -> float:
    """Import umap and fit a random dataset once, so numba compiles (and caches) its kernels.

    ``n`` is above 4,096 on purpose: umap takes another code path (approximate nearest neighbours) from
    4,096 rows on, and warming only the small path left the first 10,000-point fit at ~64 s; warmed on
    5,000 rows it took ~14 s (measured on the 2-core development machine).

    Sets ``NUMBA_CACHE_DIR`` before importing umap. Run at server start as the first job of the UMAP worker
    process (``ProjectionJobs.warm_up``), never in the server itself, and in the Docker build. Returns the
    seconds it took.
    """
    t0 = time.perf_counter()
    numba_cache_dir()
    x = np.random.default_rng(0).standard_normal((n, dim))
    umap_2d(x, seed=0)
    return time.perf_counter() - t0


def subsample_rows(n: int, max_rows: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``max_rows`` of ``n`` rows, drawn without replacement (all rows when n fits)."""
    if n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))


# snapshots


def load_snapshot(path: str | Path) -> dict[str, np.ndarray]:
    """Arrays of an embedding snapshot ``.npz`` (never unpickling anything).

    Raises:
        DataError: the file is missing, is not an ``.npz`` archive, is damaged, or holds object arrays.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(
            f"The embedding snapshot {p.name!r} is missing (it may have been deleted with its run); "
            "pick another epoch or run."
        )
    with open(p, "rb") as f:
        magic = f.read(4)
    if magic != ZIP_MAGIC:
        raise DataError(f"The file {p.name!r} is not an .npz snapshot archive; pick another snapshot.")
    try:
        with np.load(p, allow_pickle=False) as npz:
            arrays = {k: np.asarray(npz[k]) for k in npz.files}
    except ValueError as e:  # object arrays / pickled data refused by allow_pickle=False
        raise DataError(
            f"The snapshot {p.name!r} holds Python objects (pickled data), which are never loaded for safety; "
            "only numeric arrays are accepted."
        ) from e
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise DataError(f"The snapshot {p.name!r} is damaged or cut short and cannot be read ({e}).") from e
    if not arrays:
        raise DataError(f"The snapshot {p.name!r} holds no arrays.")
    return arrays


def projectable_arrays(snapshot: dict[str, np.ndarray]) -> list[str]:
    """Names of the embeddings in a snapshot that can be projected: ``xi`` first, then ``z_<m>``, ``zeta_<m>``."""
    names = [k for k in snapshot if (k == "xi" or k.startswith(("z_", "zeta_"))) and np.asarray(snapshot[k]).ndim == 2]
    rank = {"xi": 0, "z_": 1, "zeta_": 2}
    return sorted(names, key=lambda k: (0 if k == "xi" else rank["zeta_" if k.startswith("zeta_") else "z_"], k))


def project_snapshot(path: str | Path, array: str, seed: int = 0, method: str = "umap") -> np.ndarray:
    """2-D projection (N, 2) float32 of the array ``array`` of a snapshot file: the job a UMAP worker runs.

    Module-level and given only a path and names, so it pickles by reference and the worker process reads the
    snapshot itself with ``load_snapshot`` (never unpickling anything). ``method`` is ``"umap"`` or ``"pca"``
    (the latter is instant: tests use it to exercise a real worker process without compiling numba).

    Raises:
        DataError: the snapshot cannot be read or holds no array ``array``.
    """
    snap = load_snapshot(path)
    if array not in snap:
        raise DataError(f"The snapshot {Path(path).name!r} holds no array {array!r}; pick another embedding.")
    if method == "umap":
        coords = umap_2d(snap[array], seed=seed)
    elif method == "pca":
        coords = pca_2d(snap[array])
    else:
        raise param_error("project_snapshot", "method", "'umap' or 'pca'", method)
    return coords.astype(np.float32)  # (N, 2): half the bytes to send back from the worker
