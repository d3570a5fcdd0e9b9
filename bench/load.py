"""Load test: many sessions at once on one server while more runs are queued than may run.

A real server (``python -m dashboard.serve`` as ``make run`` starts it, the repo's config.toml, a temporary ``OMIB_DATA_DIR``,
``OMIB_MAX_CONCURRENT=--limit``) gets ``--sessions`` concurrent sessions from a protocol-level client on loopback
(``tests/security/st_client.py``: Streamlit's own websocket protobufs, no browser). Each session asks for the pages
Runs, Train (``?run=ID`` of one of the runs), Home and Data (with a shared ``?cfg=`` link) in turn, ``--rounds``
times, and times each request from the rerun message to ``script_finished``. Meanwhile ``--runs`` small SIM-I runs
are queued in the run store (as ``JobManager.submit`` does; the server's scheduler picks queued rows from the store)
and the store is sampled every 0.25 s.

Checks: every request answered with ``script_finished`` and no exception element; never more than ``--limit`` runs
going at once, the others queued meanwhile; every run finished with its metric rows; ``PRAGMA integrity_check`` ok.
Reports p50 / p95 / max page response (all requests, and per page), counts, and the machine load.

Run: ``.venv/bin/python bench/load.py`` (writes bench/results/load.json and .md). Nothing is retried.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import write  # noqa: E402
from omib_core.runs.store import TERMINAL  # noqa: E402
from tests.e2e.conftest import start_app, stop_app  # noqa: E402
from tests.security.st_client import Reply, Session  # noqa: E402

GOING = ("running", "paused")


def run_config(n_samples: int, epochs: int) -> dict[str, Any]:
    """A small SIM-I run: a few seconds of training on one CPU thread."""
    return {
        "data": {"dataset": "sim-i", "params": {"n_samples": n_samples, "reference": False}},
        "model": {"hidden_dim": 32, "z_dim": 16, "latent_dim": 16, "xi_dim": 16},
        "train": {"epochs": epochs, "warmup_epochs": 1, "batch_size": 64, "device": "cpu", "log_every": 2},
    }


def data_link() -> str:
    """The ``?cfg=`` of a small SIM-I (its preview is quick to draw), as a teacher's shared link would carry."""
    from dashboard.state import encode_config
    from omib_core.config import DataConfig, RunConfig

    return "cfg=" + encode_config(
        RunConfig(data=DataConfig(dataset="sim-i", params={"n_samples": 2000, "reference": False}))
    )


def pct(xs: list[float], q: float) -> float | None:
    """The ``q``-th percentile (nearest rank) of ``xs``; None when empty."""
    if not xs:
        return None
    s = sorted(xs)
    return round(s[max(0, math.ceil(q / 100 * len(s)) - 1)], 3)


def stats(xs: list[float]) -> dict[str, Any]:
    return {
        "n": len(xs),
        "p50": pct(xs, 50),
        "p95": pct(xs, 95),
        "max": round(max(xs), 3) if xs else None,
        "mean": round(statistics.fmean(xs), 3) if xs else None,
    }


# the sessions


async def one_session(i: int, url: str, plan: list[tuple[str, str, str]], timeout: float) -> list[dict[str, Any]]:
    """One tab: connect, then request every (label, page, query) of ``plan`` in turn; one record per request."""
    out = []
    async with Session(url) as s:
        for label, page, query in plan:
            reply: Reply = await s.rerun(page, query, timeout=timeout)
            out.append(
                {
                    "session": i,
                    "page": label,
                    "seconds": reply.seconds,
                    "status": reply.status,
                    "exceptions": reply.exceptions,
                    "deltas": reply.deltas,
                    "t": time.time(),
                }
            )
    return out


async def sample_store(store, run_ids: list[str], stop: asyncio.Event, samples: list[dict[str, Any]]) -> None:
    """Every 0.25 s: how many runs are queued / going / ended, and the load average."""
    while not stop.is_set():
        statuses = [store.get_run(r)["status"] for r in run_ids]
        samples.append(
            {
                "t": time.time(),
                "going": sum(s in GOING for s in statuses),
                "queued": statuses.count("queued"),
                "ended": sum(s in TERMINAL for s in statuses),
                "load": os.getloadavg()[0],
            }
        )
        try:
            await asyncio.wait_for(stop.wait(), 0.25)
        except TimeoutError:
            pass


async def drive(urls: list[str], store, run_ids: list[str], args) -> tuple[list[dict], list[dict], float]:
    link = data_link()
    pages = [("Runs", "runs", ""), ("Train ?run=", "train", None), ("Home", "", ""), ("Data ?cfg=", "data", link)]
    plans = []
    for i in range(args.sessions):
        rid = run_ids[i % len(run_ids)]
        cycle = [(label, page, f"run={rid}" if query is None else query) for label, page, query in pages]
        k = i % len(cycle)  # sessions start on different pages
        plans.append([step for _ in range(args.rounds) for step in cycle[k:] + cycle[:k]])
    samples: list[dict[str, Any]] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_store(store, run_ids, stop, samples))
    t0 = time.monotonic()
    # sticky sessions spread over the replicas, as nginx's ip_hash spreads clients
    results = await asyncio.gather(
        *(one_session(i, urls[i % len(urls)], plan, args.timeout) for i, plan in enumerate(plans))
    )
    session_seconds = time.monotonic() - t0
    # the sessions are done; let the runs end while the sampler keeps watching
    end = time.monotonic() + args.run_timeout
    while time.monotonic() < end and not all(store.get_run(r)["status"] in TERMINAL for r in run_ids):
        await asyncio.sleep(0.5)
    stop.set()
    await sampler
    return [r for rs in results for r in rs], samples, session_seconds


async def warm_up(url: str, run_id: str, timeout: float) -> dict[str, dict[str, float | None]]:
    """One session requests each page twice before the load: cold (boots the server's services, fills the
    data-preview cache), then warm and alone (the baseline for the times under load)."""
    out: dict[str, dict[str, float | None]] = {"cold": {}, "warm_alone": {}}
    async with Session(url) as s:
        for phase in out:
            for label, page, query in (
                ("Home", "", ""),
                ("Runs", "runs", ""),
                ("Train ?run=", "train", f"run={run_id}"),
                ("Data ?cfg=", "data", data_link()),
            ):
                reply = await s.rerun(page, query, timeout=timeout)
                out[phase][label] = round(reply.seconds, 2) if reply.seconds is not None else None
    return out


# report


def check(requests: list[dict], samples: list[dict], runs: list[dict], args, rows: dict[str, int]) -> dict[str, Any]:
    expected = args.sessions * args.rounds * 4
    answered = [r for r in requests if r["status"] == "ok"]
    with_exc = [r for r in requests if r["exceptions"]]
    max_going = max((s["going"] for s in samples), default=0)
    waited = any(s["going"] == args.limit and s["queued"] >= args.runs - args.limit for s in samples)
    starts = sorted(r["started_at"] for r in runs if r["started_at"])
    ends = sorted(r["ended_at"] for r in runs if r["ended_at"])
    later_waited = len(starts) == args.runs and all(
        s >= ends[0] - 0.01 for s in starts[args.limit :]
    )  # the runs past the limit started only after one had ended
    return {
        "requests_expected": expected,
        "requests_answered": len(answered),
        "requests_with_exception": len(with_exc),
        "all_answered": len(answered) == expected and not with_exc,
        "max_going_at_a_sample": max_going,
        "never_over_limit": max_going <= args.limit,
        "others_queued_meanwhile": waited and later_waited,
        "runs_finished": sum(r["status"] == "finished" for r in runs),
        "all_finished": all(r["status"] == "finished" for r in runs),
        "metric_rows_per_run": rows,
        "every_run_has_metrics": all(n > 0 for n in rows.values()),
    }


def _servers(n: int) -> str:
    return "one server" if n == 1 else f"{n} web servers on one run store (sessions spread over them; one scheduler)"


def markdown(res: dict[str, Any]) -> str:
    c, a = res["checks"], res["latency"]["all"]
    runs = res["runs"]
    lines = [
        "# Load test (protocol-level websocket sessions, no browser)",
        "",
        f"Command: `{res['command']}`  ",
        f"Machine: {res['cpus']} CPUs, load average {res['load_start']} at start, {res['load_end']} at the end "
        f"(max 1-min load while measuring: {res['max_load_1min']}). Server, {res['args']['limit']} training workers "
        "and the load client share the CPUs.",
        "",
        f"{res['args']['sessions']} sessions x {res['args']['rounds']} rounds x 4 pages (Runs, Train ?run=ID, Home, "
        f"Data ?cfg=) against {_servers(res['args'].get('replicas', 1))}, while {res['args']['runs']} SIM-I runs (n_samples "
        f"{res['args']['n_samples']}, 1 + {res['args']['epochs']} epochs) were queued with OMIB_MAX_CONCURRENT="
        f"{res['args']['limit']}. Closed loop: each session sends its next request as soon as the previous one "
        f"finished (no think time), so {res['args']['sessions']} requests are in flight at every moment; "
        f"{c['requests_expected']} requests in {res['session_seconds']} s = {res['requests_per_second']} pages/s. "
        "Each page was requested twice by one session before the load (times below).",
        "",
        "| check | result |",
        "|---|---|",
        f"| every request answered (`script_finished`, no exception element) | {c['requests_answered']} / "
        f"{c['requests_expected']}, {c['requests_with_exception']} with an exception: "
        f"**{'yes' if c['all_answered'] else 'NO'}** |",
        f"| at most {res['args']['limit']} runs going at every sample ({len(res['samples'])} samples, 0.25 s apart) "
        f"| max {c['max_going_at_a_sample']}: **{'yes' if c['never_over_limit'] else 'NO'}** |",
        f"| the other runs waited in the queue, then started after one ended | "
        f"**{'yes' if c['others_queued_meanwhile'] else 'NO'}** |",
        f"| all runs finished, metric rows kept | {c['runs_finished']} / {len(runs)} finished, rows "
        f"{list(c['metric_rows_per_run'].values())}: **{'yes' if c['all_finished'] and c['every_run_has_metrics'] else 'NO'}** |",
        f"| `PRAGMA integrity_check` | **{'ok' if res['integrity_ok'] else 'FAILED'}** |",
        "",
        "## Page response (request -> `script_finished`), seconds",
        "",
        "| page | n | p50 | p95 | max |",
        "|---|---:|---:|---:|---:|",
        f"| **all** | {a['n']} | {a['p50']} | **{a['p95']}** | {a['max']} |",
    ]
    for page, s in res["latency"]["per_page"].items():
        lines.append(f"| {page} | {s['n']} | {s['p50']} | {s['p95']} | {s['max']} |")
    lines += [
        "",
        f"One session alone, before the load: cold {res['warm_up_seconds']['cold']}, then warm "
        f"{res['warm_up_seconds']['warm_alone']}. "
        + (
            "All sessions are served by the one server process, whose page scripts share one interpreter (the GIL): "
            "under load a page waits for the others' CPU time."
            if res["args"].get("replicas", 1) == 1
            else "Each server process runs its sessions' page scripts in its own interpreter; the servers, the "
            "training workers and the load client still share the machine's CPUs."
        ),
        "",
        "## Runs",
        "",
        "| run | queued -> started (s) | started -> ended (s) | status | metric rows |",
        "|---|---:|---:|---|---:|",
    ]
    for r in runs:
        wait = round(r["started_at"] - r["created_at"], 1) if r["started_at"] else None
        took = round(r["ended_at"] - r["started_at"], 1) if r["ended_at"] and r["started_at"] else None
        lines.append(f"| {r['id']} | {wait} | {took} | {r['status']} | {c['metric_rows_per_run'][r['id']]} |")
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=20, help="concurrent sessions")
    p.add_argument("--rounds", type=int, default=3, help="cycles over the 4 pages per session")
    p.add_argument("--runs", type=int, default=4, help="runs queued during the test")
    p.add_argument("--limit", type=int, default=2, help="OMIB_MAX_CONCURRENT of the server")
    p.add_argument("--n-samples", type=int, default=1000, help="SIM-I n_samples of each run")
    p.add_argument("--epochs", type=int, default=4, help="main epochs of each run (plus 1 warm-up)")
    p.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="web servers on the one store (the first embeds the scheduler; sessions are spread over them); "
        "results go to load.md for 1, load_<N>_replicas.md otherwise",
    )
    p.add_argument("--timeout", type=float, default=300.0, help="seconds a request may take before it counts lost")
    p.add_argument("--run-timeout", type=float, default=600.0, help="seconds the runs may take after the sessions")
    args = p.parse_args()
    command = shlex.join([".venv/bin/python", "bench/load.py", *sys.argv[1:]])

    from omib_core.paths import db_path
    from omib_core.runs.jobs import JobManager
    from omib_core.runs.store import RunStore

    res: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "load_start": [round(x, 2) for x in os.getloadavg()],
        "args": vars(args),
        "command": command,
    }
    with tempfile.TemporaryDirectory(prefix="omib_load_") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        log = ROOT / "test-artifacts" / "load" / "streamlit.log"
        env = {"OMIB_MAX_CONCURRENT": str(args.limit), "OMIB_SKIP_UMAP_WARMUP": "1"}
        procs, urls = [], []
        for k in range(args.replicas):  # one after the other: the first takes the scheduler lease
            proc, url = start_app(data_dir, log.with_name(f"streamlit{k or ''}.log"), env=env)
            procs.append(proc)
            urls.append(url)
        try:
            store = RunStore(db_path(data_dir), data_dir=data_dir)
            submitter = JobManager(store, max_concurrent=args.limit, gpu_available=False)  # validates; never ticks
            cfg = run_config(args.n_samples, args.epochs)
            # a finished run for the warm-up's Train page; the measured runs are queued right before the sessions
            res["warm_up_seconds"] = asyncio.run(warm_up(urls[0], "000000000000", args.timeout))
            for other in urls[1:]:
                asyncio.run(warm_up(other, "000000000000", args.timeout))
            print("warm-up", res["warm_up_seconds"], file=sys.stderr, flush=True)
            run_ids = [submitter.submit(cfg, owner=f"user{i % 2}", name=f"load run {i}") for i in range(args.runs)]
            t0 = time.monotonic()
            requests, samples, session_seconds = asyncio.run(drive(urls, store, run_ids, args))
            res["wall_seconds"] = round(time.monotonic() - t0, 1)  # sessions, then the runs' end
            res["session_seconds"] = round(session_seconds, 1)
            res["requests_per_second"] = round(len(requests) / session_seconds, 2)
            runs = [store.get_run(r) for r in run_ids]
            rows = {r: len(store.read_metrics(r)) for r in run_ids}
            res["integrity_ok"] = store.integrity_check()
        finally:
            for proc in procs:
                stop_app(proc)
    res["load_end"] = [round(x, 2) for x in os.getloadavg()]
    res["max_load_1min"] = round(max((s["load"] for s in samples), default=0.0), 2)
    secs = [r["seconds"] for r in requests if r["seconds"] is not None]
    per_page = {}
    for label in dict.fromkeys(r["page"] for r in requests):
        per_page[label] = stats([r["seconds"] for r in requests if r["page"] == label and r["seconds"] is not None])
    res["latency"] = {"all": stats(secs), "per_page": per_page}
    res["checks"] = check(requests, samples, runs, args, rows)
    res["runs"] = [
        {k: r[k] for k in ("id", "status", "created_at", "started_at", "ended_at", "epoch", "error")} for r in runs
    ]
    res["samples"] = samples
    res["requests"] = requests
    write("load" if args.replicas == 1 else f"load_{args.replicas}_replicas", res, markdown(res))
    ok = (
        all(
            res["checks"][k]
            for k in (
                "all_answered",
                "never_over_limit",
                "others_queued_meanwhile",
                "all_finished",
                "every_run_has_metrics",
            )
        )
        and res["integrity_ok"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
