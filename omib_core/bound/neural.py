"""Neural estimates of I(X; Y): MINE, InfoNCE, SMILE, with one shared training loop (SPEC section 5).

Per seed s (``config.seeds`` of them):

1. the rows are split at random (seed s) into a training part and a held-out part (``heldout_fraction``);
   x and y are z-scored with the training part's mean/std (an invertible map, so I(X; Y) is unchanged);
2. a fresh critic (seed s) is trained for exactly ``config.steps`` Adam steps (``lr``) on batches of
   ``batch_size`` rows, drawn epoch by epoch without replacement;
3. about 64 times during training the bound is evaluated on (up to 2,048 of) the held-out rows: that is
   the curve; the final value is the bound on all held-out rows.

Marginal pairs (MINE, SMILE) pair x_i with y_pi(i) for a random cyclic permutation pi of the batch (a
shuffle with no fixed point, so no joint pair leaks into the marginal sample). On held-out rows the
marginal sample is 4 such permutations (4 x n pairs).

The estimate is the mean of the seeds' held-out values; ``std`` their spread; ``curve`` the first seed's;
``converged`` is False when any seed's curve has not levelled off (see ``convergence.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from omib_core.bound.convergence import levelled_off
from omib_core.bound.critics import ConcatCritic, SeparableCritic
from omib_core.bound.objectives import dv_bound, infonce_bound, js_bound, mine_loss, smile_bound
from omib_core.bound.result import Estimate
from omib_core.config import BoundConfig
from omib_core.errors import BoundError

NEURAL_ESTIMATORS = ("mine", "infonce", "smile")
CURVE_POINTS = 64  # logged points per training curve
CURVE_EVAL_ROWS = 2048  # held-out rows the curve is evaluated on
EVAL_PERMS = 4  # marginal permutations of the held-out rows
EVAL_CHUNK = 16384  # rows per critic forward pass during evaluation
MIN_ROWS = 8  # rows needed in each of the training and held-out parts


# helpers


@dataclass(frozen=True)
class SeedRun:
    """One seed's outcome: held-out value, curve, and the InfoNCE evaluation batch (its ln ceiling)."""

    value: float
    curve: tuple[float, ...]
    eval_batch: int


def cyclic_derangements(n_rows: int, count: int, generator: torch.Generator) -> torch.Tensor:
    """(count, n_rows) random permutations made of one cycle each: pi(i) != i for every row."""
    sigma = torch.rand(count, n_rows, generator=generator).argsort(dim=1)  # (count, n)
    pi = torch.empty_like(sigma)
    pi.scatter_(1, sigma, sigma.roll(-1, dims=1))  # pi[sigma[k]] = sigma[k + 1]
    return pi


def batch_indices(n_rows: int, steps: int, batch: int, generator: torch.Generator) -> torch.Tensor:
    """(steps, batch) row indices, epoch after epoch of random permutations (no replacement within an epoch)."""
    epochs = math.ceil(steps * batch / n_rows)
    idx = torch.cat([torch.randperm(n_rows, generator=generator) for _ in range(epochs)])
    return idx[: steps * batch].view(steps, batch)


def _zscore(train: np.ndarray, other: np.ndarray, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """z-score both parts with the training part's mean/std (constant columns: centred only), on the device."""
    mu, sd = train.mean(0), train.std(0)
    sd = np.where(sd < 1e-12, 1.0, sd)
    return tuple(torch.as_tensor((a - mu) / sd, dtype=torch.float32, device=device) for a in (train, other))


def make_critic(estimator: str, x_dim: int, y_dim: int, hidden_dim: int) -> torch.nn.Module:
    """The critic an estimator trains: separable for InfoNCE, concat (the MINE network) otherwise."""
    if estimator == "infonce":
        return SeparableCritic(x_dim, y_dim, hidden_dim)
    return ConcatCritic(x_dim, y_dim, hidden_dim)


@torch.no_grad()
def evaluate(
    critic: torch.nn.Module,
    estimator: str,
    x: torch.Tensor,
    y: torch.Tensor,
    perms: torch.Tensor,
    batch: int,
    clip: float,
) -> tuple[torch.Tensor, int]:
    """The estimator's bound on rows (x, y), as a 0-d tensor on the device, and the InfoNCE batch used.

    MINE: DV bound; SMILE: clipped DV; both with the marginal sample y[perms[k]] for every k.
    InfoNCE: mean of the bound over consecutive batches of ``batch`` rows (one batch of all rows if fewer).
    """
    n = x.shape[0]
    if estimator == "infonce":
        b = min(batch, n)
        vals = [infonce_bound(critic.scores(x[i : i + b], y[i : i + b])) for i in range(0, n - b + 1, b)]
        return torch.stack(vals).mean(), b
    xs = torch.cat([x] * (1 + perms.shape[0]))  # (n (1 + K), dx)
    ys = torch.cat([y] + [y[p] for p in perms])  # joint rows first, then K marginal samples
    t = torch.cat([critic(xs[i : i + EVAL_CHUNK], ys[i : i + EVAL_CHUNK]) for i in range(0, xs.shape[0], EVAL_CHUNK)])
    t_joint, t_marg = t[:n], t[n:]
    if estimator == "smile":
        return smile_bound(t_joint, t_marg, clip), 0
    return dv_bound(t_joint, t_marg), 0


def _loss(
    critic: torch.nn.Module,
    estimator: str,
    xb: torch.Tensor,
    yb: torch.Tensor,
    perm: torch.Tensor,
    log_ma: torch.Tensor | None,
    rate: float,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Training loss of one batch (B rows) and the updated MINE moving average."""
    if estimator == "infonce":
        return -infonce_bound(critic.scores(xb, yb)), log_ma  # maximise InfoNCE
    b = xb.shape[0]
    t = critic(torch.cat([xb, xb]), torch.cat([yb, yb[perm]]))  # (2B,): joint pairs, then shuffled pairs
    t_joint, t_marg = t[:b], t[b:]
    if estimator == "mine":
        return mine_loss(t_joint, t_marg, log_ma, rate)  # DV with moving-average gradient correction
    return -js_bound(t_joint, t_marg), log_ma  # SMILE trains the critic with the JS bound


def train_seed(
    x: np.ndarray,
    y: np.ndarray,
    estimator: str,
    config: BoundConfig,
    seed: int,
    device: torch.device,
    on_point: Callable[..., None] | None = None,
) -> SeedRun:
    """Train one critic with a fixed step budget and evaluate it on held-out rows.

    Args:
        x: (n, dx) rows; y: (n, dy) the paired rows (pass x itself for H(X) = I(X; X)).
        estimator: ``"mine"``, ``"infonce"`` or ``"smile"``.
        config: steps, batch_size, lr, hidden_dim, ma_rate, smile_clip, heldout_fraction.
        seed: seeds the split, the critic's initialisation, the batches and the permutations.
        device: where the critic trains.
        on_point: called as ``on_point(fraction_of_steps_done, current_heldout_estimate)`` at each logged point.
    """
    n = x.shape[0]
    order = np.random.default_rng(seed).permutation(n)
    n_ev = int(round(n * config.heldout_fraction))
    if n_ev < MIN_ROWS or n - n_ev < MIN_ROWS:
        raise BoundError(
            f"The {estimator} estimator needs at least {MIN_ROWS} training and {MIN_ROWS} held-out rows; got "
            f"{n} rows with heldout_fraction={config.heldout_fraction}. Use more rows or the gaussian estimator."
        )
    ev, tr = order[:n_ev], order[n_ev:]
    x_tr, x_ev = _zscore(x[tr], x[ev], device)
    y_tr, y_ev = _zscore(y[tr], y[ev], device)

    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        critic = make_critic(estimator, x.shape[1], y.shape[1], config.hidden_dim).to(device)
    opt = torch.optim.Adam(critic.parameters(), lr=config.lr)
    b = min(config.batch_size, x_tr.shape[0])
    batches = batch_indices(x_tr.shape[0], config.steps, b, gen).to(device)  # (steps, B)
    perms = cyclic_derangements(b, config.steps, gen).to(device)  # (steps, B)
    ev_perms = cyclic_derangements(n_ev, EVAL_PERMS, gen).to(device)  # (K, n_ev)
    m = min(n_ev, CURVE_EVAL_ROWS)
    curve_perms = cyclic_derangements(m, EVAL_PERMS, gen).to(device)  # (K, m)
    log_at = set(np.unique(np.round(np.linspace(0, config.steps, CURVE_POINTS + 1)[1:])).astype(int).tolist())

    curve: list[float] = []
    log_ma = None
    for step in range(1, config.steps + 1):
        idx = batches[step - 1]
        loss, log_ma = _loss(critic, estimator, x_tr[idx], y_tr[idx], perms[step - 1], log_ma, config.ma_rate)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step in log_at:  # the only host syncs of the loop
            value, _ = evaluate(critic, estimator, x_ev[:m], y_ev[:m], curve_perms, b, config.smile_clip)
            curve.append(float(value))
            if on_point is not None:
                on_point(step / config.steps, curve[-1])
            if not math.isfinite(curve[-1]):
                break  # diverged: the NaN/inf is reported, more steps cannot repair it
    value, eval_batch = evaluate(critic, estimator, x_ev, y_ev, ev_perms, b, config.smile_clip)
    return SeedRun(value=float(value), curve=tuple(curve), eval_batch=eval_batch)


# main function


def neural_mi(
    x: np.ndarray,
    y: np.ndarray,
    estimator: str,
    config: BoundConfig,
    device: torch.device,
    name: str = "I(x;y)",
    progress: Callable[..., None] | None = None,
) -> Estimate:
    """Estimate I(X; Y) in nats with a neural estimator over ``config.seeds`` seeds.

    Args:
        x: (n, dx) float rows; y: (n, dy) rows paired with x (x itself for the paper's H(X) = I(X; X)).
        estimator: ``"mine"``, ``"infonce"`` or ``"smile"``.
        config: the estimator settings (steps, seeds, batch_size, lr, hidden_dim, ma_rate, smile_clip,
            heldout_fraction); rows are expected already subsampled to ``max_samples``.
        device: where the critics train.
        name: the Estimate's name.
        progress: called as ``progress(fraction_done_across_seeds, current_estimate_or_None)``.
    """
    if estimator not in NEURAL_ESTIMATORS:
        raise BoundError(f"Unknown neural estimator {estimator!r}; choose one of {NEURAL_ESTIMATORS}.")
    runs: list[SeedRun] = []
    for s in range(config.seeds):
        cb = None if progress is None else (lambda f, v=None, s=s: progress((s + f) / config.seeds, v))
        runs.append(train_seed(x, y, estimator, config, s, device, cb))
    values = np.array([r.value for r in runs])
    checks = [levelled_off(r.curve) for r in runs]
    not_levelled = [msg for ok, msg in checks if not ok]
    n_ev = int(round(x.shape[0] * config.heldout_fraction))
    notes = [f"{estimator} after {config.steps} steps, evaluated on {n_ev} held-out rows; mean of {len(runs)} seed(s)."]
    if not_levelled:
        notes.append(f"{len(not_levelled)} of {len(runs)} seed curve(s) had not levelled off. {not_levelled[0]}")
    if estimator == "infonce":
        ceiling = math.log(runs[0].eval_batch)
        if float(values.max()) > ceiling - 1.0:
            notes.append(
                f"The estimate is within 1 nat of InfoNCE's ln(batch) = ln({runs[0].eval_batch}) = {ceiling:.2f} "
                "ceiling: InfoNCE cannot report more, so the true value may be higher; use a larger batch_size, "
                "or smile / gaussian."
            )
    if not np.all(np.isfinite(values)):
        notes.append("At least one seed diverged (NaN/inf): try a smaller lr or another estimator.")
    return Estimate(
        name=name,
        value=float(values.mean()),
        std=float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        per_seed=tuple(float(v) for v in values),
        curve=runs[0].curve,
        converged=not not_levelled,
        note=" ".join(notes),
    )
