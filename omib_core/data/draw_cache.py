"""An on-disk cache of generated datasets (SIM-I/II/III, SIM-TEACH, ...) and of the scalars computed beside them.

Drawing SIM-TEACH's 4,000 rows with its ground truth takes 2-5 s on the 2-core server; a demo or a sweep draws the
same seeds again and again, and every worker process used to draw them anew. A draw is stored once per distinct
``DataConfig`` (and version of the generator code) as ``<cache>/datasets/<key>.npz`` (arrays only, read with
``allow_pickle=False``) plus ``<key>.json`` (names, task, ground truth, meta). Only the server writes these files;
uploads and folders are never cached here (they are read from their own files). Any problem reading an entry
(a half-written file, another version) means a fresh draw, never an error.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from omib_core.config import DataConfig
from omib_core.data.dataset import MultimodalDataset
from omib_core.fileio import atomic_write, read_json_object

GENERATOR_FILES = ("sim.py", "synthetic.py", "latent.py", "dataset.py", "registry.py")
# what a stored draw holds; raised when that changes even if the generator files did not
# (2: the ground truth carries the latent blocks of the held-out rows, ``latents`` / ``latent_rows`` / ``latent_blocks``)
DRAW_FORMAT = 2
_CODE_HASH: str | None = None


def _code_hash() -> str:
    """A hash of the generator code: a changed generator never reads an old draw."""
    global _CODE_HASH
    if _CODE_HASH is None:
        h = hashlib.sha256()
        here = Path(__file__).resolve().parent
        for name in GENERATOR_FILES:
            try:
                h.update((here / name).read_bytes())
            except OSError:
                h.update(name.encode())
        _CODE_HASH = h.hexdigest()[:16]
    return _CODE_HASH


def cacheable(config: DataConfig) -> bool:
    """Generated datasets only (their id is registered and starts with ``sim-``)."""
    return str(config.dataset).startswith("sim-")


def draw_key(config: DataConfig) -> str:
    text = json.dumps(
        {"data": config.to_dict(), "code": _code_hash(), "format": DRAW_FORMAT}, sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def load_cached(config: DataConfig, cache: str | Path | None) -> MultimodalDataset:
    """``load_dataset(config)``, from ``cache`` when this draw was stored there before (generated datasets only)."""
    from omib_core.data import load_dataset

    if cache is None or not cacheable(config):
        return load_dataset(config)
    folder = Path(cache) / "datasets"
    key = draw_key(config)
    npz, meta = folder / f"{key}.npz", folder / f"{key}.json"
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
        with np.load(npz, allow_pickle=False) as z:
            mods = {m: z[f"mod_{i}"] for i, m in enumerate(info["modalities"])}
            truth = info.get("ground_truth")
            if truth is not None:
                truth = {k: z[f"gt_{k}"] if k in info["truth_arrays"] else v for k, v in truth.items()}
            return MultimodalDataset(
                name=info["name"],
                modalities=mods,
                target=z["target"],
                task=info["task"],
                split=z["split"],
                ground_truth=truth,
                meta=info.get("meta") or {},
            )
    except (OSError, ValueError, KeyError, TypeError):
        pass
    ds = load_dataset(config)
    truth = dict(ds.ground_truth) if ds.ground_truth is not None else None
    truth_arrays = {k: v for k, v in (truth or {}).items() if isinstance(v, np.ndarray)}
    try:
        text = json.dumps(
            {
                "name": ds.name,
                "task": ds.task,
                "modalities": list(ds.modalities),
                "ground_truth": None
                if truth is None
                else {k: (None if k in truth_arrays else v) for k, v in truth.items()},
                "truth_arrays": sorted(truth_arrays),
                "meta": ds.meta,
            }
        )
    except (TypeError, ValueError):  # something in the ground truth or meta is not plain JSON: do not cache
        return ds
    try:
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {f"mod_{i}": np.asarray(x) for i, x in enumerate(ds.modalities.values())}
        arrays.update({f"gt_{k}": v for k, v in truth_arrays.items()})
        atomic_write(npz, lambda f: np.savez(f, target=np.asarray(ds.target), split=np.asarray(ds.split), **arrays))
        atomic_write(meta, text)
    except OSError:  # a full or read-only disk: the draw is still good
        pass
    return ds


def cached_scalars(config: DataConfig, cache: str | Path | None, name: str, compute: Callable[[], dict]) -> dict:
    """``compute()`` once per generated draw and ``name`` (e.g. the linear reference), kept beside the draw."""
    if cache is None or not cacheable(config):
        return compute()
    path = Path(cache) / "datasets" / f"{draw_key(config)}.{name}.json"
    value = read_json_object(path)
    if value is not None:
        return value
    value = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(value))
    except (OSError, TypeError, ValueError):
        pass
    return value
