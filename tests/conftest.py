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


# browser tests (tests/e2e, tests/security): one Playwright and one chromium for the whole session; a second
# sync_playwright in the same thread would fail


@pytest.fixture(scope="session")
def e2e_ready() -> None:
    from tests.e2e.conftest import cannot_run, missing_browser

    reason = missing_browser()
    if reason is not None:
        cannot_run(reason)


@pytest.fixture(scope="session")
def browser(e2e_ready):
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
