"""2-D projections and snapshot loading (omib_core.analysis.embedding)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from omib_core.analysis.embedding import (
    load_snapshot,
    numba_cache_dir,
    numba_cache_path,
    pca_2d,
    project_snapshot,
    projectable_arrays,
    umap_2d,
)
from omib_core.errors import ConfigError, DataError


def _blobs(n=200, d=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)) @ rng.standard_normal((d, d))
    return x + 3.0 * rng.standard_normal(d)


# PCA


def test_pca_matches_sklearn_exactly_signs_included():
    """Same numbers as scikit-learn's PCA, signs too (both flip each component so its largest loading is positive)."""
    from sklearn.decomposition import PCA

    for x in (_blobs(), -_blobs(), _blobs()[:, ::-1]):
        ref = PCA(n_components=2, svd_solver="full").fit_transform(x)
        np.testing.assert_allclose(pca_2d(x), ref, rtol=0, atol=1e-10)


def test_pca_is_deterministic_and_sign_stable():
    x = _blobs()
    a, b = pca_2d(x), pca_2d(x.copy())
    np.testing.assert_array_equal(a, b)
    # negating the data keeps the components (largest loading positive), so every projected point is negated
    np.testing.assert_allclose(pca_2d(-x), -a, rtol=0, atol=1e-10)
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


# cache


def test_numba_cache_dir_defaults_under_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("OMIB_DATA_DIR", str(tmp_path))
    assert numba_cache_dir() == str(tmp_path / "numba_cache")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert numba_cache_dir() == str(tmp_path / "mine")


def test_numba_cache_path_leaves_the_environment_alone(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("OMIB_DATA_DIR", str(tmp_path))
    assert numba_cache_path() == str(tmp_path / "numba_cache") and (tmp_path / "numba_cache").is_dir()
    assert "NUMBA_CACHE_DIR" not in os.environ  # only the UMAP worker process gets it


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


def test_project_snapshot_reads_the_file_and_says_what_is_wrong(tmp_path):
    x = _blobs(n=30, d=5)
    p = tmp_path / "epoch_0001.npz"
    np.savez(p, xi=x)
    out = project_snapshot(p, "xi", method="pca")
    assert out.dtype == np.float32 and out.shape == (30, 2)
    np.testing.assert_allclose(out, pca_2d(x), rtol=1e-5, atol=1e-5)
    with pytest.raises(DataError, match="no array 'z_a'"):
        project_snapshot(p, "z_a")
    with pytest.raises(ConfigError, match="'method' parameter"):
        project_snapshot(p, "xi", method="tsne")


def test_embedding_does_not_import_the_job_runner():
    # the maths (embedding) sits below the job runner (projection_jobs), which imports it; never the reverse
    code = (
        "import sys, omib_core.analysis.embedding as e; "
        "from omib_core.analysis.projection_jobs import ProjectionJobs; "
        "print(hasattr(e, 'ProjectionJobs'), sorted(m for m in sys.modules if m.startswith(('omib_core.runs', 'omib_core.train'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False []"


def test_subsample_rows():
    from omib_core.analysis.embedding import subsample_rows

    np.testing.assert_array_equal(subsample_rows(5, 10), np.arange(5))
    idx = subsample_rows(1000, 100, seed=1)
    assert len(idx) == 100 and len(set(idx)) == 100 and np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(idx, subsample_rows(1000, 100, seed=1))
