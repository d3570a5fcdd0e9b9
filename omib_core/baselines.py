"""The strong simple baseline of any dataset: a regularised linear model on the concatenated views.

What OMIB (or any fusion network) has to beat before its numbers mean anything:

- classification: multinomial logistic regression (scikit-learn ``LogisticRegression``, lbfgs, L2) on the
  concatenation of every modality;
- regression: ridge regression (scikit-learn ``Ridge``) on the same concatenation;
- anomaly: no linear baseline (``linear_baseline`` returns None). A one-class model is a different kind of
  baseline, not a linear predictor of the target, and is out of the scope of this module.

Protocol (train-split scaling, validation-only selection, the same metric functions as the training loop):

- features: the modalities concatenated in their order, each column standardised with the mean and standard
  deviation of the *training* rows (a constant column is centred and keeps unit scale), as
  ``MultimodalDataset.standardized`` does;
- fitting: on the training rows only; above ``max_train_rows`` training rows, on a seeded random subsample of
  them (validation and test are always evaluated in full);
- selection: the regularisation strength is chosen on the *validation* split by the task's primary metric
  (``PRIMARY_METRIC``: accuracy / MAE), over a fixed log grid (``C_GRID`` / ``ALPHA_GRID``). Ties go to the
  stronger regularisation (smaller C, larger alpha). The test split is never looked at before the choice;
- metrics: ``omib_core.analysis.metrics.compute_metrics`` on train, val and test, so the names ("accuracy",
  "f1_macro", "mae", "corr", ...) are the training loop's.

Cost: the logistic grid is fitted with warm starts (weakest C last), each fit to a gradient tolerance of
``TOL`` (1e-6: scikit-learn's default 1e-4 left the SIM-I validation accuracy 0.3 points apart between a warm
and a cold start) and capped at ``MAX_ITER`` iterations. scikit-learn's ConvergenceWarning is silenced (a fit
that stops at the cap is still a valid, regularised model), any other warning or error is not.

[choice] BLAS runs on one thread during the fit (threadpoolctl): the products are small, and on the 2-core
development machine, loaded by other jobs, two OpenBLAS threads made the SIM-I grid 15-25 times slower
(20-32 s against 1.1-1.5 s). Measured on SIM-I defaults (10,000 rows, 7,000 train, 278 columns, 4 classes):
the whole grid, with the train / val / test evaluation, takes 1.1-1.7 s on one core of that machine (the
first call in a process also imports scikit-learn, about 1.5 s more); ridge on SIM-REG about 0.3 s.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from omib_core.analysis.metrics import PRIMARY_METRIC, compute_metrics, is_better
from omib_core.data.dataset import SPLIT_NAMES, TRAIN, MultimodalDataset
from omib_core.errors import DataError
from omib_core.params import Param

C_GRID: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2)  # inverse L2 strength of LogisticRegression
ALPHA_GRID: tuple[float, ...] = (1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3, 1e4)  # L2 strength of Ridge
MAX_ITER = 500  # lbfgs iterations per logistic fit
TOL = 1e-6  # lbfgs gradient tolerance: tight enough that a warm and a cold start reach the same model
MAX_TRAIN_ROWS = 50_000
LINEAR_TASKS = ("classification", "regression")


# main class


@dataclass(frozen=True)
class LinearBaselineResult:
    """The linear baseline of one dataset.

    Attributes:
        method: ``"logistic regression"`` or ``"ridge"``.
        param_name: ``"C"`` (logistic regression, inverse strength) or ``"alpha"`` (ridge, strength).
        param: the value chosen on the validation split.
        metric: the selection metric (the task's primary metric, e.g. ``"accuracy"`` or ``"mae"``).
        grid: ``((param, validation metric), ...)`` for every value tried, in grid order.
        train_metrics, val_metrics, test_metrics: ``compute_metrics`` of the chosen model on each split
            (train metrics on the rows used for fitting).
        seconds: wall time of the whole grid and the evaluation.
        n_train_used: training rows the model was fitted on.
        n_features: columns of the concatenated views.
    """

    method: str
    param_name: str
    param: float
    metric: str
    grid: tuple[tuple[float, float], ...]
    train_metrics: dict[str, float]
    val_metrics: dict[str, float]
    test_metrics: dict[str, float]
    seconds: float
    n_train_used: int
    n_features: int

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (lists, floats, strings) for result files."""
        out = asdict(self)
        out["grid"] = [[float(p), float(s)] for p, s in self.grid]
        return out


# helpers


def _features(dataset: MultimodalDataset) -> np.ndarray:
    """``(N, sum d_i)`` float64: the modalities side by side, standardised with training-row statistics."""
    x = np.hstack([np.asarray(v, dtype=np.float64) for v in dataset.modalities.values()])
    tr = np.asarray(dataset.split) == TRAIN
    mu = x[tr].mean(axis=0)
    sd = x[tr].std(axis=0)
    sd[sd < 1e-12] = 1.0
    return (x - mu) / sd


def _train_rows(dataset: MultimodalDataset, max_train_rows: int, seed: int) -> np.ndarray:
    """Training row indices, or a seeded random subsample of ``max_train_rows`` of them (sorted)."""
    idx = dataset.indices("train")
    if len(idx) > max_train_rows:
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(idx, size=max_train_rows, replace=False))
    return idx


def _class_probabilities(model: Any, x: np.ndarray, n_classes: int) -> np.ndarray:
    """``(n, K)`` probabilities; classes absent from the fitted rows get probability 0."""
    proba = model.predict_proba(x)
    out = np.zeros((x.shape[0], n_classes), dtype=np.float64)
    out[:, np.asarray(model.classes_, dtype=np.int64)] = proba
    return out


def _check_args(dataset: Any, max_train_rows: Any, seed: Any) -> None:
    if not isinstance(dataset, MultimodalDataset):
        raise DataError(
            f"linear_baseline expects a MultimodalDataset (from omib_core.data.load_dataset). "
            f"Got {type(dataset).__name__} instead."
        )
    Param("int", low=2).check("linear_baseline", "max_train_rows", max_train_rows)
    Param("int", low=0).check("linear_baseline", "seed", seed)


def _fit_logistic(
    x: np.ndarray, y: np.ndarray, tr: np.ndarray, va: np.ndarray, n_classes: int, metric: str
) -> tuple[Any, float, tuple[tuple[float, float], ...]]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    classes = np.unique(y[tr])
    if classes.size < 2:
        raise DataError(
            f"The training rows used for the linear baseline hold a single class ({int(classes[0])}); "
            "logistic regression needs at least 2. Raise 'max_train_rows' or give the training split rows of "
            "every class."
        )
    model = LogisticRegression(C=C_GRID[0], solver="lbfgs", max_iter=MAX_ITER, tol=TOL, warm_start=True)
    best_score, best_c, best_coef, best_icpt = math.nan, C_GRID[0], None, None
    grid = []
    for c in C_GRID:  # strongest regularisation first: each fit starts from the previous solution
        model.set_params(C=c)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x[tr], y[tr])
        score = compute_metrics("classification", y[va], _class_probabilities(model, x[va], n_classes))[metric]
        grid.append((float(c), float(score)))
        if best_coef is None or is_better(metric, score, best_score):
            best_score, best_c = score, c
            best_coef, best_icpt = model.coef_.copy(), model.intercept_.copy()
    model.set_params(C=best_c)
    model.coef_, model.intercept_ = best_coef, best_icpt
    return model, float(best_c), tuple(grid)


def _fit_ridge(
    x: np.ndarray, y: np.ndarray, tr: np.ndarray, va: np.ndarray, metric: str
) -> tuple[Any, float, tuple[tuple[float, float], ...]]:
    from sklearn.linear_model import Ridge

    best_score, best_model, best_alpha = math.nan, None, ALPHA_GRID[-1]
    grid = []
    for alpha in reversed(ALPHA_GRID):  # strongest regularisation first, so a tie keeps it
        model = Ridge(alpha=alpha).fit(x[tr], y[tr])
        score = compute_metrics("regression", y[va], model.predict(x[va]))[metric]
        grid.append((float(alpha), float(score)))
        if best_model is None or is_better(metric, score, best_score):
            best_score, best_model, best_alpha = score, model, alpha
    grid.reverse()  # report in grid order (ascending alpha)
    return best_model, float(best_alpha), tuple(grid)


def _fit_and_report(dataset: MultimodalDataset, max_train_rows: int, seed: int, start: float) -> LinearBaselineResult:
    """The body of ``linear_baseline`` for classification and regression (arguments already checked)."""
    task = dataset.task
    metric = PRIMARY_METRIC[task]
    x = _features(dataset)
    tr = _train_rows(dataset, max_train_rows, seed)
    va, te = dataset.indices("val"), dataset.indices("test")
    if task == "classification":
        y = np.asarray(dataset.target).astype(np.int64)
        k = dataset.n_classes
        model, param, grid = _fit_logistic(x, y, tr, va, k, metric)

        def output(rows: np.ndarray) -> np.ndarray:
            return _class_probabilities(model, x[rows], k)

        method, param_name = "logistic regression", "C"
    else:
        y = np.asarray(dataset.target, dtype=np.float64)
        model, param, grid = _fit_ridge(x, y, tr, va, metric)

        def output(rows: np.ndarray) -> np.ndarray:
            return model.predict(x[rows])

        method, param_name = "ridge", "alpha"
    metrics = {
        name: compute_metrics(task, y[rows], output(rows)) for name, rows in (("train", tr), ("val", va), ("test", te))
    }
    return LinearBaselineResult(
        method=method,
        param_name=param_name,
        param=param,
        metric=metric,
        grid=grid,
        train_metrics=metrics["train"],
        val_metrics=metrics["val"],
        test_metrics=metrics["test"],
        seconds=float(time.perf_counter() - start),
        n_train_used=int(len(tr)),
        n_features=int(x.shape[1]),
    )


# main functions


def linear_baseline(
    dataset: MultimodalDataset, *, max_train_rows: int = MAX_TRAIN_ROWS, seed: int = 0
) -> LinearBaselineResult | None:
    """Fit the linear baseline of ``dataset`` and report its train / val / test metrics.

    Logistic regression (classification) or ridge (regression) on the standardised, concatenated views, with
    the regularisation chosen on the validation split (see the module docstring for the exact protocol).

    Args:
        dataset: any ``MultimodalDataset`` (raw or already standardised: the features are standardised here).
        max_train_rows: fit on at most this many training rows (a seeded random subsample above it).
        seed: seeds that subsample.

    Returns:
        A ``LinearBaselineResult``, or None for the anomaly task (no linear baseline; see the module docstring).

    Raises:
        DataError: ``dataset`` is not a ``MultimodalDataset``, or the rows used for fitting hold a single class.
        ConfigError: ``max_train_rows`` or ``seed`` is invalid.
    """
    _check_args(dataset, max_train_rows, seed)
    if dataset.task not in LINEAR_TASKS:
        return None
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    start = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_and_report(dataset, int(max_train_rows), int(seed), start)


def baseline_reference(result: LinearBaselineResult | None) -> dict[str, float]:
    """Flat ``{"linear_{split}_{metric}": value}`` of every split and metric, to draw beside the ground truth.

    For example ``linear_val_accuracy`` and ``linear_test_accuracy``. None (the anomaly task) gives ``{}``.
    """
    if result is None:
        return {}
    out: dict[str, float] = {}
    for split in SPLIT_NAMES.values():
        for name, value in getattr(result, f"{split}_metrics").items():
            out[f"linear_{split}_{name}"] = float(value)
    return out
