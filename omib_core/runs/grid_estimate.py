"""How long a grid job takes on this server, measured before it is queued (the Sweep page and Home show it).

``estimate_seconds(configs)`` splits the grid as the scheduler would (``omib_core.train.grid.shard_count``), times a
few optimiser steps and one evaluation pass of one shard's stacked network on random inputs of the data's shape, and
scales them by the schedule.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from omib_core.config import RunConfig
from omib_core.model import stacked
from omib_core.runs.budget import data_shape
from omib_core.runs.jobs import cpu_count
from omib_core.train.grid import (
    EVAL_EVERY,
    EVAL_ROWS,
    SMALL_GRID,
    WARMUP_PREFIXES,
    _task_loss,
    grid_problem,
    shard_count,
)
from omib_core.train.stacked_optim import StackedAdamW, clip_grad_norm_

_STEP_COST: dict[str, tuple[float, float]] = {}
DRAW_SECONDS = 4.0  # a SIM draw with its ground truth and linear reference on the 2-core server (uncached)
START_SECONDS = 1.5  # a warm worker's start, the bound from its cache, the first evaluation
# Per member and epoch, the work around the maths: metrics on the host, events, store rows, r, selection, snapshots.
# Fitted on this 2-core server from the first of two bench/demo_latency.py runs: the Home demo, the short and the full
# sweep took 18.6, 24.0 and 58.4 s against 14.0, 15.4 and 41.1 s of timed steps and evaluations: 10-14 ms each (the
# second run, in bench/results/demo_latency.md, took 15.8, 19.9 and 48.3 s).
MEMBER_EPOCH_SECONDS = 0.012


def _measure(
    config: RunConfig, dims: tuple[int, ...], out: int, G: int, batch: int, eval_rows: int
) -> tuple[float, float]:
    """Seconds of one optimiser step and of one evaluation pass over ``eval_rows`` rows for a grid of ``G`` copies of
    this network, timed here on random inputs (cached per shape in this process)."""
    key = json.dumps([config.model.to_dict(), dims, out, G, batch, eval_rows, torch.get_num_threads()], default=str)
    if key in _STEP_COST:
        return _STEP_COST[key]
    from omib_core.model import OMIB

    gen = torch.Generator().manual_seed(0)
    names = [f"v{i + 1}" for i in range(len(dims))]
    nets = [OMIB(dict(zip(names, dims)), out, config.model) for _ in range(G)]
    warm = {n for n, _ in nets[0].named_parameters() if n.startswith(WARMUP_PREFIXES)}
    sp = stacked.StackedParams(nets, first=warm)
    opt = StackedAdamW(sp, lr=1e-3, weight_decay=0.0)
    xb = {m: torch.randn(G, batch, d, generator=gen) for m, d in zip(names, dims)}
    yb = torch.randint(0, max(out, 2), (G, batch), generator=gen) % max(out, 1)
    w = torch.ones(G, batch)
    mask = torch.ones(G, dtype=torch.bool)
    L = config.model.latent_dim

    def step() -> None:
        noise = {m: torch.randn(G, batch, L, generator=gen) for m in names}
        o = stacked.forward(nets[0], sp.params, xb, "main", training=True, noise=noise, weights=w)
        loss = _task_loss("classification" if out > 1 else "regression", o["y_hat"], yb if out > 1 else yb.float(), w)
        sp.zero_grad()
        (loss.sum() + sum(o["kl"][m].sum() for m in names)).backward()
        clip_grad_norm_(sp.grad, 5.0)
        opt.step(mask, warmup=False)

    for _ in range(2):
        step()
    t = time.perf_counter()
    for _ in range(5):
        step()
    t_step = (time.perf_counter() - t) / 5
    rows = min(eval_rows, max(256, EVAL_ROWS // G))
    xe = {m: torch.randn(G, rows, d, generator=gen) for m, d in zip(names, dims)}
    with torch.no_grad():
        t = time.perf_counter()
        stacked.forward(nets[0], sp.params, xe, "main", training=False)
        t_eval = (time.perf_counter() - t) * eval_rows / rows
    _STEP_COST[key] = (t_step, t_eval)
    return _STEP_COST[key]


def estimate_seconds(configs: Sequence[RunConfig], cache_dir: str | Path | None = None) -> dict[str, Any]:
    """How long these runs take as one grid job on this server, measured here before they are queued.

    The grid is split as the scheduler splits it (``shard_count`` over this machine's cores); a few optimiser steps
    and one evaluation pass of one shard's stacked network are timed on random inputs of the data's shape (about a
    second, once per shape), then scaled by the schedule's steps and by the evaluations it makes (validation rows every
    epoch, train and test rows every ``EVAL_EVERY`` main epochs in a grid of more than ``SMALL_GRID``); uncached data
    draws add ``DRAW_SECONDS`` each. Returns ``{"seconds", "basis", "steps", "epochs", "step_ms", "members"}``. Configs
    that cannot share a grid are estimated as separate runs, one after another.
    """
    from omib_core.data.draw_cache import cacheable, draw_key
    from omib_core.train.schedule import resolve_schedule

    configs = list(configs)
    c = configs[0]
    shape = data_shape(c)
    sched = resolve_schedule(c.train, max(1, shape.n_fit))
    steps = sched.warmup_steps + sched.main_steps
    epochs = sched.total_epochs
    together = grid_problem(configs) is None
    on_gpu = str(c.train.device).startswith("cuda")
    k = shard_count(len(configs), cpu_count()) if together and not on_gpu else 1
    G = -(-len(configs) // k) if together else 1  # members of the largest shard
    t_step, t_eval = _measure(c, shape.dims, shape.out, G, sched.batch_size, shape.n)
    every = 1 if G <= SMALL_GRID else EVAL_EVERY
    val = c.data.val_fraction
    evals = sched.warmup_epochs * val + sched.epochs * (val + (1 - val) / every)  # in full passes over all rows
    per_job = steps * t_step + evals * t_eval + epochs * G * MEMBER_EPOCH_SECONDS
    jobs = 1 if together else len(configs)
    draws = {json.dumps(x.data.to_dict(), sort_keys=True, default=str): x.data for x in configs}
    uncached = sum(
        1
        for d in draws.values()
        if not (
            cache_dir is not None and cacheable(d) and (Path(cache_dir) / "datasets" / f"{draw_key(d)}.npz").exists()
        )
    )
    seconds = jobs * (per_job + START_SECONDS) + uncached * DRAW_SECONDS / k
    how = (
        (f"one grid of {len(configs)}" + (f" in {k} processes" if k > 1 else ""))
        if together
        else (f"{len(configs)} runs one after another")
    )
    basis = (
        f"{how}: {steps:,} optimiser steps at {t_step * 1e3:.0f} ms and {evals:.0f} evaluation passes at "
        f"{t_eval * 1e3:.0f} ms, timed on this server just now; {uncached} data draw(s) to make"
    )
    return {"seconds": seconds, "basis": basis, "steps": steps, "epochs": epochs, "step_ms": t_step * 1e3, "members": G}
