"""The bound's result cache: round trip, atomic files, and misses for absent, damaged or foreign files."""

from __future__ import annotations

import json

import numpy as np

from omib_core.bound.cache import cache_path, fingerprint, load_cached, store
from omib_core.bound.result import BoundResult, Estimate
from omib_core.config import BoundConfig


def result(fp: str) -> BoundResult:
    h = Estimate("H_joint", 2.0, per_seed=(1.9, 2.1))
    return BoundResult("gaussian", ("a", "b"), {"a": h, "b": h}, h, h, 1 / 6, 1 / 12, fingerprint=fp)


def test_a_stored_result_comes_back_equal_and_nothing_else_is_left(tmp_path):
    fp = fingerprint({"a": np.ones((4, 2)), "b": np.zeros((4, 1))}, BoundConfig())
    store(tmp_path / "c", result(fp))
    assert load_cached(tmp_path / "c", fp) == result(fp)
    assert [p.name for p in (tmp_path / "c").iterdir()] == [cache_path(tmp_path / "c", fp).name]
    assert load_cached(None, fp) is None and store(None, result(fp)) is None


def test_damaged_foreign_and_absent_files_are_misses(tmp_path):
    assert load_cached(tmp_path, "abc") is None
    cache_path(tmp_path, "abc").write_text("{not json")
    assert load_cached(tmp_path, "abc") is None
    cache_path(tmp_path, "abc").write_text(json.dumps(result("other").to_dict()))
    assert load_cached(tmp_path, "abc") is None  # a file under another fingerprint's name


def test_the_fingerprint_sees_values_names_settings_and_options():
    x, y = np.arange(6.0).reshape(3, 2), np.ones((3, 1))
    base = fingerprint({"a": x, "b": y}, BoundConfig())
    assert base == fingerprint({"a": x.copy(), "b": y.copy()}, BoundConfig())
    others = [
        fingerprint({"a": x + 1e-9, "b": y}, BoundConfig()),
        fingerprint({"c": x, "b": y}, BoundConfig()),
        fingerprint({"a": x, "b": y}, BoundConfig(seeds=2)),
        fingerprint({"a": x, "b": y}, BoundConfig(), {"resolution": 1.0}),
        fingerprint({"a": x.astype(np.float32), "b": y}, BoundConfig()),
    ]
    assert len({base, *others}) == 6
