"""A quick UMAP stand-in that runs where the real one runs: in the ``ProjectionJobs`` worker process.

The page's UMAP job (``project_snapshot``) is swapped for ``project`` below, a module-level function that the
spawned worker imports by name. It records each call as a file in ``log_dir`` (the test process reads them) and,
when the test asked for it, kills its own worker process, the way an out-of-memory kill ends a real fit. The
snapshot is read in the worker process, as in production: no ``np.load`` runs in a thread of the test process
next to Streamlit's script compile (CPython 3.11 shares the AST recursion counter between threads, gh-106905).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from omib_core.analysis.embedding import load_snapshot, pca_2d


def project(path: str, array: str, log_dir: str) -> np.ndarray:
    log = Path(log_dir)
    n = len(list(log.glob("call_*.json")))
    x = load_snapshot(path)[array]
    (log / f"call_{n:03d}.json").write_text(json.dumps(list(x.shape)))
    if (log / f"die_{n:03d}").exists():
        os._exit(1)  # the worker process dies mid-fit (as when killed for memory)
    return (pca_2d(x)[:, ::-1] * 10.0).astype(np.float32)


class StandIn:
    """The test's side: the calls made so far (input shapes, in order) and a way to make the next one die."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)

    @property
    def calls(self) -> list[tuple[int, ...]]:
        files = sorted(self.log_dir.glob("call_*.json"))
        return [tuple(json.loads(f.read_text())) for f in files]

    def die_on_next_call(self) -> None:
        (self.log_dir / f"die_{len(self.calls):03d}").touch()
