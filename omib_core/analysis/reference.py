"""The reference predictor: an MLP trained on given features, the "ground-truth optimal MIB" of SPEC section 6.

``optimal_reference`` trains it on a synthetic draw's optimal features [a0; a1; a2] (``optimal_mib_accuracy`` /
``optimal_mib_mae``), on request and once per draw: the result is kept on disk (``paths.reference_cache_dir``).
Drawing the data trains nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from omib_core.analysis.metrics import compute_metrics
from omib_core.config import TASKS, DataConfig
from omib_core.data.dataset import TEST, TRAIN, VAL, MultimodalDataset
from omib_core.errors import ConfigError
from omib_core.fileio import atomic_write, read_json_object

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


# the ground-truth optimal-MIB reference of a synthetic draw, cached on disk

REFERENCE_VERSION = 1  # raised when the reference model or its inputs change: older cache entries are not read
HEADLINE = {"classification": "optimal_mib_accuracy", "regression": "optimal_mib_mae"}


def reference_key(config: DataConfig) -> str:
    """sha256 of everything that determines the reference: the dataset id, all its generator parameters (defaults
    filled in), the seed and the split fractions."""
    from omib_core.data import get_info
    from omib_core.data.registry import REFERENCE

    params = {**get_info(config.dataset).defaults, **config.params}
    params.pop(REFERENCE, None)
    text = json.dumps(
        {
            "dataset": config.dataset,
            "params": params,
            "seed": config.seed,
            "val_fraction": config.val_fraction,
            "test_fraction": config.test_fraction,
            "version": REFERENCE_VERSION,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _write(path: Path, value: dict[str, Any]) -> None:
    """Write ``value`` as JSON atomically, so a reader never sees half of it."""
    try:
        atomic_write(path, json.dumps(value))
    except (OSError, TypeError, ValueError):  # a full or read-only disk: the numbers are still good
        pass


def compute_optimal_reference(dataset: MultimodalDataset, seed: int) -> dict[str, Any]:
    """The reference MLP trained on ``dataset``'s optimal features, seeded by the data seed (not cached).

    Returns:
        ``{"optimal_mib_metrics": test metrics, "optimal_mib_accuracy" | "optimal_mib_mae": the headline}``; ``{}``
        when the data have no optimal features or are not classification or regression.
    """
    features = (dataset.ground_truth or {}).get("optimal_features")
    if features is None or dataset.task not in HEADLINE:
        return {}
    n_classes = None
    if dataset.task == "classification":
        n_classes = len((dataset.meta or {}).get("class_names") or ()) or dataset.n_classes
    metrics = reference_probe(features, dataset.target, dataset.split, dataset.task, n_classes=n_classes, seed=seed)
    headline = HEADLINE[dataset.task]
    return {"optimal_mib_metrics": metrics, headline: metrics[headline.removeprefix("optimal_mib_")]}


def optimal_reference(
    config: DataConfig, dataset: MultimodalDataset | None = None, *, cache: str | Path | None = None
) -> dict[str, Any]:
    """The ground-truth optimal-MIB reference of a synthetic draw, trained once per draw and kept on disk.

    Args:
        config: the draw (dataset id, parameters, seed, split).
        dataset: ``config``'s draw when the caller has it already (saves drawing it again on a cache miss).
        cache: folder of the cached numbers (default ``paths.reference_cache_dir()``).

    Returns:
        As ``compute_optimal_reference``; ``{}`` for a dataset without a trained reference (real data, uploads,
        SIM-ANOMALY, whose optimal score comes with the draw). ``reference: false`` in ``config`` is not read here:
        the caller asked.
    """
    from omib_core.data import get_info, load_dataset
    from omib_core.data.registry import REFERENCE
    from omib_core.paths import reference_cache_dir

    if REFERENCE not in get_info(config.dataset).defaults:
        return {}
    path = Path(cache) if cache is not None else reference_cache_dir()
    path = path / f"{reference_key(config)}.json"
    value = read_json_object(path)
    if value is not None:
        return value
    value = compute_optimal_reference(dataset if dataset is not None else load_dataset(config), config.seed)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return value
    _write(path, value)
    return value
