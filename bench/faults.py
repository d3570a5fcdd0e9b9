"""Fault runs: ``kill -9`` of a training worker mid-run, and of the server mid-run, ``--kills`` times each.

Each trial queues one run in a fresh run store and lets a ``JobManager`` start its worker, exactly as the Streamlit
server does (``dashboard/services.py``: ``JobManager(store)``, ``recover()``, ``start_background()``). Once the run
has committed at least one epoch, and after a further random delay (seeded) so the kill lands anywhere in the
write cycle, the bench reads every metric row committed so far (the *acknowledged* rows: a reader saw them), then:

* worker kill: ``SIGKILL`` to the worker; the manager (in this process) reaps it on its next tick.
* server kill: the manager lives in a separate driver process (the server); ``SIGKILL`` to it. In odd trials the
  worker is left alone (it sees its parent gone and ends the run itself); in even trials it is killed with it, as a
  container kill or a host crash would, so only the restarted server's start-up recovery can mark the run.
  Then a fresh manager is started on the same store and runs its start-up recovery.

Checks per trial: the run ends ``interrupted`` with its sentence; ``PRAGMA integrity_check`` returns ``ok``; every
acknowledged row is still there with the same values (so every acknowledged step is kept); the runs row's epoch
count matches the epoch rows committed with it.

Run: ``.venv/bin/python bench/faults.py`` (writes bench/results/faults.json and .md). ``--source fake`` uses the
test suite's fake event source (no torch, same worker and store code) for a quick pass.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import write  # noqa: E402
from omib_core.runs.jobs import JobManager, pid_alive  # noqa: E402
from omib_core.runs.store import INTERRUPTED_MESSAGE, RunStore  # noqa: E402
from omib_core.runs.worker import PARENT_GONE_MESSAGE  # noqa: E402
from tests.runs.conftest import wait_for  # noqa: E402

EPOCH_METRIC_PREFIXES = ("val/", "test/")
FAKE_SOURCE = "tests.runs.fakes:slow"
HEARTBEAT = 0.5


def run_config(source: str) -> dict[str, Any]:
    """A run long enough to be killed mid-way (about a minute of training either way)."""
    if source == "fake":
        return {
            "data": {"dataset": "sim-i", "params": {"n_samples": 200}},
            "train": {"epochs": 400, "warmup_epochs": 0},
        }
    return {
        "data": {"dataset": "sim-i", "params": {"n_samples": 2000, "reference": False}},
        "model": {"hidden_dim": 32, "z_dim": 16, "latent_dim": 16, "xi_dim": 16},
        "train": {
            "epochs": 200,
            "warmup_epochs": 1,
            "batch_size": 64,
            "device": "cpu",
            "log_every": 2,
            "snapshot_every": 0,
        },
    }


def manager(store: RunStore, source: str) -> JobManager:
    return JobManager(
        store,
        max_concurrent=1,
        gpu_available=False,
        heartbeat_interval=HEARTBEAT,
        threads_per_job=1,
        source=FAKE_SOURCE if source == "fake" else None,
    )


# one trial


def acknowledged(store: RunStore, run_id: str):
    """Every metric row committed so far (as any reader sees them), and the run's committed epoch count."""
    return store.read_metrics(run_id), store.get_run(run_id)["epoch"] or 0


def wait_mid_run(store: RunStore, run_id: str, rng: random.Random, timeout: float) -> float:
    """Wait for the first committed epoch, then a random 0-2 s more; returns the seconds waited."""
    t0 = time.monotonic()
    wait_for(lambda: (store.get_run(run_id)["epoch"] or 0) >= 1, timeout=timeout, interval=0.05)
    time.sleep(rng.uniform(0.0, 2.0))
    return time.monotonic() - t0


def verify(store: RunStore, run_id: str, before, epoch_before: int) -> dict[str, Any]:
    """The checks of one trial (after recovery)."""
    after = store.read_metrics(run_id)
    run = store.get_run(run_id)
    kept = after[after["id"].isin(before["id"])].reset_index(drop=True)
    same = len(kept) == len(before) and kept.equals(before.reset_index(drop=True))
    epoch_rows = after[after["kind"] == "epoch"]
    epochs_with_rows = epoch_rows["epoch"].nunique() if not epoch_rows.empty else 0
    return {
        "status": run["status"],
        "error": run["error"],
        "interrupted": run["status"] == "interrupted" and run["error"] in (INTERRUPTED_MESSAGE, PARENT_GONE_MESSAGE),
        "integrity_ok": store.integrity_check(),
        "acknowledged_rows": len(before),
        "acknowledged_max_step": int(before["step"].max()) if len(before) else None,
        "acknowledged_epochs": epoch_before,
        "rows_after": len(after),
        "acknowledged_rows_kept": same,
        "epochs_committed": run["epoch"] or 0,
        "epoch_rows_match_runs_row": epochs_with_rows == (run["epoch"] or 0),
    }


def worker_trial(tmp: Path, i: int, args, rng: random.Random) -> dict[str, Any]:
    store = RunStore(tmp / f"worker{i}" / "omib.db")
    jobs = manager(store, args.source)
    run_id = jobs.submit(run_config(args.source), owner="bench", name=f"worker kill {i}")
    jobs.tick()
    pid = jobs.running_processes()[run_id]
    waited = wait_mid_run(store, run_id, rng, args.timeout)
    before, epoch_before = acknowledged(store, run_id)
    t_kill = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: (jobs.tick(), store.get_run(run_id)["status"])[1] == "interrupted", timeout=30, interval=0.05)
    res = {
        "trial": i,
        "case": "worker",
        "pid": pid,
        "seconds_to_kill": round(waited, 2),
        "seconds_kill_to_interrupted": round(time.monotonic() - t_kill, 3),
    }
    res.update(verify(store, run_id, before, epoch_before))
    store.close()
    return res


GRID_SCALES = (0.5, 5.0, 50.0)


def grid_trial(tmp: Path, i: int, args, rng: random.Random) -> dict[str, Any]:
    """``kill -9`` of a grid job's one worker (issue 18): every member must end interrupted, each member's
    acknowledged rows kept."""
    from omib_core.config import RunConfig
    from omib_core.runs.sweep_queue import submit_sweep

    store = RunStore(tmp / f"grid{i}" / "omib.db")
    jobs = manager(store, "real")  # a grid needs the real engine (a fake source trains members one by one)
    base = RunConfig.from_dict(run_config("real"))
    planned = [(f"grid kill {i} β={sc:g}", base.replace(train=base.train.replace(beta_scale=sc))) for sc in GRID_SCALES]
    _, ids = submit_sweep(jobs, planned, owner="bench")
    jobs.tick()
    pids = {jobs.running_processes()[r] for r in ids}
    assert len(pids) == 1, f"a grid runs in one worker, got {pids}"
    pid = pids.pop()
    waited = wait_mid_run(store, ids[0], rng, args.timeout)
    before = {r: acknowledged(store, r) for r in ids}
    t_kill = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    wait_for(
        lambda: (jobs.tick(), all(store.get_run(r)["status"] == "interrupted" for r in ids))[1],
        timeout=30,
        interval=0.05,
    )
    res = {
        "trial": i,
        "case": f"grid of {len(ids)}",
        "pid": pid,
        "seconds_to_kill": round(waited, 2),
        "seconds_kill_to_interrupted": round(time.monotonic() - t_kill, 3),
    }
    checks = [verify(store, r, *before[r]) for r in ids]
    for key in ("interrupted", "integrity_ok", "acknowledged_rows_kept", "epoch_rows_match_runs_row"):
        res[key] = all(c[key] for c in checks)
    for key in ("acknowledged_rows", "rows_after", "acknowledged_epochs"):
        res[key] = sum(c[key] for c in checks)
    res["acknowledged_max_step"] = max((c["acknowledged_max_step"] or 0) for c in checks)
    res["members"] = checks
    store.close()
    return res


def server_trial(tmp: Path, i: int, args, rng: random.Random) -> dict[str, Any]:
    with_workers = i % 2 == 0
    db = tmp / f"server{i}" / "omib.db"
    store = RunStore(db)
    run_id = manager(store, args.source).submit(run_config(args.source), owner="bench", name=f"server kill {i}")
    driver = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--driver", str(db), "--source", args.source],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(lambda: store.get_run(run_id)["pid"], timeout=args.timeout, interval=0.05)
        worker_pid = int(store.get_run(run_id)["pid"])
        waited = wait_mid_run(store, run_id, rng, args.timeout)
        before, epoch_before = acknowledged(store, run_id)
        t_kill = time.monotonic()
        os.kill(driver.pid, signal.SIGKILL)
        if with_workers:
            os.kill(worker_pid, signal.SIGKILL)
        driver.wait(timeout=10)
        wait_for(lambda: not pid_alive(worker_pid), timeout=30, interval=0.05)
        t_gone = time.monotonic()
        status_before_restart = store.get_run(run_id)["status"]
        # the restart: a fresh manager on the same store, as services.jobs() builds it at server start-up
        marked = manager(store, args.source).recover()
        res = {
            "trial": i,
            "case": "server + its workers" if with_workers else "server",
            "seconds_to_kill": round(waited, 2),
            "seconds_kill_to_worker_gone": round(t_gone - t_kill, 3),
            "status_before_restart": status_before_restart,
            "marked_at_restart": run_id in marked,
            "seconds_kill_to_interrupted": round(time.monotonic() - t_kill, 3),
        }
        res.update(verify(store, run_id, before, epoch_before))
    finally:
        if driver.poll() is None:
            driver.kill()
        store.close()
    return res


def drive(db: str, source: str) -> int:
    """The driver process: owns the run store's JobManager as the Streamlit server does, until killed."""
    store = RunStore(db)
    jobs = manager(store, source)
    jobs.recover()
    jobs.start_background(interval=0.2)
    while True:
        time.sleep(3600)


# report


def ok(t: dict[str, Any]) -> bool:
    return t["interrupted"] and t["integrity_ok"] and t["acknowledged_rows_kept"] and t["epoch_rows_match_runs_row"]


def summary(trials: list[dict[str, Any]]) -> dict[str, Any]:
    times = [t["seconds_kill_to_interrupted"] for t in trials]
    return {
        "trials": len(trials),
        "interrupted": sum(t["interrupted"] for t in trials),
        "integrity_ok": sum(t["integrity_ok"] for t in trials),
        "acknowledged_rows_kept": sum(t["acknowledged_rows_kept"] for t in trials),
        "all_ok": sum(ok(t) for t in trials),
        "acknowledged_rows_total": sum(t["acknowledged_rows"] for t in trials),
        "kill_to_interrupted_median_s": round(statistics.median(times), 3) if times else None,
        "kill_to_interrupted_max_s": round(max(times), 3) if times else None,
    }


def markdown(res: dict[str, Any]) -> str:
    w, s = res["summary"]["worker"], res["summary"]["server"]
    g = res["summary"].get("grid") or {k: 0 for k in w}
    lines = [
        "# Fault runs (kill -9 mid-run)",
        "",
        f"Command: `{res['command']}`  ",
        f"Machine: {res['cpus']} CPUs, load average {res['load_start']} at start, {res['load_end']} at the end. "
        f"Event source: {res['source_text']}. Worker heartbeat {HEARTBEAT} s; metric rows are committed at least every "
        "0.5 s and at every epoch.",
        "",
        "Acknowledged = the metric rows a reader saw committed just before the kill (read from the store after the "
        "first committed epoch plus a random 0-2 s).",
        "",
        "| check | worker killed | server killed | grid worker killed (every member) |",
        "|---|---:|---:|---:|",
        f"| run ends `interrupted` (with its sentence) | {w['interrupted']}/{w['trials']} | "
        f"{s['interrupted']}/{s['trials']} | {g['interrupted']}/{g['trials']} |",
        f"| `PRAGMA integrity_check` = ok | {w['integrity_ok']}/{w['trials']} | {s['integrity_ok']}/{s['trials']} | "
        f"{g['integrity_ok']}/{g['trials']} |",
        f"| every acknowledged row kept, same values | {w['acknowledged_rows_kept']}/{w['trials']} | "
        f"{s['acknowledged_rows_kept']}/{s['trials']} | {g['acknowledged_rows_kept']}/{g['trials']} |",
        f"| all of the above | **{w['all_ok']}/{w['trials']}** | **{s['all_ok']}/{s['trials']}** | "
        f"**{g['all_ok']}/{g['trials']}** |",
        f"| acknowledged rows checked (total) | {w['acknowledged_rows_total']:,} | {s['acknowledged_rows_total']:,} | "
        f"{g['acknowledged_rows_total']:,} |",
        f"| kill -> `interrupted`, median / max (s) | {w['kill_to_interrupted_median_s']} / "
        f"{w['kill_to_interrupted_max_s']} | {s['kill_to_interrupted_median_s']} / {s['kill_to_interrupted_max_s']} | "
        f"{g['kill_to_interrupted_median_s']} / {g['kill_to_interrupted_max_s']} |",
        "",
        "Server trials alternate: *server* = only the server process is killed (its worker notices within a "
        "heartbeat and ends the run itself); *server + its workers* = both are killed (a container kill or host "
        "crash): the run stays `running` in the store until the restarted server's start-up recovery marks it.",
        "",
        "| trial | case | s to kill | acknowledged rows / max step / epochs | rows after | status before restart | "
        "marked at restart | kill -> interrupted (s) | ok |",
        "|---:|---|---:|---|---:|---|---|---:|---|",
    ]
    for t in res["worker_trials"] + res["server_trials"] + res.get("grid_trials", []):
        lines.append(
            f"| {t['trial']} | {t['case']} | {t['seconds_to_kill']} | {t['acknowledged_rows']} / "
            f"{t['acknowledged_max_step']} / {t['acknowledged_epochs']} | {t['rows_after']} | "
            f"{t.get('status_before_restart', '-')} | {t.get('marked_at_restart', '-')} | "
            f"{t['seconds_kill_to_interrupted']} | {'yes' if ok(t) else '**NO**'} |"
        )
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=10, help="trials per case (worker, server)")
    p.add_argument("--source", choices=("real", "fake"), default="real", help="real SIM-I training or the fake source")
    p.add_argument("--seed", type=int, default=0, help="seeds the random delays before each kill")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds a run may take to commit its first epoch")
    p.add_argument("--grid-kills", type=int, default=None, help="grid-worker trials (default: --kills; real only)")
    p.add_argument("--only-grid", action="store_true", help="only the grid-worker trials")
    p.add_argument("--driver", default=None, help=argparse.SUPPRESS)  # internal: the server process of a trial
    args = p.parse_args()
    if args.driver:
        return drive(args.driver, args.source)
    rng = random.Random(args.seed)
    res: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "load_start": [round(x, 2) for x in os.getloadavg()],
        "args": vars(args),
        "command": shlex.join([".venv/bin/python", "bench/faults.py", *sys.argv[1:]]),
        "source_text": "real SIM-I training (n_samples 2000, small model, 1 torch thread)"
        if args.source == "real"
        else f"the fake event source {FAKE_SOURCE} (real worker and store code, no torch)",
    }
    with tempfile.TemporaryDirectory(prefix="omib_faults_") as tmp:
        res["worker_trials"], res["server_trials"], res["grid_trials"] = [], [], []
        single = 0 if args.only_grid else args.kills
        for i in range(1, single + 1):
            res["worker_trials"].append(worker_trial(Path(tmp), i, args, rng))
            print(json.dumps(res["worker_trials"][-1], default=str), file=sys.stderr, flush=True)
        for i in range(1, single + 1):
            res["server_trials"].append(server_trial(Path(tmp), i, args, rng))
            print(json.dumps(res["server_trials"][-1], default=str), file=sys.stderr, flush=True)
        grid_kills = (args.kills if args.grid_kills is None else args.grid_kills) if args.source == "real" else 0
        for i in range(1, grid_kills + 1):
            res["grid_trials"].append(grid_trial(Path(tmp), i, args, rng))
            print(json.dumps(res["grid_trials"][-1], default=str), file=sys.stderr, flush=True)
    res["load_end"] = [round(x, 2) for x in os.getloadavg()]
    res["summary"] = {
        "worker": summary(res["worker_trials"]),
        "server": summary(res["server_trials"]),
        "grid": summary(res["grid_trials"]),
    }
    name = "faults_grid" if args.only_grid else "faults"
    write(name, res, markdown(res))
    return 0 if all(ok(t) for t in res["worker_trials"] + res["server_trials"] + res["grid_trials"]) else 1


if __name__ == "__main__":
    sys.exit(main())
