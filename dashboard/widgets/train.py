"""The Train page's config controls: widgets -> a validated ``RunConfig``.

Widgets are created without ``value=``: their state is seeded from the session's current config (which a
``?cfg=`` link or another page may have changed), so baseline presets can set several of them at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from omib_core.config import ModelConfig, RunConfig, TrainConfig
from omib_core.errors import ConfigError, OmibError
from omib_core.train.schedule import Schedule, resolve_schedule

PREFIX = "train"
BETA_MODES = ("scale", "absolute")
BETA_MODE_LABELS = {"scale": "as a multiple of M_u", "absolute": "by hand (absolute β)"}
BOUND_LABELS = {
    "conservative": "conservative (r-free)",
    "with_r": "follows the current r",
}
R_FORM_LABELS = {
    "info_gain": "held-out gain (default)",
    "ratio_of_means": "ratio of means (KL)",
    "mean_of_ratios": "mean of ratios (Eq. 11 as written)",
}
R_FORM_HELP = (
    "How Eq. 11 compares the modalities on held-out rows. Held-out gain: each head's gain over the fused prediction "
    "in a bounded score (Brier; squared error for regression), compared row by row and counted only beyond its "
    "noise. Ratio of means: the KL divergences averaged, then divided. Mean of ratios, Eq. 11 as written: "
    "on real data a few rows whose reference divergence is near zero dominate the mean and push r towards 0."
)
SCHEDULE_LABELS = {"auto": "auto (fits the data size)", "fixed": "fixed (as typed)"}
R_UPDATE_LABELS = {"epoch": "once per epoch", "batch": "every batch (EMA)"}
FUSION_LABELS = {"can": "cross-attention (CAN)", "concat": "concatenation (baseline)"}
DEVICE_LABELS = {"auto": "auto (GPU if any)", "cpu": "CPU", "cuda": "CUDA GPU", "mps": "Apple MPS"}

# Baselines of the paper's ablations: each is a few control values on top of the current ones.
PRESETS: dict[str, dict[str, Any]] = {
    "OMIB": {"fusion": "can", "dynamic_r": True, "beta_mode": "scale", "bottleneck": True},
    "Concat fusion": {"fusion": "concat"},
    "r fixed at 1": {"dynamic_r": False},
    "Hand-set β (E-MIB)": {"beta_mode": "absolute", "beta_scale": 1.0},
    "No bottleneck": {"bottleneck": False},
}


# The numeric controls' ranges: the widgets use them, and a config from a link is fitted to them with a note.
RANGES: dict[str, tuple[str, float, float]] = {
    "beta_scale": ("β / M_u", 0.001, 1000.0),
    "beta_abs": ("β (absolute)", 1e-9, 100.0),
    "r_ema": ("EMA factor", 0.0, 0.99),
    "r_evidence": ("Evidence (standard errors)", 0.0, 10.0),
    "epochs": ("Main epochs", 1, 2000),
    "warmup_epochs": ("Warm-up epochs", 0, 500),
    "lr": ("Learning rate", 1e-6, 1.0),
    "batch_size": ("Batch size", 1, 8192),
    "patience": ("Patience", 0, 2000),
    "seed": ("Seed", 0, 2**31 - 1),
    "snapshot_every": ("Snapshot every (epochs)", 0, 1000),
    "enc_layers": ("Encoder layers", 0, 8),
}
CHANGED = "train_changed"  # session key: sentences about values fitted to the controls, shown once


def _key(name: str) -> str:
    return f"{PREFIX}_{name}"


def _bounds(name: str) -> dict[str, Any]:
    _, lo, hi = RANGES[name]
    return {"min_value": lo, "max_value": hi}


def _num(v: float) -> str:
    return f"{v:,}" if isinstance(v, int) else f"{v:g}"


def fit_to_controls(values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Pure: control values with each number brought into its control's range, and one phrase per change."""
    out, notes = dict(values), []
    for name, (label, lo, hi) in RANGES.items():
        v = values.get(name)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        fitted = type(v)(min(max(v, lo), hi))
        if fitted != v:
            out[name] = fitted
            side = "most" if v > hi else "least"
            notes.append(f"{label} {_num(v)} → {_num(fitted)} (the {side} this page allows)")
    return out, notes


def _widget_values(cfg: RunConfig) -> dict[str, Any]:
    t, m = cfg.train, cfg.model
    return {
        "beta_mode": "absolute" if t.beta is not None else "scale",
        "beta_scale": float(t.beta_scale),
        "beta_abs": float(t.beta) if t.beta is not None else 1e-3,
        "bound": t.bound,
        "dynamic_r": bool(t.dynamic_r),
        "r_form": t.r_form,
        "r_update": t.r_update,
        "r_ema": float(t.r_ema),
        "r_evidence": float(t.r_evidence),
        "schedule": t.schedule,
        "epochs": int(t.epochs),
        "warmup_epochs": int(t.warmup_epochs),
        "patience": int(t.patience),
        "lr": float(t.lr),
        "batch_size": int(t.batch_size),
        "seed": int(t.seed),
        "device": t.device,
        "snapshot_every": int(t.snapshot_every),
        "fusion": m.fusion,
        "bottleneck": bool(m.bottleneck),
        "enc_layers": int(m.enc_layers),
    }


def _seed_state(cfg: RunConfig) -> None:
    """Copy the config into the widgets' state when it changed outside them (a link, another page, a reused run)."""
    snapshot = {"train": cfg.train.to_dict(), "model": cfg.model.to_dict()}
    if st.session_state.get(_key("synced")) == snapshot and _key("epochs") in st.session_state:
        return
    values, notes = fit_to_controls(_widget_values(cfg))
    for name, value in values.items():
        st.session_state[_key(name)] = value
    st.session_state[_key("synced")] = snapshot
    if notes:  # a link (or a stored run) asked for values the controls cannot hold: say so, never fit silently
        st.session_state[CHANGED] = notes


def apply_preset(name: str) -> None:
    """Widget callback: set the controls of a baseline (runs before the script, so state may be written)."""
    for field, value in PRESETS[name].items():
        st.session_state[_key(field)] = value


def _select(label: str, options: dict[str, str], name: str, help: str | None = None, **kw: Any) -> Any:
    current = st.session_state.get(_key(name))
    opts = list(options) + ([current] if current is not None and current not in options else [])
    fmt: Callable[[Any], str] = lambda v: options.get(v, str(v))  # noqa: E731
    return st.selectbox(label, opts, key=_key(name), format_func=fmt, help=help, **kw)


def _available_devices() -> dict[str, str]:
    from omib_core.device import available_devices

    return {d: DEVICE_LABELS.get(d, f"CUDA GPU {d[5:]}") for d in available_devices()}


def _beta_controls() -> None:
    st.markdown("**β: bottleneck strength**")
    mode = st.radio(
        "Set β",
        BETA_MODES,
        key=_key("beta_mode"),
        format_func=BETA_MODE_LABELS.get,
        horizontal=True,
        help="OMIB sets β as a multiple of the bound M_u estimated from the data; the E-MIB baseline sets it by hand.",
    )
    if mode == "scale":
        st.number_input(
            "β / M_u",
            **_bounds("beta_scale"),
            step=0.25,
            format="%.3g",
            key=_key("beta_scale"),
            help="1 = exactly the bound. Below 1 keeps superfluous information longer; above 1 squeezes out "
            "task information too (see the Sweep page).",
        )
        _select(
            "Bound M_u",
            BOUND_LABELS,
            "bound",
            help="Conservative: 1 / (3 H), known before training. Following r: 1 / ((1 + r) H), moves with r.",
        )
    else:
        st.number_input(
            "β (absolute)",
            **_bounds("beta_abs"),
            step=1e-4,
            format="%.2e",
            key=_key("beta_abs"),
            help="Hand-set β, as the E-MIB baseline does. The charts still show it against M_u when one exists.",
        )


def _r_controls() -> None:
    st.markdown("**r: dynamic weight of modality 2**")
    dynamic = st.toggle(
        "Dynamic r (paper Eq. 11)",
        key=_key("dynamic_r"),
        help="Off = r fixed at 1, the baseline without the dynamic weight.",
    )
    form = _select("r reading", R_FORM_LABELS, "r_form", disabled=not dynamic, help=R_FORM_HELP)
    update = _select(
        "r update",
        R_UPDATE_LABELS,
        "r_update",
        disabled=not dynamic,
        help="When r is recomputed: over the validation rows after each epoch, or as an EMA of validation batches "
        "(never over the rows being fitted).",
    )
    if dynamic and form == "info_gain":
        st.number_input(
            "Evidence (standard errors)",
            **_bounds("r_evidence"),
            step=0.5,
            key=_key("r_evidence"),
            help="A gain difference between two heads moves r only by what exceeds this many standard errors of its "
            "per-row differences; within its noise r stays at 1. 0 = the raw difference.",
        )
    if dynamic and update == "batch":
        st.slider("EMA factor", **_bounds("r_ema"), step=0.01, key=_key("r_ema"))


def _schedule_controls() -> None:
    st.markdown("**Schedule**")
    auto = (
        _select(
            "Schedule",
            SCHEDULE_LABELS,
            "schedule",
            help="Auto: the batch is at most a tenth of the training rows and the epochs are raised to enough "
            "optimizer steps (or cut to the step budget), so small and large data both train. Fixed: the "
            "numbers below, literally.",
        )
        == "auto"
    )
    c1, c2 = st.columns(2)
    c1.number_input(
        "Main epochs",
        **_bounds("epochs"),
        step=1,
        key=_key("epochs"),
        help="With the auto schedule, a starting point: raised or cut to fit the step budget." if auto else None,
    )
    c2.number_input(
        "Warm-up epochs",
        **_bounds("warmup_epochs"),
        step=1,
        key=_key("warmup_epochs"),
        help="Encoders and TRB heads only, before xi exists. 0 = the 'without warm-up' ablation.",
    )
    c1.number_input("Learning rate", **_bounds("lr"), step=1e-4, format="%.1e", key=_key("lr"))
    c2.number_input(
        "Batch size",
        **_bounds("batch_size"),
        step=32,
        key=_key("batch_size"),
        help="With the auto schedule, the largest batch (a tenth of the training rows at most)." if auto else None,
    )
    c1.number_input(
        "Patience (0 = no early stop)",
        **_bounds("patience"),
        step=1,
        key=_key("patience"),
        help="Main epochs without a better validation metric before the run stops early.",
    )
    c1.number_input("Seed", **_bounds("seed"), step=1, key=_key("seed"))
    c2.number_input(
        "Snapshot every (epochs)",
        **_bounds("snapshot_every"),
        step=1,
        key=_key("snapshot_every"),
        help="How often xi is saved for the Embeddings page; 0 = never.",
    )


def _model_controls() -> None:
    st.markdown("**Model and device**")
    _select("Fusion", FUSION_LABELS, "fusion", help="How the zeta_i are fused into xi.")
    st.number_input(
        "Encoder layers (0 = linear)",
        **_bounds("enc_layers"),
        step=1,
        key=_key("enc_layers"),
        help="Hidden layers of each modality's encoder; 0 = one linear map, the default (deeper encoders "
        "can memorise a small training set before the bottleneck acts).",
    )
    st.toggle(
        "Information bottleneck",
        key=_key("bottleneck"),
        help="Off = plain late fusion (no sampling, no KL term): the 'no bottleneck' baseline.",
    )
    _select(
        "Device", _available_devices(), "device", help="Where the worker trains. 'auto' takes a GPU when there is one."
    )


def _preset_controls() -> None:
    st.markdown("**Baselines**")
    st.caption("One click sets the controls of a baseline from the paper's comparisons.")
    cols = st.columns(len(PRESETS))
    for col, name in zip(cols, PRESETS):
        col.button(name, key=_key(f"preset_{name}"), on_click=apply_preset, args=(name,), width="stretch")


def train_config_ui(base: RunConfig) -> RunConfig:
    """Draw the training controls seeded from ``base`` and return the edited config (data kept from ``base``).

    Raises:
        ConfigError: the combination is impossible (a sentence naming the parameter).
    """
    _seed_state(base)
    notes = st.session_state.pop(CHANGED, None)
    if notes:
        st.warning(
            "Some values did not fit the controls and were changed: " + "; ".join(notes) + ". Check them "
            "before you start.",
            icon=":material/tune:",
        )
    with st.container(border=True):
        _preset_controls()
    # two rows of two: four columns leave a select box about 130 px at 1280 px, too narrow for its choices
    for left, right in ((_beta_controls, _r_controls), (_schedule_controls, _model_controls)):
        c1, c2 = st.columns(2, gap="small")
        with c1.container(border=True, height="stretch"):
            left()
        with c2.container(border=True, height="stretch"):
            right()
    cfg = config_from_state(base, {n: st.session_state[_key(n)] for n in _widget_values(base)})
    st.session_state[_key("synced")] = {"train": cfg.train.to_dict(), "model": cfg.model.to_dict()}
    return cfg


def config_from_state(base: RunConfig, v: dict[str, Any]) -> RunConfig:
    """Pure: control values -> RunConfig (raises ConfigError for an impossible combination)."""
    train = TrainConfig.from_dict(
        {
            **base.train.to_dict(),
            "beta": float(v["beta_abs"]) if v["beta_mode"] == "absolute" else None,
            "beta_scale": float(v["beta_scale"]),
            "bound": v["bound"],
            "dynamic_r": bool(v["dynamic_r"]),
            "r_form": v["r_form"],
            "r_update": v["r_update"],
            "r_ema": float(v["r_ema"]),
            "r_evidence": float(v.get("r_evidence", base.train.r_evidence)),
            "schedule": v["schedule"],
            "epochs": int(v["epochs"]),
            "warmup_epochs": int(v["warmup_epochs"]),
            "patience": int(v["patience"]),
            "lr": float(v["lr"]),
            "batch_size": int(v["batch_size"]),
            "seed": int(v["seed"]),
            "device": v["device"],
            "snapshot_every": int(v["snapshot_every"]),
        }
    )
    model = ModelConfig.from_dict(
        {
            **base.model.to_dict(),
            "fusion": v["fusion"],
            "bottleneck": bool(v["bottleneck"]),
            "enc_layers": int(v["enc_layers"]),
        }
    )
    return base.replace(train=train, model=model)


# the resolved schedule


def schedule_from_dict(d: Mapping[str, Any]) -> Schedule:
    """A stored ``Schedule.to_dict()`` (a run's ``summary["schedule"]``) back as a Schedule."""
    return Schedule.from_dict(dict(d))


def schedule_markdown(schedule: Schedule, lead: str) -> str:
    """One markdown paragraph: ``lead``, the schedule's one-line summary, and what the auto schedule changed."""
    text = f":material/schedule: **{lead}** {schedule.summary()}"
    if schedule.changes:
        text += "  \n:material/auto_fix_high: Auto changed " + "; ".join(schedule.changes) + "."
    return text


def preview_schedule(cfg: RunConfig) -> tuple[Schedule | None, str | None, int | None]:
    """``(schedule, error, n_fit)`` of ``cfg`` on its data before it starts.

    ``error`` is the ConfigError sentence of a schedule that cannot be honoured (Start must be refused); a
    dataset that cannot be loaded gives ``(None, None, None)``: the Data page reports that, and so does the run.
    """
    from dashboard.widgets.data import training_rows

    try:
        n_fit = training_rows(cfg.data)
    except ConfigError as e:  # over the server's limits: nothing was drawn, and Start must be refused
        return None, str(e), None
    except OmibError:
        return None, None, None
    try:
        return resolve_schedule(cfg.train, n_fit), None, n_fit
    except ConfigError as e:
        return None, str(e), n_fit


# the two selections of a finished run

SELECTION_LABELS = {"best_val": "best-val epoch", "last": "last epoch"}


def selections(result: Mapping[str, Any], metric: str) -> list[tuple[str, int | None, float | None]]:
    """``(label, epoch 1-based, test metric)`` for the best-validation and the last epoch of a finished run's result.

    Older results without ``selection`` give the last epoch from ``last_test_metrics`` when present, else nothing.
    """
    sel = result.get("selection") or {}
    out = []
    for key, label in SELECTION_LABELS.items():
        part = sel.get(key) or {}
        test = part.get("test") or (result.get("last_test_metrics") if key == "last" else None) or {}
        if metric not in test:
            continue
        epoch = part.get("epoch")
        value = test[metric]
        out.append((label, int(epoch) + 1 if epoch is not None else None, float(value) if value is not None else None))
    return out
