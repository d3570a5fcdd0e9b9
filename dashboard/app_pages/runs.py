"""Runs: every run on this server, filtered and sorted; compare a few; download, open or delete one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import streamlit as st

from dashboard import services
from dashboard.auth import current_user
from dashboard.charts.runs import (
    TABLE_COLUMNS,
    best_value,
    epoch_curve,
    filter_runs,
    overlay_figure,
    runs_frame,
    snapshot_frame,
    sort_runs,
)
from dashboard.charts.training import metric_label
from dashboard.widgets import escape_md
from dashboard.widgets.data import run_data_refusal
from omib_core.analysis.metrics import PRIMARY_METRIC, higher_is_better
from omib_core.csvsafe import neutralise_frame, safe_csv
from omib_core.errors import OmibError

MAX_OVERLAY = 5


# loaders (cached per run state: a finished run never changes)


def primary_metric(run: dict) -> str:
    task = (run.get("summary") or {}).get("task")
    tests = (run.get("result") or {}).get("test_metrics") or {}
    metric = PRIMARY_METRIC.get(task, "accuracy")
    return metric if metric in tests or not tests else next(iter(tests))


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


def snapshot_csv(path: str) -> str:
    with np.load(path, allow_pickle=False) as z:
        return safe_csv(snapshot_frame({k: z[k] for k in z.files}))


def checkpoint_path(run_id: str) -> Path | None:
    cks = [Path(a["path"]) for a in services.store().list_artifacts(run_id, "checkpoint")]
    cks = [p for p in cks if p.is_file()]
    return cks[-1] if cks else None


# sections


def filters(df):
    c = st.columns([2, 2, 2, 2, 1], vertical_alignment="bottom")
    owners = c[0].multiselect("Owner", sorted(df["owner"].unique()), key="runs_owner", placeholder="everyone")
    datasets = c[1].multiselect("Dataset", sorted(df["dataset"].unique()), key="runs_dataset", placeholder="all")
    statuses = c[2].multiselect("Status", sorted(df["status"].unique()), key="runs_status", placeholder="all")
    sortable = [col for col in TABLE_COLUMNS if col not in ("open", "id")]
    by = c[3].selectbox("Sort by", sortable, index=sortable.index("created"), key="runs_sort")
    ascending = c[4].toggle("Ascending", key="runs_ascending", value=False)
    return sort_runs(filter_runs(df, owners, datasets, statuses), by, ascending)


def table(view):
    st.caption(
        "Tick rows to compare their curves (2 to 5) or to act on one. **Open** shows a run live on the Train page."
    )
    event = st.dataframe(
        neutralise_frame(view),  # its toolbar offers the table as CSV: names such as =HYPERLINK(...) start with '
        hide_index=True,
        width="stretch",
        key="runs_table",
        on_select="rerun",
        selection_mode="multi-row",
        column_order=["open", *[c for c in TABLE_COLUMNS if c not in ("open", "id")], "id"],
        column_config={
            "open": st.column_config.LinkColumn("", display_text="Open", width="small"),
            "name": st.column_config.TextColumn("Name", width="medium"),
            "owner": st.column_config.TextColumn("Owner"),
            "dataset": st.column_config.TextColumn("Dataset"),
            "status": st.column_config.TextColumn("Status"),
            "metric": st.column_config.TextColumn("Metric"),
            "duration": st.column_config.TextColumn("Duration"),
            "beta/M_u": st.column_config.TextColumn("β / M_u", help="β as a multiple of the bound M_u"),
            "best val": st.column_config.NumberColumn(
                "Best val", format="%.4f", help="Best validation value of the metric"
            ),
            "test": st.column_config.NumberColumn("Test", format="%.4f", help="Final test value of the metric"),
            "created": st.column_config.DatetimeColumn("Created (UTC)", format="YYYY-MM-DD HH:mm"),
            "id": st.column_config.TextColumn("Run id", width="small"),
        },
    )
    rows = event.selection.rows if event is not None else []
    return [view.iloc[i]["id"] for i in rows if i < len(view)]


def compare(selected: list[str], runs_by_id: dict) -> None:
    if len(selected) < 2:
        st.info("Tick 2 to 5 runs in the table to overlay their curves.", icon=":material/stacked_line_chart:")
        return
    if len(selected) > MAX_OVERLAY:
        st.warning(f"{len(selected)} runs are ticked; the first {MAX_OVERLAY} are compared.")
        selected = selected[:MAX_OVERLAY]
    store = services.store()
    names = sorted(set.intersection(*[set(store.metric_names(rid)) for rid in selected]))
    epoch_names = [n for n in names if n.startswith(("val/", "test/", "train/")) or n.startswith("r/")]
    if not epoch_names:
        st.info("These runs have no epoch metrics in common yet.")
        return
    default = next((n for n in ("val/accuracy", "val/auc", "val/mae") if n in epoch_names), epoch_names[0])
    c1, c2 = st.columns([2, 3])
    metric = c1.selectbox("Metric", epoch_names, index=epoch_names.index(default), key="runs_metric",
                          format_func=lambda n: " ".join((n.partition("/")[0], metric_label(n.partition("/")[2]))))  # fmt: skip
    alpha = c2.slider("Smoothing (debiased EMA)", 0.0, 0.95, 0.0, 0.05, key="runs_alpha",
                      help="0 = raw values. Higher values average over more past epochs.")  # fmt: skip
    curves = []
    for rid in selected:
        x, y = epoch_curve(store.read_metrics(rid, names=[metric], kind="epoch"), metric)
        curves.append({"label": f"{runs_by_id[rid]['name']} ({rid[:6]})", "x": x, "y": y})
    split, _, short = metric.partition("/")
    fig = overlay_figure(curves, f"{split} {metric_label(short)}", alpha)
    st.plotly_chart(fig, width="stretch", key="runs_overlay", config={"displaylogo": False})
    st.caption(
        ":material/visibility: **What to look for:** curves are aligned by epoch (warm-up epochs first). Compare "
        "where each levels off and how far apart the runs end; smoothing removes epoch-to-epoch noise only."
    )


def details(run: dict, user) -> None:
    rid = run["id"]
    st.markdown(f"**{escape_md(run['name'])}** · `{rid}` · owner {escape_md(run['owner'])} · {run['status']}")
    page, label = ("bound", "Bound") if run.get("kind") == "bound" else ("train", "Train")
    st.page_link(f"app_pages/{page}.py", label=f"Open on the {label} page", icon=":material/open_in_new:",
                 query_params={"run": rid})  # fmt: skip
    c = st.columns(4)
    c[0].download_button("Metrics (CSV)", data=lambda: metrics_csv(rid), file_name=f"omib_{rid}_metrics.csv",
                         mime="text/csv", key="runs_dl_metrics", icon=":material/download:", on_click="ignore",
                         width="stretch")  # fmt: skip
    c[1].download_button("Config (JSON)", data=json.dumps(run["config"], indent=2), file_name=f"omib_{rid}_config.json",
                         mime="application/json", key="runs_dl_config", icon=":material/download:", on_click="ignore",
                         width="stretch")  # fmt: skip
    snap = latest_snapshot(rid)
    hidden = run_data_refusal(run, user)  # another user's upload: the CSV would hold its labels, row by row
    snap = None if hidden else snap
    c[2].download_button(
        f"Embeddings, epoch {snap['epoch'] + 1 if snap and snap.get('epoch') is not None else '?'} (CSV)"
        if snap else "Embeddings (CSV)",
        data=(lambda: snapshot_csv(snap["path"])) if snap else b"", file_name=f"omib_{rid}_embeddings.csv",
        mime="text/csv", key="runs_dl_embeddings", icon=":material/download:", on_click="ignore", width="stretch",
        disabled=snap is None, help=hidden or (None if snap else "This run has no embedding snapshot (yet)."),
    )  # fmt: skip
    ck = checkpoint_path(rid)
    c[3].download_button(
        "Checkpoint (.pt)", data=(lambda: ck.read_bytes()) if ck else b"", file_name=f"omib_{rid}.pt",
        mime="application/octet-stream", key="runs_dl_checkpoint", icon=":material/download:", on_click="ignore",
        width="stretch", disabled=ck is None,
        help="Load with torch.load(path, weights_only=True)." if ck else "Only finished runs have a checkpoint.",
    )  # fmt: skip
    delete_section(run, user)


def delete_section(run: dict, user) -> None:
    rid = run["id"]
    allowed = user.is_admin or run["owner"] == user.name
    going = run["status"] in ("running", "paused")
    if st.button("Delete this run", icon=":material/delete:", key="runs_delete", disabled=not allowed or going,
                 help="Stop it first." if going else None):  # fmt: skip
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


# page

st.title("Runs")
st.markdown("Every run on this server, yours and other people's. Anyone can open and compare any run; only its "
            "owner or an admin can stop or delete it.")  # fmt: skip
user = current_user()
runs = services.store().list_runs()
if not runs:
    st.info("No runs yet. Start one on the Train page or queue a β sweep.", icon=":material/info:")
    st.page_link("app_pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

head = st.columns([6, 1], vertical_alignment="bottom")
going = sum(r["status"] in ("queued", "running", "paused") for r in runs)
head[0].caption(f"{len(runs)} run{'' if len(runs) == 1 else 's'} · {going} queued or going")
head[1].button("Refresh", icon=":material/refresh:", key="runs_refresh", width="stretch")
df = runs_frame(runs, best_metrics(runs))
view = filters(df)
if view.empty:
    st.info("No run matches these filters.")
    st.stop()
selected = table(view)
runs_by_id = {r["id"]: r for r in runs}

tab_cmp, tab_one = st.tabs([":material/stacked_line_chart: Compare", ":material/description: Downloads and actions"])
with tab_cmp:
    compare(selected, runs_by_id)
with tab_one:
    choices = selected or list(view["id"])
    rid = st.selectbox("Run", choices, key="runs_pick",
                       format_func=lambda i: f"{runs_by_id[i]['name']} ({i})")  # fmt: skip
    details(runs_by_id[rid], user)
