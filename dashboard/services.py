"""Server-wide services, one per Streamlit server process: the run store, the job manager, UMAP warm-up.

``st.cache_resource`` holds only shared, user-independent objects here (never per-user state).
"""

from __future__ import annotations

import os
import threading

import streamlit as st

from dashboard.auth import current_user
from omib_core.runs.jobs import JobManager
from omib_core.runs.paths import db_path
from omib_core.runs.store import RunStore


@st.cache_resource(show_spinner=False)
def store() -> RunStore:
    """The run store (SQLite, WAL) shared by every session of this server."""
    return RunStore(db_path())


@st.cache_resource(show_spinner=False)
def jobs() -> JobManager:
    """The job launcher: recovers dead runs at start-up, then schedules queued runs in the background."""
    manager = JobManager(store())
    manager.recover()
    manager.start_background(interval=1.0)
    return manager


@st.cache_resource(show_spinner=False)
def _umap_warmup() -> threading.Thread:
    """Compile umap's numba kernels once per server in the background (cached on disk by NUMBA_CACHE_DIR)."""
    from omib_core.analysis.embedding import warm_up_umap

    t = threading.Thread(target=warm_up_umap, name="umap-warmup", daemon=True)
    if os.environ.get("OMIB_SKIP_UMAP_WARMUP") != "1":
        t.start()
    return t


def boot() -> None:
    """Start the shared services (idempotent; cheap after the first call).

    Folder paths as dataset ids are for the CLI and the admin: a shared link (``?cfg=``) must not make the
    server read an arbitrary folder, so the app (and the workers it spawns, through the environment) refuse
    them unless the admin sets ``OMIB_FOLDER_DATASETS=1``.
    """
    os.environ.setdefault("OMIB_FOLDER_DATASETS", "0")
    jobs()
    _umap_warmup()


def sidebar_identity() -> None:
    user = current_user()
    with st.sidebar:
        st.caption(f"Signed in as **{user.name}**" + (" (admin)" if user.is_admin else ""))
        if user.can_logout:
            st.button("Log out", on_click=st.logout, key="auth_logout")
