"""Shared helpers for the benchmarks: run many configs in a small process pool, write JSON + markdown."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def record_event(out: dict[str, Any], ev: Any) -> None:
    """Fold one training event into a bench result dict (``run_one``'s format): the last main epoch's train metrics
    and KL, beta and M_u at the start, the failure, or both selections' metrics at the end."""
    from omib_core.train import EpochEvent, RunFailed, RunFinished, RunStarted

    if isinstance(ev, EpochEvent) and ev.stage == "main":
        keep = ("train/accuracy", "train/mae", "loss", "task_loss")
        out["last_epoch_metrics"] = {k: v for k, v in ev.metrics.items() if k in keep or k.startswith("kl/")}
        info = {k: v for k, v in ev.metrics.items() if k.startswith("info/")}  # information per latent block
        if info:
            out.setdefault("info_history", {})[str(ev.epoch)] = info
            out["info_last"] = info
        if "test/accuracy" in ev.metrics:
            out.setdefault("test_accuracy_history", {})[str(ev.epoch)] = ev.metrics["test/accuracy"]
    elif isinstance(ev, RunStarted):
        out.update(beta=ev.beta, M_u=ev.M_u, beta_over_Mu=ev.beta_over_Mu, reference=dict(ev.reference))
    elif isinstance(ev, RunFailed):
        out.update(status="failed", error=ev.message)
    elif isinstance(ev, RunFinished):
        out.update(
            status="finished",
            test=dict(ev.test_metrics),
            val=dict(ev.val_metrics),
            best_val_test=dict(ev.best_val_test_metrics),
            best_val_val=dict(ev.best_val_val_metrics),
            last_test=dict(ev.last_test_metrics),
            last_val=dict(ev.last_val_metrics),
            best_val_epoch=ev.best_val_epoch,
            last_epoch=ev.last_epoch,
            stopped_early=ev.stopped_early,
            schedule=dict(ev.schedule),
            r_final=list(ev.r_final),
            samples_per_second=ev.samples_per_second,
        )


def run_one(config_dict: dict[str, Any]) -> dict[str, Any]:
    """Train one RunConfig (in a worker process, 1 torch thread) and return the final metrics."""
    import torch

    torch.set_num_threads(1)
    from omib_core.bound import estimate_bound
    from omib_core.config import RunConfig
    from omib_core.data import load_dataset
    from omib_core.train import train

    config_dict = dict(config_dict)
    baseline = config_dict.pop("baseline", None)
    cfg = RunConfig.from_dict(config_dict)
    t0 = time.perf_counter()
    ds = load_dataset(cfg.data)
    if baseline == "linear":  # logistic regression / ridge, regularisation chosen on validation
        from omib_core.analysis.reference import optimal_reference
        from omib_core.baselines import linear_baseline
        from omib_core.data import reference_requested

        res = linear_baseline(ds, seed=cfg.train.seed)
        truth = {
            **(ds.ground_truth or {}),
            **(optimal_reference(cfg.data, ds) if reference_requested(cfg.data) else {}),
        }
        out = {
            "config": {**config_dict, "baseline": baseline},
            "status": "finished",
            "param": res.param,
            "test": res.test_metrics,
            "val": res.val_metrics,
            "best_val_test": res.test_metrics,
            "last_test": res.test_metrics,
            "best_val_val": res.val_metrics,
            "last_val": res.val_metrics,
            "reference": {k: v for k, v in truth.items() if k in ("optimal_mib_accuracy", "bayes_accuracy")},
        }
        out["wall_seconds"] = time.perf_counter() - t0
        return out
    bound = estimate_bound(ds, cfg.bound)
    out: dict[str, Any] = {
        "config": {**config_dict, **({"baseline": baseline} if baseline else {})},
        "status": "unknown",
    }

    for ev in train(cfg, ds, bound=bound):
        record_event(out, ev)
    out["wall_seconds"] = time.perf_counter() - t0
    return out


def run_grid(config_dicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Train configs that differ only in beta and seeds as one grid (``omib_core.train.grid``, 1 torch thread, draws
    cached), returning one dict per config in ``run_one``'s format; ``wall_seconds`` is the whole grid's."""
    import torch

    torch.set_num_threads(1)
    from omib_core.config import RunConfig
    from omib_core.paths import cache_dir
    from omib_core.train.grid import train_grid

    t0 = time.perf_counter()
    outs = [{"config": dict(c), "status": "unknown"} for c in config_dicts]
    for g, ev in train_grid([RunConfig.from_dict(c) for c in config_dicts], cache_dir=cache_dir()):
        record_event(outs[g], ev)
    wall = time.perf_counter() - t0
    for out in outs:
        out["wall_seconds"] = wall
        out["grid_size"] = len(outs)
    print(f"grid of {len(outs)}: {wall:.1f} s", file=sys.stderr, flush=True)
    return outs


def run_many(
    configs: list[dict[str, Any]], workers: int | None = None, journal: str | None = None
) -> list[dict[str, Any]]:
    """Run configs in a process pool; with ``journal``, each result is appended to
    ``bench/results/<journal>.partial.jsonl`` as it lands and a rerun skips the configs already there."""
    workers = workers or max(1, min(2, os.cpu_count() or 1))
    done: dict[str, dict[str, Any]] = {}
    path = RESULTS / f"{journal}.partial.jsonl" if journal else None
    if path is not None and path.exists():
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            done[json.dumps(rec["config"], sort_keys=True)] = rec
    todo = [c for c in configs if json.dumps(c, sort_keys=True) not in done]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for i, res in enumerate(pool.map(run_one, todo)):
            done[json.dumps(res["config"], sort_keys=True)] = res
            if path is not None:
                RESULTS.mkdir(parents=True, exist_ok=True)
                with path.open("a") as f:
                    f.write(json.dumps(res, default=float) + "\n")
            print(f"[{i + 1}/{len(todo)}] {res['status']} {res.get('test')}", file=sys.stderr, flush=True)
    return [done[json.dumps(c, sort_keys=True)] for c in configs]


def journal_results(journal: str, configs: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """Results already in ``<journal>.partial.jsonl`` for each config (None where it has not run)."""
    path = RESULTS / f"{journal}.partial.jsonl"
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            done[json.dumps(rec["config"], sort_keys=True)] = rec
    return [done.get(json.dumps(c, sort_keys=True)) for c in configs]


def fmt(xs: list[float | None]) -> str:
    """'mean ± std (n)' over the values present; '-' when none."""
    vals = [x for x in xs if x is not None]
    if not vals:
        return "-"
    m, s = mean_std(vals)
    return f"{m:.3f} ± {s:.3f} (n={len(vals)})"


def machine() -> dict[str, Any]:
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def write(name: str, payload: dict[str, Any], markdown: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps({"machine": machine(), **payload}, indent=2, default=float))
    (RESULTS / f"{name}.md").write_text(markdown)
    print(markdown)


def mean_std(xs: list[float]) -> tuple[float, float]:
    import numpy as np

    a = np.asarray([x for x in xs if x is not None], dtype=float)
    if a.size == 0:
        return float("nan"), float("nan")
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0


# the method tables (sim_table.py, real_table.py): OMIB and its baselines, as config values of one model

METHODS = {
    "OMIB (beta = M_u)": {},
    "linear (logistic regression, C on val)": {"baseline": "linear"},
    "same network, no bottleneck": {"model": {"bottleneck": False}},
    "concat late fusion": {"model": {"fusion": "concat", "bottleneck": False}},
    "OMIB, r fixed at 1": {"train": {"dynamic_r": False}},
}
LINEAR = "linear (logistic regression, C on val)"


def method_config(dataset: str, seed: int, method: dict, epochs: int | None) -> dict:
    """One run of the table: default training settings, the method's overrides, seed = split + initialisation."""
    train = {"seed": seed, "snapshot_every": 0, "linear_reference": False, **method.get("train", {})}
    if epochs:
        train["epochs"] = epochs
    cfg = {"data": {"dataset": dataset, "seed": seed}, "model": method.get("model", {}), "train": train}
    if method.get("baseline"):
        cfg["baseline"] = method["baseline"]
    return cfg


def paired(a: list[float | None], b: list[float | None]) -> str:
    """Mean ± std of the paired differences a - b over the seeds both have ('-' when none)."""
    d = [x - y for x, y in zip(a, b) if x is not None and y is not None]
    if not d:
        return "-"
    m, s = mean_std(d)
    return f"{m:+.3f} ± {s:.3f}"


def selections(res: dict, metric: str) -> tuple[float | None, float | None]:
    """(test at the best-validation epoch, test at the last epoch) of one run's result."""
    return (res.get("best_val_test") or {}).get(metric), (res.get("last_test") or {}).get(metric)


def method_runs(name: str, default_datasets: str, description: str = "") -> tuple[Any, list[str], list, list]:
    """Parse ``--seeds --epochs --datasets --report-only``, run (or read from the journal) every dataset x method x
    seed, and return ``(args, datasets, jobs, results)`` with ``jobs`` as ``(dataset, seed, method)``."""
    import argparse

    p = argparse.ArgumentParser(description=description)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--datasets", default=default_datasets)
    p.add_argument("--report-only", action="store_true", help="tabulate the runs already journaled, run nothing")
    args = p.parse_args()
    datasets = args.datasets.split(",")
    jobs = [(d, s, m) for d in datasets for m in METHODS for s in range(args.seeds)]
    configs = [method_config(d, s, METHODS[m], args.epochs) for d, s, m in jobs]
    if args.report_only:
        results = [r or {} for r in journal_results(name, configs)]
    else:
        results = run_many(configs, journal=name)
    return args, datasets, jobs, results
