"""The Embeddings page's loaders and blocks: cached snapshots and their PCA, the UMAP jobs of this viewer, the run
picker, the grid of snapshots, the watcher that redraws the page when a new snapshot is saved, and the footer."""

from __future__ import annotations

import os
import uuid
from concurrent.futures import Future

import numpy as np
import streamlit as st

from dashboard import live, services, state
from dashboard.charts import embeddings as charts
from dashboard.run_logic import class_names_of, file_mtime
from dashboard.text import epoch_label, escape_md, run_label
from dashboard.widgets import page_url
from omib_core.analysis.embedding import load_snapshot, pca_2d, project_snapshot, projectable_arrays
from omib_core.errors import DataError

WATCH_SECONDS = 4.0
GRID_MAX_FRAMES = 12


# loaders


@st.cache_data(show_spinner=False, max_entries=64)
def snapshot(path: str, mtime: float) -> dict[str, np.ndarray]:
    """The arrays of one snapshot (keyed by its modification time too, so a rewritten file is re-read)."""
    return load_snapshot(path)


@st.cache_data(show_spinner=False, max_entries=256)
def pca_of(path: str, mtime: float, array: str) -> np.ndarray:
    return pca_2d(snapshot(path, mtime)[array])


def submit_umap(path: str, array: str) -> Future:
    """Queue (or find) the UMAP of ``array`` in the server's UMAP worker process; this viewer's older waits drop."""
    return services.umap_jobs().submit((path, array), project_snapshot, (path, array), group=viewer_id())


def umap_future(path: str, array: str) -> Future:
    """This snapshot's UMAP job; a failed one is kept (its sentence shown) until the viewer presses Retry."""
    fut = services.umap_jobs().get((path, array))
    return submit_umap(path, array) if fut is None or fut.cancelled() else fut


def viewer_id() -> str:
    """One id per browser session: its waiting UMAP jobs are dropped when it asks for another frame."""
    return st.session_state.setdefault("emb_viewer", uuid.uuid4().hex)


def snapshots_of(run: dict) -> list[dict]:
    snaps = services.store().list_artifacts(run["id"], "snapshot")
    return sorted(snaps, key=lambda a: (a.get("epoch") is None, a.get("epoch") or 0))


def latest_readable(arts: list[dict]) -> dict[str, np.ndarray] | None:
    """The newest snapshot that loads and has targets (it sets the controls); says why when none does."""
    problem = None
    for a in reversed(arts):
        try:
            snap = snapshot(a["path"], file_mtime(a["path"]))
        except DataError as e:
            problem = problem or str(e)
            continue
        if "target" in snap and projectable_arrays(snap):
            return snap
        problem = problem or f"The snapshot {os.path.basename(a['path'])!r} holds no embedding with targets."
    st.error(f"{problem} No snapshot of this run can be drawn.", icon=":material/error:")
    return None


def first_problem(arts: list[dict]) -> str | None:
    """A sentence when the newest snapshot is unreadable (older ones may still be shown)."""
    try:
        snapshot(arts[-1]["path"], file_mtime(arts[-1]["path"]))
    except DataError as e:
        return f"The newest snapshot cannot be read: {e}"
    return None


# blocks


def choose_run() -> dict | None:
    runs = services.store().list_runs(kind="train", limit=200)
    url_id = state.run_id_from_url()
    if url_id and all(r["id"] != url_id for r in runs):
        extra = services.store().get_run(url_id)
        if extra is not None and extra["kind"] == "train":
            runs.insert(0, extra)
    if not runs:
        st.info(
            "No training runs yet. Start one on the Train page; its xi snapshots appear here.", icon=":material/info:"
        )
        st.page_link("app_pages/train.py", label="Go to Train", icon=":material/model_training:")
        return None
    by_id = {r["id"]: r for r in runs}
    ids = list(by_id)
    index = ids.index(url_id) if url_id in by_id else 0
    rid = st.selectbox(
        "Run",
        ids,
        index=index,
        key="emb_run",
        format_func=lambda i: run_label(by_id[i]),
        on_change=lambda: state.set_run_in_url(st.session_state.get("emb_run")),
    )
    if url_id != rid:
        state.set_run_in_url(rid)
    return by_id[rid]


@st.fragment(run_every=WATCH_SECONDS)
def watch_new_snapshots(run_id: str, known: int) -> None:
    """While a run trains, redraw the page when it saves a new snapshot or ends."""
    run = services.store().get_run(run_id)
    if run is None or run["status"] in live.TERMINAL or len(snapshots_of(run)) != known:
        st.rerun()
    st.caption(":material/autorenew: The run is still training: new snapshots appear here as they are saved.")


def no_snapshots(run: dict) -> None:
    every = (run.get("config") or {}).get("train", {}).get("snapshot_every", 0)
    if run["status"] in live.TERMINAL:
        st.info(
            "This run saved no embedding snapshots"
            + (" (snapshot_every = 0)." if not every else ".")
            + " Start a run with snapshots on the Train page to see xi here.",
            icon=":material/info:",
        )
    else:
        st.info(
            f"No snapshot yet: the first is saved after {every} main-stage epoch(s)."
            if every
            else "This run saves no snapshots (snapshot_every = 0).",
            icon=":material/hourglass_top:",
        )
        watch_new_snapshots(run["id"], 0)


def grid_view(run: dict, arts: list[dict], array: str, color_by: str) -> None:
    task = (run.get("summary") or {}).get("task", "classification")
    pick = (
        arts
        if len(arts) <= GRID_MAX_FRAMES
        else [arts[i] for i in np.linspace(0, len(arts) - 1, GRID_MAX_FRAMES).astype(int)]
    )
    frames = []
    for a in pick:
        mtime = file_mtime(a["path"])
        try:
            snap = snapshot(a["path"], mtime)
            frames.append(
                (
                    epoch_label(a),
                    charts.snapshot_table(snap, pca_of(a["path"], mtime, array), task, class_names_of(run)),
                )
            )
        except (DataError, KeyError):
            continue
    st.plotly_chart(
        charts.snapshot_grid_figure(frames, color_by, task),
        width="stretch",
        key="emb_fig_grid",
        config={"displaylogo": False, "displayModeBar": False},
    )
    st.caption(
        ":material/visibility: **What to look for:** the early panels are a blur; as β squeezes out the "
        "superfluous blocks, the classes pull apart into clusters. PCA per panel, so orientation may flip."
    )


def footer(run: dict) -> None:
    c1, c2 = st.columns([3, 1], vertical_alignment="center")
    c1.caption(f"Run `{run['id']}` · owner {escape_md(run['owner'])}")
    with c2.popover("Link to this view", icon=":material/link:", width="stretch"):
        st.caption("Opens this run's embeddings in any tab or browser.")
        st.code(page_url("embeddings", run=run["id"]), language=None, wrap_lines=True)
