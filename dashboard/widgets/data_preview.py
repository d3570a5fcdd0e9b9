"""The Data page's preview of a loaded dataset: the headline numbers, the modality table, class balance, the ground
truth of synthetic data and a PCA per modality, each with a line on what to look for."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.charts import data as charts


def headline(p: dict[str, Any]) -> None:
    s = p["summary"]
    splits = s.get("splits", {})
    n = max(1, s["n_samples"])
    cols = st.columns([1, 1, 1, 1.3])
    cols[0].metric("Samples", f"{s['n_samples']:,}", border=True)
    cols[1].metric("Modalities", len(p["modalities"]), border=True)
    if p["task"] == "regression":
        cols[2].metric("Target range", f"{p['target'].min():.2g} to {p['target'].max():.2g}", border=True)
    elif p["task"] == "anomaly":
        cols[2].metric("Anomalies", f"{100 * float((p['target'] == 1).mean()):.1f} %", border=True)
    else:
        cols[2].metric("Classes", len(s.get("class_counts", {})), border=True)
    pct = " / ".join(f"{100 * splits.get(k, 0) / n:.0f}" for k in ("train", "val", "test"))
    cols[3].metric(
        "Train / val / test (%)",
        pct,
        border=True,
        help=" · ".join(f"{k}: {splits.get(k, 0):,} rows" for k in ("train", "val", "test")),
    )


def look_for(text: str) -> None:
    st.caption(f":material/visibility: **What to look for:** {text}")


def body(p: dict[str, Any]) -> None:
    headline(p)
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.subheader("Modalities", divider="gray")
        st.dataframe(
            charts.modality_table(p["modalities"], p["summary"]["n_samples"]), hide_index=True, width="stretch"
        )
        st.caption("v1 is the reference modality: r weighs every other modality's KL term against it.")
    with right:
        fig = charts.class_balance_figure(p["target"], p["split"], p["task"], p["class_names"])
        st.plotly_chart(fig, width="stretch", key="data_fig_balance", config={"displaylogo": False})
        look_for(
            "bars of similar height mean balanced classes, so plain accuracy is a fair score; every class "
            "should appear in all three splits."
        )

    gt = charts.ground_truth_table(p["ground_truth"], list(p["modalities"]))
    if not gt.empty:
        st.subheader("Ground truth", divider="gray")
        st.markdown(
            "This data is synthetic, so the answers are known. Compare your runs with them: a good OMIB run "
            "gets close to the optimal-MIB accuracy."
        )
        st.table(
            gt.rename(columns={"quantity": "Quantity", "value": "Value", "meaning": "What it means"}), hide_index=True
        )

    st.subheader("Each modality in 2-D (PCA)", divider="gray")
    n = len(p["rows"])
    st.caption(
        f"Standardised features of {n:,} samples{' (a random subset)' if n < p['summary']['n_samples'] else ''}, "
        "projected on their two main directions; colour = label."
    )
    names = list(p["modalities"])
    cols = st.columns(min(3, len(names)))
    for i, m in enumerate(names):
        with cols[i % len(cols)]:
            fig = charts.modality_pca_figure(
                p["pca"][m],
                p["target"][p["rows"]],
                m,
                i,
                sample_id=p["rows"],
                split=p["split"][p["rows"]],
                task=p["task"],
                class_names=p["class_names"],
            )
            st.plotly_chart(fig, width="stretch", key=f"data_fig_pca_{i}", config={"displaylogo": False})
    sim = (
        "In the SIM data the large superfluous blocks (b) dominate the main directions, so the classes overlap "
        "here: removing that superfluous part is exactly the bottleneck's job."
        if not gt.empty
        else "A modality whose classes overlap here may still help once fused: compare runs with and without it."
    )
    look_for(
        "classes already apart in one modality's picture mean that modality carries much task information on "
        f"its own. {sim}"
    )
