"""Uploads are owner-only by default (issue #10 item 5): another user can neither read one through a ``?cfg=`` link
(Data and Train pages), nor train on it (the launcher refuses, whatever page sent it), nor download the labels a run
on it left in its embeddings. Sharing is explicit (owner or admin), or server-wide with ``OMIB_UPLOADS_PUBLIC=1``.

Before the fix, a ``?cfg=`` link with ``upload:<id>`` showed the data's PCA and class balance to anyone and the
launcher queued a run on it."""

from __future__ import annotations

import pytest

from dashboard import services, state
from omib_core.config import DataConfig, RunConfig, TrainConfig
from omib_core.data.uploads import UploadAccessError, check_access, set_shared, store_upload, upload_records
from omib_core.errors import DataError
from omib_core.runs.jobs import JobManager
from omib_core.runs.store import RunStore
from tests.auth_helpers import sign_in
from tests.core.test_uploads import good_files
from tests.dashboard.test_page_embeddings import add_run_with_snapshots
from tests.dashboard.test_page_train import app, no_exception


@pytest.fixture
def alices() -> str:
    """A private upload of alice's, in the session's data dir (the pages read it there)."""
    return store_upload(good_files(), owner="alice", name="Alice's private data", isolated=False)


def test_an_upload_is_readable_by_its_owner_and_admins_only_until_shared(alices: str, monkeypatch) -> None:
    dataset = f"upload:{alices}"
    check_access(dataset, "alice")
    check_access(dataset, "carol", is_admin=True)
    with pytest.raises(UploadAccessError, match=f"upload:{alices} belongs to another user and is not shared with you"):
        check_access(dataset, "bob")
    assert alices not in {r["id"] for r in upload_records(readable_by="bob")}
    assert alices in {r["id"] for r in upload_records(readable_by="alice")}

    with pytest.raises(DataError, match="owner"):
        set_shared(alices, "bob", True)  # only its owner (or an admin) shares it
    check_access(dataset, "alice")
    with pytest.raises(UploadAccessError):
        check_access(dataset, "bob")
    set_shared(alices, "alice", True)
    check_access(dataset, "bob")
    assert alices in {r["id"] for r in upload_records(readable_by="bob")}
    set_shared(alices, "alice", False)
    with pytest.raises(UploadAccessError):
        check_access(dataset, "bob")

    monkeypatch.setenv("OMIB_UPLOADS_PUBLIC", "1")  # the documented server setting
    check_access(dataset, "bob")


def test_the_launcher_refuses_to_train_on_another_users_upload(alices: str, tmp_path) -> None:
    jobs = JobManager(RunStore(tmp_path / "omib.db"), max_concurrent=0, gpu_available=False)
    cfg = RunConfig(
        data=DataConfig(dataset=f"upload:{alices}"), train=TrainConfig(schedule="fixed", epochs=2, warmup_epochs=1)
    ).to_dict()
    with pytest.raises(UploadAccessError, match="belongs to another user"):
        jobs.submit(cfg, "bob", "steal")
    assert jobs.store.list_runs() == []  # nothing stored
    assert jobs.submit(cfg, "alice", "mine")
    assert jobs.submit(cfg, "carol", "admin's look", is_admin=True)


def test_a_cfg_link_to_another_users_upload_shows_a_sentence_not_the_data(alices: str) -> None:
    link = state.encode_config(RunConfig(data=DataConfig(dataset=f"upload:{alices}")))
    at = sign_in(app("data", cfg=link), "bob")
    at.run()
    no_exception(at)
    assert any("belongs to another user and is not shared with you" in e.value for e in at.error)
    assert not at.metric and not at.get("plotly_chart")  # no row count, no class balance, no PCA
    at.button(key="data_access_reset").click()
    at.run()
    no_exception(at)
    assert at.session_state["omib_config"]["data"]["dataset"] == "sim-i"

    at = sign_in(app("data", cfg=link), "alice")  # the owner sees her data
    at.run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]


def test_the_train_page_refuses_start_on_another_users_upload(alices: str) -> None:
    link = state.encode_config(RunConfig(data=DataConfig(dataset=f"upload:{alices}")))
    at = sign_in(app("train", cfg=link), "bob")
    at.run()
    no_exception(at)
    assert any("belongs to another user" in e.value for e in at.error)
    assert at.button(key="train_start").disabled
    assert not any("training rows" in m.value for m in at.markdown)  # no schedule preview: it would count the rows


def embeddings_download(at):
    return next(d for d in at.get("download_button") if d.proto.label.startswith("Embeddings"))


def checkpoint_download(at):
    return next(d for d in at.get("download_button") if d.proto.label.startswith("Checkpoint"))


def test_another_users_run_on_a_private_upload_hides_its_checkpoint(alices: str) -> None:
    """Issue 20: the checkpoint holds the trained model and the upload's per-column mean and std
    (``extra.standardize``): only the upload's owner (and admins) may download it; metrics stay shareable."""
    rid = add_run_with_snapshots(n_snapshots=1, owner="alice", dataset=f"upload:{alices}")
    store = services.store()
    ck = store.run_dir(rid) / "checkpoint.pt"
    ck.write_bytes(b"weights and standardisation statistics")
    store.add_artifact(rid, "checkpoint", ck)
    at = sign_in(app("runs", run=rid), "alice")
    at.run()
    at.selectbox(key="runs_pick").set_value(rid).run()
    no_exception(at)
    assert not checkpoint_download(at).proto.disabled
    at = sign_in(app("runs", run=rid), "bob")
    at.run()
    at.selectbox(key="runs_pick").set_value(rid).run()
    no_exception(at)
    button = checkpoint_download(at)
    assert button.proto.disabled and "another user's upload" in button.proto.help
    assert not any(d.proto.disabled for d in at.get("download_button") if d.proto.label.startswith("Metrics"))
    zipped = next(d for d in at.get("download_button") if d.proto.label.startswith("Whole run"))
    assert "without the checkpoint and snapshots" in zipped.proto.help  # issue 22's bundle follows the same rule
    store.delete_run(rid, "alice")


def test_another_users_run_on_a_private_upload_hides_its_embeddings(alices: str) -> None:
    rid = add_run_with_snapshots(n_snapshots=1, owner="alice", dataset=f"upload:{alices}")
    at = sign_in(app("runs", run=rid), "alice")
    at.run()
    at.selectbox(key="runs_pick").set_value(rid).run()
    no_exception(at)
    assert not embeddings_download(at).proto.disabled  # the owner downloads her labels

    at = sign_in(app("runs", run=rid), "bob")
    at.run()
    at.selectbox(key="runs_pick").set_value(rid).run()
    no_exception(at)
    button = embeddings_download(at)
    assert button.proto.disabled and "another user's upload" in button.proto.help

    at = sign_in(app("embeddings", run=rid), "bob")
    at.run()
    no_exception(at)
    assert any("another user's upload that is not shared with you" in i.value for i in at.info)
    assert not at.get("plotly_chart")
    services.store().delete_run(rid, "alice")
