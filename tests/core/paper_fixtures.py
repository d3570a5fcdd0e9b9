"""Tiny CMU-MOSI pickles (MMSA and MulT layouts) and a CREMA-D .npz, written in the real layouts for the tests."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

SIZES = {"train": 40, "valid": 10, "test": 10}
DIMS = {"text": 6, "audio": 4, "vision": 5}
T = 5  # time steps


def mosi_splits(layout: str = "mmsa", seed: int = 0, lengths: bool = False) -> dict[str, dict[str, Any]]:
    """``{"train"|"valid"|"test": {...}}`` as MMSA (``regression_labels`` (n,)) or MulT (``labels`` (n, 1, 1)) ship it.

    The sentiment is a function of the text and audio features, so a model can learn it. Audio gets a -inf and
    vision a NaN, as in the real files. ``lengths``: MMSA unaligned, with padding frames after each valid length.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, Any]] = {}
    for name, n in SIZES.items():
        split: dict[str, Any] = {m: rng.normal(size=(n, T, d)).astype(np.float32) for m, d in DIMS.items()}
        score = split["text"].mean(1)[:, 0] + split["audio"].mean(1)[:, 0]
        y = np.clip(np.round(2.5 * score, 1), -3, 3).astype(np.float32)
        split["audio"][0, 0, 0] = -np.inf
        split["vision"][1, 1, 1] = np.nan
        split["id"] = np.array([f"{name}_{i}" for i in range(n)], dtype=object)
        split["raw_text"] = np.array(["a segment"] * n, dtype=object)
        if layout == "mmsa":
            split["regression_labels"] = y
            if lengths:
                for m in ("audio", "vision"):
                    lens = rng.integers(1, T + 1, size=n)
                    lens[2] = 0  # a segment without frames
                    for i, k in enumerate(lens):
                        split[m][i, k:] = 100.0  # padding: must not reach the pooled features
                    split[f"{m}_lengths"] = lens
        else:
            split["labels"] = y.reshape(n, 1, 1)
        out[name] = split
    return out


def write_pickle(root: Path, rel: str, data: Any) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def write_mosi(root: Path, layout: str = "mmsa", rel: str = "mosi/aligned_50.pkl", **kw: Any) -> Path:
    return write_pickle(root, rel, mosi_splits(layout, **kw))


def cremad_arrays(n: int = 60, seed: int = 0, time: bool = False) -> dict[str, np.ndarray]:
    """audio (n, 8) or (n, T, 8), visual (n, 6), labels 0..5 (10 per class) that the features carry."""
    rng = np.random.default_rng(seed)
    label = np.arange(n) % 6
    audio = rng.normal(size=(n, 8)) + np.eye(6, 8)[label] * 2
    visual = rng.normal(size=(n, 6)) + np.eye(6)[label] * 2
    if time:
        audio = audio[:, None, :] + rng.normal(scale=0.1, size=(n, T, 8))
    return {"audio": audio.astype(np.float32), "visual": visual.astype(np.float32), "label": label}


def write_cremad(root: Path, rel: str = "crema-d/features.npz", **arrays: Any) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path
