"""The data directory and run-id validation."""

from __future__ import annotations

import pytest

from omib_core import paths


def test_data_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("OMIB_DATA_DIR", str(tmp_path / "data"))
    assert paths.data_dir() == tmp_path / "data" and (tmp_path / "data").is_dir()
    assert paths.db_path() == tmp_path / "data" / "omib.db"
    assert paths.cache_dir().is_dir() and paths.uploads_dir().is_dir()
    run_id = paths.new_run_id()
    assert paths.run_dir(run_id) == tmp_path / "data" / "runs" / run_id
    monkeypatch.delenv("OMIB_DATA_DIR")
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path / "repo")
    assert paths.data_dir() == tmp_path / "repo" / "var"


def test_run_ids_are_checked():
    assert paths.validate_run_id("0123456789ab") == "0123456789ab"
    assert len({paths.new_run_id() for _ in range(100)}) == 100
    for bad in ("../../../etc/passwd", "0123456789AB", "0123456789a", "0123456789abc", "abc/def01234", 12):
        with pytest.raises(paths.InvalidRunId, match="not a valid run id"):
            paths.run_dir(bad)
