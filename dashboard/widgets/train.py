"""The Train page's config controls: widgets -> a validated ``RunConfig``.

Every control is generated from the parameter's declaration (``omib_core.config``: label, range, step, choices,
group, help, advanced): this file lays the groups out and keeps no range, label or choice list of its own. Widgets
are created without ``value=``: their state is seeded from the session's current config (which a ``?cfg=`` link or
another page may have changed), so baseline presets can set several of them at once.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.widgets.controls import control, grouped, say_fitted
from omib_core.config import ModelConfig, RunConfig, TrainConfig
from omib_core.params import Param, fit_to_controls, schema

PREFIX = "train"
SECTIONS: dict[str, dict[str, Param]] = {"train": schema(TrainConfig), "model": schema(ModelConfig)}
# every parameter the page draws, with its section: each is declared once, in omib_core.config
CONTROLS: dict[str, tuple[str, Param]] = {
    name: (section, p) for section, params in SECTIONS.items() for name, p in params.items() if not p.hidden
}
PARAMS: dict[str, Param] = {name: p for name, (_, p) in CONTROLS.items()}
ADVANCED = [name for name, p in PARAMS.items() if p.advanced]
BETA_MODES = {"scale": "as a multiple of M_u", "absolute": "by hand (absolute β)"}
BETA_START = 1e-3  # the hand-set β offered when the config has none

# Baselines of the paper's ablations: each is a few control values on top of the current ones.
PRESETS: dict[str, dict[str, Any]] = {
    "OMIB": {"fusion": "can", "dynamic_r": True, "beta_mode": "scale", "bottleneck": True},
    "Concat fusion": {"fusion": "concat"},
    "r fixed at 1": {"dynamic_r": False},
    "Hand-set β (E-MIB)": {"beta_mode": "absolute", "beta_scale": 1.0},
    "No bottleneck": {"bottleneck": False},
}
CHANGED = "train_changed"  # session key: sentences about values fitted to the controls, shown once


def _key(name: str) -> str:
    return f"{PREFIX}_{name}"


def _widget_values(cfg: RunConfig) -> dict[str, Any]:
    """The controls' values for ``cfg``: every drawn parameter, plus the β mode (β None = a multiple of M_u)."""
    values = {name: getattr(getattr(cfg, section), name) for name, (section, _) in CONTROLS.items()}
    values["beta_mode"] = "absolute" if cfg.train.beta is not None else "scale"
    values["beta"] = cfg.train.beta if cfg.train.beta is not None else BETA_START
    return values


def _seed_state(cfg: RunConfig) -> None:
    """Copy the config into the widgets' state when it changed outside them (a link, another page, a reused run)."""
    snapshot = {"train": cfg.train.to_dict(), "model": cfg.model.to_dict()}
    if st.session_state.get(_key("synced")) == snapshot and _key("epochs") in st.session_state:
        return
    values, notes = fit_to_controls(PARAMS, _widget_values(cfg))
    for name, value in values.items():
        st.session_state[_key(name)] = value
    st.session_state[_key("synced")] = snapshot
    if notes:  # a link (or a stored run) asked for values the controls cannot hold: say so, never fit silently
        st.session_state[CHANGED] = notes


def apply_preset(name: str) -> None:
    """Widget callback: set the controls of a baseline (runs before the script, so state may be written)."""
    for field, value in PRESETS[name].items():
        st.session_state[_key(field)] = value


def _draw(name: str, where: Any = None, **kw: Any) -> Any:
    return control(PARAMS[name], name, _key(name), where=where, **kw)


def _available_devices() -> dict[str, str]:
    from omib_core.device import available_devices

    labels = PARAMS["device"].labels
    return {d: labels.get(d, f"CUDA GPU {d[5:]}") for d in available_devices()}


def _beta_controls() -> None:
    st.markdown("**β: bottleneck strength**")
    mode = st.radio(
        "Set β",
        list(BETA_MODES),
        key=_key("beta_mode"),
        format_func=BETA_MODES.get,
        horizontal=True,
        help="OMIB sets β as a multiple of the bound M_u estimated from the data; the E-MIB baseline sets it by hand.",
    )
    if mode == "scale":
        _draw("beta_scale")
        _draw("bound")
    else:
        _draw("beta")


def _r_controls() -> None:
    st.markdown("**r: dynamic weight of modality 2**")
    dynamic = _draw("dynamic_r")
    form = _draw("r_form", disabled=not dynamic)
    update = _draw("r_update", disabled=not dynamic)
    if dynamic and form == "info_gain":
        _draw("r_evidence")
    if dynamic and update == "batch":
        _draw("r_ema")


def _schedule_controls() -> None:
    st.markdown("**Schedule**")
    _draw("schedule")
    c1, c2 = st.columns(2)
    for i, name in enumerate(("epochs", "warmup_epochs", "lr", "batch_size", "patience", "snapshot_every", "seed")):
        _draw(name, where=(c1, c2)[i % 2])


def _model_controls() -> None:
    st.markdown("**Model and device**")
    for name in ("fusion", "enc_layers", "bottleneck"):
        _draw(name)
    _draw("device", options=_available_devices())


def _advanced_controls() -> None:
    """Every parameter declared advanced, by group, three to a row."""
    with st.expander("Advanced settings", icon=":material/tune:"):
        for group, names in grouped(PARAMS, ADVANCED):
            st.markdown(f"**{group}**")
            cols = st.columns(3)
            for i, name in enumerate(names):
                _draw(name, where=cols[i % 3])


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
    say_fitted(CHANGED, "before you start")
    with st.container(border=True):
        _preset_controls()
    # two rows of two: four columns leave a select box about 130 px at 1280 px, too narrow for its choices
    for left, right in ((_beta_controls, _r_controls), (_schedule_controls, _model_controls)):
        c1, c2 = st.columns(2, gap="small")
        with c1.container(border=True, height="stretch"):
            left()
        with c2.container(border=True, height="stretch"):
            right()
    _advanced_controls()
    cfg = config_from_state(base, {n: st.session_state[_key(n)] for n in _widget_values(base)})
    st.session_state[_key("synced")] = {"train": cfg.train.to_dict(), "model": cfg.model.to_dict()}
    return cfg


def config_from_state(base: RunConfig, v: dict[str, Any]) -> RunConfig:
    """Pure: control values -> RunConfig (raises ConfigError for an impossible combination)."""
    sections: dict[str, dict[str, Any]] = {"train": base.train.to_dict(), "model": base.model.to_dict()}
    for name, (section, _) in CONTROLS.items():
        if name in v:
            sections[section][name] = v[name]
    sections["train"]["beta"] = v.get("beta") if v.get("beta_mode") == "absolute" else None
    return base.replace(train=TrainConfig.from_dict(sections["train"]), model=ModelConfig.from_dict(sections["model"]))
