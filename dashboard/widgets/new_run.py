"""The Train page's New run form: the dataset line, the config controls, the schedule preview and Start."""

from __future__ import annotations

import streamlit as st

from dashboard import services, state
from dashboard.auth import current_user
from dashboard.datasets import access_refusal
from dashboard.run_logic import preview_schedule, schedule_markdown
from dashboard.text import dataset_title, default_name, escape_md
from dashboard.widgets import page_url
from dashboard.widgets.train import train_config_ui
from omib_core.config import RunConfig
from omib_core.errors import ConfigError, OmibError


def show_dataset(cfg: RunConfig) -> None:
    params = ", ".join(f"{k} = {v}" for k, v in cfg.data.params.items())
    c1, c2 = st.columns([5, 1], vertical_alignment="center")
    c1.markdown(
        f":material/dataset: **Data:** {escape_md(dataset_title(cfg.data.dataset))}"
        + (f" ({escape_md(params)})" if params else "")
        + f", split seed {cfg.data.seed}"
    )
    c2.page_link("app_pages/data.py", label="Change data", icon=":material/edit:")


def start_run(cfg: RunConfig, name: str) -> None:
    user = current_user()
    try:
        rid = services.jobs().submit(
            cfg.to_dict(), owner=user.name, name=name.strip() or default_name(cfg), is_admin=user.is_admin
        )
    except OmibError as e:
        st.error(f"The run was not started: {e}")
        return
    state.set_run_in_url(rid)
    st.rerun()


def show_schedule(cfg: RunConfig) -> str | None:
    """The schedule these settings give on this data, before Start; returns the sentence of an impossible one."""
    with st.spinner("Counting the training rows..."):
        schedule, error, n_fit = preview_schedule(cfg)
    if schedule is not None:
        st.markdown(schedule_markdown(schedule, f"Schedule on the {n_fit:,} training rows:"))
    elif error is None:
        st.caption("The schedule is worked out when the run starts (this data could not be loaded here).")
    return error


def new_run_form(cfg: RunConfig, expanded: bool) -> None:
    with st.expander("New run", expanded=expanded, icon=":material/tune:"):
        show_dataset(cfg)
        try:
            edited = train_config_ui(cfg)
            error = None
        except ConfigError as e:
            edited, error = None, str(e)
        schedule_error = refusal = None
        if edited is not None:
            state.set_current_config(edited)
            # someone else's private upload (a ?cfg= link): no schedule preview (it would count their rows), no Start
            refusal = access_refusal(edited.data.dataset, current_user())
            schedule_error = None if refusal else show_schedule(edited)
        c1, c2, c3 = st.columns([2.6, 1, 1.4], vertical_alignment="bottom")  # 1.4: "Copy share link" uncut at 1280 px
        name = c1.text_input(
            "Run name (optional)", key="train_name", max_chars=80, placeholder=default_name(edited) if edited else ""
        )
        if error:
            st.error(f"These settings cannot be trained: {error}")
        if schedule_error:
            st.error(f"This schedule cannot be trained on this data: {schedule_error}", icon=":material/error:")
        if refusal:
            st.error(refusal, icon=":material/lock:")
        if c2.button(
            "Start",
            type="primary",
            icon=":material/play_arrow:",
            key="train_start",
            width="stretch",
            disabled=edited is None or schedule_error is not None or refusal is not None,
        ):
            start_run(edited, name)
        with c3.popover("Copy share link", icon=":material/link:", width="stretch"):
            if edited is not None:
                st.caption("Anyone opening this link gets these settings and this dataset on the Train page.")
                st.code(page_url("train", cfg=state.encode_config(edited)), language=None, wrap_lines=True)
            else:
                st.caption("Fix the settings first.")
