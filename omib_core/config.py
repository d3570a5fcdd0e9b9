"""Frozen, validated configuration dataclasses.

One experiment is one ``RunConfig`` (data + model + train + bound). Every value is checked on
construction and an invalid one raises ``ConfigError`` naming the parameter, the constraint and the
value. ``to_dict`` / ``from_dict`` round-trip through plain JSON types, so a whole experiment fits in a
file or a URL. Options marked [choice] in SPEC.md are ours where the paper gave no detail.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from omib_core.errors import ConfigError, param_error
from omib_core.params import check_fields, param

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


SEED_MAX = 2**31 - 1  # seeds are drawn and typed in [0, SEED_MAX]


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

    dataset: str = param(
        "sim-i",
        low=1,
        constraint="a non-empty dataset id or folder path",
        help="a dataset id or a folder path",
        hidden=True,
    )
    params: dict[str, Any] = field(default_factory=dict)  # declared by each dataset (DatasetInfo.params)
    seed: int = param(
        0,
        low=0,
        high=SEED_MAX,
        label="seed",
        group="Draw and split",
        step=1,
        help="Seed of the random draw and of the train / val / test split: the same seed gives the same data.",
    )
    val_fraction: float = param(
        0.15,
        low=0.0,
        high=1.0,
        closed="()",
        label="validation fraction",
        widget="slider",
        ui=(0.05, 0.4),
        step=0.05,
        group="Draw and split",
        help="Share of rows held out to pick the epoch and watch overfitting.",
    )
    test_fraction: float = param(
        0.15,
        low=0.0,
        high=1.0,
        closed="()",
        label="test fraction",
        widget="slider",
        ui=(0.05, 0.4),
        step=0.05,
        group="Draw and split",
        help="Share of rows kept for the final accuracy.",
    )

    def __post_init__(self) -> None:
        check_fields(self)
        if not isinstance(self.params, dict):
            raise param_error("DataConfig", "params", "a dict", self.params)
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

    hidden_dim: int = param(
        128,
        low=1,
        group="Model and device",
        advanced=True,
        ui=(1, 4096),
        step=16,
        label="Hidden width",
        help="Width of the encoder and head MLPs.",
    )
    enc_layers: int = param(
        0,
        low=0,
        label="Encoder layers (0 = linear)",
        ui=(0, 8),
        step=1,
        group="Model and device",
        help="Hidden layers of each modality's encoder; 0 = one linear map, the default (deeper encoders can "
        "memorise a small training set before the bottleneck acts).",
    )
    z_dim: int = param(
        64,
        low=1,
        ui=(1, 4096),
        step=8,
        label="z dimension",
        group="Model and device",
        advanced=True,
        help="Dimension of z_i, each encoder's output.",
    )
    latent_dim: int = param(
        32,
        low=1,
        ui=(1, 4096),
        step=4,
        label="ζ dimension",
        group="Model and device",
        advanced=True,
        help="Dimension of ζ_i, each VAE's latent; divisible by tokens.",
    )
    xi_dim: int = param(
        32,
        low=1,
        ui=(1, 4096),
        step=4,
        label="ξ dimension",
        group="Model and device",
        advanced=True,
        help="Dimension of the fused representation ξ (and of the warm-up noise).",
    )
    tokens: int = param(
        4,
        low=1,
        ui=(1, 64),
        step=1,
        label="Tokens",
        group="Model and device",
        advanced=True,
        help="Tokens each ζ_i is split into for cross-attention.",
    )
    heads: int = param(
        4,
        low=1,
        ui=(1, 64),
        step=1,
        label="Attention heads",
        group="Model and device",
        advanced=True,
        help="Attention heads; latent_dim / tokens must be divisible by it.",
    )
    fusion: str = param(
        "can",
        "choice",
        choices=FUSIONS,
        label="Fusion",
        group="Model and device",
        labels={"can": "cross-attention (CAN)", "concat": "concatenation (baseline)"},
        help="How the ζ_i are fused into ξ.",
    )
    bottleneck: bool = param(
        True,
        label="Information bottleneck",
        group="Model and device",
        help="Off = plain late fusion (no sampling, no KL term): the 'no bottleneck' baseline.",
    )
    dropout: float = param(
        0.1,
        low=0.0,
        high=1.0,
        closed="[)",
        ui=(0.0, 0.9),
        step=0.05,
        label="Dropout",
        group="Model and device",
        advanced=True,
        help="Dropout in the MLPs.",
    )

    def __post_init__(self) -> None:
        check_fields(self)
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

    epochs: int = param(
        50,
        low=1,
        label="Main epochs",
        ui=(1, 2000),
        step=1,
        group="Schedule",
        help="Main-stage epochs; with the auto schedule a starting point, raised or cut to fit the step budget.",
    )
    warmup_epochs: int = param(
        10,
        low=0,
        label="Warm-up epochs",
        ui=(0, 500),
        step=1,
        group="Schedule",
        help="Encoders and TRB heads only, before ξ exists. 0 = the 'without warm-up' ablation.",
    )
    lr: float = param(
        1e-3,
        low=0.0,
        closed="()",
        label="Learning rate",
        ui=(1e-6, 1.0),
        step=1e-4,
        fmt="%.1e",
        group="Schedule",
        help="AdamW learning rate.",
    )
    batch_size: int = param(
        256,
        low=1,
        label="Batch size",
        ui=(1, 8192),
        step=32,
        group="Schedule",
        help="The batch; with the auto schedule the largest batch (at most batch_fraction of the training rows).",
    )
    weight_decay: float = param(
        0.0,
        low=0.0,
        label="Weight decay",
        ui=(0.0, 1.0),
        step=1e-4,
        fmt="%g",
        group="Schedule",
        advanced=True,
        help="AdamW's decoupled weight decay.",
    )
    schedule: str = param(
        "auto",
        "choice",
        choices=SCHEDULES,
        label="Schedule",
        group="Schedule",
        labels={"auto": "auto (fits the data size)", "fixed": "fixed (as typed)"},
        help="Auto: the batch is at most batch_fraction of the training rows and the epochs are raised to enough "
        "optimizer steps (or cut to the step budget), so small and large data both train. Fixed: the numbers, "
        "literally.",
    )
    batch_fraction: float = param(
        0.1,
        low=0.0,
        high=1.0,
        closed="()",
        label="Largest batch (share of rows)",
        ui=(0.01, 0.99),
        step=0.01,
        group="Schedule",
        advanced=True,
        help="Auto schedule: the largest batch as a share of the training rows.",
    )
    min_warmup_steps: int = param(
        200,
        low=0,
        label="Fewest warm-up steps",
        ui=(0, 100_000),
        step=50,
        group="Schedule",
        advanced=True,
        help="Auto schedule: fewest optimizer steps of the warm-up.",
    )
    min_steps: int = param(
        1000,
        low=0,
        label="Fewest main steps",
        ui=(0, 1_000_000),
        step=100,
        group="Schedule",
        advanced=True,
        help="Auto schedule: fewest optimizer steps of the main stage.",
    )
    max_steps: int = param(
        20000,
        low=1,
        label="Most main steps",
        ui=(1, 10_000_000),
        step=1000,
        group="Schedule",
        advanced=True,
        help="Most optimizer steps of the main stage (both schedules).",
    )
    patience: int = param(
        0,
        low=0,
        label="Patience (0 = no early stop)",
        ui=(0, 2000),
        step=1,
        group="Schedule",
        help="Main epochs without a better validation metric before the run stops early.",
    )
    seed: int = param(
        0, low=0, high=SEED_MAX, label="Seed", step=1, group="Schedule", help="Seed of initialisation and batching."
    )
    device: str = param(
        "auto",
        "choice",
        choices=DEVICES,
        prefixed="cuda",
        label="Device",
        group="Model and device",
        labels={"auto": "auto (GPU if any)", "cpu": "CPU", "cuda": "CUDA GPU", "mps": "Apple MPS"},
        constraint="one of 'auto', 'cpu', 'cuda', 'cuda:N', 'mps'",
        help="Where the worker trains. 'auto' takes a GPU when there is one.",
    )
    beta: float | None = param(
        None,
        "float",
        low=0.0,
        closed="(]",
        none="β = beta_scale × M_u",
        label="β (absolute)",
        ui=(1e-9, 100.0),
        step=1e-4,
        fmt="%.2e",
        group="β",
        help="Hand-set β, as the E-MIB baseline does. The charts still show it against M_u when one exists.",
    )
    beta_scale: float = param(
        1.0,
        low=0.0,
        closed="(]",
        label="β / M_u",
        ui=(0.001, 1000.0),
        step=0.25,
        fmt="%.3g",
        group="β",
        help="β as a multiple of the bound M_u. 1 = exactly the bound. Below 1 keeps superfluous information "
        "longer; above 1 squeezes out task information too (see the Sweep page).",
    )
    bound: str = param(
        "conservative",
        "choice",
        choices=BOUND_FORMS,
        label="Bound M_u",
        group="β",
        labels={"conservative": "conservative (r-free)", "with_r": "follows the current r"},
        help="Conservative: 1 / (3 H), known before training. Following r: 1 / ((1 + r) H), moves with r.",
    )
    dynamic_r: bool = param(
        True,
        label="Dynamic r (paper Eq. 11)",
        group="r",
        help="Off = r fixed at 1, the baseline without the dynamic weight.",
    )
    r_form: str = param(
        "info_gain",
        "choice",
        choices=R_FORMS,
        label="r reading",
        group="r",
        labels={
            "info_gain": "held-out gain (default)",
            "ratio_of_means": "ratio of means (KL)",
            "mean_of_ratios": "mean of ratios (Eq. 11 as written)",
        },
        help="How Eq. 11 compares the modalities on held-out rows. Held-out gain: each head's gain over the fused "
        "prediction in a bounded score (Brier; squared error for regression), compared row by row and counted only "
        "beyond its noise. Ratio of means: the KL divergences averaged, then divided. Mean of ratios, Eq. 11 as "
        "written: on real data a few rows whose reference divergence is near zero dominate the mean and push r "
        "towards 0.",
    )
    r_update: str = param(
        "epoch",
        "choice",
        choices=R_UPDATES,
        label="r update",
        group="r",
        labels={"epoch": "once per epoch", "batch": "every batch (EMA)"},
        help="When r is recomputed: over the validation rows after each epoch, or as an EMA of validation batches "
        "(never over the rows being fitted).",
    )
    r_evidence: float = param(
        3.0,
        low=0.0,
        high=1e3,
        label="Evidence (standard errors)",
        ui=(0.0, 10.0),
        step=0.5,
        group="r",
        help="A gain difference between two heads moves r only by what exceeds this many standard errors of its "
        "per-row differences; within its noise r stays at 1. 0 = the raw difference.",
    )
    r_ema: float = param(
        0.9,
        low=0.0,
        high=1.0,
        closed="[)",
        label="EMA factor",
        widget="slider",
        ui=(0.0, 0.99),
        step=0.01,
        group="r",
        help="EMA factor of r per step, with the batch update.",
    )
    r_smooth: float = param(
        0.7,
        low=0.0,
        high=1.0,
        closed="[)",
        label="r smoothing across epochs",
        ui=(0.0, 0.99),
        step=0.05,
        group="r",
        advanced=True,
        help="r = r_smooth × previous r + (1 - r_smooth) × this epoch's r; 0 = no smoothing.",
    )
    trb_weight: float = param(
        1.0,
        low=0.0,
        label="TRB head weight",
        ui=(0.0, 10.0),
        step=0.1,
        group="r",
        advanced=True,
        help="Weight of the TRB heads' task losses in the main stage.",
    )
    log_every: int = param(
        10,
        low=1,
        label="Log every (steps)",
        ui=(1, 10_000),
        step=1,
        group="Snapshots and logs",
        advanced=True,
        help="Steps between step events (host syncs happen only then).",
    )
    num_threads: int | None = param(
        None,
        "int",
        low=1,
        none="1 on CPU",
        label="Torch threads",
        group="Model and device",
        hidden=True,
        help="Torch threads for this job.",
    )
    snapshot_every: int = param(
        5,
        low=0,
        label="Snapshot every (epochs)",
        ui=(0, 1000),
        step=1,
        group="Schedule",
        help="How often ξ is saved for the Embeddings page; 0 = never.",
    )
    snapshot_max_points: int = param(
        2000,
        low=1,
        label="Snapshot points",
        ui=(10, 100_000),
        step=500,
        group="Snapshots and logs",
        advanced=True,
        help="Samples kept in each snapshot.",
    )
    max_grad_norm: float | None = param(
        5.0,
        "float",
        low=0.0,
        closed="(]",
        none="no clipping",
        label="Gradient clip",
        ui=(0.01, 1000.0),
        step=0.5,
        group="Schedule",
        advanced=True,
        help="Gradient-norm clip per step.",
    )
    select: str = param(
        "best_val",
        "choice",
        choices=SELECTS,
        label="Final epoch",
        group="Schedule",
        advanced=True,
        labels={"best_val": "best-val epoch", "last": "last epoch"},
        help="Which main-stage epoch the final metrics and the checkpoint come from (results carry both).",
    )
    linear_reference: bool = param(
        True,
        label="Linear reference",
        group="Schedule",
        advanced=True,
        help="Fit logistic regression / ridge on the concatenated views beside the run.",
    )

    def __post_init__(self) -> None:
        check_fields(self)
        if self.schedule == "auto" and self.min_steps > self.max_steps:
            raise ConfigError(
                f"TrainConfig min_steps ({self.min_steps}) is larger than max_steps ({self.max_steps}); "
                f"use min_steps <= {self.max_steps} or raise max_steps."
            )


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

    estimator: str = param(
        "gaussian",
        "choice",
        choices=ESTIMATORS,
        label="Estimator",
        group="Bound",
        labels={
            "gaussian": "Gaussian (closed form)",
            "mine": "MINE (the paper's)",
            "infonce": "InfoNCE",
            "smile": "SMILE",
        },
        choice_help={
            "gaussian": "Log-det formulas for Gaussian data: instant, no training, exact on the synthetic SIM data.",
            "mine": "The paper's choice: a small network trained to estimate I(X; X) with the Donsker-Varadhan "
            "bound. Its H depends on how many steps it trains (see above).",
            "infonce": "Contrastive estimator: stable, but it can never report more than ln(batch size) nats.",
            "smile": "Clipped Donsker-Varadhan: the most accurate neural estimator at high information.",
        },
        help="Estimator of the entropies and the mutual information behind M_u.",
    )
    steps: int = param(
        1000,
        low=1,
        label="Steps per estimate",
        group="Bound",
        help="Training steps of each neural estimate (the step budget).",
    )
    seeds: int = param(
        3,
        low=1,
        label="Seeds",
        ui=(1, 10),
        step=1,
        widget="slider",
        group="Bound",
        help="Independent estimates; their spread shows how much to trust the number.",
    )
    batch_size: int = param(
        256,
        low=1,
        label="Batch size",
        ui=(16, 4096),
        step=16,
        group="Bound",
        advanced=True,
        help="Neural estimators' batch.",
    )
    lr: float = param(
        1e-4,
        low=0.0,
        closed="()",
        label="Learning rate",
        ui=(1e-6, 1e-1),
        group="Bound",
        advanced=True,
        help="Neural estimators' learning rate.",
    )
    hidden_dim: int = param(
        128,
        low=1,
        label="Critic width",
        ui=(8, 4096),
        step=8,
        group="Bound",
        advanced=True,
        help="Statistics network MLP width (2 hidden layers).",
    )
    ma_rate: float = param(
        0.01,
        low=0.0,
        high=1.0,
        closed="()",
        label="MINE moving-average rate",
        ui=(0.001, 0.5),
        step=0.005,
        group="Bound",
        advanced=True,
        help="MINE moving-average rate of the gradient correction.",
    )
    smile_clip: float = param(
        5.0,
        low=0.0,
        closed="()",
        label="SMILE clip",
        ui=(0.1, 50.0),
        step=0.5,
        group="Bound",
        advanced=True,
        help="SMILE clip tau.",
    )
    max_samples: int = param(
        20000,
        low=1,
        label="Rows used (max)",
        ui=(200, 200_000),
        step=1000,
        group="Bound",
        advanced=True,
        help="A seeded random subset of the training rows when the data is larger.",
    )
    heldout_fraction: float = param(
        0.3,
        low=0.0,
        high=1.0,
        closed="()",
        label="Held-out share",
        ui=(0.05, 0.9),
        step=0.05,
        group="Bound",
        advanced=True,
        help="Share of the rows held out for evaluating neural estimates.",
    )

    def __post_init__(self) -> None:
        check_fields(self)


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
