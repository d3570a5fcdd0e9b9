"""The reference predictor: an MLP trained on given features, the "ground-truth optimal MIB" of SPEC section 6.

The synthetic generators (``omib_core.data.sim``, ``omib_core.data.synthetic``) call it on the optimal features
[a0; a1; a2] for ``ground_truth["optimal_mib_metrics"]``; it lives here, not in the data layer, because it trains a
torch model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from omib_core.analysis.metrics import compute_metrics
from omib_core.config import TASKS
from omib_core.data.dataset import TEST, TRAIN, VAL
from omib_core.errors import ConfigError

PROBE_MAX_TRAIN_ROWS = 20_000  # the reference MLP trains on at most this many rows (keeps it < 5 s)


def reference_probe(
    features: np.ndarray,
    target: np.ndarray,
    split: np.ndarray,
    task: str,
    *,
    n_classes: int | None = None,
    seed: int = 0,
    hidden: int = 128,
    lr: float = 1e-3,
    batch_size: int = 256,
    max_epochs: int = 60,
    patience: int = 10,
    min_delta: float = 1e-4,
    max_train_rows: int = PROBE_MAX_TRAIN_ROWS,
) -> dict[str, float]:
    """Test metrics of an MLP (1 hidden layer, GELU) trained on ``features``, early-stopped on validation loss.

    This is the "ground-truth optimal MIB" predictor of SPEC section 6 when ``features`` are [a0; a1; a2]:
    the same head as dDec, Adam at ``lr``, features standardised with training statistics, weights restored
    from the epoch of lowest validation loss. Seeded and deterministic for a fixed torch thread count; the
    global torch RNG is left untouched.

    [choice] Early stopping: at most ``max_epochs``; stop after ``patience`` epochs whose validation loss did
    not improve on the best by a relative ``min_delta``.

    Args:
        features: ``(N, d)`` inputs.
        target: ``(N,)`` class ids (classification) or values (regression).
        split: ``(N,)`` codes 0 train / 1 val / 2 test.
        task: ``"classification"`` (cross-entropy) or ``"regression"`` (MSE).
        n_classes: classes (classification); default ``target.max() + 1``.
        max_train_rows: training rows used at most (the first ones of the training split).

    Returns:
        The task's test metrics (see ``omib_core.analysis.metrics``) plus ``"epochs"`` (the best epoch, 1-based).
    """
    if task not in ("classification", "regression"):
        raise ConfigError(f"reference_probe handles 'classification' or 'regression'; got task {task!r} ({TASKS}).")
    tr = np.flatnonzero(split == TRAIN)[:max_train_rows]
    va, te = np.flatnonzero(split == VAL), np.flatnonzero(split == TEST)
    x = np.asarray(features, dtype=np.float64)
    mu, sd = x[tr].mean(0), x[tr].std(0)
    sd[sd < 1e-12] = 1.0
    x = torch.as_tensor((x - mu) / sd, dtype=torch.float32)  # (N, d)
    if task == "classification":
        y = torch.as_tensor(np.asarray(target), dtype=torch.long)
        out_dim = int(n_classes or int(y.max()) + 1)
        loss_fn: Any = torch.nn.functional.cross_entropy
    else:  # regression: fit the standardised target (faster convergence), predict on the original scale
        t_raw = np.asarray(target, dtype=np.float64)
        y_mu, y_sd = float(t_raw[tr].mean()), float(t_raw[tr].std()) or 1.0
        y = torch.as_tensor((t_raw - y_mu) / y_sd, dtype=torch.float32)
        out_dim = 1

        def loss_fn(pred: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.mse_loss(pred[:, 0], t)

    x_tr, y_tr = x[torch.as_tensor(tr)], y[torch.as_tensor(tr)]
    x_va, y_va = x[torch.as_tensor(va)], y[torch.as_tensor(va)]
    order_rng = np.random.default_rng(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = torch.nn.Sequential(
            torch.nn.Linear(x.shape[1], hidden), torch.nn.GELU(), torch.nn.Linear(hidden, out_dim)
        )
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        best, best_state, best_epoch, bad = math.inf, None, 0, 0
        for epoch in range(max_epochs):
            net.train()
            perm = torch.as_tensor(order_rng.permutation(len(tr)))
            xp, yp = x_tr[perm], y_tr[perm]  # shuffled once per epoch; batches are views
            for start in range(0, len(perm), batch_size):
                loss = loss_fn(net(xp[start : start + batch_size]), yp[start : start + batch_size])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            net.eval()
            with torch.no_grad():
                val_loss = float(loss_fn(net(x_va), y_va))
            if val_loss < best - min_delta * abs(best if math.isfinite(best) else val_loss):
                best, best_epoch, bad = val_loss, epoch + 1, 0
                best_state = {k: v.clone() for k, v in net.state_dict().items()}
            else:
                bad += 1
                if bad >= patience:
                    break
        if best_state is not None:  # None only when every validation loss was NaN: keep the last weights
            net.load_state_dict(best_state)
        with torch.no_grad():
            out = net(x[torch.as_tensor(te)]).numpy()
    out = out if task == "classification" else out[:, 0] * y_sd + y_mu
    metrics = compute_metrics(task, np.asarray(target)[te], out)
    return {**metrics, "epochs": float(best_epoch)}
