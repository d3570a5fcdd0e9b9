"""Uploads: the validation report, every malformed file refused with a sentence, safe storage, and a fuzzed
validator that never raises anything but DataError and never writes."""

from __future__ import annotations

import functools
import io
import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omib_core.data import folder as fmt
from omib_core.data import get_info, list_uploads, load_dataset, store_upload, validate_files
from omib_core.data.checks import safe_name
from omib_core.data.uploads import (
    delete_upload,
    upload_limits,
    upload_path,
    upload_records,
    upload_usage,
)
from omib_core.errors import DataError

N = 40
store_here = functools.partial(store_upload, isolated=False)  # parsed in this process: fast; the app's sandboxed
# path (the default) is exercised by test_store_then_load_by_upload_id and tests/security/test_uploads_hostile.py


def npy(x: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, x, allow_pickle=x.dtype.hasobject)
    return buf.getvalue()


def csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def good_files(n: int = N) -> dict[str, bytes]:
    rng = np.random.default_rng(1)
    x1 = pd.DataFrame(rng.normal(size=(n, 3)), columns=["f1", "f2", "f3"])
    x1["const"] = 1.0
    par = io.BytesIO()
    pd.DataFrame(rng.normal(size=(n, 2)), columns=["p", "q"]).to_parquet(par)
    return {
        "Audio Features.csv": csv(x1),
        "video.npy": npy(rng.normal(size=(n, 5)).astype(np.float32)),
        "text.parquet": par.getvalue(),
        "labels.csv": csv(pd.DataFrame({"label": np.arange(n) % 2})),
    }


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("OMIB_DATA_DIR", str(tmp_path))
    return tmp_path / "uploads"


def tree(root: Path) -> list[str]:
    """Every file and non-empty folder under root (the empty uploads folder a refused upload may create is no trace)."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or any(p.iterdir()))


def test_report_of_a_good_upload() -> None:
    r = validate_files(good_files())
    assert r.ok, r.errors
    table = r.table()
    assert list(table["name"]) == ["audio_features", "video", "text"]
    assert table.set_index("name").loc["audio_features", "columns"] == 4
    assert table.set_index("name").loc["audio_features", "constant_columns"] == 1
    assert any("constant column" in w for w in r.warnings)
    assert r.task == "classification" and r.labels["classes"] == {0: N // 2, 1: N // 2}


def test_store_then_load_by_upload_id(uploads: Path) -> None:
    uid = store_upload(good_files(), owner="ana", name="My data")  # through the sandbox, as the app does
    folder = upload_path(uid)
    assert folder.parent == uploads and sorted(p.name for p in folder.iterdir()) == [
        "audio_features.npy",
        "labels.csv",
        "meta.json",
        "text.npy",
        "video.npy",
    ]
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["owner"] == "ana" and meta["files"]["audio_features"] == "Audio Features.csv"
    ds = load_dataset(f"upload:{uid}")
    assert ds.input_dims == {"audio_features": 4, "video": 5, "text": 2} and ds.n_samples == N
    info = get_info(f"upload:{uid}")
    assert info.title == "My data" and info.n_modalities == 3
    assert [i.id for i in list_uploads("ana")] == [f"upload:{uid}"] and list_uploads("bob") == []
    np.testing.assert_allclose(ds.modalities["video"], np.load(folder / "video.npy"))


def test_regression_labels_and_split_column_survive_storage(uploads: Path) -> None:
    files = good_files()
    y = np.linspace(0, 1, N) ** 3
    files["labels.csv"] = csv(pd.DataFrame({"target": y, "split": ["train", "train", "val", "test"] * (N // 4)}))
    uid = store_here(files, owner="ana")
    ds = load_dataset(f"upload:{uid}")
    assert ds.task == "regression"
    np.testing.assert_allclose(ds.target, y.astype(np.float32))
    assert ds.split.tolist() == [0, 0, 1, 2] * (N // 4)


def _obj() -> bytes:
    return npy(np.array([{"x": 1}] * N, dtype=object))


BAD: list[tuple[str, dict[str, bytes | None], str]] = [
    ("wrong rows", {"video.npy": npy(np.eye(N - 3, 5))}, "different numbers of rows"),
    ("nan", {"video.npy": npy(np.full((N, 5), np.nan))}, "missing \\(NaN\\)"),
    ("inf", {"video.npy": npy(np.r_[np.full((1, 5), np.inf), np.zeros((N - 1, 5))])}, "1 rows"),
    ("mixed labels", {"labels.csv": b"label\n" + b"cat\n2\n" * (N // 2)}, "mixes numbers and names: row 2 is '2'"),
    (
        "empty label",
        {"labels.csv": b"id,label\n" + b"".join(f"{i},{'cat' if i != 39 else ''}\n".encode() for i in range(N))},
        "row 40 has no label",
    ),
    ("object array", {"video.npy": _obj()}, "object array"),
    ("pickle file", {"video.pkl": pickle.dumps(np.zeros((N, 2)))}, "Pickle files are refused"),
    ("pickle as npy", {"video.npy": pickle.dumps(np.zeros((N, 2)))}, "looks like a pickle"),
    ("path traversal", {"../../x.csv": b"1,2\n"}, "contains a path"),
    ("absolute path", {"/etc/x.csv": b"1,2\n"}, "contains a path"),
    ("empty", {"video.npy": b""}, "is empty"),
    ("too big", {"video.npy": npy(np.zeros((N, 40_000)))}, "the limit is"),
    ("no labels", {"labels.csv": None}, "exactly one labels file"),
    ("one modality", {"video.npy": None, "text.parquet": None}, "at least two modality files"),
    ("text cell", {"text.parquet": None, "text.csv": b"a,b\n1,2\n" + b"3,oops\n" * (N - 1)}, "text such as 'oops'"),
    ("one class", {"labels.csv": b"label\n" + b"1\n" * N}, "single class"),
    ("unknown type", {"video.txt": b"1 2 3"}, "not read"),
    ("cut short", {"video.npy": npy(np.zeros((N, 5)))[:-40]}, "cut short"),
    ("bomb header", {"video.npy": npy(np.zeros((2, 2))).replace(b"(2, 2)", b"(9999999, 99999)")}, "limit"),
    ("npz two arrays", {"video.npz": None}, "exactly one array"),
    ("bad split", {"labels.csv": b"label,split\n" + b"0,train\n1,maybe\n" * (N // 2)}, "use train, val or test"),
    ("reserved", {"meta.csv": b"1,2\n"}, "reserved name"),
    ("clash", {"VIDEO.csv": b"1,2\n"}, "both give the modality name"),
    ("not utf8", {"text.parquet": None, "text.csv": b"\xff\xfe\x00a"}, "UTF-8|NUL"),
]


@pytest.mark.parametrize(("case", "change", "match"), BAD, ids=[b[0] for b in BAD])
def test_every_malformed_upload_is_refused_with_a_sentence(uploads: Path, case, change, match) -> None:
    files = good_files()
    for name, raw in change.items():
        if raw is None:
            files.pop(name, None)
        else:
            files[name] = raw
    if case == "npz two arrays":
        buf = io.BytesIO()
        np.savez(buf, a=np.zeros((N, 2)), b=np.zeros((N, 2)))
        files["video.npz"] = buf.getvalue()
        del files["video.npy"]
    r = validate_files(files, max_bytes=1_000_000)
    assert not r.ok
    assert any(__import__("re").search(match, e) for e in r.errors), r.errors
    assert all(e.endswith((".", ")")) for e in r.errors), r.errors  # sentences
    before = tree(uploads.parent)
    with pytest.raises(DataError, match="not stored"):
        store_here(files, owner="ana", max_bytes=1_000_000)
    assert tree(uploads.parent) == before  # a rejected upload writes nothing


def test_safe_names() -> None:
    assert safe_name("Audio Features (v2).CSV") == ("audio_features_v2", "csv")
    assert safe_name("x" * 50 + ".npy")[0] == "x" * 32
    for bad in ("../../x.csv", "a/b.csv", "a\\b.csv", ".hidden.csv", "C:x.csv", "###.csv", "noext", ""):
        with pytest.raises(DataError):
            safe_name(bad)


def test_upload_ids_are_checked_before_any_path_is_built(uploads: Path) -> None:
    for bad in ("../../etc", "ABCDEF123456", "0123456789ab/..", ""):
        with pytest.raises(DataError, match="not an upload id"):
            load_dataset(f"upload:{bad}")
    with pytest.raises(DataError, match="no upload"):
        load_dataset("upload:0123456789ab")


def test_a_failed_write_leaves_nothing(uploads: Path, monkeypatch) -> None:
    def broken_save(*a, **k):
        raise OSError(28, "No space left on device")

    files = good_files()
    monkeypatch.setattr(np, "save", broken_save)
    with pytest.raises(DataError, match="could not be saved"):
        store_here(files, owner="ana")
    assert tree(uploads) == []


def test_a_zip_bomb_is_refused_before_it_is_inflated(monkeypatch) -> None:
    monkeypatch.setattr(fmt, "MAX_CELLS", 1000)  # a 400 MB bomb in miniature
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.npy", npy(np.zeros((2, 2))) + b"\0" * 100_000)
    assert len(buf.getvalue()) < 2000
    files = {**good_files(), "video.npz": buf.getvalue()}
    del files["video.npy"]
    r = validate_files(files)  # the zip directory declares 100 KB, the array header 32 bytes: refused unread
    assert any("announces shape (2, 2)" in e and "declares 100,160 bytes" in e for e in r.errors), r.errors


# fuzzing: random bytes and random small CSVs


names = st.sampled_from(["a.csv", "b.npy", "c.npz", "d.parquet", "labels.csv", "labels.npy", "../e.csv", "f.pkl"])
csv_text = st.lists(
    st.lists(
        st.one_of(st.integers(-5, 5).map(str), st.sampled_from(["", "nan", "inf", "x", "1e400", '"', " "])),
        min_size=1,
        max_size=4,
    ),
    min_size=0,
    max_size=6,
).map(lambda rows: "\n".join(",".join(r) for r in rows).encode())
content = st.one_of(st.binary(max_size=300), csv_text, st.just(npy(np.zeros((3, 2)))).map(lambda b: b[: len(b) // 2]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.dictionaries(names, content, max_size=5))
def test_fuzzed_uploads_only_ever_raise_data_error_and_write_nothing(uploads: Path, files) -> None:
    before = tree(uploads.parent)
    try:
        r = validate_files(files, max_bytes=10_000)
        assert isinstance(r.errors, list)
        store_here(files, owner="fuzz", max_bytes=10_000)
    except DataError:
        pass
    after = tree(uploads.parent)
    new = sorted(set(after) - set(before))
    # only a complete upload folder may appear, and only inside uploads/
    assert all(p.startswith("uploads") for p in new), new
    assert not any(os.path.basename(p).startswith(".tmp") for p in after)


# deleting uploads


def test_owner_deletes_an_upload_and_loading_it_says_it_was_deleted(uploads: Path) -> None:
    uid = store_here(good_files(), owner="ana", name="My data")
    assert delete_upload(uid, "ana") == "My data"
    assert not (uploads / uid).exists() and list_uploads("ana") == [] and upload_usage("ana") == (0, 0)
    with pytest.raises(DataError, match=r"This upload \('My data', upload:[0-9a-f]{12}\) was deleted .* by ana"):
        load_dataset(f"upload:{uid}")
    with pytest.raises(DataError, match="was deleted"):
        get_info(f"upload:{uid}")
    assert not any(p.name.startswith((".tmp", ".del")) for p in uploads.iterdir())


def test_another_user_cannot_delete_an_upload_but_an_admin_can(uploads: Path) -> None:
    uid = store_here(good_files(), owner="ana", name="My data")
    before = tree(uploads)
    with pytest.raises(DataError, match="belongs to ana; only its owner or an admin can delete it"):
        delete_upload(uid, "bob")
    assert tree(uploads) == before and load_dataset(f"upload:{uid}").n_samples == N  # nothing changed
    delete_upload(uid, "root", is_admin=True)
    with pytest.raises(DataError, match="was deleted .* by root"):
        load_dataset(f"upload:{uid}")
    for bad in ("../../etc", "0123456789ab"):
        with pytest.raises(DataError, match="not an upload id|no upload"):
            delete_upload(bad, "root", is_admin=True)


def test_a_run_that_used_a_deleted_upload_keeps_its_metrics(uploads: Path) -> None:
    from omib_core.runs.store import RunStore

    uid = store_here(good_files(), owner="ana")
    store = RunStore(uploads.parent / "runs.db", data_dir=uploads.parent)
    rid = store.create_run({"data": {"dataset": f"upload:{uid}"}}, owner="ana", name="on my data")
    store.append_metrics(rid, [{"name": "val/accuracy", "value": 0.75, "kind": "epoch", "epoch": 0}])
    delete_upload(uid, "ana")
    assert store.latest_metrics(rid)["val/accuracy"] == 0.75  # the run's page reads the store, not the upload
    assert store.get_run(rid)["config"]["data"]["dataset"] == f"upload:{uid}"
    with pytest.raises(DataError, match="was deleted"):  # only training from it again fails, with a sentence
        load_dataset(store.get_run(rid)["config"]["data"]["dataset"])


# the per-user quota


def test_upload_count_quota_refuses_with_the_limit_and_changes_nothing(uploads: Path) -> None:
    first = store_here(good_files(), owner="ana", max_uploads=2, max_total_bytes=10**9)
    store_here(good_files(), owner="ana", max_uploads=2, max_total_bytes=10**9)
    before = tree(uploads.parent)
    with pytest.raises(DataError, match=r"you keep 2 uploads.*OMIB_MAX_UPLOADS_PER_USER = 2.*Delete uploads"):
        store_here(good_files(), owner="ana", max_uploads=2, max_total_bytes=10**9)
    assert tree(uploads.parent) == before
    store_here(good_files(), owner="bob", max_uploads=2, max_total_bytes=10**9)  # the quota is per user
    delete_upload(first, "ana")  # freeing one makes room again
    store_here(good_files(), owner="ana", max_uploads=2, max_total_bytes=10**9)
    assert upload_usage("ana")[0] == 2


def test_upload_bytes_quota_refuses_with_the_limit_and_changes_nothing(uploads: Path) -> None:
    uid = store_here(good_files(), owner="ana")
    size = upload_usage("ana")[1]
    assert size == sum(p.stat().st_size for p in (uploads / uid).iterdir()) > 0
    before = tree(uploads.parent)
    with pytest.raises(
        DataError, match=r"your uploads already take [\d.]+ KB .*\(OMIB_MAX_UPLOAD_BYTES_PER_USER\)\. Delete"
    ):
        store_here(good_files(), owner="ana", max_total_bytes=2 * size - 1)
    assert tree(uploads.parent) == before  # the temporary folder is gone too
    store_here(good_files(), owner="ana", max_total_bytes=2 * size)  # exactly at the limit is fine


def test_quota_comes_from_the_environment(uploads: Path, monkeypatch) -> None:
    assert upload_limits() == (20, 2**30)
    monkeypatch.setenv("OMIB_MAX_UPLOADS_PER_USER", "1")
    monkeypatch.setenv("OMIB_MAX_UPLOAD_BYTES_PER_USER", "1e9")
    assert upload_limits() == (1, 10**9)
    store_here(good_files(), owner="ana")
    with pytest.raises(DataError, match="OMIB_MAX_UPLOADS_PER_USER = 1"):
        store_here(good_files(), owner="ana")
    monkeypatch.setenv("OMIB_MAX_UPLOADS_PER_USER", "lots")
    with pytest.raises(DataError, match="OMIB_MAX_UPLOADS_PER_USER must be a positive whole number"):
        upload_limits()


def test_upload_records_list_owner_size_and_newest_first(uploads: Path) -> None:
    a = store_here(good_files(), owner="ana", name="first")
    b = store_here(good_files(), owner="bob", name="second")
    every = upload_records()
    assert {r["id"] for r in every} == {a, b} and all(r["bytes"] > 0 for r in every)
    assert [r["name"] for r in upload_records("bob")] == ["second"] and upload_records("bob")[0]["owner"] == "bob"


def test_ten_thousand_names_are_refused_as_classes_with_a_sentence_that_suggests_regression() -> None:
    y = np.array([f"patient {i}" for i in range(10_000)] + ["patient 0"])
    with pytest.raises(DataError, match=r"10,000 distinct class names in 10,001 rows.*choose regression"):
        fmt.encode_target(y, fmt.infer_task(y))
