"""A grid of runs trained as one vectorised model: ``train_grid(configs) -> Iterator[(member, Event)]``.

A beta x seed grid (a sweep, the Home demo's three regimes) is G configs that differ only in beta and seeds. Each
config stays a run of its own: its own data draw and initialisation (its seed), its own beta, r, early stopping,
best-epoch selection, snapshots and checkpoint, and the same events ``train`` yields, tagged with the member index.
What they share is the work:

- the G networks train in lockstep as one stacked model (``omib_core.model.stacked``: hand-batched layers, one op
  per layer for the whole grid) with one stacked AdamW whose step counts, gradient clipping and updates stay per
  member (``omib_core.train.stacked_optim``);
- one batched forward pass evaluates every member at the end of each epoch;
- a data draw (one ``DataConfig``), its standardisation, its rows on the device, its bound and its linear
  reference are computed once and shared by the members that use it.

A member that stops (early stopping, a non-finite loss, ``stop``) is frozen while the others go on; ``pause`` freezes
one until ``resume`` (it rejoins at the grid's current epoch: the epochs it sat out are skipped). The e_i / eps_i
noise comes from one generator for the whole grid, so a member's numbers depend on the grid it trains in, and match
a separate run of the same config statistically, not bit for bit (bench/results/grid_equivalence.md).

What a grid cannot hold (``grid_problem``): members whose configs differ in more than beta and seeds, the anomaly
task (its Deep SVDD centres), ``r_update="batch"``. Callers then train the configs one after another.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from omib_core.bound.result import BoundResult
from omib_core.config import RunConfig
from omib_core.data.dataset import MultimodalDataset
from omib_core.errors import ConfigError
from omib_core.model import stacked
from omib_core.train.events import EpochEvent, Event, RunFailed, StepEvent
from omib_core.train.loop import SPLITS, _SetupFailed, _Trainer
from omib_core.train.losses import row_loss
from omib_core.train.stacked_optim import StackedAdamW, clip_grad_norm_

EVAL_ROWS = 65536  # rows x members per batched evaluation chunk
# Train and test rows are evaluated every EVAL_EVERY main epochs in grids of more than SMALL_GRID members (and at the
# last epoch); validation rows every epoch (selection, early stopping and r need them). Evaluation is batched over
# rows already, so stacking members saves nothing there: on the teaching preset it was over half a 12-member grid's
# time. The best-validation epoch's test metrics are computed at the end from its kept weights, so results are exact.
EVAL_EVERY = 5
SMALL_GRID = 4
WARMUP_PREFIXES = ("encoders.", "trb.")  # OMIB.warmup_parameters: Enc_i and Dec_i
FREE_KEYS = {"train": ("seed", "beta", "beta_scale"), "data": ("seed",)}  # what may differ between members


# helpers


def _shape_key(config: RunConfig) -> str:
    d = copy.deepcopy(config.to_dict())
    for section, keys in FREE_KEYS.items():
        for k in keys:
            d[section].pop(k, None)
    return json.dumps(d, sort_keys=True, default=str)


def grid_problem(configs: Sequence[RunConfig]) -> str | None:
    """Why these configs cannot train as one grid (a sentence), or None when they can.

    Members may differ only in ``train.seed``, ``train.beta``, ``train.beta_scale`` and ``data.seed``; the anomaly
    task and ``r_update="batch"`` are trained run by run. (Data-dependent checks, such as equal row counts, happen
    when the grid starts.)
    """
    if not configs:
        return "a grid needs at least one config"
    keys = {_shape_key(c) for c in configs}
    if len(keys) > 1:
        return "the configs differ in more than beta and the seeds"
    c = configs[0]
    if c.train.dynamic_r and c.train.r_update == "batch":
        return "r_update='batch' recomputes r at every step, member by member"
    if c.data.dataset in ("sim-anomaly",):
        return "the anomaly task (Deep SVDD) keeps per-run centres"
    return None


def _data_key(config: RunConfig) -> str:
    return json.dumps(config.data.to_dict(), sort_keys=True, default=str)


def _stack(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Stack along a new dim 0, zero-padding dim 0 of each to the longest (data draws of one grid may differ by a
    row or two); one tensor becomes a view (no copy of a dataset every member shares)."""
    if len(tensors) == 1:
        return tensors[0].unsqueeze(0)
    n = max(t.shape[0] for t in tensors)
    return torch.stack([F.pad(t, (0, 0) * (t.dim() - 1) + (0, n - t.shape[0])) for t in tensors])


def _task_loss(task: str, out: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """L_task per member, averaged over its own rows: ``(G, B, K)`` outputs, ``(G, B)`` targets and row weights."""
    G, B = y.shape
    per_row = row_loss(task, out.reshape(G * B, -1), y.reshape(-1)).view(G, B)
    return stacked.batch_mean(per_row, w)


class _Member(_Trainer):
    """One run of the grid: a ``_Trainer`` whose data, bound, reference and weights live in the grid."""

    def __init__(self, grid: GridTrainer, g: int, config: RunConfig, dataset, out_dir, bound, cache_dir):
        self.grid, self.g, self.key = grid, g, _data_key(config)
        super().__init__(config, dataset, out_dir, bound, cache_dir)

    def _standardized(self) -> MultimodalDataset:
        return self.grid.shared(("std", self.key), self.raw.standardized)

    def _device_splits(self) -> dict[str, tuple[dict, torch.Tensor]]:
        return self.grid.shared(("splits", self.key), super()._device_splits)

    def _optimizer(self) -> None:
        return None  # the grid's StackedAdamW updates every member

    def _reference_scalars(self) -> dict[str, float]:
        return self.grid.shared(("reference", self.key), super()._reference_scalars)

    def _state_copy(self) -> dict[str, torch.Tensor]:
        return self.grid.sp.member_state(self.g)

    def _snapshot(self):
        self.sync()  # the snapshot embeds with this member's own network
        return super()._snapshot()

    def _info_inputs(self):
        return self.grid.shared(("info", self.key), super()._info_inputs)

    def _information(self) -> dict[str, float]:
        if self.info_x is None:
            return {}
        self.sync()  # measured with this member's own network
        return super()._information()

    def sync(self) -> None:
        """Copy this member's slice of the stacked weights into its own ``OMIB`` (for snapshots and the checkpoint)."""
        self.model.load_state_dict(self._state_copy())


# main class


class GridTrainer:
    """State of one grid; ``run()`` yields ``(member index, event)``. Control: ``pause``, ``resume``, ``stop``.

    Args:
        configs: one ``RunConfig`` per member (``grid_problem`` must be None).
        out_dirs: one folder per member (checkpoint, snapshots), or None.
        datasets: ``{data-config key: dataset}`` already loaded (tests); the others are loaded once per key.
        cache_dir: the bound estimator's cache.
        eval_every: main epochs between evaluations of the train and test rows (validation rows: every epoch);
            None = 1 for a grid of up to ``SMALL_GRID`` members, else ``EVAL_EVERY``.
    """

    def __init__(
        self,
        configs: Sequence[RunConfig],
        out_dirs: Sequence[str | Path | None] | None = None,
        *,
        cache_dir: str | Path | None = None,
        dataset: MultimodalDataset | None = None,
        eval_every: int | None = None,
    ) -> None:
        problem = grid_problem(configs)
        if problem is not None:
            raise ConfigError(f"These runs cannot train as one grid: {problem}. Train them one by one.")
        self.t_start = time.perf_counter()
        self.configs = list(configs)
        self.G = len(configs)
        self._shared: dict[tuple, Any] = {}
        self.members: list[_Member | None] = []
        self.setup_failures: dict[int, str] = {}
        self.done: set[int] = set()
        self.frozen: set[int] = set()
        self.per_split: dict[int, dict] = {}
        self.steps = 0  # optimiser steps of the grid (a member's own count stops while it is frozen)
        last_only = any(c.train.select != "best_val" for c in configs)  # no kept weights to evaluate at the end
        self.eval_every = eval_every or (1 if self.G <= SMALL_GRID or last_only else EVAL_EVERY)
        out_dirs = list(out_dirs) if out_dirs is not None else [None] * self.G
        bounds: dict[str, BoundResult | None] = {}
        for g, cfg in enumerate(self.configs):
            key = _data_key(cfg)
            try:
                raw = dataset if dataset is not None else self.shared(("raw", key), lambda c=cfg: _load(c, cache_dir))
                m = _Member(self, g, cfg, raw, out_dirs[g], bounds.get(key), cache_dir)
                m.own_draw = dataset is None
            except _SetupFailed as e:
                self.members.append(None)
                self.setup_failures[g] = str(e)
                self.done.add(g)
                continue
            bounds.setdefault(key, m.bound)
            self.members.append(m)
        live = [m for m in self.members if m is not None]
        if not live:
            self.template = None
            return
        self._check_lockstep(live)
        first = self.template = live[0]
        self.task, self.mods, self.device = first.task, first.mods, first.device
        self.schedule = first.schedule
        # the stacked weights: member g's own seeded initialisation at index g (a failed member gets a copy of the
        # first's, frozen for the whole run)
        warm = {n for n, _ in first.model.named_parameters() if n.startswith(WARMUP_PREFIXES)}
        self.sp = stacked.StackedParams([(m or first).model for m in self.members], first=warm)
        self.params = self.sp.params
        self.opt = StackedAdamW(self.sp, lr=first.config.train.lr, weight_decay=first.config.train.weight_decay)
        # data: one tensor per distinct data draw, members index into it
        keys = list(dict.fromkeys((m or first).key for m in self.members))
        self.dmap = torch.tensor([keys.index((m or first).key) for m in self.members], device=self.device)
        by_key = {m.key: m for m in live}
        self.fit_x = {mod: _stack([by_key[k].fit_x[mod] for k in keys]) for mod in self.mods}  # (K, n, d)
        self.fit_y = _stack([by_key[k].fit_y for k in keys])  # (K, n)
        self.eval_x = {
            s: {mod: _stack([by_key[k].split_data[s][0][mod] for k in keys]) for mod in self.mods} for s in SPLITS
        }
        gen_seed = int(first.config.train.seed) * 1_000_003 + 2
        self.noise_gen = torch.Generator(device=self.device).manual_seed(gen_seed)

    # --- setup ----------------------------------------------------------------------------------------

    def shared(self, key: tuple, make: Callable[[], Any]) -> Any:
        """Compute ``make()`` once per ``key`` for the whole grid."""
        if key not in self._shared:
            self._shared[key] = make()
        return self._shared[key]

    def _check_lockstep(self, live: list[_Member]) -> None:
        """Refuse members whose data differ in shape or task; give every member the grid's epochs and steps.

        Data draws of different seeds may differ by a row or two after the split (999 or 1,000 training rows), which
        the auto schedule turns into 11 x 99 or 10 x 100 steps per epoch. The grid takes the schedule of the member
        with the fewest rows and gives each other member a batch that covers its own rows in as many steps
        (``changes`` says so); a separate run would differ by that one row per batch.
        """
        first = live[0]
        for m in live[1:]:
            if m.ds.input_dims != first.ds.input_dims or m.task != first.task:
                raise ConfigError("These runs cannot train as one grid: their data have different shapes or tasks.")
        if first.task == "anomaly":
            raise ConfigError(
                "These runs cannot train as one grid: the anomaly task (Deep SVDD) keeps per-run centres."
            )
        ref = min(live, key=lambda m: m.n_fit).schedule
        for m in live:
            if m.schedule == ref:
                continue
            batch = min(m.n_fit, max(ref.batch_size, math.ceil(m.n_fit / ref.steps_per_epoch)))
            note = f"trained in a grid: {ref.steps_per_epoch} steps per epoch of batch {batch} like its other members"
            m.schedule = replace(ref, n_fit=m.n_fit, batch_size=batch, changes=(*ref.changes, note))
            m.batch_size, m.steps_per_epoch = batch, ref.steps_per_epoch

    # --- control --------------------------------------------------------------------------------------

    def pause(self, g: int) -> None:
        self.frozen.add(g)

    def resume(self, g: int) -> None:
        self.frozen.discard(g)

    def stop(self, g: int) -> None:
        """End member ``g`` now (no result); the others go on."""
        self.done.add(g)

    @property
    def waiting(self) -> bool:
        """Every member still going is paused: the grid must not advance (the caller waits for a resume)."""
        going = [g for g in range(self.G) if g not in self.done]
        return bool(going) and all(g in self.frozen for g in going)

    def _active(self) -> list[int]:
        return [g for g in range(self.G) if g not in self.done and g not in self.frozen]

    # --- one step ---------------------------------------------------------------------------------------

    def _vectors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """beta ``(G,)`` and r ``(G, M)`` of every member (float32)."""
        first = self.template
        beta = torch.stack([(m or first)._beta_tensor().float().reshape(()) for m in self.members])
        r = torch.stack([(m or first).r.float() for m in self.members])
        return beta, r

    def _step(
        self, stage: str, xb: dict, yb: torch.Tensor, w: torch.Tensor, mask: torch.Tensor, beta, r
    ) -> torch.Tensor:
        """One optimiser step of every member where ``mask``; returns the ``(G, K)`` metric vectors."""
        c = self.template.config
        B = yb.shape[1]
        if stage == "warmup":
            noise = {
                m: torch.randn(self.G, B, c.model.xi_dim, generator=self.noise_gen, device=self.device)
                for m in self.mods
            }
        else:
            noise = {
                m: torch.randn(self.G, B, c.model.latent_dim, generator=self.noise_gen, device=self.device)
                for m in self.mods
            }
        out = stacked.forward(self.template.model, self.params, xb, stage, training=True, noise=noise, weights=w)
        trb = torch.stack([_task_loss(self.task, out["y_hat_i"][m], yb, w) for m in self.mods], 1)  # (G, M)
        if stage == "warmup":
            loss = trb.sum(1)  # sum_i L_task(Dec_i([z_i ; e_i]), y)
            vec = torch.cat([loss[:, None], trb], 1)
        else:
            l_task = _task_loss(self.task, out["y_hat"], yb, w)  # L_task(dDec(xi), y), (G,)
            kl = torch.stack([out["kl"][m] for m in self.mods], 1)  # (G, M)
            beta_kl = beta[:, None] * r * kl  # beta * (KL_1 + sum_j r_j KL_j), r_1 = 1
            loss = l_task + beta_kl.sum(1) + c.train.trb_weight * trb.sum(1)
            vec = torch.cat([loss[:, None], l_task[:, None], kl, trb, beta_kl, r, beta[:, None]], 1)
        self.sp.zero_grad()
        torch.where(mask, loss, torch.zeros_like(loss)).sum().backward()  # members' weights are disjoint
        if c.train.max_grad_norm is not None:
            clip_grad_norm_(self.sp.grad, c.train.max_grad_norm)
        self.opt.step(mask, warmup=stage == "warmup")
        return vec.detach()

    def _train_epoch(self, stage: str, active: list[int]) -> Iterator[tuple[int, Event]]:
        """Optimise the active members over one epoch; yields their StepEvents (and RunFailed of a diverged one).

        Sets ``self.means`` to ``{member: epoch means}`` of the members that got through the epoch."""
        first = self.template
        names = first._metric_names(stage)
        log_every, spe = first.config.train.log_every, first.steps_per_epoch
        mask = torch.zeros(self.G, dtype=torch.bool, device=self.device)
        mask[active] = True
        beta, r = self._vectors()
        idx_all, w_all = self._batches(spe)  # (G, spe, B)
        rows = self.dmap[:, None]
        ep_sum = win_sum = None
        win_n, t_win, t0 = 0, time.perf_counter(), time.perf_counter()
        alive = list(active)
        for b in range(spe):
            for g in [g for g in alive if g in self.frozen or g in self.done]:  # paused or stopped between steps
                alive.remove(g)
                mask[g] = False
            if not alive:
                break
            idx, w = idx_all[:, b], w_all[:, b]  # (G, B)
            xb = {m: x[rows, idx] for m, x in self.fit_x.items()}  # (G, B, d)
            vec = self._step(stage, xb, self.fit_y[rows, idx], w, mask, beta, r)
            for g in alive:
                self.members[g].step += 1
            ep_sum = vec if ep_sum is None else ep_sum + vec
            win_sum = vec if win_sum is None else win_sum + vec
            win_n += 1
            self.steps += 1
            if self.steps % log_every == 0:
                values = (win_sum / win_n).tolist()  # the only host sync between epoch ends
                now = time.perf_counter()
                for g in list(alive):
                    m = self.members[g]
                    failed = m._nonfinite(stage, names, values[g])
                    if failed is not None:
                        alive.remove(g)
                        mask[g] = False
                        self.done.add(g)
                        yield g, failed
                        continue
                    metrics = dict(zip(names, values[g]))
                    metrics["samples_per_second"] = win_n * m.batch_size / max(now - t_win, 1e-9)
                    yield g, StepEvent(stage=stage, epoch=m.epoch, step=m.step, metrics=m._with_bound(metrics))
                win_sum, win_n, t_win = None, 0, time.perf_counter()
        seconds = time.perf_counter() - t0
        self.means = {}
        if ep_sum is None:  # every member was paused or stopped before the first step
            return
        values = (ep_sum / spe).tolist()
        for g in alive:
            m = self.members[g]
            failed = m._nonfinite(stage, names, values[g])
            if failed is not None:
                self.done.add(g)
                yield g, failed
                continue
            m.train_seconds += seconds
            m.samples_seen += m.n_fit
            means = dict(zip(names, values[g]))
            means["samples_per_second"] = m.n_fit / max(seconds, 1e-9)  # this run's rows (the grid did G x as many)
            self.means[g] = means

    def _batches(self, spe: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Each member's batches of one epoch, from its own seeded permutation of its own rows, padded to one shape:
        row indices and weights ``(G, spe, B)`` (weight 0 = padding, e.g. the short last batch of an epoch)."""
        first = self.template
        B = max((m or first).batch_size for m in self.members)
        idx = torch.zeros(self.G, spe, B, dtype=torch.long, device=self.device)
        w = torch.zeros(self.G, spe, B, device=self.device)
        for g, m in enumerate(self.members):
            m = m or first
            perm = torch.randperm(m.n_fit, generator=m.batch_gen, device=self.device)
            for b in range(spe):
                part = perm[b * m.batch_size : (b + 1) * m.batch_size]
                idx[g, b, : part.shape[0]] = part
                w[g, b, : part.shape[0]] = 1.0
        return idx, w

    # --- evaluation -------------------------------------------------------------------------------------

    @torch.no_grad()
    def _outputs(self, stage: str, members: list[int], full: bool = True) -> dict[int, dict[str, dict]]:
        """Deterministic outputs of every evaluated split, batched over all members: ``{g: {split: {key: (N, K)}}}``;
        ``full`` False: the validation rows only."""
        splits = [s for s in self.template.eval_splits(stage) if full or s == "val"]
        res: dict[int, dict[str, dict]] = {g: {} for g in members}
        for s in splits:
            xs_all = self.eval_x[s]
            n = next(iter(xs_all.values())).shape[1]
            chunk = max(256, EVAL_ROWS // self.G)
            parts: dict[str, list] = {}
            for a in range(0, max(n, 1), chunk):
                xs = {m: x[self.dmap, a : a + chunk] for m, x in xs_all.items()}  # (G, b, d)
                out = stacked.forward(
                    self.template.model, self.params, xs, stage, training=False, noise=None, heads=s == "val"
                )  # the TRB heads are read on the validation rows only (their metrics and r)
                if "y_hat" in out:
                    parts.setdefault("y_hat", []).append(out["y_hat"])
                for m, t in out["y_hat_i"].items():
                    parts.setdefault(f"y_hat_i/{m}", []).append(t)
            cat = {k: torch.cat(v, dim=1) for k, v in parts.items()}
            for g in members:
                own = self.members[g].split_data[s][1].shape[0]  # its own rows (the stack is padded)
                res[g][s] = {k: v[g, :own] for k, v in cat.items()}
        return res

    # --- the run ----------------------------------------------------------------------------------------

    def run(self) -> Iterator[tuple[int, Event]]:
        for g, message in self.setup_failures.items():
            yield g, RunFailed(epoch=0, step=0, message=message)
        if self.template is None:
            return
        for g, m in enumerate(self.members):
            if m is not None:
                yield g, m._started()
        sched = self.schedule
        total = sched.total_epochs
        for e in range(total):
            active = self._active()
            while not active and self.waiting:  # every member left is paused: the caller must resume one first
                yield -1, None  # type: ignore[misc]
                active = self._active()
            if not active:
                break
            stage = "warmup" if e < sched.warmup_epochs else "main"
            main_epoch = e - sched.warmup_epochs
            for g in active:
                self.members[g].epoch = e
            yield from self._train_epoch(stage, active)
            evaluated = [g for g in active if g in self.means]
            full = stage != "main" or e == total - 1 or (main_epoch + 1) % self.eval_every == 0
            outs = self._outputs(stage, evaluated, full)
            for g in evaluated:
                m = self.members[g]
                eval_metrics, per_split, out = m._evaluate(stage, outs[g])
                metrics = m._with_bound({**self.means[g], **eval_metrics})
                if stage == "main":
                    metrics.update(m._close_main_epoch(e, main_epoch, per_split))
                eta = (time.perf_counter() - self.t_start) / (e + 1) * (total - e - 1)
                yield g, EpochEvent(stage=stage, epoch=e, step=m.step, metrics=metrics, eta_seconds=eta)
                if stage != "main":
                    continue
                self.per_split[g] = per_split
                for snap in m._end_main_epoch(e, main_epoch, per_split, out["val"]):
                    yield g, snap
                if m.stopped_early:
                    yield g, self._finish(g)
        for g in range(self.G):
            if g not in self.done:
                yield g, self._finish(g)

    def _finish(self, g: int):
        m = self.members[g]
        self.done.add(g)
        m.sync()
        last = self.per_split.get(g, {})
        if last and not {"train", "test"} <= set(last):  # ended between two full evaluations: evaluate it now
            last = m._evaluate("main")[1]
        best = m.best
        if best is not None and best["state"] is not None and "test" not in best["per_split"]:
            m.model.load_state_dict(best["state"])  # the best-validation epoch's weights, kept by _track_best
            best["per_split"] = {**m._evaluate("main")[1], "val": best["per_split"]["val"]}
            m.sync()
        return m._finish(last)


# main function


def _load(config: RunConfig, cache_dir: str | Path | None) -> MultimodalDataset:
    from omib_core.data.draw_cache import load_cached

    return load_cached(config.data, cache_dir)


def train_grid(
    configs: Sequence[RunConfig],
    out_dirs: Sequence[str | Path | None] | None = None,
    *,
    cache_dir: str | Path | None = None,
    dataset: MultimodalDataset | None = None,
) -> Iterator[tuple[int, Event]]:
    """Train ``configs`` as one grid; yields ``(member index, event)`` with the events ``train`` yields per run.

    Args:
        configs: the members (``grid_problem(configs)`` must be None).
        out_dirs: one folder per member for its checkpoint and snapshots (None: nothing written).
        cache_dir: cache of the bound estimator.
        dataset: one dataset for every member (tests); None = each distinct ``DataConfig`` is loaded once.

    Raises:
        ConfigError: the configs cannot train as one grid (before anything is yielded).
    """
    trainer = GridTrainer(configs, out_dirs, cache_dir=cache_dir, dataset=dataset)
    prev_threads = torch.get_num_threads()
    try:
        for g, event in trainer.run():
            if event is not None:
                yield g, event
            else:  # every member left is paused (only a caller that pauses members gets here)
                time.sleep(0.05)
    finally:
        torch.set_num_threads(prev_threads)


__all__ = ["GridTrainer", "grid_problem", "shard_count", "shards_of", "train_grid"]


# shards: a grid over several worker processes

MIN_SHARD = 6  # members a grid worker trains at least (a smaller grid stays one process)


def shard_count(n_members: int, free_cores: int, cap: int | None = None) -> int:
    """Worker processes for a grid of ``n_members``: one per free CPU core, at most one per ``MIN_SHARD`` members
    (and at most ``cap``). A second torch thread speeds the stacked step up (26.6 ms at G = 30 in
    bench/results/grid_speed_2threads against 46.3 ms with one thread in bench/results/grid_speed.md), but a second process also runs the per-member host work (metrics, r, events)
    in parallel: the 30-member teaching grid took 55.5 s in two single-threaded processes against 116.4 s in one
    (bench/results/grid_speed.md)."""
    k = max(1, min(free_cores, n_members // MIN_SHARD))
    return max(1, min(k, cap)) if cap else k


def shards_of(configs: Sequence[RunConfig], k: int) -> list[list[int]]:
    """Member indices of ``k`` shards, round robin: each shard a mix of betas and seeds."""
    return [list(range(i, len(configs), k)) for i in range(k) if i < len(configs)]
