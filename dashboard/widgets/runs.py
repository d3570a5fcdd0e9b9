"""The Runs page's loaders (cached per run state: a finished run never changes) and its per-run block: the
downloads (metrics long and wide, config, embeddings, checkpoint, the whole run as a zip) and Delete."""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from dashboard import services
from dashboard.charts.runs import best_value
from dashboard.datasets import run_data_refusal
from dashboard.run_logic import primary_metric, snapshot_csv
from dashboard.text import escape_md
from omib_core.analysis.metrics import higher_is_better
from omib_core.csvsafe import safe_csv
from omib_core.errors import OmibError
from omib_core.run_states import ACTIVE
from omib_core.runs.exports import bundle, wide_metrics_csv

# loaders


@st.cache_data(show_spinner=False, max_entries=2000)
def _best(run_id: str, metric: str, status: str, epoch: int | None, test: float | None) -> tuple:
    rows = services.store().read_metrics(run_id, names=[f"val/{metric}"], kind="epoch")
    return metric, best_value(rows["value"].to_numpy(), higher_is_better(metric)), test


def best_metrics(runs: list[dict]) -> dict[str, tuple]:
    out = {}
    for r in runs:
        if r.get("kind", "train") != "train":
            continue
        metric = primary_metric(r)
        test = ((r.get("result") or {}).get("test_metrics") or {}).get(metric)
        out[r["id"]] = _best(r["id"], metric, r["status"], r.get("epoch"), test)
    return out


def metrics_csv(run_id: str) -> str:
    rows = services.store().read_metrics(run_id)
    return safe_csv(rows.drop(columns=["id"]))


def latest_snapshot(run_id: str) -> dict | None:
    snaps = [a for a in services.store().list_artifacts(run_id, "snapshot") if Path(a["path"]).is_file()]
    return max(snaps, key=lambda a: (a.get("epoch") or -1, a["created_at"])) if snaps else None


def checkpoint_path(run_id: str) -> Path | None:
    cks = [Path(a["path"]) for a in services.store().list_artifacts(run_id, "checkpoint")]
    cks = [p for p in cks if p.is_file()]
    return cks[-1] if cks else None


# one run


def details(run: dict, user) -> None:
    rid = run["id"]
    st.markdown(f"**{escape_md(run['name'])}** · `{rid}` · owner {escape_md(run['owner'])} · {run['status']}")
    page, label = ("bound", "Bound") if run.get("kind") == "bound" else ("train", "Train")
    link = ((run.get("result") or {}).get("mlflow") or {}).get("link")
    if link:
        st.link_button("Open in MLflow", link, icon=":material/open_in_new:")
    st.page_link(
        f"app_pages/{page}.py",
        label=f"Open on the {label} page",
        icon=":material/open_in_new:",
        query_params={"run": rid},
    )
    c = [*st.columns(3), *st.columns(3)]
    c[0].download_button(
        "Metrics, one row per step (CSV)",
        data=lambda: wide_metrics_csv(services.store().read_metrics(rid)),
        file_name=f"omib_{rid}_metrics_wide.csv",
        mime="text/csv",
        key="runs_dl_metrics_wide",
        icon=":material/download:",
        on_click="ignore",
        width="stretch",
        help="One row per logged step or epoch, one column per metric (empty where it was not logged): "
        "a spreadsheet plots it as it is.",
    )
    c[1].download_button(
        "Metrics, one row per value (CSV)",
        data=lambda: metrics_csv(rid),
        file_name=f"omib_{rid}_metrics.csv",
        mime="text/csv",
        key="runs_dl_metrics",
        icon=":material/download:",
        on_click="ignore",
        width="stretch",
        help="kind, stage, step, epoch, name, value, finite, t: the store's rows, for pandas or R.",
    )
    c[2].download_button(
        "Config (JSON)",
        data=json.dumps(run["config"], indent=2),
        file_name=f"omib_{rid}_config.json",
        mime="application/json",
        key="runs_dl_config",
        icon=":material/download:",
        on_click="ignore",
        width="stretch",
    )
    snap = latest_snapshot(rid)
    hidden = run_data_refusal(run, user)  # another user's upload: the CSV would hold its labels, row by row
    snap = None if hidden else snap
    c[3].download_button(
        f"Embeddings, epoch {snap['epoch'] + 1 if snap and snap.get('epoch') is not None else '?'} (CSV)"
        if snap
        else "Embeddings (CSV)",
        data=(lambda: snapshot_csv(snap["path"])) if snap else b"",
        file_name=f"omib_{rid}_embeddings.csv",
        mime="text/csv",
        key="runs_dl_embeddings",
        icon=":material/download:",
        on_click="ignore",
        width="stretch",
        disabled=snap is None,
        help=hidden or (None if snap else "This run has no embedding snapshot (yet)."),
    )
    # the checkpoint holds the model and the upload's per-column mean and std: hidden as the embeddings are
    ck = None if hidden else checkpoint_path(rid)
    c[5].download_button(
        "Whole run (zip)",
        data=lambda: bundle(
            run, services.store().run_dir(rid), services.store().read_metrics(rid), private=bool(hidden)
        ),
        file_name=f"omib_{rid}.zip",
        mime="application/zip",
        key="runs_dl_bundle",
        icon=":material/folder_zip:",
        on_click="ignore",
        width="stretch",
        help="result.json, history.csv, config.json, both metric tables, the checkpoint and the embedding "
        "snapshots" + (" (without the checkpoint and snapshots: " + hidden + ")" if hidden else "."),
    )
    c[4].download_button(
        "Checkpoint (.pt)",
        data=(lambda: ck.read_bytes()) if ck else b"",
        file_name=f"omib_{rid}.pt",
        mime="application/octet-stream",
        key="runs_dl_checkpoint",
        icon=":material/download:",
        on_click="ignore",
        width="stretch",
        disabled=ck is None,
        help=hidden
        or ("Load with torch.load(path, weights_only=True)." if ck else "Only finished runs have a checkpoint."),
    )
    delete_section(run, user)


def delete_section(run: dict, user) -> None:
    rid = run["id"]
    allowed = user.is_admin or run["owner"] == user.name
    going = run["status"] in ACTIVE
    if st.button(
        "Delete this run",
        icon=":material/delete:",
        key="runs_delete",
        disabled=not allowed or going,
        help="Stop it first." if going else None,
    ):
        st.session_state["runs_confirm_delete"] = rid
    if not allowed:
        st.caption(f"Only {escape_md(run['owner'])} (the owner) or an admin can delete this run.")
    if st.session_state.get("runs_confirm_delete") == rid:
        st.warning(f"Delete run {rid} with its metrics, snapshots and checkpoint? This cannot be undone.")
        y, n, _ = st.columns([1, 1, 4])
        if y.button("Yes, delete", type="primary", key="runs_delete_yes"):
            st.session_state.pop("runs_confirm_delete", None)
            try:
                services.jobs().delete(rid, user.name, user.is_admin)
                st.toast(f"Run {rid} deleted.", icon=":material/delete:")
                st.rerun()
            except OmibError as e:
                st.error(str(e))
        if n.button("Cancel", key="runs_delete_no"):
            st.session_state.pop("runs_confirm_delete", None)
            st.rerun()
