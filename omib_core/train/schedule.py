"""The training schedule in optimizer steps, adapted to the training-set size.

Epoch counts mean different things at 40 rows and at a million: with batch 256, a 124-row training set gets one
optimizer step per epoch (60 steps in 50 epochs, far too few), and a million rows get 3,900 steps per epoch. So with
``TrainConfig.schedule="auto"`` (the default) the numbers a user sets are turned into a schedule in steps:

- **batch**: ``batch_size`` is a cap. The batch is at most ``batch_fraction`` of the training rows (at least
  ``MIN_BATCH``), so a small table still gets several steps per epoch;
- **main stage**: ``epochs`` is raised until it gives at least ``min_steps`` optimizer steps, and lowered so that it
  gives at most ``max_steps`` (at least one epoch);
- **warm-up**: ``warmup_epochs`` is raised to at least ``min_warmup_steps`` steps (0 stays 0: the ablation);
- **early stopping**: ``patience`` main epochs without a better validation metric end the run (0 = off); the
  best weights are restored when ``select="best_val"``. A patience not shorter than the main stage is halved
  to fit it.

With ``schedule="fixed"`` the numbers are taken literally and only checked. Either way a schedule that cannot be
honoured (a batch larger than the training rows, patience not shorter than the main stage, more steps than the
budget) raises ``ConfigError`` with a sentence naming the parameter and a value that works, before training starts.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from omib_core.config import TrainConfig
from omib_core.errors import ConfigError

MIN_BATCH = 8  # the auto schedule never makes a batch smaller than this (unless the training set is smaller)


@dataclass(frozen=True)
class Schedule:
    """What a run will do: batch, steps per epoch, epochs and steps of each stage, patience.

    Attributes:
        n_fit: training rows the optimizer sees (normal rows only for the anomaly task).
        batch_size: the resolved batch.
        steps_per_epoch: ceil(n_fit / batch_size).
        warmup_epochs, epochs: resolved epochs of the warm-up and of the main stage.
        warmup_steps, main_steps: the same in optimizer steps (the main stage may stop earlier on patience).
        patience: main epochs without a better validation metric before stopping (0 = no early stopping).
        mode: ``"auto"`` or ``"fixed"``.
        changes: one sentence per value the auto schedule changed, for the UI and the CLI.
    """

    n_fit: int
    batch_size: int
    steps_per_epoch: int
    warmup_epochs: int
    epochs: int
    warmup_steps: int
    main_steps: int
    patience: int
    mode: str
    changes: tuple[str, ...] = ()

    @property
    def total_epochs(self) -> int:
        return self.warmup_epochs + self.epochs

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["changes"] = list(self.changes)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Schedule:
        """A stored ``to_dict()`` (a run's ``summary["schedule"]``, ``RunStarted.schedule``) back as a Schedule;
        keys it does not know (a newer version's) are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: (tuple(v) if k == "changes" else v) for k, v in d.items() if k in names})

    def summary(self) -> str:
        """One line: 'batch 16 · 9 steps/epoch · warm-up 34 epochs (306 steps) · main 167 epochs (1,503 steps) · ...'."""
        stop = (
            f"early stop after {self.patience} epochs without a better val metric" if self.patience else "no early stop"
        )
        warm = (
            f"warm-up {self.warmup_epochs} epochs ({self.warmup_steps:,} steps)" if self.warmup_epochs else "no warm-up"
        )
        return (
            f"batch {self.batch_size} · {self.steps_per_epoch} steps/epoch · {warm} · "
            f"main {self.epochs} epochs ({self.main_steps:,} steps) · {stop}"
        )


# main function


def resolve_schedule(train: TrainConfig, n_fit: int, *, strict: bool = True) -> Schedule:
    """The schedule ``train`` gives on ``n_fit`` training rows.

    With ``strict=False`` (the submit-time estimate) nothing is refused: no rows count as one, a fixed batch larger
    than the rows is capped at the rows, fixed epochs over ``max_steps`` are capped to fit it, and patience is left
    as it is.

    Raises:
        ConfigError: the schedule cannot be honoured; the sentence names the parameter and a value that works.
    """
    if n_fit < 1 and strict:
        raise ConfigError("There are no training rows to fit; give the dataset a training split with at least one row.")
    n_fit = max(n_fit, 1)
    auto = train.schedule == "auto"
    changes: list[str] = []
    if auto:
        cap = max(MIN_BATCH, int(n_fit * train.batch_fraction))
        batch = min(train.batch_size, cap, n_fit)
        if batch < train.batch_size:
            changes.append(
                f"batch_size {train.batch_size} -> {batch} ({train.batch_fraction:g} of the {n_fit:,} training rows)"
            )
    else:
        if train.batch_size > n_fit and strict:
            raise ConfigError(
                f"TrainConfig batch_size = {train.batch_size} is larger than the {n_fit:,} training rows. "
                f"Use batch_size <= {n_fit} (e.g. {max(1, min(n_fit, max(MIN_BATCH, n_fit // 8)))}), "
                "or schedule='auto', which caps the batch for you."
            )
        batch = min(train.batch_size, n_fit)
    spe = math.ceil(n_fit / batch)
    max_epochs = max(1, train.max_steps // spe)
    epochs = train.epochs
    warmup = train.warmup_epochs
    if auto:
        want = max(epochs, math.ceil(train.min_steps / spe))
        if want > epochs:
            changes.append(f"epochs {epochs} -> {want} (at least {train.min_steps:,} optimizer steps)")
        if want > max_epochs:
            changes.append(f"epochs {want} -> {max_epochs} (at most {train.max_steps:,} optimizer steps)")
            want = max_epochs
        epochs = want
        if warmup > 0:
            w = max(warmup, math.ceil(train.min_warmup_steps / spe))
            w = min(w, max_epochs)
            if w != warmup:
                changes.append(f"warmup_epochs {warmup} -> {w} (at least {train.min_warmup_steps:,} steps)")
            warmup = w
    elif epochs * spe > train.max_steps and not strict:
        epochs = max_epochs
    elif epochs * spe > train.max_steps:
        raise ConfigError(
            f"TrainConfig epochs = {epochs} gives {epochs * spe:,} optimizer steps ({spe} per epoch), more than "
            f"max_steps = {train.max_steps:,}. Use epochs <= {max_epochs}, or raise max_steps."
        )
    patience = train.patience
    fit = epochs // 2  # a patience that fits the main stage; 0 (no early stopping) when it is one epoch
    if auto and patience and patience >= epochs:
        why = f"shorter than the {epochs} main epochs" if fit else "a one-epoch main stage cannot stop early"
        changes.append(f"patience {patience} -> {fit} ({why})")
        patience = fit
    if patience and patience >= epochs and strict:
        use = f"Use patience <= {fit}, or 0 for no early stopping." if fit else "Use patience = 0, or more epochs."
        raise ConfigError(
            f"TrainConfig patience = {patience} main epochs is not shorter than the main stage ({epochs} epochs), "
            f"so it could never stop a run early. {use}"
        )
    return Schedule(
        n_fit=int(n_fit),
        batch_size=int(batch),
        steps_per_epoch=int(spe),
        warmup_epochs=int(warmup),
        epochs=int(epochs),
        warmup_steps=int(warmup * spe),
        main_steps=int(epochs * spe),
        patience=int(patience),
        mode=train.schedule,
        changes=tuple(changes),
    )
