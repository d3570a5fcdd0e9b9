"""Frozen, validated configuration dataclasses.

One experiment is one ``RunConfig`` (data + model + train + bound). Every value is checked on
construction and an invalid one raises ``ConfigError`` naming the parameter, the constraint and the
value. ``to_dict`` / ``from_dict`` round-trip through plain JSON types, so a whole experiment fits in a
file or a URL. Options marked [choice] in SPEC.md are ours where the paper gave no detail.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from typing import Any

from omib_core.errors import ConfigError, param_error

TASKS = ("classification", "regression", "anomaly")
FUSIONS = ("can", "concat")
R_FORMS = ("info_gain", "ratio_of_means", "mean_of_ratios")
R_UPDATES = ("epoch", "batch")
SCHEDULES = ("auto", "fixed")
BOUND_FORMS = ("conservative", "with_r")
ESTIMATORS = ("gaussian", "mine", "infonce", "smile")
SELECTS = ("best_val", "last")
DEVICES = ("auto", "cpu", "cuda", "mps")  # plus "cuda:N"; resolved by omib_core.device
STAGES = ("warmup", "main")  # the two training stages (SPEC 3.1, 3.2)


# helpers


def _pos_int(owner: str, name: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        constraint = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise param_error(owner, name, constraint, value)


def _pos_float(owner: str, name: str, value: Any, allow_zero: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise param_error(owner, name, "a finite float >= 0" if allow_zero else "a finite float > 0", value)


def _fraction(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 < value < 1.0:
        raise param_error(owner, name, "a float in (0, 1)", value)


def _choice(owner: str, name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise param_error(owner, name, f"one of {choices}", value)


class _Base:
    """to_dict / from_dict shared by every config."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None):
        d = dict(d or {})
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"{cls.__name__} got unknown parameter(s) {unknown}; valid names are {sorted(names)}.")
        return cls(**d)

    def replace(self, **changes: Any):
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


# main classes


@dataclass(frozen=True)
class DataConfig(_Base):
    """Which dataset and how to split it.

    Attributes:
        dataset: a dataset id from ``omib_core.data.list_datasets()`` (e.g. ``"sim-i"``) or a folder path.
        params: generator / loader parameters (e.g. ``{"n_samples": 10000, "noise": 0.5}`` for SIM data).
        seed: seed of the draw and of the split.
        val_fraction, test_fraction: split sizes when the dataset has no split of its own.
    """

    dataset: str = "sim-i"
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    val_fraction: float = 0.15
    test_fraction: float = 0.15

    def __post_init__(self) -> None:
        if not isinstance(self.dataset, str) or not self.dataset.strip():
            raise param_error("DataConfig", "dataset", "a non-empty dataset id or folder path", self.dataset)
        if not isinstance(self.params, dict):
            raise param_error("DataConfig", "params", "a dict", self.params)
        _pos_int("DataConfig", "seed", self.seed, minimum=0)
        _fraction("DataConfig", "val_fraction", self.val_fraction)
        _fraction("DataConfig", "test_fraction", self.test_fraction)
        if self.val_fraction + self.test_fraction >= 0.9:
            raise ConfigError(
                "DataConfig val_fraction + test_fraction must leave at least 10% for training. "
                f"Got {self.val_fraction} + {self.test_fraction}."
            )


@dataclass(frozen=True)
class ModelConfig(_Base):
    """The OMIB network (SPEC section 2). Baselines are values of this config, not other modules.

    Attributes:
        hidden_dim: width of the encoder / head MLPs.
        enc_layers: hidden layers of each Enc_i; 0 = a linear encoder (one Linear to ``z_dim``).
        z_dim: dimension of z_i (encoder output).
        latent_dim: dimension of zeta_i (VAE latent); divisible by ``tokens``.
        xi_dim: dimension of the fused representation xi (and of the warm-up noise e_i).
        tokens: T, tokens each zeta_i is split into for cross-attention.
        heads: attention heads; ``latent_dim / tokens`` must be divisible by it.
        fusion: ``"can"`` (cross-attention) or ``"concat"`` baseline.
        bottleneck: False = plain late fusion baseline (no VAE sampling, no KL term).
        dropout: [choice] dropout in the MLPs.

    Defaults [choice]: linear encoders (``enc_layers=0``), dropout 0.1, with ``TrainConfig.lr`` 1e-3, chosen on
    validation accuracy over SIM-I/II/III (bench/results/defaults_search.md) and checked on the bundled real data
    (bench/results/real_table.md). Two hidden layers memorised SIM-I's training set before the bottleneck could act.
    """

    hidden_dim: int = 128
    enc_layers: int = 0
    z_dim: int = 64
    latent_dim: int = 32
    xi_dim: int = 32
    tokens: int = 4
    heads: int = 4
    fusion: str = "can"
    bottleneck: bool = True
    dropout: float = 0.1

    def __post_init__(self) -> None:
        for name in ("hidden_dim", "z_dim", "latent_dim", "xi_dim", "tokens", "heads"):
            _pos_int("ModelConfig", name, getattr(self, name))
        _pos_int("ModelConfig", "enc_layers", self.enc_layers, minimum=0)
        _choice("ModelConfig", "fusion", self.fusion, FUSIONS)
        if not isinstance(self.bottleneck, bool):
            raise param_error("ModelConfig", "bottleneck", "a bool", self.bottleneck)
        if not isinstance(self.dropout, (int, float)) or not 0.0 <= self.dropout < 1.0:
            raise param_error("ModelConfig", "dropout", "a float in [0, 1)", self.dropout)
        if self.latent_dim % self.tokens:
            raise ConfigError(
                f"ModelConfig latent_dim ({self.latent_dim}) must be divisible by tokens ({self.tokens}); "
                "change one of them."
            )
        if (self.latent_dim // self.tokens) % self.heads:
            raise ConfigError(
                f"ModelConfig latent_dim / tokens ({self.latent_dim // self.tokens}) must be divisible by "
                f"heads ({self.heads}); change latent_dim, tokens or heads."
            )


@dataclass(frozen=True)
class TrainConfig(_Base):
    """Training schedule, beta and the dynamic weight r (SPEC sections 3-4).

    Attributes:
        epochs: main-stage epochs (with ``schedule="auto"``, raised to ``min_steps`` and cut at ``max_steps``).
        warmup_epochs: warm-up epochs (0 disables warm-up, an ablation; auto raises it to ``min_warmup_steps``).
        lr, weight_decay: AdamW settings (weight decay decoupled from the gradient, Loshchilov & Hutter 2019).
        batch_size: the batch (with ``schedule="auto"`` a cap: at most ``batch_fraction`` of the training rows).
        schedule: ``"auto"`` adapts batch and epochs to the training-set size (``omib_core.train.schedule``);
            ``"fixed"`` takes batch_size / epochs / warmup_epochs literally.
        batch_fraction: auto schedule: the largest batch as a share of the training rows.
        min_warmup_steps, min_steps: auto schedule: fewest optimizer steps of the warm-up and of the main stage.
        max_steps: most optimizer steps of the main stage (both schedules).
        patience: main epochs without a better validation metric before the run stops early (0 = never).
        seed: seed of initialisation and batching.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"``.
        beta: absolute beta (E-MIB style hand-set baseline); None = ``beta_scale * M_u``.
        beta_scale: beta as a multiple of M_u (used when ``beta`` is None).
        bound: ``"conservative"`` (r-free M_u, default) or ``"with_r"`` (M_u with the current r).
        dynamic_r: False = r fixed at 1 (baseline).
        r_form: [choice] ``"info_gain"`` (default): Eq. 11 with ln(D_j / D_1) replaced by the paired held-out gain
            difference of the heads over dDec under a bounded proper score (Brier; half squared error for
            regression), in units of dDec's score and shrunk by ``r_evidence`` standard errors
            (``omib_core.train.dynamic_r.compute_r_gain``; the anomaly task uses ``ratio_of_means``); ``"ratio_of_means"``: the KL of
            Eq. 11 as a ratio of means (robust to rows whose reference divergence is near 0, but on held-out rows a
            head that fitted noise disagrees most, so a noise view gets r < 1); ``"mean_of_ratios"``: Eq. 11 read
            literally (a few rows with a near-zero reference divergence dominate the mean and push r towards 0).
        r_update: ``"epoch"`` (recomputed once per epoch) or ``"batch"`` (EMA of per-batch values). Either way r
            is computed on held-out rows (the validation split), never on the rows being fitted.
        r_evidence: [choice] ``info_gain`` only: standard errors of the per-row paired gain differences that a
            difference must exceed before it moves r (soft threshold: only the excess counts; 0 = the raw mean).
            A difference within its noise is no evidence, so r stays at 1 and the ``r_smooth`` EMA brings it back
            there instead of flipping (bench/results/r_signal.md, r_regimes.md). Default 3, not a single test's 2:
            r is re-tested every epoch on the same held-out rows (measured: at 2, two equal views of a 1,000-row
            draw drifted to r 0.76 in one of three seeds; at 3 they stayed within 0.98-1.0).
        r_ema: EMA factor for ``r_update="batch"`` (per step).
        r_smooth: EMA factor of the epoch-wise r (``r_update="epoch"``) across epochs: r = r_smooth * r_previous +
            (1 - r_smooth) * r_this_epoch; 0 = no smoothing. A per-epoch r from a few hundred held-out rows jumps
            (measured: 0.2 - 1.4 from one epoch to the next with two identical views); smoothing keeps its direction.
        trb_weight: weight of the TRB heads' task losses in the main stage.
        log_every: steps between step events (host syncs happen only then).
        num_threads: torch threads for this job; None = 1 on CPU.
        snapshot_every: epochs between xi embedding snapshots (0 = none).
        snapshot_max_points: samples kept in each snapshot.
        max_grad_norm: [choice] gradient-norm clip per step (None = no clipping); keeps a run from blowing
            up to NaN once the task loss is near zero.
        select: [choice] which main-stage epoch the final metrics and the checkpoint come from:
            ``"best_val"`` (the epoch with the best validation primary metric; its weights are restored) or
            ``"last"``. Results always carry both (``test_metrics`` and ``last_test_metrics``).
        linear_reference: fit the strong simple baseline (logistic regression / ridge on the concatenated views,
            regularisation chosen on validation; ``omib_core.baselines``) at the start and report it beside the run.
    """

    epochs: int = 50
    warmup_epochs: int = 10
    lr: float = 1e-3
    batch_size: int = 256
    weight_decay: float = 0.0
    schedule: str = "auto"
    batch_fraction: float = 0.1
    min_warmup_steps: int = 200
    min_steps: int = 1000
    max_steps: int = 20000
    patience: int = 0
    seed: int = 0
    device: str = "auto"
    beta: float | None = None
    beta_scale: float = 1.0
    bound: str = "conservative"
    dynamic_r: bool = True
    r_form: str = "info_gain"
    r_update: str = "epoch"
    r_evidence: float = 3.0
    r_ema: float = 0.9
    r_smooth: float = 0.7
    trb_weight: float = 1.0
    log_every: int = 10
    num_threads: int | None = None
    snapshot_every: int = 5
    snapshot_max_points: int = 2000
    max_grad_norm: float | None = 5.0
    select: str = "best_val"
    linear_reference: bool = True

    def __post_init__(self) -> None:
        _pos_int("TrainConfig", "epochs", self.epochs)
        _pos_int("TrainConfig", "warmup_epochs", self.warmup_epochs, minimum=0)
        _pos_float("TrainConfig", "lr", self.lr)
        _pos_int("TrainConfig", "batch_size", self.batch_size)
        _pos_float("TrainConfig", "weight_decay", self.weight_decay, allow_zero=True)
        _choice("TrainConfig", "schedule", self.schedule, SCHEDULES)
        _fraction("TrainConfig", "batch_fraction", self.batch_fraction)
        _pos_int("TrainConfig", "min_warmup_steps", self.min_warmup_steps, minimum=0)
        _pos_int("TrainConfig", "min_steps", self.min_steps, minimum=0)
        _pos_int("TrainConfig", "max_steps", self.max_steps)
        _pos_int("TrainConfig", "patience", self.patience, minimum=0)
        if self.schedule == "auto" and self.min_steps > self.max_steps:
            raise ConfigError(
                f"TrainConfig min_steps ({self.min_steps}) is larger than max_steps ({self.max_steps}); "
                f"use min_steps <= {self.max_steps} or raise max_steps."
            )
        _pos_int("TrainConfig", "seed", self.seed, minimum=0)
        if not isinstance(self.device, str) or self.device.split(":")[0] not in DEVICES:
            raise param_error("TrainConfig", "device", "one of 'auto', 'cpu', 'cuda', 'cuda:N', 'mps'", self.device)
        if self.beta is not None:
            _pos_float("TrainConfig", "beta", self.beta)
        _pos_float("TrainConfig", "beta_scale", self.beta_scale)
        _choice("TrainConfig", "bound", self.bound, BOUND_FORMS)
        _choice("TrainConfig", "r_form", self.r_form, R_FORMS)
        _choice("TrainConfig", "r_update", self.r_update, R_UPDATES)
        if not isinstance(self.dynamic_r, bool):
            raise param_error("TrainConfig", "dynamic_r", "a bool", self.dynamic_r)
        _pos_float("TrainConfig", "r_evidence", self.r_evidence, allow_zero=True)
        for name in ("r_ema", "r_smooth"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0.0 <= v < 1.0:
                raise param_error("TrainConfig", name, "a float in [0, 1)", v)
        _pos_float("TrainConfig", "trb_weight", self.trb_weight, allow_zero=True)
        _pos_int("TrainConfig", "log_every", self.log_every)
        if self.num_threads is not None:
            _pos_int("TrainConfig", "num_threads", self.num_threads)
        _pos_int("TrainConfig", "snapshot_every", self.snapshot_every, minimum=0)
        _pos_int("TrainConfig", "snapshot_max_points", self.snapshot_max_points)
        if self.max_grad_norm is not None:
            _pos_float("TrainConfig", "max_grad_norm", self.max_grad_norm)
        _choice("TrainConfig", "select", self.select, SELECTS)
        if not isinstance(self.linear_reference, bool):
            raise param_error("TrainConfig", "linear_reference", "a bool", self.linear_reference)


@dataclass(frozen=True)
class BoundConfig(_Base):
    """How H(v_i), I(v_1; v_2) and so M_u are estimated (SPEC section 5).

    Attributes:
        estimator: ``"gaussian"`` (log-det plug-in, default), ``"mine"`` (the paper's), ``"infonce"``, ``"smile"``.
        steps: step budget of the neural estimators.
        seeds: independent estimates, to report a spread.
        batch_size, lr, hidden_dim: neural estimator settings (statistics network MLP 2 x hidden_dim).
        ma_rate: MINE moving-average rate of the gradient correction.
        smile_clip: SMILE clip tau.
        max_samples: rows used by the estimators (subsampled, seeded).
        heldout_fraction: share of the rows held out for evaluating neural estimates.
    """

    estimator: str = "gaussian"
    steps: int = 1000
    seeds: int = 3
    batch_size: int = 256
    lr: float = 1e-4
    hidden_dim: int = 128
    ma_rate: float = 0.01
    smile_clip: float = 5.0
    max_samples: int = 20000
    heldout_fraction: float = 0.3

    def __post_init__(self) -> None:
        _choice("BoundConfig", "estimator", self.estimator, ESTIMATORS)
        for name in ("steps", "seeds", "batch_size", "hidden_dim", "max_samples"):
            _pos_int("BoundConfig", name, getattr(self, name))
        _pos_float("BoundConfig", "lr", self.lr)
        _fraction("BoundConfig", "ma_rate", self.ma_rate)
        _pos_float("BoundConfig", "smile_clip", self.smile_clip)
        _fraction("BoundConfig", "heldout_fraction", self.heldout_fraction)


@dataclass(frozen=True)
class RunConfig(_Base):
    """One experiment: data + model + train + bound."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    bound: BoundConfig = field(default_factory=BoundConfig)

    def __post_init__(self) -> None:
        for name, cls in (("data", DataConfig), ("model", ModelConfig), ("train", TrainConfig), ("bound", BoundConfig)):
            if not isinstance(getattr(self, name), cls):
                raise param_error("RunConfig", name, f"a {cls.__name__}", getattr(self, name))

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> RunConfig:
        d = dict(d or {})
        unknown = sorted(set(d) - {"data", "model", "train", "bound"})
        if unknown:
            raise ConfigError(f"RunConfig got unknown section(s) {unknown}; valid are data, model, train, bound.")
        return cls(
            data=DataConfig.from_dict(d.get("data")),
            model=ModelConfig.from_dict(d.get("model")),
            train=TrainConfig.from_dict(d.get("train")),
            bound=BoundConfig.from_dict(d.get("bound")),
        )
