"""Train: the experiment's controls, Start, and the live view of one run (``?run=ID``, openable anywhere).

Runs live in worker processes: closing this tab never stops one. The view polls the run store every 1.5 s
while the run is going and stops polling once it has ended.
"""

from __future__ import annotations

import streamlit as st

from dashboard import live, services, state, twins
from dashboard.auth import current_user
from dashboard.widgets.information import what_xi_keeps
from dashboard.widgets.new_run import new_run_form
from dashboard.widgets.run_view import (
    charts_grid,
    control_buttons,
    final_results,
    no_bottleneck_twin,
    run_header,
    status_banner,
)
from omib_core.config import RunConfig
from omib_core.errors import ConfigError

POLL_SECONDS = 1.5


# live view


def run_view(run_id: str, polling: bool) -> None:
    user = current_user()
    run = services.store().get_run(run_id)
    if run is None:
        st.warning("This run no longer exists (it may have been deleted). Pick another on the Runs page.")
        return
    live.rerun_when_ended(polling, run["status"] in live.TERMINAL)  # redraw the page once, without polling
    rows, steps, epochs = live.tables(run_id)
    run_header(run, epochs, float(rows["t"].max()) if not rows.empty else None)
    status_banner(run)
    control_buttons(run, user)
    if run["status"] == "finished":
        final_results(run)
    twin = None if polling else no_bottleneck_twin(run, user)
    st.subheader("Live charts", divider="gray")
    charts_grid(run, steps, epochs, polling, twins.twin_reference(twin))
    what_xi_keeps(run, epochs, polling)


def reuse_config(run: dict) -> None:
    try:
        state.set_current_config(RunConfig.from_dict(run["config"]))
    except ConfigError as e:
        st.error(f"This run's config cannot be reused here: {e}")
        return
    state.set_run_in_url(None)


# page

st.title("Train")
st.markdown(
    "Set up an OMIB run and watch it learn. **β** is the bottleneck strength, **M_u** a bound up to which β provably "
    "keeps all task information (sufficient and conservative: the best β may lie above it), **r** the dynamic weight on modality 2's KL term, **zeta_i** each modality's "
    "sampled encoding and **xi** the fused representation they are squeezed into."
)
run_id = state.run_id_from_url()
new_run_form(state.current_config(), expanded=run_id is None)

if run_id:
    run = services.store().get_run(run_id)
    if run is None:
        st.warning(f"There is no run with id {run_id}; it may have been deleted. Open one from the Runs page.")
        st.page_link("app_pages/runs.py", label="All runs", icon=":material/table_view:")
    elif run.get("kind") == "bound":
        st.info(
            "This run is an estimate of the bound M_u, not a training run; it is shown on the Bound page.",
            icon=":material/straighten:",
        )
        st.page_link(
            "app_pages/bound.py",
            label="Open it on the Bound page",
            icon=":material/straighten:",
            query_params={"run": run_id},
        )
    else:
        c1, c2, _ = st.columns([1, 1.6, 3])
        c1.button(
            "Close this run", icon=":material/close:", key="train_close", on_click=state.set_run_in_url, args=(None,)
        )
        c2.button(
            "Load its settings into New run",
            icon=":material/content_copy:",
            key="train_reuse",
            on_click=reuse_config,
            args=(run,),
            help="Copies this run's data and training settings above.",
        )
        live.show(run_view, run_id, active=run["status"] not in live.TERMINAL, every=POLL_SECONDS)
else:
    st.info(
        "Start a run above, or open one from the Runs page. Each run gets a link you can share.", icon=":material/info:"
    )
