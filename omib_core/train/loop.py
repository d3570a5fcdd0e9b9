"""The training loop: ``train(config) -> Iterator[Event]`` (SPEC section 3).

A generator, so that a worker can record each event as it comes and stop the run with ``close()``.

- Data live on the device; batches are index permutations (``torch.randperm`` with a seeded generator),
  no DataLoader. Step metrics accumulate on the device and reach the host only every ``log_every`` steps
  (a StepEvent holds the means over the steps of its window within the current epoch) and at epoch ends.
- Seeds: ``torch.manual_seed(seed)`` for the initialisation, one generator for batching and one for the noise
  e_i / eps_i, so the same seed gives bit-identical metrics on CPU.
- Warm-up (SPEC 3.1): Enc_i + Dec_i only, loss = sum_i L_task(Dec_i([z_i ; e_i]), y), e_i resampled each step.
- Main (SPEC 3.2): loss = L_task(dDec(xi), y) + beta * (KL_1 + sum_j r_j KL_j) + trb_weight * sum_i L_task(Dec_i([z_i ; xi]), y).
- r (SPEC 4): 1 during the first main epoch, then recomputed once per epoch over the validation rows
  (deterministic pass, smoothed across epochs by ``r_smooth``) or, with ``r_update="batch"``, an EMA of values
  from a held-out (validation) batch drawn at every step. Never from the rows being fitted.
- Schedule (``omib_core.train.schedule``): batch and epochs adapted to the training rows; early stopping with
  ``patience``; the results carry the test metrics of both the best-validation epoch and the last epoch.
- Anomaly (Deep SVDD) [choice]: trained on normal rows only. Warm-up: each TRB head is pulled to its own
  centre c_i (mean of Dec_i([z_i ; 0]) over normal training rows at initialisation). After warm-up the centre
  c = mean of dDec(xi) (eval mode) over normal training rows is fixed and shared by dDec and the TRB heads in
  the main stage, so that the heads' embeddings are comparable for r. Near-zero centre coordinates are pushed
  to +-0.1 (Ruff et al. 2018). The F1 threshold is the 95th percentile of the normal training rows' scores.
- With ``bound="with_r"`` and beta a multiple of M_u, beta follows M_u(r) = 1 / ((1 + sum_{j>=2} r_j) H_joint)
  [choice for M >= 3: the sum of the r_j, which is below 2M - 1 like the conservative form].
- beta is never negative or infinite: a bound without M_u, or whose M_u or H_joint is not a positive finite
  number (a damaged or hand-made BoundResult), stops the run before it starts with a sentence (RunFailed).
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from omib_core.bound.result import BoundResult
from omib_core.config import DataConfig, RunConfig
from omib_core.data.dataset import TRAIN, MultimodalDataset, fit_mask
from omib_core.device import apply_thread_policy, resolve_device
from omib_core.errors import ConfigError, OmibError
from omib_core.fileio import atomic_write
from omib_core.model import OMIB
from omib_core.params import is_number
from omib_core.paths import CHECKPOINT_FILE, SNAPSHOTS_FOLDER
from omib_core.train.beta import beta_follows_r, beta_for, beta_over_mu, m_u_for
from omib_core.train.checkpoint import save_checkpoint
from omib_core.train.constants import EVAL_CHUNK, out_dim
from omib_core.train.dynamic_r import (
    compute_r_all,
    compute_r_gain,
    ema_update,
    head_divergence,
    head_gain,
    head_score,
)
from omib_core.train.events import (
    EpochEvent,
    Event,
    RunFailed,
    RunFinished,
    RunStarted,
    SnapshotEvent,
    StepEvent,
)
from omib_core.train.losses import fix_center, prediction, task_loss
from omib_core.train.schedule import Schedule, resolve_schedule

SPLITS = ("train", "val", "test")

# helpers


def _positive(v: float | None) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v) and v > 0


def out_dim_for(dataset: MultimodalDataset) -> int:
    """Output size: n_classes (classification), 1 (regression), SVDD_DIM (anomaly): ``constants.out_dim``."""
    return out_dim(dataset.task, dataset.n_classes)


def _to_device(dataset: MultimodalDataset, rows: np.ndarray, device: torch.device) -> tuple[dict, torch.Tensor]:
    xs = {m: torch.as_tensor(x[rows], dtype=torch.float32).to(device) for m, x in dataset.modalities.items()}
    dtype = torch.float32 if dataset.task == "regression" else torch.int64
    return xs, torch.as_tensor(dataset.target[rows], dtype=dtype).to(device)


def _standardize_stats(dataset: MultimodalDataset) -> dict[str, dict[str, torch.Tensor]]:
    """Train-split mean / std per modality, as ``MultimodalDataset.standardized`` computes them."""
    tr = dataset.split == TRAIN
    out = {}
    for m, x in dataset.modalities.items():
        x = np.asarray(x, dtype=np.float64)[tr]
        sd = x.std(0)
        sd[sd < 1e-12] = 1.0
        out[m] = {
            "mean": torch.as_tensor(x.mean(0), dtype=torch.float32),
            "std": torch.as_tensor(sd, dtype=torch.float32),
        }
    return out


@torch.no_grad()
def _forward_chunks(model: OMIB, xs: dict[str, torch.Tensor], stage: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """Deterministic forward (eval mode, eps = 0) in chunks; returns the requested outputs concatenated."""
    was_training = model.training
    model.eval()
    n = next(iter(xs.values())).shape[0]
    parts: dict[str, list] = {}
    for s in range(0, n, EVAL_CHUNK):
        out = model({m: x[s : s + EVAL_CHUNK] for m, x in xs.items()}, stage, sample=False)
        for k in keys:
            v = out[k]
            if isinstance(v, dict):
                for m, t in v.items():
                    parts.setdefault(f"{k}/{m}", []).append(t)
            else:
                parts.setdefault(k, []).append(v)
    model.train(was_training)
    return {k: torch.cat(v) for k, v in parts.items()}


def _embedding_arrays(model: OMIB, xs: dict[str, torch.Tensor], task: str) -> dict[str, np.ndarray]:
    out = _forward_chunks(model, xs, "main", ("xi", "z", "mu", "y_hat"))
    arrays = {"xi": out["xi"].cpu().numpy()}
    for m in model.modalities:
        arrays[f"z_{m}"] = out[f"z/{m}"].cpu().numpy()
        arrays[f"zeta_{m}"] = out[f"mu/{m}"].cpu().numpy()  # zeta_i on the deterministic path = mu_i
    pred = prediction(task, out["y_hat"], model.center)
    arrays["pred"] = (pred.argmax(-1) if task == "classification" else pred).cpu().numpy()
    return arrays


def embed(model: OMIB, dataset: MultimodalDataset, device: torch.device | str) -> dict[str, np.ndarray]:
    """Representations of every row: ``xi``, ``z_<m>``, ``zeta_<m>`` (mu), ``pred``, ``index``, ``split``, ``target``.

    ``pred`` is the class id (plus ``correct``), the predicted value, or the anomaly score. The dataset is
    standardised with its train-split statistics first (as in training) unless it already is.
    """
    ds = dataset if dataset.meta.get("standardized") else dataset.standardized()
    rows = np.arange(ds.n_samples)
    xs, _ = _to_device(ds, rows, torch.device(device))
    model = model.to(device)
    arrays = _embedding_arrays(model, xs, ds.task)
    arrays.update(index=rows.astype(np.int64), split=np.asarray(ds.split, dtype=np.int8), target=np.asarray(ds.target))
    if ds.task == "classification":
        arrays["correct"] = arrays["pred"] == arrays["target"]
    return arrays


def _fit_rows(
    ds: MultimodalDataset, split_data: dict[str, tuple[dict, torch.Tensor]], device: torch.device
) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """The rows the model is fitted on: (inputs, targets, their mask over the training rows). All training rows,
    except for the anomaly task, where Deep SVDD trains on the normal ones only."""
    train = ds.indices("train")
    mask = fit_mask(ds.split, ds.target, ds.task)[train]
    if mask.all():
        return *split_data["train"], torch.ones(len(train), dtype=torch.bool, device=device)  # no second copy
    return *_to_device(ds, train[mask], device), torch.as_tensor(mask, device=device)


def _adamw(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW (decoupled weight decay); fused where the device has the kernel (one kernel instead of ~10 small ops
    per parameter), else plain."""
    try:
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: np.savez(f, **arrays))


def _reference(dataset: MultimodalDataset, linear: bool, data: DataConfig | None = None) -> dict[str, float]:
    """Scalars worth showing beside a run: the ground truth (optimal-MIB and Bayes accuracy, exact information) and
    the strong simple baseline (``linear_<split>_<metric>``: logistic regression / ridge, chosen on validation).

    With ``data`` (the draw's config) asking for it, the ground-truth reference model is trained here, in the run's
    process (``omib_core.analysis.reference.optimal_reference``, once per draw: kept on disk)."""
    gt = dict(dataset.ground_truth or {})
    if data is not None and gt.get("optimal_features") is not None:
        from omib_core.analysis.reference import optimal_reference
        from omib_core.data import reference_requested

        if reference_requested(data):
            gt.update(optimal_reference(data, dataset))
    keep = ("optimal_", "bayes_", "exact_")
    out = {k: float(v) for k, v in gt.items() if k.startswith(keep) and is_number(v)}
    if linear:
        from omib_core.baselines import baseline_reference, linear_baseline

        try:
            out.update(baseline_reference(linear_baseline(dataset)))
        except OmibError:  # e.g. one class in the training rows: the run itself will say what is wrong
            pass
    return out


# main class


class _SetupFailed(OmibError):
    """The run cannot start; the message is the sentence its RunFailed event carries."""


class _Trainer:
    """State of one run, all of it set up here; ``run()`` is the event generator behind ``train``.

    Raises:
        _SetupFailed: the run cannot start (no beta, a schedule that does not fit the data).
    """

    def __init__(self, config: RunConfig, dataset, out_dir, bound, cache_dir):
        self.t_start = time.perf_counter()
        self.config, self.raw, self.bound = config, dataset, bound
        self.out_dir = Path(out_dir) if out_dir is not None else None
        # progress
        self.step = 0
        self.epoch = 0
        self.train_seconds = 0.0
        self.samples_seen = 0
        self.val_loss = float("nan")  # dDec's validation task loss of the last evaluated main epoch
        self.best: dict[str, Any] | None = None  # the best validation epoch so far (``_track_best``)
        self.stopped_early = False
        self.last_snapshot_epoch = -1
        # device, seeds, data
        t = config.train
        self.device = resolve_device(t.device)
        self.num_threads = apply_thread_policy(self.device, t.num_threads)
        torch.manual_seed(t.seed)
        self.batch_gen = torch.Generator(device=self.device).manual_seed(t.seed + 1)
        self.noise_gen = torch.Generator(device=self.device).manual_seed(t.seed + 2)
        self.cache_dir = cache_dir
        self.own_draw = self.raw is None  # the data are config.data's draw (so cached scalars may be reused)
        if self.raw is None:
            from omib_core.data.draw_cache import load_cached

            self.raw = load_cached(config.data, cache_dir)
        ds = self.ds = self._standardized()
        self.task, self.mods, self.M = ds.task, ds.modality_names, len(ds.modalities)
        # the bound and beta
        self.bound, self.no_bound_reason = self._checked_bound(cache_dir)
        self.estimator = None if t.beta is not None or not self._has_mu() else self.bound.estimator
        self.beta_follows_r = beta_follows_r(t, self.bound)
        self.beta0 = self._initial_beta()
        # rows on the device
        self.split_data = self._device_splits()
        self.fit_x, self.fit_y, self.fit_mask = _fit_rows(ds, self.split_data, self.device)
        self.n_fit = int(self.fit_y.shape[0])
        try:
            self.schedule: Schedule = resolve_schedule(t, self.n_fit)
        except ConfigError as e:
            raise _SetupFailed(f"Training did not start: {e}") from e
        self.batch_size = self.schedule.batch_size
        self.steps_per_epoch = self.schedule.steps_per_epoch
        # model, optimiser, r
        self.model = OMIB(ds.input_dims, out_dim_for(ds), config.model, task=self.task).to(self.device)
        self.opt = self._optimizer()
        self.val_x = self.split_data["val"][0]
        self.n_val = int(next(iter(self.val_x.values())).shape[0])
        self.r = torch.ones(
            self.M, dtype=torch.float32 if self.device.type == "mps" else torch.float64, device=self.device
        )
        self.trb_centers: dict[str, torch.Tensor] = {}  # anomaly warm-up: each TRB head's own centre
        # snapshot rows
        self.snap_rows = np.sort(
            np.random.default_rng(t.seed).choice(
                ds.n_samples, size=min(t.snapshot_max_points, ds.n_samples), replace=False
            )
        )
        self.snap_x, _ = _to_device(ds, self.snap_rows, self.device)
        # held-out rows whose latent blocks are known (simulated data only): what the representations keep of each
        self.info_x, self.info_probe = self._info_inputs()
        self.beta_const = torch.tensor(self.beta0, dtype=torch.float32, device=self.device)

    # --- setup (hooks that a grid member shares with the other members: omib_core.train.grid) -----------

    def _standardized(self) -> MultimodalDataset:
        return self.raw.standardized()

    def _device_splits(self) -> dict[str, tuple[dict, torch.Tensor]]:
        return {s: _to_device(self.ds, self.ds.indices(s), self.device) for s in SPLITS}

    def _optimizer(self) -> torch.optim.Optimizer | None:
        return _adamw(self.model, self.config.train.lr, self.config.train.weight_decay)

    def _info_inputs(self) -> tuple[dict[str, torch.Tensor] | None, Any]:
        """The held-out rows carrying latent blocks, on the device, and the ``InformationProbe`` of their blocks;
        (None, None) without blocks (real data, uploads)."""
        from omib_core.analysis.information import InformationProbe, held_out_blocks

        held = held_out_blocks(self.raw.ground_truth)
        if held is None:
            return None, None
        rows, blocks = held
        return _to_device(self.ds, rows, self.device)[0], InformationProbe(blocks)  # splits seeded by the rows alone

    def _reference_scalars(self) -> dict[str, float]:
        linear = self.config.train.linear_reference
        data = self.config.data
        if not self.own_draw:
            return _reference(self.ds, linear, data)
        from omib_core.data.draw_cache import cached_scalars

        return cached_scalars(
            data, self.cache_dir, f"reference{int(linear)}", lambda: _reference(self.ds, linear, data)
        )

    def _state_copy(self) -> dict[str, torch.Tensor]:
        """A copy of the model's weights (the best-validation epoch's, kept for ``select="best_val"``)."""
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def _has_mu(self) -> bool:
        return self.bound is not None and self.bound.M_u is not None

    def _checked_bound(self, cache_dir) -> tuple[BoundResult | None, str | None]:
        """The bound (given or estimated), with M_u cleared (and ``failure`` set) when it is no usable number, and
        why there is no M_u (None when there is one or none was needed)."""
        bound, why = self.bound, None
        if bound is None and self.config.model.bottleneck:
            try:
                from omib_core.bound import estimate_bound

                bound = estimate_bound(self.raw, self.config.bound, device=self.device, cache_dir=cache_dir)
            except OmibError as e:
                why = str(e)
        if (
            bound is not None
            and bound.M_u is not None
            and not (_positive(bound.M_u) and _positive(bound.M_u_with_r(1.0)))
        ):
            # a hand-made or damaged BoundResult: a negative or infinite M_u must never become beta
            failure = (
                f"M_u came out as {bound.M_u!r} with H_joint = {bound.h_joint.value!r}, not a positive finite bound"
            )
            bound = replace(bound, M_u=None, failure=failure)
        if bound is not None and bound.M_u is None:
            why = bound.failure or "the estimate was not a positive finite number"
        return bound, why

    def _initial_beta(self) -> float:
        """beta at the start of the run (r = 1 everywhere); a sentence (_SetupFailed) when there is none."""
        beta = beta_for(self.config.train, self.bound, float(self.M - 1), bottleneck=self.config.model.bottleneck)
        if beta is None:
            raise _SetupFailed(
                f"Training did not start: beta is a multiple of M_u but there is no M_u ({self.no_bound_reason}). "
                "Set beta by hand (TrainConfig.beta) or choose another bound estimator."
            )
        if not (math.isfinite(beta) and beta >= 0):
            raise _SetupFailed(f"Training did not start: beta came out as {beta!r}; it must be a finite number >= 0.")
        return beta

    def _M_u(self, r_sum: float) -> float | None:
        """M_u for display and beta: the conservative bound, or the paper's with the current sum of r_j (j >= 2)."""
        return m_u_for(self.config.train, self.bound, r_sum)

    def _beta_tensor(self) -> torch.Tensor:
        if not self.beta_follows_r:
            return self.beta_const
        return beta_for(self.config.train, self.bound, self.r[1:].sum()).float()

    # --- one optimiser step -------------------------------------------------------------------------

    def _metric_names(self, stage: str) -> list[str]:
        if stage == "warmup":
            return ["loss"] + [f"trb_loss/{m}" for m in self.mods]
        names = ["loss", "task_loss"] + [f"kl/{m}" for m in self.mods] + [f"trb_loss/{m}" for m in self.mods]
        return names + [f"beta_kl/{m}" for m in self.mods] + [f"r/{m}" for m in self.mods] + ["beta"]

    def _step(self, stage: str, xb: dict, yb: torch.Tensor, main_epoch: int) -> torch.Tensor:
        """One optimiser step; returns the detached metric vector (names from ``_metric_names``)."""
        model, task = self.model, self.task
        out = model(xb, stage, sample=True, generator=self.noise_gen)
        if stage == "warmup":
            trb = torch.stack([task_loss(task, out["y_hat_i"][m], yb, self.trb_centers.get(m)) for m in self.mods])
            loss = trb.sum()  # sum_i L_task(Dec_i([z_i ; e_i]), y)
            vec = torch.cat([loss[None], trb])
        else:
            center = model.center if task == "anomaly" else None
            l_task = task_loss(task, out["y_hat"], yb, center)  # L_task(dDec(xi), y)
            trb = torch.stack([task_loss(task, out["y_hat_i"][m], yb, center) for m in self.mods])
            kl = torch.stack([out["kl"][m] for m in self.mods])  # (M,)
            beta = self._beta_tensor()
            beta_kl = beta * self.r.to(kl.dtype) * kl  # beta * (KL_1 + sum_j r_j KL_j), r_1 = 1
            loss = l_task + beta_kl.sum() + self.config.train.trb_weight * trb.sum()
            vec = torch.cat([loss[None], l_task[None], kl, trb, beta_kl, self.r.to(kl.dtype), beta[None].to(kl.dtype)])
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.train.max_grad_norm is not None:  # [choice] returns a tensor: no host sync
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.train.max_grad_norm, foreach=True)
        self.opt.step()
        if (
            stage == "main"
            and self.config.train.dynamic_r
            and self.config.train.r_update == "batch"
            and main_epoch >= 1
            and self.n_val
        ):
            # r from a held-out batch (validation rows, deterministic pass), never from the rows just fitted
            idx = torch.randint(
                self.n_val, (min(self.batch_size, self.n_val),), generator=self.batch_gen, device=self.device
            )
            held = _forward_chunks(
                model, {m: x.index_select(0, idx) for m, x in self.val_x.items()}, "main", ("y_hat", "y_hat_i")
            )
            r_now = self._r_from(held, self.split_data["val"][1].index_select(0, idx))
            self.r = ema_update(self.r, r_now, self.config.train.r_ema)
        return vec.detach()

    # --- epochs -------------------------------------------------------------------------------------

    def _nonfinite(self, stage: str, names: list[str], values: list[float]) -> RunFailed | None:
        bad = [n for n, v in zip(names, values) if not math.isfinite(v)]
        if not bad:
            return None
        # name the sources: the parts rather than their sum, KL_i rather than beta * r_i * KL_i
        parts = [n for n in bad if n != "loss" and not (n.startswith("beta_kl/") and "kl/" + n[8:] in bad)]
        bad = parts or bad
        hint = f"a lower learning rate (lr={self.config.train.lr:g} now)"
        if stage == "main" and self.config.model.bottleneck:
            hint += f" or a smaller beta (beta={self.beta0:.4g} now)"
        return RunFailed(
            epoch=self.epoch,
            step=self.step,
            message=(
                f"Training stopped: {', '.join(bad)} became non-finite (NaN or inf) in epoch {self.epoch} "
                f"({stage} stage) by step {self.step}. Try {hint}."
            ),
        )

    def _train_epoch(
        self, stage: str, main_epoch: int
    ) -> Generator[StepEvent, None, tuple[dict[str, float], RunFailed | None]]:
        """Optimise over one epoch; yields StepEvents and returns (the epoch means, a RunFailed or None).

        A window of steps with a non-finite metric ends the epoch at once, with no means."""
        log_every, names = self.config.train.log_every, self._metric_names(stage)
        self.model.train()
        perm = torch.randperm(self.n_fit, generator=self.batch_gen, device=self.device)
        ep_sum = win_sum = None
        win_n, win_samples, t_win, t0 = 0, 0, time.perf_counter(), time.perf_counter()
        for b in range(self.steps_per_epoch):
            idx = perm[b * self.batch_size : (b + 1) * self.batch_size]
            xb = {m: x.index_select(0, idx) for m, x in self.fit_x.items()}
            vec = self._step(stage, xb, self.fit_y.index_select(0, idx), main_epoch)
            self.step += 1
            ep_sum = vec if ep_sum is None else ep_sum + vec
            win_sum = vec if win_sum is None else win_sum + vec
            win_n += 1
            win_samples += idx.shape[0]  # host-known size, no sync
            if self.step % log_every == 0:
                values = (win_sum / win_n).tolist()  # the only host sync between epoch ends
                failed = self._nonfinite(stage, names, values)
                if failed is not None:
                    return {}, failed
                now = time.perf_counter()
                metrics = dict(zip(names, values))
                metrics["samples_per_second"] = win_samples / max(now - t_win, 1e-9)
                yield StepEvent(stage=stage, epoch=self.epoch, step=self.step, metrics=self._with_bound(metrics))
                win_sum, win_n, win_samples, t_win = None, 0, 0, time.perf_counter()
        values = (ep_sum / self.steps_per_epoch).tolist()
        seconds = time.perf_counter() - t0
        self.train_seconds += seconds
        self.samples_seen += self.n_fit
        means = dict(zip(names, values))
        means["samples_per_second"] = self.n_fit / max(seconds, 1e-9)
        return means, self._nonfinite(stage, names, values)

    def _with_bound(self, metrics: dict[str, float]) -> dict[str, float]:
        if "beta" not in metrics:
            return metrics
        r_sum = sum(metrics[f"r/{m}"] for m in self.mods[1:])
        mu = self._M_u(r_sum)
        if mu is not None:
            metrics["M_u"] = mu
            metrics["beta_over_Mu"] = metrics["beta"] / mu
        return metrics

    # --- evaluation ---------------------------------------------------------------------------------

    def _metrics(self, y: torch.Tensor, out: torch.Tensor, threshold: float | None) -> dict[str, float]:
        from omib_core.analysis.metrics import compute_metrics

        kw = {"threshold": threshold} if self.task == "anomaly" else {}
        return compute_metrics(self.task, y.cpu().numpy(), out.cpu().numpy(), **kw)

    def eval_splits(self, stage: str) -> tuple[str, ...]:
        """The splits evaluated at the end of an epoch of ``stage``: train rows serve r and the SVDD threshold; warm-up
        reports the TRB heads' validation metrics only."""
        return SPLITS if stage == "main" else ("train", "val") if self.task == "anomaly" else ("val",)

    def _evaluate(
        self, stage: str, outs: dict[str, dict] | None = None
    ) -> tuple[dict[str, float], dict[str, dict[str, float]], dict[str, dict]]:
        """Deterministic metrics of every split; returns (epoch metrics, {split: dDec metrics}, {split: outputs}).

        ``outs``: the model's outputs per split (``y_hat`` and ``y_hat_i/<m>``) when the caller computed them (a grid
        evaluates all its members in one batched pass); None = run the forward pass here."""
        keys = ("y_hat_i",) if stage == "warmup" else ("y_hat", "y_hat_i")
        if outs is None:
            outs = {s: _forward_chunks(self.model, self.split_data[s][0], stage, keys) for s in self.eval_splits(stage)}
        center = self.model.center if self.task == "anomaly" else None
        metrics: dict[str, float] = {}
        per_split: dict[str, dict[str, float]] = {}
        for m in self.mods:  # TRB heads' validation metrics
            c = self.trb_centers.get(m) if stage == "warmup" else center
            thr = self._threshold(outs, f"y_hat_i/{m}", c)
            pred = prediction(self.task, outs["val"][f"y_hat_i/{m}"], c)
            for k, v in self._metrics(self.split_data["val"][1], pred, thr).items():
                metrics[f"trb/{m}/val/{k}"] = v
        if stage == "main":
            thr = self._threshold(outs, "y_hat", center)
            for s in (s for s in SPLITS if s in outs):  # a grid may evaluate train / test less often
                per_split[s] = self._metrics(
                    self.split_data[s][1], prediction(self.task, outs[s]["y_hat"], center), thr
                )
                metrics.update({f"{s}/{k}": v for k, v in per_split[s].items()})
            # dDec's validation task loss: breaks ties of the primary metric when selecting the best epoch
            self.val_loss = (
                float(task_loss(self.task, outs["val"]["y_hat"], self.split_data["val"][1], center))
                if self.n_val
                else float("nan")
            )
        return metrics, per_split, outs

    def _threshold(self, outs: dict[str, dict], key: str, center: torch.Tensor | None) -> float | None:
        """Anomaly F1 threshold: a high quantile of the normal training rows' scores (None for other tasks)."""
        if self.task != "anomaly":
            return None
        from omib_core.errors import DataError
        from omib_core.metrics_core import anomaly_threshold

        scores = prediction(self.task, outs["train"][key], center)[self.fit_mask]
        try:
            return anomaly_threshold(scores.cpu().numpy())  # the 95th percentile
        except DataError:  # no finite score: the metrics are NaN anyway
            return float("nan")

    def _update_r(self, val_out: dict[str, torch.Tensor]) -> None:
        """Epoch-wise r over the validation rows (deterministic pass, gradients stopped).

        Held-out rows, because on the rows the model is fitting the heads' divergences measure memorisation noise,
        not the task information xi still lacks (measured: computed on training rows, r collapsed towards 0 even
        when v_2 was pure noise). No validation rows: r stays as it is.
        """
        if not self.n_val:
            return
        self.r = ema_update(self.r, self._r_from(val_out, self.split_data["val"][1]), self.config.train.r_smooth)

    def _r_from(self, out: dict[str, torch.Tensor], y: torch.Tensor) -> torch.Tensor:
        """r of every modality from held-out outputs and labels, in the configured form. ``info_gain`` needs labels
        (classification, regression): per-row gains of each head over dDec, compared row by row with the reference
        head and shrunk by ``r_evidence`` standard errors (SPEC 4); for the anomaly task it falls back to
        ``ratio_of_means`` of the divergences."""
        if self.config.train.r_form == "info_gain" and self.task != "anomaly":
            gains = [head_gain(self.task, out[f"y_hat_i/{m}"], out["y_hat"], y) for m in self.mods]  # M x (N,)
            base = head_score(self.task, out["y_hat"], y).mean()  # dDec's held-out score: the unit of the gains
            return compute_r_gain(gains, base, self.config.train.r_evidence)
        form = "ratio_of_means" if self.config.train.r_form == "info_gain" else self.config.train.r_form
        divs = [head_divergence(self.task, out[f"y_hat_i/{m}"], out["y_hat"]) for m in self.mods]
        return compute_r_all(divs, form)

    @torch.no_grad()
    def _center(self, stage: str, head: str | None) -> torch.Tensor:
        """SVDD centre: mean embedding of the normal training rows (eval mode), near-zero coordinates pushed out."""
        out = _forward_chunks(self.model, self.fit_x, stage, ("y_hat_i",) if head else ("y_hat",))
        return fix_center(out[f"y_hat_i/{head}" if head else "y_hat"].mean(0))

    # --- snapshots and the end ----------------------------------------------------------------------

    def _information(self) -> dict[str, float]:
        """I(rep; block) in nats for xi, z_i and zeta_i (``_info_representations``) and every latent block, on the
        held-out rows whose blocks are known: ``{info/<rep>/<block>: nats}`` (``omib_core.analysis.information``)."""
        from omib_core.analysis.information import table_metrics

        if self.info_x is None:
            return {}
        reps = {k: v.cpu().numpy() for k, v in self._info_representations().items()}
        # a block too wide for the held-out rows has no estimate (NaN): it is left out rather than logged
        return {k: v for k, v in table_metrics(self.info_probe(reps)).items() if math.isfinite(v)}

    @torch.no_grad()
    def _info_representations(self) -> dict[str, torch.Tensor]:
        """xi, z_<m>, zeta_<m> of the held-out rows with latent blocks, in eval mode (no dropout) but with the
        bottleneck's noise: zeta_i = mu_i + sigma_i * eps_i and xi = CAN(zeta), one draw from a generator seeded
        the same at every snapshot. [choice] The sampled path is the representation the objective's I(xi; z_i)
        terms are about, and its information is bounded by KL_i; on the deterministic path (zeta_i = mu_i) a linear
        encoder keeps almost everything (measured: I(mu_v2; b2) = 81 nats at 30 x M_u on the teaching preset)."""
        gen = torch.Generator(device=self.device).manual_seed(self.config.train.seed + 3)
        was_training = self.model.training
        self.model.eval()
        n = next(iter(self.info_x.values())).shape[0]
        parts: dict[str, list[torch.Tensor]] = {}
        for s in range(0, n, EVAL_CHUNK):
            out = self.model(
                {m: x[s : s + EVAL_CHUNK] for m, x in self.info_x.items()}, "main", sample=True, generator=gen
            )
            parts.setdefault("xi", []).append(out["xi"])
            for m in self.mods:
                parts.setdefault(f"z_{m}", []).append(out["z"][m])
                parts.setdefault(f"zeta_{m}", []).append(out["zeta"][m])
        self.model.train(was_training)
        return {k: torch.cat(v) for k, v in parts.items()}

    def _snapshot_due(self, main_epoch: int, last: bool) -> bool:
        every = self.config.train.snapshot_every
        return bool(every) and ((main_epoch + 1) % every == 0 or last)

    def _close_main_epoch(self, e: int, main_epoch: int, per_split: dict[str, dict[str, float]]) -> dict[str, float]:
        """Before a main epoch's EpochEvent: keep the best epoch, decide early stopping, and at a snapshot epoch (and
        the last) measure the information per latent block; returns the metrics to add to the event."""
        self._track_best(per_split)
        total = self.schedule.total_epochs
        self.stopped_early = e < total - 1 and self._should_stop()
        last = e == total - 1 or self.stopped_early
        return self._information() if last or self._snapshot_due(main_epoch, last) else {}

    def _snapshot(self) -> SnapshotEvent | None:
        if self.out_dir is None or self.config.train.snapshot_every == 0 or self.last_snapshot_epoch == self.epoch:
            return None
        arrays = _embedding_arrays(self.model, self.snap_x, self.task)
        ds = self.ds
        arrays.update(
            index=self.snap_rows.astype(np.int64),
            split=np.asarray(ds.split[self.snap_rows], dtype=np.int8),
            target=np.asarray(ds.target[self.snap_rows]),
            epoch=np.asarray(self.epoch, dtype=np.int64),
        )
        if self.task == "classification":
            arrays["correct"] = arrays["pred"] == arrays["target"]
        path = self.out_dir / SNAPSHOTS_FOLDER / f"epoch_{self.epoch:04d}.npz"
        _save_npz(path, arrays)
        self.last_snapshot_epoch = self.epoch
        return SnapshotEvent(epoch=self.epoch, path=str(path))

    def _track_best(self, per_split: dict[str, dict[str, float]]) -> None:
        """Keep the metrics (and, with ``select="best_val"``, the weights) of the main epoch with the best
        validation primary metric; it is also what early stopping waits on."""
        from omib_core.analysis.metrics import PRIMARY_METRIC, is_better

        key = PRIMARY_METRIC[self.task]
        value = per_split.get("val", {}).get(key, float("nan"))
        if not math.isfinite(value):
            return
        loss = self.val_loss if math.isfinite(self.val_loss) else math.inf
        # a tie of the primary metric (frequent on a small validation split: 27 rows give accuracy steps of 0.037)
        # goes to the lower validation loss, not to the earliest epoch
        better = self.best is None or is_better(key, value, self.best["value"])
        better = better or (value == self.best["value"] and loss < self.best["loss"])
        if better:
            state = None
            if self.config.train.select == "best_val":
                state = self._state_copy()
            self.best = {"value": value, "loss": loss, "epoch": self.epoch, "per_split": per_split, "state": state}

    def _should_stop(self) -> bool:
        """Early stopping: ``patience`` main epochs have passed since the best validation metric."""
        p = self.schedule.patience
        return bool(p) and self.best is not None and self.epoch - self.best["epoch"] >= p

    def _finish(self, per_split: dict[str, dict[str, float]]) -> RunFinished:
        last_test, last_val = dict(per_split.get("test", {})), dict(per_split.get("val", {}))
        best_epoch, last_epoch = self.epoch, self.epoch
        best_test = dict(self.best["per_split"].get("test", {})) if self.best is not None else last_test
        best_val = dict(self.best["per_split"].get("val", {})) if self.best is not None else last_val
        if self.best is not None and self.best["state"] is not None:  # select="best_val": keep the best model
            self.model.load_state_dict(self.best["state"])
            per_split, best_epoch = self.best["per_split"], self.best["epoch"]
        r_final = tuple(float(v) for v in self.r.tolist())
        beta = float(self._beta_tensor()) if self.beta_follows_r else self.beta0
        ckpt = None
        if self.out_dir is not None:
            extra = {
                "r": list(r_final),
                "beta": beta,
                "M_u": self._M_u(sum(r_final[1:])),
                "epoch": best_epoch,
                "step": self.step,
                "task": self.task,
                "dataset": self.ds.name,
                "modalities": list(self.mods),
                "val_metrics": per_split.get("val", {}),
                "test_metrics": per_split.get("test", {}),
                "standardize": _standardize_stats(self.raw),
            }
            ckpt = str(save_checkpoint(self.out_dir / CHECKPOINT_FILE, self.model, self.config, extra))
        return RunFinished(
            epochs=last_epoch + 1,
            step=self.step,
            test_metrics=per_split.get("test", {}),
            val_metrics=per_split.get("val", {}),
            r_final=r_final,
            beta=beta,
            wall_seconds=time.perf_counter() - self.t_start,
            samples_per_second=self.samples_seen / max(self.train_seconds, 1e-9),
            checkpoint_path=ckpt,
            best_epoch=best_epoch,
            last_test_metrics=last_test,
            last_val_metrics=last_val,
            best_val_test_metrics=best_test,
            best_val_val_metrics=best_val,
            best_val_epoch=self.best["epoch"] if self.best is not None else None,
            last_epoch=last_epoch,
            stopped_early=self.stopped_early,
            schedule=self.schedule.to_dict(),
        )

    # --- the run ------------------------------------------------------------------------------------

    def _started(self) -> RunStarted:
        ds, sched = self.ds, self.schedule
        m_u_start = self._M_u(float(self.M - 1))  # r = 1 everywhere at the start
        return RunStarted(
            device=str(self.device),
            task=self.task,
            modalities=self.mods,
            n_train=int(len(ds.indices("train"))),
            n_val=int(len(ds.indices("val"))),
            n_test=int(len(ds.indices("test"))),
            total_epochs=sched.total_epochs,
            steps_per_epoch=self.steps_per_epoch,
            schedule=sched.to_dict(),
            beta=self.beta0,
            M_u=m_u_start,
            M_l=self.bound.M_l if self.bound is not None else None,
            beta_over_Mu=beta_over_mu(self.beta0, m_u_start),
            estimator=self.estimator,
            num_threads=self.num_threads,
            reference=self._reference_scalars(),
            bound_note=getattr(self.bound, "warning", None) if self.bound is not None else None,
            class_names=tuple(str(c) for c in (ds.meta or {}).get("class_names") or ())
            if self.task != "regression"
            else (),
        )

    def run(self) -> Iterator[Event]:
        sched = self.schedule
        total = sched.total_epochs
        yield self._started()
        if self.task == "anomaly" and sched.warmup_epochs:
            self.trb_centers = {m: self._center("warmup", m) for m in self.mods}
        per_split: dict[str, dict[str, float]] = {}
        for e in range(total):
            self.epoch = e
            stage = "warmup" if e < sched.warmup_epochs else "main"
            main_epoch = e - sched.warmup_epochs
            if stage == "main" and main_epoch == 0 and self.task == "anomaly":
                self.model.center.copy_(self._center("main", None))
            means, failed = yield from self._train_epoch(stage, main_epoch)
            if failed is not None:
                yield failed
                return
            eval_metrics, per_split, outs = self._evaluate(stage)
            metrics = self._with_bound({**means, **eval_metrics})
            if stage == "main":
                metrics.update(self._close_main_epoch(e, main_epoch, per_split))
            eta = (time.perf_counter() - self.t_start) / (e + 1) * (total - e - 1)
            yield EpochEvent(stage=stage, epoch=e, step=self.step, metrics=metrics, eta_seconds=eta)
            if stage == "main":
                yield from self._end_main_epoch(e, main_epoch, per_split, outs["val"])
                if self.stopped_early:
                    break
        yield self._finish(per_split)

    def _end_main_epoch(
        self, e: int, main_epoch: int, per_split: dict[str, dict[str, float]], val_out: dict
    ) -> Iterator[SnapshotEvent]:
        """After a main epoch's EpochEvent (``_close_main_epoch`` kept the best epoch and decided early stopping):
        update r, take a snapshot."""
        t, total = self.config.train, self.schedule.total_epochs
        last = e == total - 1 or self.stopped_early
        if t.dynamic_r and t.r_update == "epoch" and not last:
            self._update_r(val_out)
        if t.snapshot_every and ((main_epoch + 1) % t.snapshot_every == 0 or last):
            snap = self._snapshot()
            if snap is not None:
                yield snap


# main function


def train(
    config: RunConfig,
    dataset: MultimodalDataset | None = None,
    *,
    out_dir: str | Path | None = None,
    bound: BoundResult | None = None,
    cache_dir: str | Path | None = None,
) -> Iterator[Event]:
    """Train OMIB and yield events: RunStarted, StepEvent / EpochEvent / SnapshotEvent, then RunFinished or RunFailed.

    Args:
        config: the experiment.
        dataset: the data; loaded with ``load_dataset(config.data)`` when None. Standardised here.
        out_dir: where ``checkpoint.pt`` and ``snapshots/epoch_XXXX.npz`` go; nothing is written when None.
        bound: a precomputed ``BoundResult``; estimated with ``estimate_bound`` when None.
        cache_dir: cache of the bound estimator.

    Yields:
        Events (see ``omib_core.train.events``). ``close()`` stops the run cleanly between steps.
    """
    prev_threads = torch.get_num_threads()
    try:
        try:
            trainer = _Trainer(config, dataset, out_dir, bound, cache_dir)
        except _SetupFailed as e:
            yield RunFailed(epoch=0, step=0, message=str(e))
            return
        yield from trainer.run()
    finally:
        torch.set_num_threads(prev_threads)
