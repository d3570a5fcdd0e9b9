"""The on-disk cache of generated draws (omib_core.data.draw_cache): same data as a fresh draw, never trusted blindly."""

from __future__ import annotations

import numpy as np

from omib_core.config import DataConfig
from omib_core.data import load_dataset
from omib_core.data.draw_cache import cached_scalars, draw_key, load_cached

SMALL = DataConfig(dataset="sim-i", params={"n_samples": 300}, seed=3)


def _same(a, b) -> None:
    assert list(a.modalities) == list(b.modalities) and a.task == b.task and a.name == b.name
    for m in a.modalities:
        assert np.array_equal(a.modalities[m], b.modalities[m])
    assert np.array_equal(a.target, b.target) and np.array_equal(a.split, b.split)
    assert a.meta == b.meta and set(a.ground_truth) == set(b.ground_truth)
    for k, v in a.ground_truth.items():
        w = b.ground_truth[k]
        assert np.array_equal(v, w) if isinstance(v, np.ndarray) else v == w, k


def test_a_cached_draw_equals_a_fresh_one(tmp_path):
    first = load_cached(SMALL, tmp_path)
    assert (tmp_path / "datasets" / f"{draw_key(SMALL)}.npz").exists()
    _same(load_cached(SMALL, tmp_path), load_dataset(SMALL))
    _same(first, load_dataset(SMALL))
    other = load_cached(SMALL.replace(seed=4), tmp_path)  # another seed is another draw
    assert not np.array_equal(other.modalities["v1"], first.modalities["v1"])


def test_a_damaged_entry_means_a_fresh_draw(tmp_path):
    load_cached(SMALL, tmp_path)
    npz = tmp_path / "datasets" / f"{draw_key(SMALL)}.npz"
    npz.write_bytes(b"not a zip")
    _same(load_cached(SMALL, tmp_path), load_dataset(SMALL))


def test_scalars_are_computed_once_per_draw(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"linear_test_accuracy": 0.7}

    assert cached_scalars(SMALL, tmp_path, "reference1", compute) == {"linear_test_accuracy": 0.7}
    assert cached_scalars(SMALL, tmp_path, "reference1", compute) == {"linear_test_accuracy": 0.7}
    assert len(calls) == 1
    cached_scalars(SMALL.replace(seed=9), tmp_path, "reference1", compute)
    assert len(calls) == 2


def test_a_cached_draw_keeps_the_held_out_latent_blocks(tmp_path):
    from omib_core.analysis.information import held_out_blocks

    load_cached(SMALL, tmp_path)
    cached = load_cached(SMALL, tmp_path)  # read back from the .npz / .json
    rows, blocks = held_out_blocks(cached.ground_truth)
    fresh_rows, fresh = held_out_blocks(load_dataset(SMALL).ground_truth)
    assert np.array_equal(rows, fresh_rows) and list(blocks) == list(fresh) == ["a0", "a1", "a2", "b0", "b1", "b2"]
    assert all(np.array_equal(blocks[b], fresh[b]) for b in blocks)
