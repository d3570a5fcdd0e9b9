"""Bound: estimate H(v_i), I(v_1; v_2) and the beta bound M_u of the session's data in a worker, live."""

from __future__ import annotations

import streamlit as st

from dashboard import live, services, state
from dashboard.datasets import data_refusal
from dashboard.text import escape_md
from dashboard.widgets.bound import earlier_runs, estimator_ui, progress_view, result_view, shown_run_id, submit
from omib_core.bound.result import BoundResult
from omib_core.errors import OmibError
from omib_core.run_states import CUT_SHORT

POLL_SECONDS = 1.5


# view


def run_view(run_id: str, polling: bool) -> None:
    run = services.store().get_run(run_id)
    if run is None:
        st.warning("This estimate no longer exists (it may have been deleted). Start a new one above.")
        return
    live.rerun_when_ended(polling, run["status"] in live.TERMINAL)  # redraw once without polling
    st.markdown(f"#### {escape_md(run['name'])}")
    st.caption(f"Run `{run_id}` · owner {escape_md(run['owner'])} · status {run['status']}")
    if run["status"] == "failed":
        st.error(
            f"The estimate failed: {escape_md(run.get('error') or 'no reason was recorded.')}", icon=":material/error:"
        )
    elif run["status"] in CUT_SHORT:
        st.warning(run.get("error") or "This estimate was stopped before it finished. Start a new one above.")
    elif run["status"] == "finished":
        try:
            result = BoundResult.from_dict(run["result"])
        except Exception:  # noqa: BLE001 - an old or damaged result must not show a traceback
            st.error("This estimate's result could not be read (it may come from an older version). Start a new one.")
            return
        result_view(result, state.current_config())
    else:
        progress_view(run)


# page

st.title("Bound")
st.markdown(
    "**H(v)** (entropy) is how much information a modality holds and **I(v1; v2)** (mutual information) how much "
    "of it the two modalities share; together they give **M_u** = 1 / (3 (H(v1) + H(v2) − I(v1; v2))), a "
    "sufficient bound: the paper proves that any β up to M_u keeps exactly the task-relevant information. A larger β "
    "is outside that guarantee, not necessarily worse (the Sweep page measures where accuracy falls). "
    "The paper estimates H(X) as I(X; X) with MINE, but for continuous data I(X; X) is infinite, so MINE's number "
    "keeps growing with its step budget and describes the estimator as much as the data (the benchmark measures it: "
    "`bench/results/estimators.md`, the table of MINE's H(X) = I(X; X) against the step budget)."
)

config = state.current_config()
c1, c2 = st.columns([5, 1], vertical_alignment="center")
params = ", ".join(f"{k} = {v}" for k, v in config.data.params.items())
c1.markdown(
    f":material/dataset: **Data:** {escape_md(config.data.dataset)}"
    + (f" ({escape_md(params)})" if params else "")
    + f", seed {config.data.seed}"
)
c2.page_link("app_pages/data.py", label="Change data", icon=":material/edit:")

with st.container(border=True):
    try:
        bound_cfg = estimator_ui(config.bound)
        error = None
    except OmibError as e:
        bound_cfg, error = None, str(e)
    if error:
        st.error(f"These estimator settings are not valid: {error}")
    refusal = data_refusal(config.data)  # the server's limits on the data, before anything is drawn
    if refusal is not None:
        bound_cfg = None
        st.error(f"This data is not generated here: {refusal}", icon=":material/block:")
    if st.button(
        "Estimate M_u", type="primary", icon=":material/straighten:", key="bound_start", disabled=bound_cfg is None
    ):
        submit(config.replace(bound=bound_cfg))
    earlier_runs()

run_id = shown_run_id()
if run_id:
    run = services.store().get_run(run_id)
    live.show(run_view, run_id, active=run is not None and run["status"] not in live.TERMINAL, every=POLL_SECONDS)
else:
    st.info(
        "Press **Estimate M_u** to estimate the bound of your data. The gaussian estimator takes a few seconds.",
        icon=":material/info:",
    )
