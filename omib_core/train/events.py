"""Events yielded by ``omib_core.train.train(config)``.

Small frozen objects holding plain Python floats / strings only (no tensors), so that a worker can
write them to the run store and a test can compare them. Metric names follow one convention:

step / epoch metrics (main stage)::

    loss, task_loss                  total loss and L_task(dDec(xi), y)
    kl/<m>, beta_kl/<m>              KL_i summed over latent dims (batch mean) and beta * r_i * KL_i
    r/<m>                            r_j per modality (the reference modality, first, is always 1.0)
    beta, M_u, beta_over_Mu          the regularisation weight and its bound
    trb_loss/<m>                     L_task of the TRB head Dec_i
    samples_per_second

epoch metrics additionally::

    train/<metric>, val/<metric>, test/<metric>   e.g. val/accuracy, test/f1_macro, val/mae, test/auc
    trb/<m>/val/<metric>                          the TRB heads' validation metrics
    info/<rep>/<block>                            simulated data, snapshot epochs and the last: I(rep; block) in
                                                  nats on held-out rows, rep = xi, z_<m>, zeta_<m>, block = a0, b1...
                                                  (omib_core.analysis.information)

Warm-up uses the same names with stage="warmup" (loss, trb_loss/<m>, trb/<m>/val/<metric>).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RunStarted:
    """First event: what is about to be trained and with which beta."""

    device: str
    task: str
    modalities: tuple[str, ...]
    n_train: int
    n_val: int
    n_test: int
    total_epochs: int  # warm-up + main
    steps_per_epoch: int
    beta: float
    M_u: float | None
    M_l: float | None
    beta_over_Mu: float | None
    estimator: str | None  # which estimator set beta; None when beta was set by hand
    num_threads: int
    reference: dict[str, float] = field(default_factory=dict)  # ground truth for synthetic data
    bound_note: str | None = None  # how the bound was reached when the plain estimate could not be used
    schedule: dict = field(default_factory=dict)  # the resolved schedule (omib_core.train.schedule.Schedule)
    class_names: tuple[str, ...] = ()  # classification / anomaly: the name of each class id, in id order


@dataclass(frozen=True)
class StepEvent:
    """Emitted every ``log_every`` optimiser steps."""

    stage: str
    epoch: int  # global epoch index, 0-based, warm-up epochs first
    step: int  # global optimiser step, 1-based
    metrics: dict[str, float]


@dataclass(frozen=True)
class EpochEvent:
    """Emitted at the end of every epoch, after evaluation."""

    stage: str
    epoch: int
    step: int
    metrics: dict[str, float]
    eta_seconds: float | None = None


@dataclass(frozen=True)
class SnapshotEvent:
    """An embedding snapshot (xi, z_i, zeta_i of a sample subset) written to ``path`` (.npz)."""

    epoch: int
    path: str


@dataclass(frozen=True)
class RunFailed:
    """Training stopped because of a problem (e.g. a non-finite loss); earlier events stand."""

    epoch: int
    step: int
    message: str


@dataclass(frozen=True)
class RunFinished:
    """Last event of a successful run."""

    epochs: int
    step: int
    test_metrics: dict[str, float]
    val_metrics: dict[str, float]
    r_final: tuple[float, ...]
    beta: float
    wall_seconds: float
    samples_per_second: float
    checkpoint_path: str | None = None
    best_epoch: int | None = None  # the epoch test_metrics come from (TrainConfig.select)
    last_test_metrics: dict[str, float] = field(default_factory=dict)  # test metrics of the last epoch
    last_val_metrics: dict[str, float] = field(default_factory=dict)
    # both selections, whatever TrainConfig.select says: the best-validation epoch and the last epoch
    best_val_test_metrics: dict[str, float] = field(default_factory=dict)
    best_val_val_metrics: dict[str, float] = field(default_factory=dict)
    best_val_epoch: int | None = None
    last_epoch: int | None = None  # the last epoch trained (earlier than planned when stopped early)
    stopped_early: bool = False
    schedule: dict = field(default_factory=dict)


Event = RunStarted | StepEvent | EpochEvent | SnapshotEvent | RunFailed | RunFinished
