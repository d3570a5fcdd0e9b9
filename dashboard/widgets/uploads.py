"""The Data page's upload blocks: the upload form with its check report and Store button, and the manager of the
user's uploads (quota, Shared toggle, Delete). The checks and the storage are ``omib_core.data.uploads``'s."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import state
from dashboard.datasets import uploaded_files
from dashboard.text import escape_md, labels_line, size_text
from dashboard.widgets.data import upload_ui
from omib_core.config import DataConfig
from omib_core.errors import OmibError

UPLOAD_GEN = "data_upload_generation"  # part of the uploader's key: bumped to empty it after a store
UPLOAD_ERROR = "data_upload_error"
DELETE_ERROR = "data_upload_delete_error"  # also a failed share / unshare


# upload form


@st.cache_data(show_spinner=False, max_entries=8, ttl=3600)
def upload_report(files: dict[str, bytes], task: str | None) -> dict[str, Any]:
    """The validation report of these files as plain values (cached by content)."""
    from omib_core.data.sandbox import validate_isolated

    r = validate_isolated(files, task=task)  # a separate process with a memory and a time cap
    return {"ok": r.ok, "table": r.table(), "errors": r.errors, "warnings": r.warnings, "labels": r.labels}


def store_and_use(owner: str, task: str | None, name: str) -> None:
    """Button callback: store the uploaded files, then make the experiment use them."""
    from omib_core.data import store_upload

    gen = int(st.session_state.get(UPLOAD_GEN, 0))
    try:
        files = uploaded_files(st.session_state.get(f"data_upload_files_{gen}") or [])
        upload_id = store_upload(files, owner=owner, task=task, name=name or None)
    except OmibError as e:
        st.session_state[UPLOAD_ERROR] = str(e)
        return
    dataset = f"upload:{upload_id}"
    state.set_current_config(state.current_config().replace(data=DataConfig(dataset=dataset)))
    # set, not cleared: a browser keeps showing its own last choice unless the server sets the widget's value
    # (clearing it left the previous dataset's name above the new preview until the page was opened again)
    st.session_state["data_dataset"] = dataset
    st.session_state[UPLOAD_GEN] = gen + 1  # empties the uploader
    st.toast("Your data is stored; the Train, Bound and Sweep pages now use it.", icon=":material/check_circle:")


def upload_section(owner: str) -> None:
    with st.expander("Upload your data", icon=":material/upload:"):
        st.markdown(
            "One file per modality (`.csv`, `.parquet`, `.npy`, or `.npz` with one array; one row per sample, the "
            "same order in every file) and one labels file (`labels.csv` or `labels.npy`). Labels are numbers or "
            "class names (such as *Adelie*, numbered in sorted order). A `split` column in labels.csv (train / val "
            "/ test) fixes the split; otherwise it is drawn at random. The files are checked here before anything is stored. A stored upload "
            "is yours alone until you share it (Your uploads)."
        )
        from dashboard import gate

        error = st.session_state.pop(UPLOAD_ERROR, None) or gate.pop_refusal(gate.session_id())
        if error:
            st.error(error, icon=":material/error:")
        try:
            files, task, name = upload_ui(int(st.session_state.get(UPLOAD_GEN, 0)))
        except OmibError as e:  # two files with one name
            st.error(str(e), icon=":material/error:")
            return
        if not files:
            return
        try:
            report = upload_report(files, task)
        except OmibError as e:
            st.error(str(e), icon=":material/error:")
            return
        st.dataframe(
            report["table"].rename(columns={"constant_columns": "constant columns"}),
            hide_index=True,
            width="stretch",
            key="data_upload_table",
        )
        if report["labels"]:
            st.markdown(labels_line(report["labels"]))
        for e in report["errors"]:
            st.error(e, icon=":material/error:")
        for w in report["warnings"]:
            st.warning(w, icon=":material/warning:")
        if report["ok"]:
            st.success("These files can be used. Store them to preview and train on them.", icon=":material/check:")
        st.button(
            "Store and use this data",
            type="primary",
            icon=":material/save:",
            key="data_upload_store",
            disabled=not report["ok"],
            on_click=store_and_use,
            args=(owner, task, name),
        )


# uploads manager


def delete_and_forget(upload_id: str, user_name: str, is_admin: bool) -> None:
    """Button callback: delete an upload; an experiment that used it goes back to the default data."""
    from omib_core.data.uploads import delete_upload

    try:
        name = delete_upload(upload_id, user_name, is_admin=is_admin)
    except OmibError as e:
        st.session_state[DELETE_ERROR] = str(e)
        return
    dataset, note = f"upload:{upload_id}", ""
    cfg = state.current_config()
    if cfg.data.dataset == dataset:
        state.set_current_config(cfg.replace(data=DataConfig()))
    if st.session_state.get("data_dataset") == dataset:  # the picker must not keep an id it no longer lists
        st.session_state["data_dataset"] = state.current_config().data.dataset
        note = " Your experiment used it, so it is back on the default data."
    st.toast(f"Deleted {name!r}. Runs trained on it keep their metrics.{note}", icon=":material/delete:")


def share_or_unshare(upload_id: str, user_name: str, is_admin: bool) -> None:
    """Toggle callback: share an upload with every signed-in user, or make it the owner's alone again."""
    from omib_core.data.uploads import set_shared

    shared = bool(st.session_state.get(f"data_upload_share_{upload_id}"))
    try:
        name = set_shared(upload_id, user_name, shared, is_admin=is_admin)
    except OmibError as e:
        st.session_state[DELETE_ERROR] = str(e)
        return
    st.toast(
        f"{name!r} is now {'shared with every signed-in user' if shared else 'yours alone'}.",
        icon=":material/share:" if shared else ":material/lock:",
    )


def uploads_manager(user: Any) -> None:
    """The user's uploads (an admin's: everyone's) with the quota in use, each with a Shared toggle and a Delete
    button."""
    from omib_core.data.uploads import upload_limits, upload_records, uploads_public

    records = upload_records(None if user.is_admin else user.name)
    mine = [r for r in records if r["owner"] == user.name]
    error = st.session_state.pop(DELETE_ERROR, None)
    if not records and not error:
        return
    title = f"Uploads on this server ({len(records)})" if user.is_admin else f"Your uploads ({len(records)})"
    with st.expander(title, icon=":material/folder_open:", expanded=bool(error)):
        if error:
            st.error(error, icon=":material/error:")
        try:
            max_n, max_bytes = upload_limits()
            st.caption(
                f"You keep {len(mine)} of at most {max_n} uploads, {size_text(sum(r['bytes'] for r in mine))} "
                f"of {size_text(max_bytes)}. Deleting an upload frees its place; runs trained on it keep "
                "their metrics, but cannot be trained again from it."
            )
        except OmibError as e:
            st.warning(str(e), icon=":material/warning:")
        public = uploads_public()
        st.caption(
            "Every upload on this server is readable by every signed-in user (OMIB_UPLOADS_PUBLIC)."
            if public
            else "An upload is readable by its owner (and admins) only; *Shared* lets every signed-in user "
            "preview and train on it."
        )
        for r in records:
            c1, c3, c2 = st.columns([5, 1, 1], vertical_alignment="center")
            owner = "" if r["owner"] == user.name else f" · owner {escape_md(r['owner'])}"
            c1.markdown(
                f"**{escape_md(r['name'])}** · `{r['dataset']}` · {escape_md(r['task'])} · "
                f"{len(r['modalities'])} modalities · {size_text(r['bytes'])} · {escape_md(r['created'][:10])}"
                f"{owner}"
            )
            if r["owner"] == user.name or user.is_admin:  # the core refuses anyone else too
                c3.toggle(
                    "Shared",
                    value=r["shared"] or public,
                    key=f"data_upload_share_{r['id']}",
                    disabled=public,
                    on_change=share_or_unshare,
                    args=(r["id"], user.name, user.is_admin),
                    help="Readable by every signed-in user (set by the server)."
                    if public
                    else "On: every signed-in user can preview and train on it. Off: you (and admins) only.",
                )
                with c2.popover("Delete", icon=":material/delete:"):
                    st.markdown(f"Delete **{escape_md(r['name'])}** for good?")
                    st.button(
                        "Delete",
                        type="primary",
                        key=f"data_upload_delete_{r['id']}",
                        on_click=delete_and_forget,
                        args=(r["id"], user.name, user.is_admin),
                    )
