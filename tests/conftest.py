"""Shared test set-up: one torch thread (2-core CI), a private data dir per session, no UMAP warm-up, and a numba
cache that outlives the session (``.numba_cache/`` in the repository, git-ignored), so UMAP's JIT compiles once per
machine rather than once per test run; the servers and workers the tests start inherit it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMIB_SKIP_UMAP_WARMUP", "1")
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".numba_cache"))


@pytest.fixture(autouse=True, scope="session")
def _isolated_data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("omib_data")
    old = os.environ.get("OMIB_DATA_DIR")
    os.environ["OMIB_DATA_DIR"] = str(d)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    yield d
    if old is None:
        os.environ.pop("OMIB_DATA_DIR", None)
    else:
        os.environ["OMIB_DATA_DIR"] = old


def pytest_collection_modifyitems(config, items):
    """Skip tests marked gpu when there is no CUDA device."""
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
