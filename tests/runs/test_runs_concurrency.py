"""Several worker processes writing to one store at once: no lock errors, nothing lost."""

from __future__ import annotations

from tests.runs.conftest import start_worker


def test_four_workers_write_concurrently(store, tiny):
    tiny["data"]["params"]["parties"] = 4  # the fake source waits for all four before writing
    run_ids = [store.create_run(tiny, f"user{i}", f"run{i}") for i in range(4)]
    procs = [start_worker(store, run_id, "many_epochs") for run_id in run_ids]
    outputs = []
    for proc in procs:
        out, _ = proc.communicate(timeout=30)
        outputs.append(out.decode())
        assert proc.returncode == 0, out
    for run_id, out in zip(run_ids, outputs):
        run = store.get_run(run_id)
        assert run["status"] == "finished", run["error"]
        assert "locked" not in out and "locked" not in (store.run_dir(run_id) / "worker.log").read_text()
        df = store.read_metrics(run_id)
        assert len(df) == 200 * 2  # every committed epoch row is there, once
        assert df["epoch"].tolist() == sorted(df["epoch"].tolist())
        assert run["epoch"] == 200
    first_rows = [store.read_metrics(run_id, limit=1)["t"].iloc[0] for run_id in run_ids]
    ends = [store.get_run(run_id)["ended_at"] for run_id in run_ids]
    assert max(first_rows) < min(ends)  # they did write at the same time
    assert store.integrity_check()
