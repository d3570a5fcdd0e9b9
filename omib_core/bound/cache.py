"""The bound's result cache: one JSON file per fingerprint of (arrays, settings, estimator version).

A hit returns the stored ``BoundResult`` with its original fingerprint, settings and seconds. Files are written
atomically (a reader never sees half a file); an absent, unreadable or foreign file is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from omib_core.bound.result import BoundResult
from omib_core.config import BoundConfig
from omib_core.fileio import atomic_write

ESTIMATOR_VERSION = "omib-bound/2"  # part of the cache fingerprint: bump when any estimate would change


def fingerprint(
    modalities: Mapping[str, np.ndarray], config: BoundConfig, options: Mapping[str, Any] | None = None
) -> str:
    """sha256 of the arrays' bytes (with shapes and dtypes), the modality names, the config, options and version."""
    h = hashlib.sha256(ESTIMATOR_VERSION.encode())
    h.update(json.dumps(config.to_dict(), sort_keys=True).encode())
    if options:
        h.update(json.dumps(dict(options), sort_keys=True).encode())
    for name, x in modalities.items():
        a = np.ascontiguousarray(x)
        h.update(f"|{name}|{a.shape}|{a.dtype.str}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def cache_path(cache_dir: str | Path, fp: str) -> Path:
    """Where the result with fingerprint ``fp`` is kept."""
    return Path(cache_dir) / f"bound-{fp}.json"


def load_cached(cache_dir: str | Path | None, fp: str) -> BoundResult | None:
    """The cached result with fingerprint ``fp``, or None (no cache, absent, unreadable, another fingerprint)."""
    if cache_dir is None:
        return None
    path = cache_path(cache_dir, fp)
    try:
        result = BoundResult.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError, KeyError):
        return None  # absent or unreadable (e.g. written by another version): recompute
    return result if result.fingerprint == fp else None


def store(cache_dir: str | Path | None, result: BoundResult) -> None:
    """Keep ``result`` under its fingerprint (nothing without a cache folder)."""
    if cache_dir is None:
        return
    path = cache_path(cache_dir, result.fingerprint)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(result.to_dict()))  # atomic: a reader never sees half a file
