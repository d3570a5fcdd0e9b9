"""What xi keeps, on the Train, Embeddings and Sweep pages: the information per latent block (``info/`` metrics).

Only simulated data have latent blocks; other runs get one line saying so. Runs trained before the numbers were
measured still open: they get a line instead of a chart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import streamlit as st

from dashboard import live, services
from dashboard.charts import information as charts
from dashboard.run_logic import simulated
from dashboard.widgets.run_view import chart
from omib_core.analysis.information import METRIC_PREFIX, table_from_metrics

VENN = Path(__file__).resolve().parents[2] / "assets" / "information_split.svg"
OLD_RUN = (
    "This run has no per-block numbers: it was trained before they were measured (or its held-out rows are too few "
    "for the blocks). Train it again to see them."
)


def what_xi_keeps(run: Mapping, epochs, polling: bool = False) -> None:
    """Train page: the live "what xi keeps" chart beside the Home page's picture of what it should keep."""
    st.subheader("What xi keeps", divider="gray")
    if not simulated(run):
        st.caption(f":material/info: {charts.NO_GROUND_TRUTH}")
        return
    if not charts.has_information(epochs) and run.get("status") in live.TERMINAL:
        st.caption(f":material/info: {OLD_RUN}")
        return
    left, right = st.columns([3, 2], gap="medium")
    with left:
        chart(charts.kept_figure(epochs, "xi"), "train_fig_info", charts.LOOK_FOR["kept"], polling)
    with right:
        st.image(str(VENN), width="stretch")
        st.caption(
            "The goal (Home page): the optimal xi keeps the amber blocks {a0, a1, a2} and drops the grey ones "
            "{b0, b1, b2}. Look for the chart to match: amber lines high, grey lines near 0 nats."
        )


def snapshot_information(run: Mapping, epoch: int | None) -> None:
    """Embeddings page: the information per block of xi, zeta_i and z_i at the snapshot on the slider."""
    if not simulated(run):
        st.caption(f":material/info: {charts.NO_GROUND_TRUTH}")
        return
    store = services.store()
    names = [n for n in store.metric_names(run["id"]) if n.startswith(METRIC_PREFIX)]
    rows = store.read_metrics(run["id"], names=names, kind="epoch") if names and epoch is not None else None
    at = rows[rows["epoch"] == epoch] if rows is not None and not rows.empty else None
    if at is None or at.empty:
        st.caption(f":material/info: {OLD_RUN if not names else 'No per-block numbers at this snapshot.'}")
        return
    table = table_from_metrics(dict(zip(at["name"], at["value"])))
    chart(charts.snapshot_figure(table, epoch), "emb_fig_info", charts.LOOK_FOR["snapshot"])


def information_plane(runs: Sequence[Mapping]) -> bool:
    """Sweep page: the information plane of the sweep's finished runs; False (nothing drawn) for other data."""
    if not any(simulated(r) for r in runs):
        st.caption(f":material/info: {charts.NO_GROUND_TRUTH}")
        return False
    points = charts.plane_points(runs)
    finished = [r for r in runs if r.get("status") == "finished"]
    if finished and points.empty:
        st.caption(f":material/info: {OLD_RUN.replace('This run has', 'These runs have')}")
        return False
    chart(charts.plane_figure(charts.plane_aggregate(points)), "sweep_fig_plane", charts.LOOK_FOR["plane"])
    return True
