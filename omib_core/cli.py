"""Command line: ``python -m omib_core {datasets,bound,train,sweep,scheduler,export-mlflow,parameters,hash-password}``.

Headless, with a progress bar on stderr; the results go to files (``result.json``, ``history.csv``)
so that scripts, the benchmarks and the dashboard's workers share one format.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from omib_core.config import ESTIMATORS, BoundConfig, DataConfig, ModelConfig, RunConfig, TrainConfig
from omib_core.env import env_text
from omib_core.errors import ConfigError, OmibError
from omib_core.params import add_flags, from_flags, markdown_table, parse_assignments, schema
from omib_core.paths import HISTORY_FILE, RESULT_FILE

# every training and model parameter is a flag, generated from its declaration (seed is --seed: data and training)
TRAIN_FLAGS = {n: p for n, p in schema(TrainConfig).items() if n != "seed"}
MODEL_FLAGS = schema(ModelConfig)

# helpers


def _floats(text: str) -> list[float]:
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers like 0.1,1,10; got {text!r}") from e


def _ints(text: str) -> list[int]:
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 0,1,2; got {text!r}") from e


def _params(dataset: str, items: list[str] | None) -> dict[str, Any]:
    """--param key=value pairs, each typed by the dataset's declaration of that parameter (the validator judges
    the value when the config is built)."""
    from omib_core.data import get_info

    if not items:
        return {}
    info = get_info(dataset)
    return parse_assignments(items, info.params, info.owner)


def build_config(args: argparse.Namespace, **train_overrides: Any) -> RunConfig:
    """RunConfig from the shared train/sweep options (and optional --config JSON file)."""
    base = RunConfig()
    if getattr(args, "preset", None):
        from omib_core.presets import preset_config

        base = preset_config(args.preset)
    if getattr(args, "config", None):
        base = RunConfig.from_dict(json.loads(Path(args.config).read_text()))
    dataset = args.dataset or base.data.dataset
    data = DataConfig.from_dict(
        {**base.data.to_dict(), "dataset": dataset, "params": {**base.data.params, **_params(dataset, args.param)}}
    )
    t = {**base.train.to_dict(), **from_flags(args, TRAIN_FLAGS, "train_")}
    if getattr(args, "seed", None) is not None:
        t["seed"] = args.seed
        data = data.replace(seed=args.seed)
    if getattr(args, "fixed_r", False):
        t["dynamic_r"] = False
    t.update(train_overrides)
    bound = base.bound.replace(estimator=args.estimator) if getattr(args, "estimator", None) else base.bound
    model = ModelConfig.from_dict({**base.model.to_dict(), **from_flags(args, MODEL_FLAGS, "model_")})
    baseline = getattr(args, "baseline", None)
    if baseline == "no-bottleneck":
        model = model.replace(bottleneck=False)  # the same network without the bottleneck
    if baseline == "concat":
        model = model.replace(fusion="concat", bottleneck=False)
    return RunConfig(data=data, model=model, train=TrainConfig.from_dict(t), bound=bound)


class _Progress:
    """A tqdm bar over epochs on stderr (silent when --quiet)."""

    def __init__(self, total: int, quiet: bool, desc: str):
        self.bar = None
        if not quiet:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="epoch", file=sys.stderr, dynamic_ncols=True)

    def update(self, postfix: dict[str, str]) -> None:
        if self.bar is not None:
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def sweep_tag_id(root: Path) -> str:
    """The MLflow sweep id of a CLI sweep: its folder's name and a hash of its path (the same in every shard)."""
    return f"{root.name}-{hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:8]}"


def run_training(
    config: RunConfig, out_dir: Path, quiet: bool = False, tracking_tags: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Train one config, write ``out_dir/result.json`` and ``history.csv``, return the result dict."""
    from omib_core.data import load_dataset
    from omib_core.paths import cache_dir
    from omib_core.runs.recorder import Recorder
    from omib_core.train import EpochEvent, RunFailed, RunStarted, train

    t0 = time.perf_counter()
    dataset = load_dataset(config.data)  # a wrong dataset is refused before anything is written
    out_dir.mkdir(parents=True, exist_ok=True)
    recorder = Recorder(out_dir, config, tracking_tags=tracking_tags)
    progress = None
    try:  # train() estimates the bound (cached); without one, a hand-set beta still trains
        for event in train(config, dataset, out_dir=out_dir, cache_dir=cache_dir()):
            recorder.record(event)
            if isinstance(event, RunStarted):
                if not quiet and event.schedule:
                    from omib_core.train.schedule import Schedule

                    sched = Schedule.from_dict(event.schedule)
                    print(f"schedule: {sched.summary()}", file=sys.stderr)
                    for change in sched.changes:
                        print(f"  auto schedule: {change}", file=sys.stderr)
                progress = _Progress(event.total_epochs, quiet, config.data.dataset)
            elif isinstance(event, EpochEvent) and progress is not None:
                m = event.metrics
                shown = {k: f"{v:.3g}" for k, v in m.items() if k in ("loss", "val/accuracy", "val/mae", "val/auc")}
                r = [v for k, v in m.items() if k.startswith("r/")]
                if r:
                    shown["r"] = ",".join(f"{v:.2f}" for v in r)
                progress.update(shown)
            elif isinstance(event, RunFailed):
                print(f"error: {event.message}", file=sys.stderr)
    finally:
        if progress is not None:
            progress.close()
    train_wall = recorder.finished.wall_seconds if recorder.finished else None
    # wall_seconds: the whole command (data, bound estimate, warm-up, main stage)
    return recorder.finish(wall_seconds=time.perf_counter() - t0, train_wall_seconds=train_wall)


# commands


def cmd_datasets(args: argparse.Namespace) -> int:
    from omib_core.data import list_datasets

    infos = list_datasets()
    if args.json:
        print(json.dumps([{"id": i.id, "task": i.task, "title": i.title, "modalities": i.n_modalities} for i in infos]))
    else:
        for i in infos:
            print(f"{i.id:<24} {i.task:<15} {i.n_modalities} modalities  {i.title}")
    return 0


def cmd_bound(args: argparse.Namespace) -> int:
    from omib_core.bound import estimate_bound
    from omib_core.data import load_dataset
    from omib_core.device import resolve_device
    from omib_core.paths import cache_dir

    data = DataConfig(dataset=args.dataset, params=_params(args.dataset, args.param), seed=args.seed)
    bcfg = BoundConfig(estimator=args.estimator, seeds=args.seeds, steps=args.steps)
    ds = load_dataset(data)
    res = estimate_bound(ds, bcfg, device=resolve_device(args.device), cache_dir=None if args.no_cache else cache_dir())
    d = res.to_dict()
    for est in [*res.entropies.values(), res.mutual_information, res.h_joint]:
        if est is None:
            continue
        exact = f"  (exact {est.exact:.3f})" if est.exact is not None else ""
        flag = "" if est.converged else "  [not levelled off]"
        print(f"{est.name:<12} {est.value:10.3f} +- {est.std:.3f} nats{exact}{flag}")
    if res.M_u is None:
        print(f"M_u: none. {res.failure}")
    else:
        print(f"M_u = {res.M_u:.6g}   M_l = {res.M_l:.6g}   (estimator {res.estimator}, {res.seconds:.1f} s)")
    if getattr(res, "warning", None):
        print(f"note: {res.warning}")
    if args.json:
        Path(args.json).write_text(json.dumps(d, indent=2))
    return 0 if res.M_u is not None else 2


def run_linear(config: RunConfig, out_dir: Path) -> dict[str, Any]:
    """The strong simple baseline (``--baseline linear``): logistic regression / ridge on the standardised, concatenated
    views, regularisation chosen on validation; writes ``out_dir/result.json``."""
    from omib_core.baselines import linear_baseline
    from omib_core.data import load_dataset
    from omib_core.runs.recorder import write_json

    dataset = load_dataset(config.data)
    res = linear_baseline(dataset, seed=config.train.seed)
    if res is None:
        raise OmibError(f"There is no linear baseline for the {dataset.task} task; use --baseline no-bottleneck.")
    out_dir.mkdir(parents=True, exist_ok=True)
    result = {
        "status": "finished",
        "method": res.method,
        "dataset": config.data.dataset,
        "seed": config.train.seed,
        **res.to_dict(),
        "config": config.to_dict(),
    }
    write_json(out_dir / RESULT_FILE, result)
    return result


def cmd_train(args: argparse.Namespace) -> int:
    config = build_config(args)
    check_fits(config)
    out = Path(args.out or f"runs_out/{config.data.dataset}-seed{config.train.seed}")
    if args.baseline == "linear":
        result = run_linear(config, out)
        keys = ("dataset", "seed", "method", "param_name", "param", "val_metrics", "test_metrics", "seconds")
        print(json.dumps({k: result.get(k) for k in keys}, indent=2))
        print(f"wrote {out / RESULT_FILE}", file=sys.stderr)
        return 0
    from omib_core.runs.recorder import SHOWN_RESULT_KEYS

    result = run_training(config, out, quiet=args.quiet)
    print(json.dumps({k: result.get(k) for k in SHOWN_RESULT_KEYS}, indent=2))
    print(f"wrote {out / RESULT_FILE} and {out / HISTORY_FILE}", file=sys.stderr)
    return 0 if result.get("status") == "finished" else 1


def cmd_sweep(args: argparse.Namespace) -> int:
    from omib_core.sweeps import build_sweep, default_scales

    base = build_config(args)
    check_fits(base)
    scales = args.beta_scales if args.beta_scales is not None else default_scales(args.preset)
    # the grid is checked whole (and nothing written) before the first run trains
    planned = build_sweep(base, scales, args.seeds, max_runs=None, reseed_data=True)
    root = Path(args.out or f"runs_out/sweep-{args.dataset or args.preset or 'sim-i'}")
    if args.queue:
        rows = queue_sweep(planned, args.owner or env_text("USER") or "cli", quiet=args.quiet)
        root.mkdir(parents=True, exist_ok=True)
        (root / "sweep.json").write_text(json.dumps(rows, indent=2))
        print(f"wrote {root / 'sweep.json'}", file=sys.stderr)
        return 0 if all(r["status"] == "finished" for r in rows) else 1
    from omib_core.train.grid import grid_problem

    configs = [c for _, c in planned]
    problem = grid_problem(configs) if not args.separate else "--separate"
    if problem is None:
        results = run_sharded(configs, root, quiet=args.quiet)
    else:
        if not args.separate:
            print(f"training the runs one by one: {problem}", file=sys.stderr)
        results = []
        for config in configs:
            scale, seed = config.train.beta_scale, config.train.seed
            out = root / f"scale{scale:g}-seed{seed}"
            tags = {"omib.sweep_id": sweep_tag_id(root), "omib.name": out.name}
            results.append(run_training(config, out, quiet=args.quiet, tracking_tags=tags))
            print(json.dumps(_sweep_row(config, results[-1])), flush=True)
    rows = [_sweep_row(c, r) for c, r in zip(configs, results)]
    (root / "sweep.json").write_text(json.dumps(rows, indent=2))
    print(f"wrote {root / 'sweep.json'}", file=sys.stderr)
    return 0 if all(r.get("status") == "finished" for r in rows) else 1


def _sweep_row(config: RunConfig, res: dict[str, Any]) -> dict[str, Any]:
    from omib_core.runs.recorder import SWEEP_RESULT_KEYS

    return {
        "beta_scale": config.train.beta_scale,
        "seed": config.train.seed,
        **{k: res.get(k) for k in SWEEP_RESULT_KEYS},
    }


def run_sharded(configs: list[RunConfig], root: Path, quiet: bool = False) -> list[dict[str, Any]]:
    """The grid in one process, or split over one process per free CPU core (``omib_core.train.grid.shard_count``,
    ``OMIB_GRID_SHARDS`` caps it) when it is large; results in the configs' order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from omib_core.env import env_int
    from omib_core.runs.jobs import cpu_count
    from omib_core.train.grid import shard_count, shards_of

    on_gpu = any(c.train.device.startswith("cuda") for c in configs)
    k = 1 if on_gpu else shard_count(len(configs), cpu_count(), env_int("OMIB_GRID_SHARDS"))
    if k == 1:
        return run_grid_training(configs, root, quiet=quiet)
    parts = shards_of(configs, k)
    if not quiet:
        print(f"grid: {len(configs)} runs in {k} processes (one per core)", file=sys.stderr)
    ctx = multiprocessing.get_context("spawn")  # never fork a process that may hold CUDA or threads
    results: list[dict[str, Any] | None] = [None] * len(configs)
    with ProcessPoolExecutor(max_workers=k, mp_context=ctx) as pool:
        futures = [pool.submit(run_grid_training, [configs[i] for i in idx], root, True) for idx in parts]
        for idx, fut in zip(parts, futures):
            for i, res in zip(idx, fut.result()):
                results[i] = res
    return [r or {} for r in results]


def run_grid_training(configs: list[RunConfig], root: Path, quiet: bool = False) -> list[dict[str, Any]]:
    """Train ``configs`` as one grid in this process (``omib_core.train.grid``); each member writes its own
    ``result.json`` and ``history.csv`` under ``root/scale<S>-seed<N>``, as a separate run would. Returns the members'
    result dicts in order; a member's row is printed as soon as it ends."""
    from omib_core.paths import cache_dir
    from omib_core.runs.recorder import Recorder
    from omib_core.train import EpochEvent, RunFailed, RunFinished, RunStarted
    from omib_core.train.grid import train_grid

    t0 = time.perf_counter()
    dirs = [root / f"scale{c.train.beta_scale:g}-seed{c.train.seed}" for c in configs]
    recorders = []
    sweep_tag = {"omib.sweep_id": sweep_tag_id(root)}  # MLflow: one parent run for the sweep, shards included
    for d, c in zip(dirs, configs):
        d.mkdir(parents=True, exist_ok=True)
        recorders.append(Recorder(d, c, tracking_tags={**sweep_tag, "omib.name": d.name}))
    results: dict[int, dict[str, Any]] = {}
    progress = None
    last_epoch = -1
    try:
        for g, event in train_grid(configs, dirs, cache_dir=cache_dir()):
            recorders[g].record(event)
            if isinstance(event, RunStarted) and progress is None:
                if not quiet:
                    print(f"grid: {len(configs)} runs trained as one model on {event.device}", file=sys.stderr)
                progress = _Progress(event.total_epochs, quiet, f"grid of {len(configs)}")
            elif isinstance(event, EpochEvent) and event.epoch > last_epoch and progress is not None:
                last_epoch = event.epoch
                progress.update({"members": str(len(configs) - len(results))})
            elif isinstance(event, (RunFinished, RunFailed)):
                if isinstance(event, RunFailed):
                    print(f"error (run {g}): {event.message}", file=sys.stderr)
                rec = recorders[g]
                train_wall = rec.finished.wall_seconds if rec.finished else None
                results[g] = rec.finish(wall_seconds=time.perf_counter() - t0, train_wall_seconds=train_wall)
                print(json.dumps(_sweep_row(configs[g], results[g])), flush=True)
    finally:
        if progress is not None:
            progress.close()
    for g, rec in enumerate(recorders):  # a member with no end event (should not happen): say so in its result
        if g not in results:
            results[g] = rec.finish(status="failed", error="the grid ended without a result for this run")
    return [results[g] for g in range(len(configs))]


def queue_sweep(planned: list, owner: str, quiet: bool = False, jobs: Any = None) -> list[dict[str, Any]]:
    """``sweep --queue``: submit the grid to the run store, let the scheduler run it, wait, return the rows.

    The scheduler is the one that holds the store's lease (``python -m omib_core scheduler``, or a server's
    embedded one); when none does, this process embeds one for the sweep's duration.
    """
    from omib_core.runs.scheduler import shared_manager
    from omib_core.runs.sweep_queue import stop_sweep, submit_sweep, wait_sweep

    jobs = jobs or shared_manager()
    sweep_id, ids = submit_sweep(jobs, planned, owner)
    runner = "this process" if jobs.lease is not None else "the store's scheduler"
    print(
        f"queued sweep {sweep_id}: {len(ids)} runs in {jobs.store.path}, run by {runner} on {jobs.backend_name} "
        f"(the app shows it at /sweep?sweep={sweep_id})",
        file=sys.stderr,
        flush=True,
    )

    def show(row: dict[str, Any]) -> None:
        if not quiet:
            where = f" on {row['device']}" if row.get("device") else ""
            print(
                f"  {row['run_id']} beta/M_u {row.get('beta_scale')} seed {row.get('seed')}: {row['status']}{where}",
                file=sys.stderr,
                flush=True,
            )

    try:
        return wait_sweep(jobs, ids, on_change=show)
    except KeyboardInterrupt:
        print(f"stopping the sweep's runs ({stop_sweep(jobs, ids, owner)} asked to stop)", file=sys.stderr)
        raise


def cmd_hash_password(args: argparse.Namespace) -> int:
    """Print a ``[users]`` line for secrets.toml: the password from the terminal (twice) or one line of stdin."""
    import getpass

    from omib_core.identity import MAX_PASSWORD_CHARS, hash_password, users_line

    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {args.name or 'the new user'}: ")
        if getpass.getpass("Again: ") != password:
            raise OmibError("The two passwords differ; run the command again.")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8 or len(password) > MAX_PASSWORD_CHARS:
        raise OmibError(f"The password has {len(password)} characters; choose one of 8 to {MAX_PASSWORD_CHARS}.")
    encoded = hash_password(password)
    print(users_line(args.name, encoded) if args.name else encoded)
    if args.name:
        print("paste this line under [users] in .streamlit/secrets.toml (or the OMIB_USERS_FILE file)", file=sys.stderr)
    return 0


def cmd_export_mlflow(args: argparse.Namespace) -> int:
    """Log runs of the store ($OMIB_DATA_DIR) to MLflow (``MLFLOW_TRACKING_URI``); exit 1 when one failed."""
    from omib_core.paths import db_path
    from omib_core.runs.store import RunStore
    from omib_core.runs.tracking import export_runs

    store = RunStore(db_path())
    ids = [r["id"] for r in store.list_runs() if r.get("kind", "train") == "train"] if args.all else list(args.runs)
    if not ids:
        raise ConfigError("Name the runs to export (their ids, from the Runs page), or pass --all.")
    failed = 0
    for entry in export_runs(store, ids):
        info = entry["mlflow"]
        if info.get("error"):
            failed += 1
            print(f"{entry['run']}: {info['error']}", file=sys.stderr)
        else:
            print(f"{entry['run']}: {info.get('link') or info.get('run_id')}")
    return 1 if failed else 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    """The scheduler as its own process (``omib_core.runs.scheduler``): refuses when another one holds the lease."""
    import logging

    from omib_core.runs.scheduler import run_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_scheduler(interval=args.interval)


def _train_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default=None, help="dataset id (see `datasets`) or a folder path (default sim-i)")
    p.add_argument(
        "--preset",
        choices=("teaching",),
        help="start from a named preset: teaching = SIM-TEACH, where beta and r visibly matter",
    )
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="dataset parameter, repeatable")
    p.add_argument("--config", help="a RunConfig JSON file to start from")
    g = p.add_mutually_exclusive_group()  # β by hand or as a multiple of M_u, not both
    add_flags(g, TRAIN_FLAGS, ("beta_scale", "beta"), "train_")
    add_flags(p, TRAIN_FLAGS, [n for n in TRAIN_FLAGS if n not in ("beta_scale", "beta")], "train_")
    add_flags(p, MODEL_FLAGS, MODEL_FLAGS, "model_")
    p.add_argument("--estimator", choices=ESTIMATORS, help="estimator for M_u (default gaussian)")
    p.add_argument("--fixed-r", action="store_true", help="baseline: r fixed at 1 (= --no-dynamic-r)")
    p.add_argument("--out", help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def parameters_markdown() -> str:
    """The docs table of every declared parameter (docs/parameters.md is this text; a test keeps it current)."""
    from omib_core.data import list_datasets

    parts = [
        "# Parameters",
        "",
        "Generated from the declarations (`omib_core/config.py`, each dataset's `DatasetInfo.params`) by "
        "`python -m omib_core parameters > docs/parameters.md`; a test fails when this file is not current. The "
        "Data and Train pages, the CLI flags and `?cfg=` links all take their ranges, choices and help from the same "
        "declarations. *takes* is what the validator accepts; the controls may offer a narrower range (a link's "
        "value outside it is fitted to the control, with a note).",
    ]
    for title, cls, prefix in (
        ("Training (`TrainConfig`, CLI `--<name>`)", TrainConfig, "train."),
        ("Model (`ModelConfig`, CLI `--<name>`)", ModelConfig, "model."),
        ("Data split (`DataConfig`)", DataConfig, "data."),
        ("Bound estimator (`BoundConfig`)", BoundConfig, "bound."),
    ):
        parts += ["", f"## {title}", "", markdown_table(schema(cls), prefix)]
    parts += ["", "## Dataset parameters (`data.params`, CLI `--param name=value`)"]
    for info in list_datasets():
        if info.params:
            parts += ["", f"### {info.title} (`{info.id}`)", "", markdown_table(info.params, "")]
    return "\n".join(parts) + "\n"


def cmd_parameters(args: argparse.Namespace) -> int:
    print(parameters_markdown(), end="")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m omib_core", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("datasets", help="list dataset ids")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("bound", help="estimate H, I and the beta bound M_u")
    p.add_argument("--dataset", default="sim-i")
    p.add_argument("--param", action="append", metavar="KEY=VALUE")
    p.add_argument("--estimator", choices=ESTIMATORS, default="gaussian")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", type=int, default=3, help="independent estimates for the spread")
    p.add_argument("--steps", type=int, default=1000, help="step budget of neural estimators")
    p.add_argument("--device", default="auto")
    p.add_argument("--no-cache", action="store_true")
    p.add_argument("--json", help="write the full result to this file")
    p.set_defaults(func=cmd_bound)

    p = sub.add_parser("train", help="train one OMIB model (or a baseline)")
    _train_options(p)
    p.add_argument(
        "--baseline",
        choices=("linear", "no-bottleneck", "concat"),
        help="train a baseline instead: linear = logistic regression / ridge on the standardised views "
        "(regularisation chosen on validation); no-bottleneck = the same network without the VAE "
        "bottleneck; concat = concatenation fusion without the bottleneck",
    )
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("sweep", help="grid of beta/M_u x seeds")
    _train_options(p)
    p.add_argument(
        "--beta-scales",
        type=_floats,
        default=None,
        help="beta / M_u values (default 0.01,0.1,1,10; with --preset teaching 0.1,1,10,30,100,300)",
    )
    p.add_argument("--seeds", type=_ints, default=[0, 1, 2])
    p.add_argument(
        "--queue",
        action="store_true",
        help="queue the runs in the run store of $OMIB_DATA_DIR instead of training them one by one here: the "
        "scheduler runs them side by side (local workers, or a Ray cluster with OMIB_RAY_ADDRESS); waits for them, "
        "then writes sweep.json. Ctrl+C stops the sweep's runs",
    )
    p.add_argument("--owner", default=None, help="owner of the queued runs (default: $USER); with --queue")
    p.add_argument(
        "--separate",
        action="store_true",
        help="train the runs one after another instead of as one grid (one vectorised model, the default)",
    )
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("scheduler", help="run the queue of the run store ($OMIB_DATA_DIR) as its own process")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between scheduler passes")
    p.set_defaults(func=cmd_scheduler)

    p = sub.add_parser("export-mlflow", help="log runs of the store to MLflow (MLFLOW_TRACKING_URI)")
    p.add_argument("runs", nargs="*", metavar="RUN_ID", help="run ids (the Runs page shows them)")
    p.add_argument("--all", action="store_true", help="every training run in the store")
    p.set_defaults(func=cmd_export_mlflow)

    p = sub.add_parser("parameters", help="print the table of every declared parameter (docs/parameters.md)")
    p.set_defaults(func=cmd_parameters)

    p = sub.add_parser("hash-password", help="hash a password for the [users] table of secrets.toml (scrypt)")
    p.add_argument("name", nargs="?", help='the user\'s name: prints the whole line `name = "scrypt$..."`')
    p.set_defaults(func=cmd_hash_password)
    return parser


def check_fits(config: RunConfig, kind: str = "train") -> None:
    """Refuse, before any data are drawn, a run whose estimated peak memory is over this machine's limit
    (``runs.budget.memory_limit``: 80 % of the memory, or ``OMIB_MAX_RUN_MEMORY_MB``), with the sentence naming the
    parameter that dominates and a value that fits (ConfigError). Work is not limited on the command line."""
    from omib_core.runs.budget import check_budget

    check_budget(config, kind, max_work=float("inf"))


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except OmibError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # out of memory in any of its forms: a sentence, never a traceback
        from omib_core.runs.worker import is_out_of_memory

        if not is_out_of_memory(e):
            raise
        detail = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        print(
            f"error: this run does not fit in memory ({detail}). Lower n_samples or the view sizes (--param), the "
            "batch or the model, or use a machine with more memory.",
            file=sys.stderr,
        )
        return 2
