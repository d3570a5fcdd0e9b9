"""UMAP in the worker process of ``ProjectionJobs``: time to a result, and how responsive the server process stays.

A random 10,000 x 32 float32 snapshot (``--n``, ``--dim``) is projected through ``ProjectionJobs`` (one spawned
worker process) with ``project_snapshot``, exactly as the Embeddings page asks for it: first by a fresh worker
(cold: spawn, ``import umap``, numba kernels loaded from ``NUMBA_CACHE_DIR`` or compiled when that is empty), then
again by the same worker (warm). While each job runs, this process (standing in for the Streamlit server) sleeps
10 ms in a loop and records the gaps: a gap far above 10 ms means this process could not run Python (the GIL was
held or the CPU was taken). For contrast, ``--in-process`` (default on) then runs ``umap_2d`` in a thread of
this process, the way the server did before, with the same gap loop.

``--page`` (default on, needs chromium + playwright): a real server (``streamlit run``, UMAP warm-up on) is
started over a private data dir holding finished runs with one such snapshot each; once the warm-up is over
(server and worker idle), each run's Embeddings page is opened by URL and timed to the PCA scatter and to the
UMAP scatter, the number the README's target is about.

Target (README): a UMAP of 10,000 points within 20 s once warm.

Run: ``.venv/bin/python bench/umap_process.py`` (writes bench/results/umap_process.json and .md).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import write  # noqa: E402
from omib_core.analysis.embedding import numba_cache_path, project_snapshot  # noqa: E402
from omib_core.analysis.projection_jobs import ProjectionJobs  # noqa: E402

TICK = 0.010  # seconds slept per tick of the responsiveness loop

# helpers


def gaps_while(busy: threading.Event | Any, min_seconds: float = 0.0) -> dict[str, Any]:
    """Sleep ``TICK`` in a loop until ``busy`` is done (a Future or an Event set); the gaps between wake-ups."""
    done = busy.done if hasattr(busy, "done") else busy.is_set
    gaps, t_start = [], time.perf_counter()
    while not done() or time.perf_counter() - t_start < min_seconds:
        t = time.perf_counter()
        time.sleep(TICK)
        gaps.append(time.perf_counter() - t)
    ms = np.asarray(gaps) * 1000.0
    return {
        "ticks": int(ms.size),
        "max_gap_ms": round(float(ms.max()), 1),
        "p99_gap_ms": round(float(np.percentile(ms, 99)), 1),
        "median_gap_ms": round(float(np.median(ms)), 1),
        "gaps_over_100ms": int((ms > 100).sum()),
        "seconds": round(time.perf_counter() - t_start, 2),
    }


def through_worker(jobs: ProjectionJobs, path: str, key: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    fut = jobs.submit((path, key), project_snapshot, (path, "xi"))
    gaps = gaps_while(fut)
    coords = fut.result()
    return {"seconds": round(time.perf_counter() - t0, 2), "shape": list(coords.shape), "parent": gaps}


def in_process(x: np.ndarray) -> dict[str, Any]:
    """The old way: ``umap_2d`` in a thread of this process (first call imports umap here)."""
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # as in the worker, so the CPU share is comparable
    from omib_core.analysis.embedding import umap_2d

    done, out = threading.Event(), {}

    def fit() -> None:
        t0 = time.perf_counter()
        try:
            umap_2d(x, seed=0)
        finally:
            out["seconds"] = round(time.perf_counter() - t0, 2)
            done.set()

    threading.Thread(target=fit, daemon=True).start()
    out["parent"] = gaps_while(done)
    return out


def add_finished_runs(data_dir: Path, x: np.ndarray, count: int) -> list[str]:
    """``count`` finished training runs in a fresh store under ``data_dir``, one snapshot of ``x`` (3 classes) each."""
    from omib_core.config import DataConfig, RunConfig, TrainConfig
    from omib_core.paths import db_path
    from omib_core.runs.store import RunStore

    store = RunStore(db_path(data_dir), data_dir=data_dir)
    cfg = RunConfig(data=DataConfig(dataset="sim-i"), train=TrainConfig(epochs=2, warmup_epochs=1, snapshot_every=1))
    target = np.random.default_rng(1).integers(0, 3, len(x))
    ids = []
    for k in range(count):
        rid = store.create_run(cfg.to_dict(), "local", f"umap bench {k}")
        folder = store.run_dir(rid) / "snapshots"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "epoch_0001.npz"
        xi = x + k * 0.01  # another file, another fit
        np.savez(path, xi=xi, index=np.arange(len(x)), target=target, pred=target, correct=np.ones(len(x), bool))
        store.add_artifact(rid, "snapshot", path, epoch=1)
        store.update_run(rid, summary={"task": "classification", "modalities": ["v1", "v2"]})
        store.set_status(rid, "running", only_from=("queued",))
        store.set_status(rid, "finished", only_from=("running",))
        ids.append(rid)
    return ids


def on_the_page(x: np.ndarray, cache: str, runs: int) -> dict[str, Any]:
    """A real server with the warm-up on: seconds from opening each run's Embeddings to its PCA, then its UMAP."""
    from bench.dashboard_speed import READY_JS, SCATTER_JS, wait_server_idle
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, missing_browser, start_app, stop_app

    if why := missing_browser():
        return {"skipped": why}
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {"views": []}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        ids = add_finished_runs(data, x, runs)
        proc, url = start_app(data, Path(tmp) / "server.log", skip_umap_warmup=False, env={"NUMBA_CACHE_DIR": cache})
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1600})
                t0 = time.perf_counter()
                page.goto(url)  # the first session boots the services: the warm-up job starts in the worker
                page.wait_for_function(READY_JS, arg="OMIB Studio", timeout=180_000)
                out["home_seconds"] = round(time.perf_counter() - t0, 2)
                out["warm_up_seconds"] = wait_server_idle(proc.pid, timeout=600)
                for rid in ids:
                    t0 = time.perf_counter()
                    page.goto(f"{url}/embeddings?run={rid}")
                    page.wait_for_function(SCATTER_JS, arg="", timeout=120_000)
                    pca = time.perf_counter() - t0
                    page.wait_for_function(SCATTER_JS, arg="UMAP", timeout=300_000)
                    umap = time.perf_counter() - t0
                    out["views"].append({"run": rid, "pca_seconds": round(pca, 2), "umap_seconds": round(umap, 2)})
                browser.close()
        finally:
            stop_app(proc)
    return out


def cache_files(path: str) -> int:
    return sum(1 for p in Path(path).rglob("*") if p.is_file())


def markdown(r: dict[str, Any], command: str) -> str:
    rows = [("idle (no job)", None, r["idle"])]
    rows += [(f"{run['label']} via worker process", run["seconds"], run["parent"]) for run in r["worker"]]
    rows += [(f"{run['label']} in a server thread (old way)", run["seconds"], run["parent"]) for run in r["in_process"]]
    table = "\n".join(
        f"| {label} | {'-' if s is None else f'{s:.2f}'} | {g['max_gap_ms']:.1f} | {g['p99_gap_ms']:.1f} | "
        f"{g['median_gap_ms']:.1f} | {g['gaps_over_100ms']} | {g['ticks']} |"
        for label, s, g in rows
    )
    warm = [run["seconds"] for run in r["worker"] if run["label"].startswith("warm")]
    verdict = "met" if warm and max(warm) <= 20.0 else "**missed**"
    page = r.get("page") or {}
    if page.get("views"):
        shown = [v["umap_seconds"] for v in page["views"]]
        page_md = (
            f"\n## On the page (real server, UMAP warm-up on)\n\nHome (boots the services, starts the warm-up) "
            f"{page['home_seconds']} s; warm-up over (server and worker idle) {page['warm_up_seconds']} s later. "
            "Then each run's Embeddings page by URL (a new 10,000-point snapshot each: a new fit):\n\n"
            "| run | PCA shown (s) | UMAP shown (s) |\n|---|---:|---:|\n"
            + "\n".join(f"| {v['run']} | {v['pca_seconds']} | {v['umap_seconds']} |" for v in page["views"])
            + f"\n\nTarget: UMAP on the page within 20 s once warm: {'met' if max(shown) <= 20.0 else '**missed**'}; "
            f"PCA within 2 s: {'met' if max(v['pca_seconds'] for v in page['views']) <= 2.0 else '**missed**'}.\n"
        )
    else:
        page_md = f"\nOn the page: not measured ({page.get('skipped', 'run with --page')}).\n"
    m = r["machine"]
    return f"""# UMAP in the worker process (ProjectionJobs)

Command: `{command}`

Machine: {m["cpus"]} CPUs, Python {m["python"]}, load average {m["load_before"]} at start, {m["load_after"]} at the end
(a shared machine). Input: a {r["n"]:,} x {r["dim"]} float32 snapshot, `project_snapshot(path, "xi")` (seed 0).
Numba cache `{r["numba_cache"]}`: {r["cache_files_before"]} files before, {r["cache_files_after"]} after.

Seconds = from `submit` to the coordinates back in this process. Gaps = wall time of each `time.sleep(0.01)` in this
process (the server) while the job runs: 10 ms means it could run Python at once.

| job | seconds | max gap (ms) | p99 gap (ms) | median gap (ms) | gaps > 100 ms | ticks |
|---|---:|---:|---:|---:|---:|---:|
{table}

Target: a UMAP of 10,000 points within 20 s once warm: {verdict} (warm: {warm} s through the worker).
{page_md}"""


# main


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--dim", type=int, default=32)
    p.add_argument("--warm-repeats", type=int, default=2, help="warm jobs after the cold one")
    p.add_argument("--in-process", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--page", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--page-runs", type=int, default=2, help="runs (snapshots) opened on the Embeddings page")
    args = p.parse_args()
    command = shlex.join([".venv/bin/python", "bench/umap_process.py", *sys.argv[1:]])
    cache = numba_cache_path()
    r: dict[str, Any] = {"n": args.n, "dim": args.dim, "numba_cache": cache, "cache_files_before": cache_files(cache)}
    load_before = [round(v, 2) for v in os.getloadavg()]
    x = np.random.default_rng(0).standard_normal((args.n, args.dim)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "epoch_0001.npz")
        np.savez(path, xi=x, target=np.zeros(args.n, np.int64))
        idle = threading.Event()
        idle.set()  # nothing to wait for: just the loop, 3 s
        r["idle"] = gaps_while(idle, min_seconds=3.0)
        jobs = ProjectionJobs()
        try:
            r["worker"] = [{"label": "cold (fresh worker)", **through_worker(jobs, path, "cold")}]
            for i in range(args.warm_repeats):
                r["worker"].append({"label": f"warm #{i + 1}", **through_worker(jobs, path, f"warm{i}")})
        finally:
            jobs.shutdown()
        assert "umap" not in sys.modules, "this process imported umap while the worker did the fits"
        r["page"] = on_the_page(x, cache, args.page_runs) if args.page else {"skipped": "--no-page"}
        r["in_process"] = []
        if args.in_process:
            r["in_process"].append({"label": "first (imports umap)", **in_process(x)})
            r["in_process"].append({"label": "second", **in_process(x)})
    r["cache_files_after"] = cache_files(cache)
    r["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": [round(v, 2) for v in os.getloadavg()],
        "umap_threads": os.environ.get("OMIB_UMAP_THREADS", "1"),
    }
    r["command"] = command
    write("umap_process", r, markdown(r, command))


if __name__ == "__main__":
    main()
