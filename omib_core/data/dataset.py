"""The one dataset type: named modalities, a target, a task and train/val/test splits.

Scale convention (used by training and by the beta bound): every modality is standardised with the
mean and standard deviation of the *training* rows only (``standardized()``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from omib_core.config import TASKS
from omib_core.errors import DataError

TRAIN, VAL, TEST = 0, 1, 2
SPLIT_NAMES = {TRAIN: "train", VAL: "val", TEST: "test"}
MIN_ROWS_PER_SPLIT = 2
# where the built-in synthetic datasets come from (their meta "source" / "licence")
SYNTHETIC_SOURCE = "synthetic (OMIB Studio generator, SPEC section 6)"
SYNTHETIC_LICENCE = "generated data, no licence restrictions"


# helpers


def make_split(
    n: int, val_fraction: float, test_fraction: float, seed: int, stratify: np.ndarray | None = None
) -> np.ndarray:
    """Seeded random split codes (0 train, 1 val, 2 test), stratified by class when given."""
    rng = np.random.default_rng(seed)
    split = np.zeros(n, dtype=np.int8)
    groups = [np.arange(n)] if stratify is None else [np.flatnonzero(stratify == c) for c in np.unique(stratify)]
    for idx in groups:
        idx = rng.permutation(idx)
        n_val = int(round(len(idx) * val_fraction))
        n_test = int(round(len(idx) * test_fraction))
        split[idx[:n_val]] = VAL
        split[idx[n_val : n_val + n_test]] = TEST
    return split


def fit_mask(split: np.ndarray, target: np.ndarray, task: str) -> np.ndarray:
    """``(N,)`` bool: the rows the optimiser fits. The training rows, and for the anomaly task only the normal ones
    (Deep SVDD trains on normal rows)."""
    fit = np.asarray(split) == TRAIN
    if task == "anomaly":
        fit &= np.asarray(target) == 0
    return fit


def n_fit_rows(n: int, val_fraction: float, test_fraction: float, task: str, anomaly_share: float = 0.0) -> int:
    """How many rows ``fit_mask`` keeps, without drawing the split: the training rows of ``make_split`` (exact
    without strata; a stratified split rounds each class, so it may differ by about one row per class), minus the
    ``anomaly_share`` of them (its expected count) for the anomaly task."""
    n_train = n - int(round(n * val_fraction)) - int(round(n * test_fraction))
    if task == "anomaly":
        n_train -= int(round(n_train * anomaly_share))
    return max(n_train, 0)


# main class


@dataclass
class MultimodalDataset:
    """Named modalities sharing rows, a target, a task and a split.

    Attributes:
        name: dataset id.
        modalities: ordered ``{name: (N, d_i) float32}``; the first is the reference modality of r.
        target: ``(N,)``: int64 class ids (classification), float32 (regression), int64 0/1 with 1 =
            anomaly (anomaly; training uses normal rows only).
        task: ``"classification"``, ``"regression"`` or ``"anomaly"``.
        split: ``(N,)`` int8 codes, 0 train, 1 val, 2 test.
        ground_truth: synthetic data only: ``bayes_accuracy``, ``exact_mi_v1_v2`` (nats, standardised
            features), ``exact_h`` per modality, ``exact_h_joint``, and ``optimal_features`` (N, k) array (the
            accuracy of a model trained on them is ``omib_core.analysis.reference.optimal_reference``).
        meta: free text about the source (description, licence, citation, class names).
    """

    name: str
    modalities: dict[str, np.ndarray]
    target: np.ndarray
    task: str
    split: np.ndarray
    ground_truth: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    # --- checks ---------------------------------------------------------------------------------

    def validate(self) -> None:
        """Raise DataError with a fixing hint for every structural problem."""
        if self.task not in TASKS:
            raise DataError(f"Dataset {self.name!r}: task must be one of {TASKS}. Got {self.task!r}.")
        if not isinstance(self.modalities, dict) or len(self.modalities) < 2:
            raise DataError(
                f"Dataset {self.name!r} needs at least 2 modalities, got {len(self.modalities or {})}. "
                "OMIB fuses several views: add a second modality."
            )
        n = None
        for m, x in self.modalities.items():
            x = np.asarray(x)
            if x.dtype == object:
                raise DataError(f"Modality {m!r} is an object array; convert it to numbers (float) first.")
            if x.ndim != 2:
                raise DataError(
                    f"Modality {m!r} must be a 2-D array (rows = samples, columns = features). Got shape {x.shape}; "
                    "flatten or pool extra dimensions first."
                )
            if x.shape[1] == 0:
                raise DataError(f"Modality {m!r} has no feature columns (shape {x.shape}).")
            if not np.issubdtype(x.dtype, np.number):
                raise DataError(f"Modality {m!r} has non-numeric dtype {x.dtype}; convert it to float.")
            bad = int((~np.isfinite(x)).sum())
            if bad:
                raise DataError(f"Modality {m!r} has {bad} NaN/inf values; impute or drop those rows before training.")
            if n is None:
                n = x.shape[0]
            elif x.shape[0] != n:
                counts = {k: np.asarray(v).shape[0] for k, v in self.modalities.items()}
                raise DataError(
                    f"Modalities have different row counts {counts}; every modality needs one row per sample, "
                    "in the same order."
                )
        assert n is not None
        y = np.asarray(self.target)
        if y.ndim != 1 or y.shape[0] != n:
            raise DataError(f"Target must have shape ({n},), one value per sample. Got {y.shape}.")
        if y.dtype == object or not np.issubdtype(y.dtype, np.number):
            raise DataError(
                f"Target must be numeric (class ids or values). Got dtype {y.dtype}; encode labels as ints."
            )
        if not np.all(np.isfinite(y)):
            raise DataError("Target contains NaN/inf; drop or fix those rows.")
        s = np.asarray(self.split)
        if s.shape != (n,) or not np.isin(s, (TRAIN, VAL, TEST)).all():
            raise DataError(f"Split must have shape ({n},) with codes 0 (train), 1 (val), 2 (test).")
        for code, sname in SPLIT_NAMES.items():
            if int((s == code).sum()) < MIN_ROWS_PER_SPLIT:
                raise DataError(
                    f"Dataset {self.name!r} has {int((s == code).sum())} {sname} rows out of {n}; each split needs at "
                    f"least {MIN_ROWS_PER_SPLIT}. Use more samples or larger val/test fractions."
                )
        if self.task == "classification":
            if not np.all(y == np.round(y)) or y.min() < 0:
                raise DataError("Classification targets must be non-negative integer class ids (0..K-1).")
            if len(np.unique(y[s == TRAIN])) < 2:
                raise DataError(
                    f"Dataset {self.name!r} has a single class in its training rows; classification needs at least 2."
                )
        if self.task == "anomaly":
            if not np.isin(y, (0, 1)).all():
                raise DataError("Anomaly targets must be 0 (normal) or 1 (anomaly).")
            if int(((s == TRAIN) & (y == 0)).sum()) < MIN_ROWS_PER_SPLIT:
                raise DataError("Anomaly detection trains on normal rows (target 0); the training split has too few.")

    # --- views ----------------------------------------------------------------------------------

    @property
    def modality_names(self) -> tuple[str, ...]:
        return tuple(self.modalities)

    @property
    def n_samples(self) -> int:
        return int(np.asarray(self.target).shape[0])

    @property
    def input_dims(self) -> dict[str, int]:
        return {m: int(x.shape[1]) for m, x in self.modalities.items()}

    @property
    def n_classes(self) -> int:
        """Classes for classification, 1 otherwise (regression output / anomaly embedding unused)."""
        if self.task == "classification":
            return int(np.asarray(self.target).max()) + 1
        return 1

    def indices(self, which: str | int) -> np.ndarray:
        code = which if isinstance(which, int) else {v: k for k, v in SPLIT_NAMES.items()}[which]
        return np.flatnonzero(self.split == code)

    def subset(self, which: str | int) -> dict[str, np.ndarray]:
        """Arrays of one split: ``{modality: X, "target": y}``."""
        idx = self.indices(which)
        out = {m: x[idx] for m, x in self.modalities.items()}
        out["target"] = self.target[idx]
        return out

    def standardized(self) -> MultimodalDataset:
        """A copy with every modality standardised by train-split mean/std (float32).

        Constant columns (std 0 on train) are centred and left with unit scale.
        """
        tr = self.split == TRAIN
        mods = {}
        for m, x in self.modalities.items():
            x = np.asarray(x, dtype=np.float64)
            mu = x[tr].mean(0)
            sd = x[tr].std(0)
            sd[sd < 1e-12] = 1.0
            mods[m] = ((x - mu) / sd).astype(np.float32)
        target = self.target
        if self.task == "regression":
            target = np.asarray(target, dtype=np.float32)
        else:
            target = np.asarray(target, dtype=np.int64)
        return replace(self, modalities=mods, target=target, meta={**self.meta, "standardized": True})

    def summary(self) -> dict[str, Any]:
        """Plain-dict description for previews and result files."""
        return summarize(self.name, self.task, self.target, self.split, self.input_dims)


def summarize(name: str, task: str, target: np.ndarray, split: np.ndarray, dims: dict[str, int]) -> dict[str, Any]:
    """``MultimodalDataset.summary`` from its parts (a preview of a folder sample has no whole dataset)."""
    y, split = np.asarray(target), np.asarray(split)
    out: dict[str, Any] = {
        "name": name,
        "task": task,
        "n_samples": int(y.shape[0]),
        "modalities": dict(dims),
        "splits": {n: int((split == c).sum()) for c, n in SPLIT_NAMES.items()},
    }
    if task != "regression":
        vals, counts = np.unique(y, return_counts=True)
        out["class_counts"] = {int(v): int(c) for v, c in zip(vals, counts)}
    return out


def stratified_split(target: np.ndarray, task: str, seed: int, val_fraction: float, test_fraction: float) -> np.ndarray:
    """``make_split`` stratified by class, then topped up so val and test hold >= MIN_ROWS_PER_SPLIT rows.

    Tiny sets (nutrimouse: 40 rows, 8 per diet) can round a class's share to 0; the missing rows are moved from
    the training rows of the largest classes, seeded, so each split still has rows to score.
    """
    strat = None if task == "regression" else np.asarray(target)
    split = make_split(len(target), val_fraction, test_fraction, seed, stratify=strat)
    rng = np.random.default_rng([seed, 1])
    for code in (VAL, TEST):
        for _ in range(MIN_ROWS_PER_SPLIT - int((split == code).sum())):
            train = np.flatnonzero(split == TRAIN)
            if len(train) <= MIN_ROWS_PER_SPLIT:
                break
            if strat is not None:
                classes, counts = np.unique(strat[train], return_counts=True)
                train = train[strat[train] == classes[np.argmax(counts)]]
            split[rng.choice(train)] = code
    return split
