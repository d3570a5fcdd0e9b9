"""2-D projections and snapshot loading (omib_core.analysis.embedding)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from omib_core.analysis.embedding import (
    ProjectionJobs,
    load_snapshot,
    numba_cache_dir,
    pca_2d,
    projectable_arrays,
    umap_2d,
)
from omib_core.errors import DataError


def _blobs(n=200, d=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)) @ rng.standard_normal((d, d))
    return x + 3.0 * rng.standard_normal(d)


# PCA


def test_pca_matches_sklearn_up_to_sign():
    from sklearn.decomposition import PCA

    x = _blobs()
    ours = pca_2d(x)
    ref = PCA(n_components=2, svd_solver="full").fit_transform(x)
    for i in range(2):
        s = np.sign(ours[:, i] @ ref[:, i])
        np.testing.assert_allclose(ours[:, i], s * ref[:, i], atol=1e-8)


def test_pca_is_deterministic_and_sign_stable():
    x = _blobs()
    a, b = pca_2d(x), pca_2d(x.copy())
    np.testing.assert_array_equal(a, b)
    # flipping the sign of the data does not flip the picture: the largest loading is always positive
    c = pca_2d(-x)
    np.testing.assert_allclose(np.abs(a), np.abs(c), atol=1e-8)
    assert a.shape == (200, 2)


def test_pca_small_inputs():
    assert pca_2d(np.ones((1, 5))).shape == (1, 2)
    one_feature = pca_2d(np.arange(10.0))
    assert one_feature.shape == (10, 2) and np.allclose(one_feature[:, 1], 0.0)
    with pytest.raises(DataError, match="NaN"):
        pca_2d(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(DataError, match="non-empty"):
        pca_2d(np.zeros((0, 3)))


# snapshots


def test_load_snapshot_roundtrip(tmp_path):
    p = tmp_path / "epoch_0001.npz"
    np.savez(p, xi=np.zeros((5, 3), np.float32), z_a=np.ones((5, 2)), zeta_a=np.ones((5, 2)), target=np.arange(5))
    snap = load_snapshot(p)
    assert set(snap) == {"xi", "z_a", "zeta_a", "target"}
    assert projectable_arrays(snap) == ["xi", "z_a", "zeta_a"]


def test_load_snapshot_refuses_object_arrays(tmp_path):
    p = tmp_path / "evil.npz"
    np.savez(p, xi=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(DataError, match="pickled"):
        load_snapshot(p)


def test_load_snapshot_refuses_pickles_missing_and_damaged_files(tmp_path):
    import pickle

    pkl = tmp_path / "evil.npz"
    pkl.write_bytes(pickle.dumps({"xi": [1, 2]}))
    with pytest.raises(DataError, match="not an .npz"):
        load_snapshot(pkl)
    with pytest.raises(DataError, match="missing"):
        load_snapshot(tmp_path / "nope.npz")
    good = tmp_path / "good.npz"
    np.savez(good, xi=np.zeros((100, 4)))
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:60])
    with pytest.raises(DataError, match="damaged"):
        load_snapshot(cut)


# background jobs


def test_projection_jobs_reuse_futures_and_retry_failures():
    jobs = ProjectionJobs()
    gate = threading.Event()
    calls = []

    def slow():
        calls.append(1)
        gate.wait(5)
        return np.zeros((3, 2))

    f1 = jobs.submit(("p", "xi"), slow)
    f2 = jobs.submit(("p", "xi"), slow)
    assert f1 is f2 and not f1.done()
    gate.set()
    assert f1.result(5).shape == (3, 2) and len(calls) == 1

    def boom():
        raise RuntimeError("no")

    bad = jobs.submit("k", boom)
    with pytest.raises(RuntimeError):
        bad.result(5)
    again = jobs.submit("k", lambda: np.ones((1, 2)))
    assert again is not bad and again.result(5).shape == (1, 2)
    jobs.shutdown()


def test_projection_jobs_evict_oldest_finished():
    jobs = ProjectionJobs(max_entries=2)
    for k in range(4):
        jobs.submit(k, lambda: np.zeros((1, 2))).result(5)
    assert jobs.get(0) is None and jobs.get(3) is not None
    jobs.shutdown()


def test_numba_cache_dir_defaults_under_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("OMIB_DATA_DIR", str(tmp_path))
    assert numba_cache_dir() == str(tmp_path / "numba_cache")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert numba_cache_dir() == str(tmp_path / "mine")


def test_module_does_not_import_umap():
    code = "import sys, omib_core.analysis.embedding; print('umap' in sys.modules, 'numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False False"


# UMAP (tiny input; a cold numba cache compiles for 30-70 s, hence slow)


@pytest.mark.slow
def test_umap_tiny_input_is_seeded():
    x = _blobs(n=60, d=6)
    t = time.perf_counter()
    a = umap_2d(x, seed=0)
    b = umap_2d(x, seed=0)
    assert a.shape == (60, 2) and np.isfinite(a).all()
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert "NUMBA_CACHE_DIR" in os.environ
    print(f"umap 60 points x2: {time.perf_counter() - t:.1f} s")


def test_umap_falls_back_to_pca_for_three_rows():
    x = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(umap_2d(x), pca_2d(x))


def test_projection_jobs_cancel_waiting_jobs_of_the_same_group():
    jobs = ProjectionJobs()
    gate = threading.Event()
    running = jobs.submit("frame1", lambda: (gate.wait(5), np.zeros((1, 2)))[1], group="viewer")
    waiting = jobs.submit("frame2", lambda: np.zeros((1, 2)), group="viewer")
    other = jobs.submit("frame9", lambda: np.zeros((1, 2)), group="someone else")
    last = jobs.submit("frame3", lambda: np.ones((1, 2)), group="viewer")
    assert waiting.cancelled() and jobs.get("frame2") is None
    assert not other.cancelled()  # another viewer's job is left alone
    gate.set()
    assert running.result(5).shape == (1, 2) and last.result(5)[0, 0] == 1.0
    jobs.shutdown()


def test_subsample_rows():
    from omib_core.analysis.embedding import subsample_rows

    np.testing.assert_array_equal(subsample_rows(5, 10), np.arange(5))
    idx = subsample_rows(1000, 100, seed=1)
    assert len(idx) == 100 and len(set(idx)) == 100 and np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(idx, subsample_rows(1000, 100, seed=1))
