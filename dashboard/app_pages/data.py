"""Data: choose a dataset (synthetic, bundled real data, or an upload) and its parameters, preview it, and use it
for the experiment. Uploads are checked (in a capped child process) and stored by ``omib_core.data.uploads``; this
page only shows the report. An upload is its owner's until shared: one the user may not read (a ``?cfg=`` link)
shows a sentence, never its preview."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import state
from dashboard.auth import current_user
from dashboard.datasets import access_refusal, data_refusal, preview
from dashboard.text import escape_md
from dashboard.widgets.data import data_config_ui, dataset_choice
from dashboard.widgets.data_preview import body
from dashboard.widgets.uploads import upload_section, uploads_manager
from omib_core.config import DataConfig
from omib_core.errors import ConfigError, OmibError
from omib_core.params import is_number

# helpers


def load_preview(cfg: DataConfig) -> dict[str, Any] | None:
    refusal = data_refusal(cfg)  # before anything is drawn: the server's limits
    if refusal is not None:
        st.error(f"This data is not generated here: {refusal}", icon=":material/block:")
        return None
    try:
        with st.spinner("Generating the data..."):
            return preview(cfg.to_dict())
    except OmibError as e:
        st.error(f"This data cannot be generated: {e}", icon=":material/error:")
    except Exception as e:  # noqa: BLE001 - a loader bug must not show a traceback to users
        from omib_core.runs.worker import is_out_of_memory

        if is_out_of_memory(e):
            st.error("These data do not fit in the server's memory; lower n_samples or the block sizes.")
        else:
            st.error(
                f"The data could not be loaded ({type(e).__name__}: {e}). Try other parameters or another dataset."
            )
    return None


def with_reference(cfg: DataConfig, p: dict[str, Any]) -> dict[str, Any]:
    """The preview with the ground-truth reference model's numbers in its ground truth (``optimal_mib_accuracy``),
    when the data ask for it: trained once per setting (up to a minute), then read from disk."""
    from omib_core.analysis.reference import optimal_reference
    from omib_core.data import reference_requested

    if not p.get("ground_truth") or not reference_requested(cfg):
        return p
    try:
        with st.spinner("Training the reference model on the optimal features (once per setting: up to a minute)..."):
            ref = optimal_reference(cfg)
    except OmibError as e:
        st.warning(f"The optimal-MIB reference could not be computed: {e}", icon=":material/warning:")
        return p
    scalars = {k: v for k, v in ref.items() if is_number(v)}
    return {**p, "ground_truth": {**p["ground_truth"], **scalars}}


def use_data(cfg: DataConfig) -> None:
    """Button callback (runs before the page redraws, so the button shows the new state at once)."""
    state.set_current_config(state.current_config().replace(data=cfg))
    st.toast("The Train, Bound and Sweep pages now use this data.", icon=":material/check_circle:")


def use_button(cfg: DataConfig) -> None:
    current = state.current_config()
    in_use = current.data == cfg
    c1, c2 = st.columns([1, 3], vertical_alignment="center")
    c1.button(
        "Use this data",
        type="primary",
        icon=":material/check:",
        key="data_use",
        width="stretch",
        disabled=in_use,
        on_click=use_data,
        args=(cfg,),
    )
    if in_use:
        c2.success("Your experiment uses this data (Train, Bound and Sweep pages).", icon=":material/check_circle:")
    else:
        c2.caption(
            f"Your experiment currently uses **{escape_md(current.data.dataset)}** with other settings. "
            "Press *Use this data* to switch the Train, Bound and Sweep pages to the data previewed below."
        )


def forget_data() -> None:
    """Button callback: the experiment goes back to the default data."""
    state.set_current_config(state.current_config().replace(data=DataConfig()))
    st.session_state["data_dataset"] = DataConfig().dataset  # set, so the browser's picker shows it too


def catalogue(current: str, user: Any) -> list[Any]:
    """Registered datasets, then the uploads this user may read (own and shared), then the upload in use when it is
    someone else's that they may read (an admin, a link)."""
    from omib_core.data import get_info, list_datasets, list_uploads

    infos = list_datasets() + list_uploads(readable_by=user.name)
    if current.startswith("upload:") and current not in {i.id for i in infos} and not access_refusal(current, user):
        try:
            infos.append(get_info(current))
        except OmibError:
            pass  # deleted or malformed: the picker falls back to the first dataset
    return infos


# page

st.title("Data")
st.markdown(
    "Pick the data OMIB learns from. **SIM-I / II / III** are synthetic: two modalities built from known blocks "
    "(a0 shared and task-relevant, a1 / a2 task-relevant in one modality only, b0 / b1 / b2 superfluous), so the "
    "best possible accuracy and the exact information quantities are known. The **real datasets** (UCI handwritten "
    "digits described several ways, nutrimouse, breast cancer, digit halves) ship with the app; or upload your own. "
    "SIM-REG, SIM-ANOMALY and SIM-3M try regression, anomaly detection and three modalities. The paper's datasets "
    "(**CMU-MOSI**, **CREMA-D**, **10x breast tissue**) work once the server's admin has put their files on the server."
)

config = state.current_config()
user = current_user()
refusal = access_refusal(config.data.dataset, user)
if refusal:  # someone else's upload (a ?cfg= link): a sentence, not its preview
    st.error(refusal, icon=":material/lock:")
    st.button("Use the default data instead", type="primary", key="data_access_reset", on_click=forget_data)
    st.stop()
try:
    infos = catalogue(config.data.dataset, user)
except Exception as e:  # noqa: BLE001 - the data package missing or broken must not break the page
    st.error(f"The dataset catalogue could not be read ({e}). Ask the person who runs this server.")
    st.stop()

info = dataset_choice(infos, config.data.dataset)
meta = [f"task: {info.task}", f"{info.n_modalities} modalities"]
if getattr(info, "source", None):
    meta.append(f"source: {info.source}")
if getattr(info, "licence", None):
    meta.append(f"licence: {info.licence}")
credit = st.empty()  # filled again below with the loaded data's modality count (uci-mfeat: set by `views`)
credit.caption(escape_md(info.description) + "  \n" + " · ".join(escape_md(m) for m in meta))
upload_section(user.name)
uploads_manager(user)

try:
    chosen = data_config_ui(info, config.data)
except ConfigError as e:
    st.error(f"These parameters are not valid: {e}", icon=":material/error:")
    st.stop()

data = load_preview(chosen)
if data is None:
    st.stop()
data = with_reference(chosen, data)
meta[1] = f"{len(data['modalities'])} modalities"
credit.caption(escape_md(info.description) + "  \n" + " · ".join(escape_md(m) for m in meta))
use_button(chosen)
body(data)
