"""Server-wide services, one per Streamlit server process: the run store, the job manager, the UMAP worker.

``st.cache_resource`` holds only shared, user-independent objects here (never per-user state).
"""

from __future__ import annotations

import os
from concurrent.futures import Future

import streamlit as st

from dashboard.auth import current_user
from omib_core.analysis.projection_jobs import ProjectionJobs
from omib_core.env import env_bool
from omib_core.paths import db_path
from omib_core.runs.jobs import JobManager
from omib_core.runs.scheduler import shared_manager
from omib_core.runs.store import RunStore


@st.cache_resource(show_spinner=False)
def store() -> RunStore:
    """The run store (SQLite, WAL) shared by every session of this server."""
    return RunStore(db_path())


def jobs() -> JobManager:
    """The process-wide job launcher (``omib_core.runs.scheduler.shared_manager``): the one the launcher
    ``python -m dashboard.serve`` started with the server, or, under a plain ``streamlit run``, one created here.
    It schedules (recovery, queue, workers) only when no other process holds the store's scheduler lease;
    otherwise it submits, controls and reads, and the lease holder runs the queue."""
    return shared_manager(store())


@st.cache_resource(show_spinner=False, on_release=ProjectionJobs.shutdown)
def umap_jobs() -> ProjectionJobs:
    """Background UMAP fits for every session, keyed by (snapshot path, array), in one spawned worker process.

    The server itself never imports umap or numba: their import and compilation hold the GIL for minutes.
    """
    return ProjectionJobs()


@st.cache_resource(show_spinner=False)
def _umap_warmup() -> Future | None:
    """Compile umap's numba kernels in the UMAP worker once per server (cached on disk by NUMBA_CACHE_DIR).

    ``OMIB_SKIP_UMAP_WARMUP=1`` skips it (tests; the worker then starts on the first UMAP asked for).
    """
    if env_bool("OMIB_SKIP_UMAP_WARMUP", False):  # "true" counts too, not only "1"
        return None
    return umap_jobs().warm_up()


@st.cache_resource(show_spinner=False)
def _server_threads() -> int:
    """One torch thread in the server (previews are small): spinning OpenMP threads thrash beside the workers."""
    import torch

    from omib_core.device import apply_thread_policy

    return apply_thread_policy(torch.device("cpu"), None)


def boot() -> None:
    """Start the shared services (idempotent; cheap after the first call).

    Folder paths as dataset ids are for the CLI and the admin: a shared link (``?cfg=``) must not make the
    server read an arbitrary folder, so the app (and the workers it spawns, through the environment) refuse
    them unless the admin sets ``OMIB_FOLDER_DATASETS=1``.
    """
    os.environ.setdefault("OMIB_FOLDER_DATASETS", "0")
    _server_threads()
    jobs()
    _umap_warmup()


def sidebar_identity() -> None:
    from dashboard import gate
    from dashboard.auth import sign_out
    from dashboard.text import escape_md

    session = gate.session_id()
    try:
        user = current_user()
    except BaseException:  # the sign-in form stopped the page: this session may not upload (dashboard/gate.py)
        gate.forget(session)
        raise
    gate.admit(session, user.name)
    gate.sweep()  # uploads held for sessions gone a minute or more are released
    with st.sidebar:
        if user.via == "team":
            st.caption(
                f"Signed in as **{escape_md(user.label)}** (team password: no per-person protection; "
                f"everything is owned by {escape_md(user.name)})"
            )
        else:
            st.caption(f"Signed in as **{escape_md(user.name)}**" + (" (admin)" if user.is_admin else ""))
        if user.can_logout:
            st.button("Log out", on_click=st.logout if user.via == "oidc" else sign_out, key="auth_logout")
