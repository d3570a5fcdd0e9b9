"""Sweep: train an experiment at several beta/M_u values and seeds, and watch the test metric against beta fill in.

The default sweep is the teaching preset (SIM-TEACH) over ``TEACHING_SCALES`` x 5 seeds: the inverted U, with M_u
left of the empirical best. The runs of a sweep share one ``sweep_id`` (``?sweep=ID`` opens it in any tab). The
chart shows each finished seed faintly, the mean +- std per beta/M_u for the chosen epoch selection (last epoch or
best-val epoch; the other dashed), M_u at 1 and the empirical best beta.
"""

from __future__ import annotations

import streamlit as st

from dashboard import live, services
from dashboard.charts.sweep import sweep_figure
from dashboard.charts.training import metric_label
from dashboard.demo import teach_sweep_report
from dashboard.widgets import escape_md
from dashboard.widgets.sweep import (
    new_sweep_form,
    pick_metric,
    runs_table,
    stop_button,
    summary_cards,
    sweep_from_url,
    sweep_label,
    sweep_references,
)
from omib_core.analysis.metrics import higher_is_better
from omib_core.sweeps import (
    SELECT_LABELS,
    aggregate,
    empirical_best,
    empirical_knee,
    sweep_ids,
    sweep_points,
)

POLL_SECONDS = 3.0


# view


def sweep_view(sid: str, polling: bool) -> None:
    runs = services.store().list_runs(sweep_id=sid)
    if not runs:
        st.warning("This sweep has no runs (they may have been deleted).")
        return
    active = [r for r in runs if r["status"] not in live.TERMINAL]
    live.rerun_when_ended(polling, not active)  # the last run just ended: redraw once, without polling
    failed = [r for r in runs if r["status"] in ("failed", "interrupted")]
    metric = pick_metric(runs) or "accuracy"
    select = st.radio(
        "Epoch",
        list(SELECT_LABELS),
        horizontal=True,
        key="sweep_select",
        format_func=SELECT_LABELS.get,
        help="Last epoch: where training ended, the honest view of over- and underfitting. Best-val "
        "epoch: the epoch with the best validation metric (early stopping in hindsight). The other "
        "one is drawn dashed.",
    )
    other_select = next(s for s in SELECT_LABELS if s != select)
    points = sweep_points(runs, metric, select=select)
    agg = aggregate(points)
    other = aggregate(sweep_points(runs, metric, select=other_select))
    better = higher_is_better(metric)
    knee, best = empirical_knee(agg, better), empirical_best(agg, better)
    refs = sweep_references([r.get("summary") or {} for r in runs], metric)

    summary_cards(runs, active, failed, knee, best, select)
    label = f"test {metric_label(metric)}"
    fig = sweep_figure(
        points,
        agg,
        label,
        None,
        None,
        best=best,
        mean_label=f"{SELECT_LABELS[select]}, mean ± std",
        other=other,
        other_label=f"{SELECT_LABELS[other_select]}, mean ± std",
        references=refs,
    )
    st.plotly_chart(fig, width="stretch", key="sweep_fig", config={"displaylogo": False})
    st.caption(
        ":material/visibility: **What to look for:** an inverted U. Too little β overfits (the model keeps "
        "superfluous information: a train-test gap on the run's accuracy chart); too much underfits (the KL terms "
        "collapse and task information is squeezed out too). The bound M_u is a conservative, safe choice: it sits "
        "left of the empirical best, where nothing is lost but some superfluous information may be kept. Faint dots "
        "are single seeds, bars ± one std over seeds; the dashed curve is the other epoch selection."
    )
    if not agg.empty:
        st.dataframe(
            agg.rename(columns={"beta_over_Mu": "β / M_u", "n": "seeds finished"}),
            hide_index=True,
            width="content",
            column_config={
                "mean": st.column_config.NumberColumn(format="%.4f"),
                "std": st.column_config.NumberColumn(format="%.4f"),
            },
        )
    for r in failed[:3]:
        st.warning(f"{escape_md(r['name'])}: {escape_md(r.get('error') or r['status'])}")
    stop_button(runs, active)
    runs_table(runs, points, metric)


# page

st.title("β sweep")
st.markdown(
    "Train one experiment at several values of **β/M_u** (β as a multiple of the bound **M_u**), a few seeds each, "
    "and see where the test metric peaks. The default is the teaching preset, where too little β overfits and too "
    "much underfits. The runs are queued like any other and keep going when you close the tab."
)
sid = sweep_from_url()
new_sweep_form(expanded=sid is None)
report = teach_sweep_report()
if report:
    with st.expander(
        "The teaching sweep as measured by the benchmark (bench/results/teach_sweep.md)", icon=":material/science:"
    ):
        st.markdown(report)

all_runs = services.store().list_runs()
ids = sweep_ids(all_runs)
if sid and sid not in ids:
    st.warning("The sweep in this link has no runs (it may have been deleted). Pick another below.")
    sid = None
if not ids:
    st.info("No sweep on this server yet. Queue one above.", icon=":material/info:")
    st.stop()
st.subheader("Sweep results", divider="gray")
sid = st.selectbox(
    "Sweep",
    ids,
    index=ids.index(sid) if sid else 0,
    key=f"sweep_pick_{sid}",
    format_func=lambda i: sweep_label(i, all_runs),
)
if st.query_params.get("sweep") != sid:
    st.query_params["sweep"] = sid
active = any(r["status"] not in live.TERMINAL for r in all_runs if r.get("sweep_id") == sid)
live.show(sweep_view, sid, active=active, every=POLL_SECONDS)
