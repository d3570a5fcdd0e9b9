"""Incremental polling of a run's metrics from the store, shared by every live view.

``show`` draws a run or sweep view either live (a fragment that polls every few seconds) or static, and
``rerun_when_ended`` is the guard that stops the polling once the run or sweep has ended.

Each session keeps the full long-format series of the runs it watches in ``st.session_state`` and asks
the store only for rows newer than the last one seen, so a poll costs O(new rows) whatever the run
length. Charts then downsample to at most ~2,000 points per series (``omib_core.analysis.series``).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from dashboard import services
from omib_core.run_states import TERMINAL as TERMINAL  # the ended statuses, re-exported for the pages

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


def extend_tables(
    tables: dict[str, pd.DataFrame] | None, rows: pd.DataFrame, new: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """Update the wide step and epoch tables with newly polled rows, re-pivoting only the tail they touch.

    ``rows`` is everything seen so far (``new`` included). A wide row at a step below the smallest step among the
    new rows cannot change (its metrics are all in), so only rows at or after that step are pivoted again: a poll
    costs O(new rows + one epoch), not O(run length).
    """
    if tables is None:
        return {kind: pivot(rows, kind) for kind in ("step", "epoch")}
    if new.empty:
        return tables
    out = {}
    for kind in ("step", "epoch"):
        fresh = new[new["kind"] == kind]
        old = tables.get(kind, pd.DataFrame())
        if fresh.empty:
            out[kind] = old
            continue
        start = fresh["step"].min()
        tail = pivot(rows[(rows["kind"] == kind) & (rows["step"] >= start)], kind)
        head = old[old["step"] < start] if not old.empty else old
        out[kind] = tail if head.empty else pd.concat([head, tail], ignore_index=True)
    return out


# session-bound polling


def _fetch(run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(all rows seen so far, the rows new since the last call) of ``run_id`` in this session."""
    key = f"live_rows_{run_id}"
    old = st.session_state.get(key)
    after = int(old["id"].max()) if old is not None and not old.empty else 0
    new = services.store().read_metrics(run_id, after_id=after)  # only ids > after
    rows = merge_rows(old, new)
    st.session_state[key] = rows
    return rows, new


def poll(run_id: str) -> pd.DataFrame:
    """All metric rows of ``run_id`` seen so far in this session, fetching only the new ones."""
    return _fetch(run_id)[0]


def tables(run_id: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(rows, step table, epoch table) of ``run_id``, fetching and pivoting only what is new since the last call."""
    rows, new = _fetch(run_id)
    wide = extend_tables(st.session_state.get(f"live_tables_{run_id}"), rows, new)
    st.session_state[f"live_tables_{run_id}"] = wide
    return rows, wide["step"], wide["epoch"]


# live or static views


def _polling_view(render: Callable[[str, bool], None], key: str) -> None:
    render(key, True)


def _static_view(render: Callable[[str, bool], None], key: str) -> None:
    render(key, False)


def show(render: Callable[[str, bool], None], key: str, *, active: bool, every: float) -> None:
    """Draw ``render(key, polling)`` in a fragment: re-run every ``every`` seconds while ``active``, once otherwise.

    A static view is a fragment too, so that its own widgets (a metric picker) re-run only the view. ``render`` calls
    ``rerun_when_ended`` so that the page is redrawn once, without polling, when the run or sweep ends.
    """
    if active:
        st.fragment(_polling_view, run_every=every)(render, key)
    else:
        st.fragment(_static_view)(render, key)


def rerun_when_ended(polling: bool, ended: bool) -> None:
    """Inside a polling view: redraw the whole page once (without polling) when what it watches has just ended."""
    if polling and ended:
        st.rerun()
