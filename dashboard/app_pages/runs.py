"""Runs: every run on this server, filtered and sorted; compare a few; download, open or delete one."""

from __future__ import annotations

import streamlit as st

from dashboard import services
from dashboard.auth import current_user
from dashboard.charts.runs import (
    TABLE_COLUMNS,
    epoch_curve,
    filter_runs,
    overlay_figure,
    runs_frame,
    sort_runs,
)
from dashboard.charts.training import metric_label
from dashboard.widgets.runs import best_metrics, details
from omib_core.csvsafe import neutralise_frame
from omib_core.run_states import NOT_ENDED

MAX_OVERLAY = 5
# what a comparison needs first: the name (as wide as the longest one shown, up to 80 characters) and the two
# results fit a 1280 px window whole; the rest follow (the table scrolls sideways)
FIRST_COLUMNS = ["open", "name", "best val", "test", "metric", "status", "beta/M_u", "duration"]
NAME_PX = (160, 560)  # the name column's width range in pixels
CHAR_PX = 6.8  # pixels per character of the grid's 14 px font
COLUMN_ORDER = FIRST_COLUMNS + [c for c in TABLE_COLUMNS if c not in FIRST_COLUMNS and c != "id"] + ["id"]


# sections


def filters(df):
    c = st.columns([2, 2, 2, 2, 1.5], vertical_alignment="bottom")  # 1.5: "Ascending" uncut at 1280 px
    owners = c[0].multiselect("Owner", sorted(df["owner"].unique()), key="runs_owner", placeholder="everyone")
    datasets = c[1].multiselect("Dataset", sorted(df["dataset"].unique()), key="runs_dataset", placeholder="all")
    statuses = c[2].multiselect("Status", sorted(df["status"].unique()), key="runs_status", placeholder="all")
    sortable = [col for col in TABLE_COLUMNS if col not in ("open", "id")]
    by = c[3].selectbox("Sort by", sortable, index=sortable.index("created"), key="runs_sort")
    ascending = c[4].toggle("Ascending", key="runs_ascending", value=False)
    return sort_runs(filter_runs(df, owners, datasets, statuses), by, ascending)


def name_width(names) -> int:
    """Pixels that show the longest name in full (80 characters at most are stored)."""
    longest = max((len(str(n)) for n in names), default=0)
    return int(min(max(CHAR_PX * longest + 24, NAME_PX[0]), NAME_PX[1]))


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
        column_order=COLUMN_ORDER,
        column_config={
            "open": st.column_config.LinkColumn("", display_text="Open", width="small"),
            "name": st.column_config.TextColumn("Name", width=name_width(view["name"])),
            "owner": st.column_config.TextColumn("Owner"),
            "dataset": st.column_config.TextColumn("Dataset"),
            "status": st.column_config.TextColumn("Status", width="small"),
            "metric": st.column_config.TextColumn("Metric", width="small"),
            "duration": st.column_config.TextColumn("Duration", width="small"),
            "beta/M_u": st.column_config.TextColumn("β / M_u", width="small", help="β as a multiple of the bound M_u"),
            "best val": st.column_config.NumberColumn(
                "Best val", format="%.4f", width="small", help="Best validation value of the metric"
            ),
            "test": st.column_config.NumberColumn(
                "Test", format="%.4f", width="small", help="Final test value of the metric"
            ),
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
    metric = c1.selectbox(
        "Metric",
        epoch_names,
        index=epoch_names.index(default),
        key="runs_metric",
        format_func=lambda n: " ".join((n.partition("/")[0], metric_label(n.partition("/")[2]))),
    )
    alpha = c2.slider(
        "Smoothing (debiased EMA)",
        0.0,
        0.95,
        0.0,
        0.05,
        key="runs_alpha",
        help="0 = raw values. Higher values average over more past epochs.",
    )
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


def count_line(shown: int, total: int, going: int) -> str:
    """'12 of 34 runs shown · 2 queued or going' (the counts follow the filters)."""
    runs = f"run{'' if total == 1 else 's'}"
    head = f"{total} {runs}" if shown == total else f"{shown} of {total} {runs} shown (filtered)"
    return f"{head} · {going} queued or going" + (" among them" if shown != total else "")


# page

st.title("Runs")
st.markdown(
    "Every run on this server, yours and other people's. Anyone can open and compare any run; only its "
    "owner or an admin can stop or delete it."
)
user = current_user()
runs = services.store().list_runs()
if not runs:
    st.info("No runs yet. Start one on the Train page or queue a β sweep.", icon=":material/info:")
    st.page_link("app_pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

head = st.columns([6, 1], vertical_alignment="bottom")
head[1].button("Refresh", icon=":material/refresh:", key="runs_refresh", width="stretch")
df = runs_frame(runs, best_metrics(runs))
view = filters(df)
head[0].caption(count_line(len(view), len(runs), int(view["status"].isin(NOT_ENDED).sum())))
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
    rid = st.selectbox("Run", choices, key="runs_pick", format_func=lambda i: f"{runs_by_id[i]['name']} ({i})")
    details(runs_by_id[rid], user)
