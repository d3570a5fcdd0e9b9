"""2-D projections of embeddings (xi, z_i, zeta_i): PCA at once, UMAP lazily, and snapshot loading.

``umap`` (and through it numba) is imported only inside ``umap_2d`` / ``warm_up_umap``: importing it costs
about 40 s cold and its first fit compiles numba kernels (70-150 s), so ``omib_core`` never imports it at
module import. ``warm_up_umap`` pays that cost once per machine (kernels cached under ``NUMBA_CACHE_DIR``).

``ProjectionJobs`` runs UMAP fits in one background thread and keeps their futures by key, so a UI can show
the PCA meanwhile and poll until the UMAP is ready, without ever blocking.
"""

from __future__ import annotations

import os
import threading
import time
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from omib_core.errors import DataError

REPO_ROOT = Path(__file__).resolve().parents[2]
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
    """Set ``NUMBA_CACHE_DIR`` (unless already set) to ``<OMIB_DATA_DIR or repo/var>/numba_cache`` and return it."""
    if not os.environ.get("NUMBA_CACHE_DIR"):
        base = Path(os.environ.get("OMIB_DATA_DIR") or REPO_ROOT / "var")
        os.environ["NUMBA_CACHE_DIR"] = str(base / "numba_cache")
    path = os.environ["NUMBA_CACHE_DIR"]
    Path(path).mkdir(parents=True, exist_ok=True)
    return path


# projections


def pca_2d(x: np.ndarray) -> np.ndarray:
    """First two principal components of ``x`` (N, d) -> (N, 2), by numpy SVD.

    Deterministic: each component's sign is chosen so that its largest-magnitude loading is positive (the
    convention of scikit-learn's ``svd_flip``). With fewer than 2 features or rows the missing columns are 0.
    """
    x = _as_matrix(x)
    n, d = x.shape
    xc = x - x.mean(axis=0)  # (N, d)
    out = np.zeros((n, 2))
    if n < 2:
        return out
    _, s, vt = np.linalg.svd(xc, full_matrices=False)  # vt: (min(N, d), d)
    k = min(2, vt.shape[0])
    for i in range(k):
        v = vt[i]
        if v[np.argmax(np.abs(v))] < 0:
            v = -v
        out[:, i] = xc @ v
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

    Sets ``NUMBA_CACHE_DIR`` before importing umap. Called at server start in a background thread and in the
    Docker build. Returns the seconds it took.
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


# background jobs


class ProjectionJobs:
    """Server-wide background UMAP fits, keyed (e.g. by ``(snapshot path, array name)``).

    One worker thread (UMAP is CPU-heavy and the server is shared); at most ``max_entries`` results are kept,
    the oldest finished ones are dropped first. Thread-safe.
    """

    def __init__(self, max_workers: int = 1, max_entries: int = 256) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="umap")
        self._futures: OrderedDict[Hashable, Future] = OrderedDict()
        self._groups: dict[Hashable, Hashable] = {}  # key -> group of jobs that may still be cancelled
        self._lock = threading.Lock()
        self.max_entries = int(max_entries)

    def submit(self, key: Hashable, fn: Callable[[], np.ndarray], group: Hashable | None = None) -> Future:
        """The future for ``key``, starting ``fn`` in the background if nothing is known for it yet.

        A failed job is retried on the next submit. With ``group`` (e.g. one viewer's session), jobs of that
        group still waiting in the queue are cancelled first: a viewer dragging a slider only waits for the
        frame they stopped on.
        """
        with self._lock:
            fut = self._futures.get(key)
            if fut is not None and not fut.cancelled() and not (fut.done() and fut.exception() is not None):
                self._futures.move_to_end(key)
                return fut
            if group is not None:
                for k in [k for k, g in self._groups.items() if g == group and k != key]:
                    old = self._futures.get(k)
                    if old is not None and old.cancel():
                        del self._futures[k]
                    self._groups.pop(k, None)
            fut = self._pool.submit(fn)
            self._futures[key] = fut
            if group is not None:
                self._groups[key] = group
            self._evict()
            return fut

    def get(self, key: Hashable) -> Future | None:
        with self._lock:
            return self._futures.get(key)

    def _evict(self) -> None:
        while len(self._futures) > self.max_entries:
            victim = next((k for k, f in self._futures.items() if f.done()), None)
            if victim is None:
                return
            del self._futures[victim]
            self._groups.pop(victim, None)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
