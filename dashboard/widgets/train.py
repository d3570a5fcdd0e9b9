"""The Train page's config controls: widgets -> a validated ``RunConfig``.

Every control is generated from the parameter's declaration (``omib_core.config``: label, range, step, choices,
group, help, advanced): this file lays the groups out and keeps no range, label or choice list of its own. Widgets
are created without ``value=``: their state is seeded from the session's current config (which a ``?cfg=`` link or
another page may have changed), so baseline presets can set several of them at once.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.run_logic import (
    ADVANCED,
    PARAMS,
    config_from_state,
    controls_snapshot,
    device_choices,
    widget_values,
)
from dashboard.text import widget_key
from dashboard.widgets.controls import control, in_columns, say_fitted
from omib_core.config import RunConfig
from omib_core.params import fit_to_controls, groups

PREFIX = "train"
BETA_MODES = {"scale": "as a multiple of M_u", "absolute": "by hand (absolute β)"}


# Baselines of the paper's ablations: each is a few control values on top of the current ones.
PRESETS: dict[str, dict[str, Any]] = {
    "OMIB": {"fusion": "can", "dynamic_r": True, "beta_mode": "scale", "bottleneck": True},
    "Concat fusion": {"fusion": "concat"},
    "r fixed at 1": {"dynamic_r": False},
    "Hand-set β (E-MIB)": {"beta_mode": "absolute", "beta_scale": 1.0},
    "No bottleneck": {"bottleneck": False},
}
CHANGED = "train_changed"  # session key: sentences about values fitted to the controls, shown once


def _seed_state(cfg: RunConfig) -> None:
    """Copy the config into the widgets' state when it changed outside them (a link, another page, a reused run)."""
    snapshot = controls_snapshot(cfg)
    if (
        st.session_state.get(widget_key(PREFIX, "synced")) == snapshot
        and widget_key(PREFIX, "epochs") in st.session_state
    ):
        return
    values, notes = fit_to_controls(PARAMS, widget_values(cfg))
    for name, value in values.items():
        st.session_state[widget_key(PREFIX, name)] = value
    st.session_state[widget_key(PREFIX, "synced")] = snapshot
    if notes:  # a link (or a stored run) asked for values the controls cannot hold: say so, never fit silently
        st.session_state[CHANGED] = notes


def apply_preset(name: str) -> None:
    """Widget callback: set the controls of a baseline (runs before the script, so state may be written)."""
    for field, value in PRESETS[name].items():
        st.session_state[widget_key(PREFIX, field)] = value


def _draw(name: str, where: Any = None, **kw: Any) -> Any:
    return control(PARAMS[name], name, widget_key(PREFIX, name), where=where, **kw)


def _beta_controls() -> None:
    st.markdown("**β: bottleneck strength**")
    mode = st.radio(
        "Set β",
        list(BETA_MODES),
        key=widget_key(PREFIX, "beta_mode"),
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
    _draw("device", options=device_choices())


def _advanced_controls() -> None:
    """Every parameter declared advanced, by group, three to a row."""
    with st.expander("Advanced settings", icon=":material/tune:"):
        for group, names in groups(PARAMS, ADVANCED):
            st.markdown(f"**{group}**")
            in_columns(names, lambda name, col: _draw(name, where=col))


def _preset_controls() -> None:
    st.markdown("**Baselines**")
    st.caption("One click sets the controls of a baseline from the paper's comparisons.")
    cols = st.columns(len(PRESETS))
    for col, name in zip(cols, PRESETS):
        col.button(name, key=f"{PREFIX}_preset_{name}", on_click=apply_preset, args=(name,), width="stretch")


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
    cfg = config_from_state(base, {n: st.session_state[widget_key(PREFIX, n)] for n in widget_values(base)})
    st.session_state[widget_key(PREFIX, "synced")] = controls_snapshot(cfg)
    return cfg
