"""The Ray run actor as a plain class (no cluster): an upload travels as bytes and loads on the node from a scratch
data dir, files come back as bytes, and an actor reused for the next run starts from a clean environment."""

from __future__ import annotations

import os
import shutil

from omib_core.config import RunConfig
from omib_core.data import load_dataset
from omib_core.data.uploads import store_upload
from omib_core.runs.ray_backend import RunActor, event_from_wire, start_failure_message, upload_files
from tests.core.test_uploads import N, good_files
from tests.runs.conftest import TINY


def test_an_upload_is_shipped_as_bytes_and_loads_on_the_node(tmp_path, monkeypatch):
    server, node = tmp_path / "server", tmp_path / "node"
    monkeypatch.setenv("OMIB_DATA_DIR", str(server))
    upload_id = store_upload(good_files(), owner="ana", isolated=False)
    config = RunConfig.from_dict({"data": {"dataset": f"upload:{upload_id}"}})
    files = upload_files(config)  # what the scheduler puts in the object store
    assert "meta.json" in files and all(isinstance(b, bytes) for b in files.values())
    assert upload_files(RunConfig.from_dict(TINY)) is None  # generated data regenerates on the node
    shutil.rmtree(server)  # the node cannot see the server's disk
    monkeypatch.setenv("OMIB_DATA_DIR", str(node))
    monkeypatch.setattr(RunActor, "where", lambda self: {"node": "node-1", "pid": os.getpid()})

    actor = RunActor()
    actor.start(config.to_dict(), "r1", "tests.runs.fakes:fast", {"OMIB_DATASETS_DIR": "/shared/omib"}, files)
    assert os.environ["OMIB_DATA_DIR"] == str(actor.scratch / "data")
    assert os.environ["OMIB_DATASETS_DIR"] == "/shared/omib"  # admin datasets: the same path on every node
    assert load_dataset(config.data).n_samples == N  # read from the shipped copy
    batch, done = actor.pull()
    assert [kind for kind, _, _ in batch][-1] == "EpochEvent" and not done  # an epoch at a time
    batch, _ = actor.pull()
    snapshot = next((fields, blobs) for kind, fields, blobs in batch if kind == "SnapshotEvent")
    assert snapshot[1] == {"snap_0.npz": b"x"}  # the file comes back as bytes
    assert type(event_from_wire("SnapshotEvent", snapshot[0])).__name__ == "SnapshotEvent"
    scratch = actor.scratch
    actor.close()
    assert not scratch.exists()

    actor.start(TINY, "r2", "tests.runs.fakes:fast", {}, None)  # the same actor, the next run of a sweep
    assert os.environ["OMIB_DATA_DIR"] == str(node)
    assert os.environ.get("OMIB_DATASETS_DIR") == actor.base_env.get("OMIB_DATASETS_DIR")  # the last run's is gone
    actor.close()


def test_a_node_without_the_packages_fails_the_run_with_the_fix():
    message = start_failure_message("head:6379", "ActorDiedError: ... ModuleNotFoundError: No module named 'omib_core'")
    assert "Ray cluster at head:6379" in message and "No module named 'omib_core'" in message
    assert "install OMIB Studio and its requirements on every node" in message
