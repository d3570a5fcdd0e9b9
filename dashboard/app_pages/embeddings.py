"""Embeddings: xi (and z_i, zeta_i) of a run's snapshots in 2-D; PCA at once, UMAP in the background."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import live
from dashboard.auth import current_user
from dashboard.charts import embeddings as charts
from dashboard.datasets import run_data_refusal
from dashboard.run_logic import class_names_of, file_mtime
from dashboard.text import epoch_label, failure_sentence
from dashboard.widgets.embeddings import (
    choose_run,
    first_problem,
    footer,
    grid_view,
    latest_readable,
    no_snapshots,
    pca_of,
    snapshot,
    snapshots_of,
    submit_umap,
    umap_future,
    watch_new_snapshots,
)
from dashboard.widgets.information import snapshot_information
from omib_core.analysis.embedding import projectable_arrays
from omib_core.csvsafe import safe_csv
from omib_core.errors import DataError

POLL_SECONDS = 1.5
METHODS = {"umap": "UMAP (PCA until ready)", "pca": "PCA only"}


# projection view


def projection_view(run: dict, art: dict, array: str, color_by: str, method: str, polling: bool) -> None:
    path = art["path"]
    mtime = file_mtime(path)
    task = (run.get("summary") or {}).get("task", "classification")
    snap = snapshot(path, mtime)
    coords, used, status = pca_of(path, mtime, array), "PCA", None
    if method == "umap":
        fut = umap_future(path, array)
        if fut.done() and not fut.cancelled() and fut.exception() is None:
            coords, used = fut.result(), "UMAP"
        elif fut.done() and not fut.cancelled():
            status = (
                "error",
                f"UMAP could not be computed: {failure_sentence(fut.exception())} The PCA is shown "
                "instead; press **Retry UMAP** to try again.",
            )
        else:
            status = (
                "wait",
                "UMAP computing... the PCA is shown meanwhile (the first UMAP on a fresh server "
                "is the slowest; measured times: `bench/results/umap_process.md`).",
            )
            if polling is False:
                pending_view(run, art, array, color_by, method)
                return
        live.rerun_when_ended(polling, fut.done())  # UMAP ready (or failed): redraw once without polling
    df = charts.snapshot_table(snap, coords, task, class_names_of(run))
    title = f"{charts.array_label(array)}, {epoch_label(art)}: {used}"
    st.plotly_chart(
        charts.projection_figure(df, color_by, title=title, task=task, method=used),
        width="stretch",
        key="emb_fig_main",
        config={"displaylogo": False},
    )
    if status and status[0] == "wait":
        st.info(status[1], icon=":material/hourglass_top:")
    elif status:
        st.warning(status[1], icon=":material/warning:")
        st.button(
            "Retry UMAP", on_click=submit_umap, args=(path, array), key="emb_umap_retry", icon=":material/refresh:"
        )
    st.caption(
        ":material/visibility: **What to look for:** one tight, separate cluster per class means xi kept the "
        "task information and little else; colour by *correct / wrong* to see where the errors sit (usually "
        "where clusters touch). UMAP keeps neighbourhoods, not distances: compare shapes, not sizes."
    )
    facts = charts.snapshot_facts(snap, array)
    cols = st.columns(len(facts) + 1, vertical_alignment="bottom")
    for col, (k, v) in zip(cols, facts.items()):
        col.metric(k.capitalize(), v, help="Over the samples of this snapshot." if "accuracy" in k else None)
    cols[-1].download_button(
        "Download CSV",
        safe_csv(df.drop(columns=["prediction_value"], errors="ignore")).encode(),
        file_name=f"{run['id']}_{array}_{epoch_label(art).replace(' ', '')}_{used.lower()}.csv",
        mime="text/csv",
        icon=":material/download:",
        key="emb_csv",
        width="stretch",
    )


@st.fragment(run_every=POLL_SECONDS)
def pending_view(run: dict, art: dict, array: str, color_by: str, method: str) -> None:
    projection_view(run, art, array, color_by, method, polling=True)


def snapshots_view(run: dict, arts: list[dict]) -> None:
    if problem := first_problem(arts):
        st.warning(problem, icon=":material/warning:")
    first = latest_readable(arts)
    if first is None:
        return
    arrays = projectable_arrays(first)
    c1, c2, c3 = st.columns([2, 3, 2])
    array = c1.selectbox("Embedding", arrays, key="emb_array", format_func=charts.array_label)
    options = charts.color_options(charts.snapshot_table(first, np.zeros((len(first["target"]), 2)), "classification"))
    color_by = (
        c2.segmented_control(
            "Colour by", list(options), default="label", format_func=options.get, key="emb_color", required=True
        )
        or "label"
    )
    method = (
        c3.segmented_control(
            "Projection", list(METHODS), default="umap", format_func=METHODS.get, key="emb_method", required=True
        )
        or "umap"
    )
    labels = [epoch_label(a) for a in arts]
    chosen = labels[-1]
    if len(arts) > 1:
        chosen = st.select_slider("Snapshot (watch xi take shape)", labels, value=labels[-1], key="emb_epoch")
    art = arts[labels.index(chosen)]
    try:
        projection_view(run, art, array, color_by, method, polling=False)
    except (DataError, KeyError, ValueError) as e:
        st.error(f"This snapshot cannot be drawn: {e}. Pick another epoch.", icon=":material/error:")
    snapshot_information(run, art.get("epoch"))
    if len(arts) > 1 and st.toggle(f"Show all {len(arts)} snapshots side by side (PCA)", key="emb_grid"):
        grid_view(run, arts, array, color_by)
    if run["status"] not in live.TERMINAL:
        watch_new_snapshots(run["id"], len(arts))


# page

st.title("Embeddings")
st.markdown(
    "**xi** is the fused representation OMIB predicts from; **z_i** is modality i's encoder output and **zeta_i** "
    "its bottleneck code (the part the KL term squeezes). Each snapshot stores them for a fixed subset of samples; "
    "here they are drawn in 2-D. PCA appears at once; UMAP, which shows clusters better, replaces it when ready."
)

run = choose_run()
if run is not None:
    snaps = snapshots_of(run)
    if hidden := run_data_refusal(run, current_user()):  # another user's upload: its labels, row by row
        st.info(hidden, icon=":material/lock:")
    elif snaps:
        snapshots_view(run, snaps)
    else:
        no_snapshots(run)
    footer(run)
