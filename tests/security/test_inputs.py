"""Hostile input from users and links: traversal in file names, dataset ids, run ids and ``?run=`` values, SQL in
stored strings, pickles and object arrays, oversize uploads. Each is refused with a sentence or rendered inert,
and nothing is written or read outside the data directory."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest

from omib_core.data import folder as fmt
from omib_core.data import get_info, load_dataset, store_upload, validate_files
from omib_core.data.uploads import DEFAULT_MAX_BYTES
from omib_core.errors import DataError
from omib_core.paths import InvalidRunId, run_dir
from omib_core.runs.store import RunStore
from omib_core.runs.worker import Worker
from tests.core.test_uploads import good_files, tree
from tests.dashboard.test_page_train import add_fake_run, app, no_exception

BAD_RUN_IDS = [
    "../../etc/passwd",
    "0123456789ab/../../x",
    "' OR '1'='1",
    "0123456789ab'; DROP TABLE runs; --",
    "%2e%2e%2f%2e%2e%2fetc",
    "a" * 5000,
]


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("OMIB_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


class _Payload:
    """Unpickling this creates ``path``: proof that a pickle was loaded (it must never exist)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), "w")


def files_under(root: Path) -> list[str]:
    """Every file (not folder) under ``root``, relative to it."""
    return [p for p in tree(root) if (root / p).is_file()]


def _npy(x: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, x, allow_pickle=True)
    return buf.getvalue()


# file names and ids


def test_upload_file_names_never_become_paths(data_dir):
    """Names with a directory part are refused; odd but path-free names are reduced to [a-z0-9_] and land only
    in uploads/<server id>/ (see also tests/core/test_uploads.py::test_safe_names)."""
    for name in (
        "../../x.csv",
        "..\\..\\x.csv",
        "/tmp/x.csv",
        "C:\\x.csv",
        "C:x.csv",
        "x.csv\x00.npy",
        ".x.csv",
        "uploads/../x.csv",
    ):
        files = {**good_files(), name: b"1,2\n"}
        with pytest.raises(DataError, match="contains a path|starts with a dot"):
            store_upload(files, owner="mallory")
    assert files_under(data_dir) == []  # nothing written anywhere
    files = good_files()
    files["%2e%2e%2fx.csv"] = files.pop("Audio Features.csv")  # URL-encoded dots are just characters
    files["．．／y.npy"] = files.pop("video.npy")  # full-width dots and slash: not path separators here
    uid = store_upload(files, owner="mallory")
    written = files_under(data_dir)
    assert all(p.startswith("data/uploads/") for p in written), written
    mine = sorted(Path(p).name for p in written if p.startswith(f"data/uploads/{uid}/"))
    assert mine == ["2e_2e_2fx.npy", "labels.csv", "meta.json", "text.npy", "y.npy"], written


def test_dataset_ids_cannot_name_a_path(data_dir, monkeypatch):
    """A shared link carries the dataset id: upload ids are checked before a path is built, and folder paths are
    refused on the server (the app sets OMIB_FOLDER_DATASETS=0; its workers inherit it)."""
    monkeypatch.setenv("OMIB_FOLDER_DATASETS", "0")
    (data_dir / "secret").mkdir()
    for bad in ("upload:../../etc", "upload:0123456789ab/../..", "upload:../secret", "upload:"):
        with pytest.raises(DataError, match="not an upload id"):
            load_dataset(bad)
    for path in (str(data_dir / "secret"), "/etc", "~", "../" * 8 + "etc"):
        with pytest.raises(DataError, match="Folder paths are not accepted|Unknown dataset"):
            get_info(path)


def test_a_run_whose_dataset_is_a_path_fails_with_a_sentence(data_dir, monkeypatch):
    """Submitted behind the page's back, such a run fails in its worker with the refusal sentence."""
    monkeypatch.setenv("OMIB_FOLDER_DATASETS", "0")
    store = RunStore(data_dir / "omib.db")
    run_id = store.create_run(
        {"data": {"dataset": "/etc"}, "train": {"schedule": "fixed", "epochs": 1, "warmup_epochs": 0}}, "m", "x"
    )
    Worker(store, run_id, threads=1, heartbeat_interval=0.5).run()
    run = store.get_run(run_id)
    assert run["status"] == "failed" and "Folder paths are not accepted" in run["error"]


def test_run_ids_are_checked_before_any_path_or_query(data_dir):
    store = RunStore(data_dir / "omib.db")
    kept = store.create_run({"data": {"dataset": "sim-i"}}, "alice", "kept")
    for bad in BAD_RUN_IDS:
        with pytest.raises(InvalidRunId, match="not a valid run id"):
            run_dir(bad, data_dir)
        assert store.get_run(bad) is None and store.read_metrics(bad).empty  # parameters, never SQL text
    hostile = "x'); DROP TABLE runs; --"
    rid = store.create_run({"data": {"dataset": "sim-i"}}, owner=hostile, name=hostile)
    assert store.get_run(rid)["name"] == hostile and store.list_runs(owner=hostile)[0]["id"] == rid
    assert store.get_run(kept) is not None and store.integrity_check()


def test_hostile_query_values_show_nothing_and_break_nothing():
    """``?run=`` / ``?sweep=`` / ``?cfg=`` values with path or SQL characters: every page renders without an
    exception and the store is unchanged."""
    from dashboard import services

    add_fake_run(owner="sec-owner", name="still here")
    before = [r["id"] for r in services.store().list_runs()]
    for page, key in (("train", "run"), ("embeddings", "run"), ("bound", "run"), ("sweep", "sweep"), ("train", "cfg")):
        at = app(page)
        for value in (BAD_RUN_IDS[0], BAD_RUN_IDS[3]):
            at.query_params[key] = value
            at.run()
            no_exception(at)
            shown = " ".join(str(e.value) for e in (*at.markdown, *at.caption))
            assert "passwd" not in shown and "DROP TABLE" not in shown, (page, value)
    assert [r["id"] for r in services.store().list_runs()] == before and services.store().integrity_check()


# pickles and object arrays


@pytest.mark.parametrize("where", ["video.npy", "video.pkl", "labels.npy", "object npy", "object npz"])
def test_pickles_and_object_arrays_are_refused_unopened(data_dir, where):
    """A pickle runs code when loaded; each of these would create a file if anything unpickled it."""
    marker = data_dir / "pwned"
    payload = _Payload(marker)
    files = good_files()
    if where == "object npy":
        files["video.npy"] = _npy(np.array([payload] * 40, dtype=object).reshape(40, 1))
    elif where == "object npz":
        buf = io.BytesIO()
        np.savez(buf, x=np.array([payload] * 40, dtype=object).reshape(40, 1), allow_pickle=True)
        files["video.npz"] = buf.getvalue()
        del files["video.npy"]
    else:
        if where == "labels.npy":
            del files["labels.csv"]
        files[where] = pickle.dumps(payload)
    report = validate_files(files)
    assert any(k in e for e in report.errors for k in ("pickle", "Pickle", "object array")), report.errors
    with pytest.raises(DataError, match="not stored"):
        store_upload(files, owner="mallory")
    assert not marker.exists()
    pickle.loads(pickle.dumps(payload)).close()  # the payload is live: the refusal is what kept it shut
    assert marker.exists()


# size


def test_oversize_upload_is_refused_before_it_is_decoded(monkeypatch):
    """One byte over the per-file limit (the same 50 MB as server.maxUploadSize) is refused from its length."""

    read = fmt.read_modality

    def checked(raw: bytes, *args, **kwargs):
        assert len(raw) <= DEFAULT_MAX_BYTES, "an oversize file was decoded"
        return read(raw, *args, **kwargs)

    monkeypatch.setattr(fmt, "read_modality", checked)
    files = {**good_files(), "video.npy": bytes(DEFAULT_MAX_BYTES + 1)}
    report = validate_files(files)
    assert any("video.npy is 50.0 MB; the limit is 50.0 MB per file" in e for e in report.errors), report.errors
