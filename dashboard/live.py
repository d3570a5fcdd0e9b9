"""Incremental polling of a run's metrics from the store, shared by every live view.

Each session keeps the full long-format series of the runs it watches in ``st.session_state`` and asks
the store only for rows newer than the last one seen, so a poll costs O(new rows) whatever the run
length. Charts then downsample to at most ~2,000 points per series (``omib_core.analysis.series``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import services

TERMINAL = ("finished", "failed", "stopped", "interrupted")
COLUMNS = ["id", "kind", "stage", "step", "epoch", "name", "value", "finite", "t"]


# pure helpers


def merge_rows(old: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """Append newly polled rows (ids strictly increasing) to what a session already holds."""
    if old is None or old.empty:
        return new.reset_index(drop=True)
    if new.empty:
        return old
    return pd.concat([old, new[new["id"] > old["id"].max()]], ignore_index=True)


def pivot(rows: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Wide table for one event kind ('step' or 'epoch'): one row per step, one column per metric name.

    Non-finite values (stored as NULL with finite=0) stay NaN, so charts show gaps, never fake zeros.
    """
    if rows is None or rows.empty:
        return pd.DataFrame()
    sub = rows[rows["kind"] == kind]
    if sub.empty:
        return pd.DataFrame()
    # groupby + unstack keeps only the (step, epoch, stage) triples that exist (pivot_table(dropna=False) would
    # build their full product) and last(skipna=False) keeps a non-finite value as NaN.
    keys = ["step", "epoch", "stage", "name"]
    wide = sub.groupby(keys, dropna=False, sort=False)["value"].last(skipna=False).unstack("name")
    wide = wide.reset_index().sort_values("step", kind="stable").reset_index(drop=True)
    wide.columns.name = None
    return wide


# session-bound polling


def poll(run_id: str) -> pd.DataFrame:
    """All metric rows of ``run_id`` seen so far in this session, fetching only the new ones."""
    key = f"live_rows_{run_id}"
    old = st.session_state.get(key)
    after = int(old["id"].max()) if old is not None and not old.empty else 0
    new = services.store().read_metrics(run_id, after_id=after)
    rows = merge_rows(old, new)
    st.session_state[key] = rows
    return rows


def forget(run_id: str) -> None:
    st.session_state.pop(f"live_rows_{run_id}", None)
