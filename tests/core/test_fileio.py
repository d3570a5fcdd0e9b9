"""The one atomic-write helper (omib_core.fileio) and the file locations of omib_core.paths."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import numpy as np
import pytest

from omib_core import paths
from omib_core.fileio import atomic_open, atomic_write


def test_atomic_write_bytes_text_and_a_callback(tmp_path):
    assert atomic_write(tmp_path / "a.bin", b"\x00\x01") == tmp_path / "a.bin"
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    atomic_write(tmp_path / "a.txt", "héllo")
    assert (tmp_path / "a.txt").read_text("utf-8") == "héllo"
    atomic_write(tmp_path / "a.npz", lambda f: np.savez(f, x=np.arange(3)))
    assert np.load(tmp_path / "a.npz")["x"].tolist() == [0, 1, 2]
    atomic_write(tmp_path / "b.txt", lambda f: f.write("text"), text=True)
    assert (tmp_path / "b.txt").read_text() == "text"
    with atomic_open(tmp_path / "c.csv", "w", newline="") as f:
        f.write("a,b\r\n")
    assert (tmp_path / "c.csv").read_bytes() == b"a,b\r\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "a.npz", "a.txt", "b.txt", "c.csv"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "result.json"
    atomic_write(target, "old")

    def half(f):
        f.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        atomic_write(target, half)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_the_temporary_file_ends_in_tmp_beside_the_target(tmp_path):
    """The worker's disk-full cleanup removes ``*.tmp`` files: the temporary name must end so."""
    with atomic_open(tmp_path / "x.npz") as f:
        tmp = Path(f.name)
        assert tmp.parent == tmp_path and tmp.name.endswith(".tmp") and tmp.name.startswith(".x.npz.")
    assert not tmp.exists() and (tmp_path / "x.npz").exists()


def test_no_other_module_writes_through_os_replace():
    """Every atomic write of the core goes through omib_core.fileio."""
    root = Path(__file__).resolve().parents[2] / "omib_core"
    found = []
    for p in root.rglob("*.py"):
        if p.name == "fileio.py":
            continue
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "replace" and getattr(node.value, "id", "") == "os":
                found.append(f"{p.relative_to(root)}:{node.lineno}")
            if isinstance(node, ast.Attribute) and node.attr in ("mkstemp", "mkdtemp") and p.name != "paths.py":
                found.append(f"{p.relative_to(root)}:{node.lineno}")
    assert found == []


def test_file_locations(tmp_path, monkeypatch):
    monkeypatch.setenv("OMIB_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    assert paths.auth_db_path() == tmp_path / "auth.db"
    assert paths.numba_cache_path() == str(tmp_path / "numba_cache") and (tmp_path / "numba_cache").is_dir()
    assert paths.uploads_dir(create=False) == tmp_path / "uploads" and not (tmp_path / "uploads").exists()
    assert paths.uploads_dir().is_dir()
    scratch = paths.ray_scratch_dir("0123456789ab")
    grid = paths.ray_scratch_dir("0123456789ab", grid=True)
    try:
        assert scratch.is_dir() and scratch.name.startswith("omib-ray-0123456789ab-")
        assert grid.is_dir() and grid.name.startswith("omib-ray-grid-0123456789ab-")
    finally:
        shutil.rmtree(scratch)
        shutil.rmtree(grid)
