"""Sweep: train an experiment at several beta/M_u values and seeds, and watch the test metric against beta fill in.

The default sweep is the teaching preset (SIM-TEACH) over ``TEACHING_SCALES`` x 5 seeds: the inverted U, with M_u
left of the empirical best; a short in-class one (``SHORT_SCALES`` x ``SHORT_SEEDS``) sits beside it. The runs of a
sweep share one ``sweep_id`` (``?sweep=ID`` opens it in any tab). The chart shows each finished seed faintly, the
mean +- std per beta/M_u for the chosen epoch selection (last epoch or best-val epoch; the other dashed), M_u at 1,
the paper's MINE estimate of M_u as measured by bench/teach_sweep.py, and the empirical best beta once it is earned
(``omib_core.analysis.sweep_rules``: two beta/M_u values finished for every seed).
"""

from __future__ import annotations

import streamlit as st

from dashboard import live, services
from dashboard.charts.sweep import sweep_figure
from dashboard.charts.training import metric_label
from dashboard.demo import measured_sweep, teach_sweep_report
from dashboard.sweep_logic import measured_markers, sweep_references
from dashboard.text import escape_md, sweep_label
from dashboard.widgets.information import information_plane
from dashboard.widgets.sweep import (
    measured_caption,
    new_sweep_form,
    pick_metric,
    runs_table,
    stop_button,
    summary_cards,
    sweep_from_url,
)
from omib_core.analysis.metrics import higher_is_better
from omib_core.analysis.sweep_rules import best_rule, complete_points
from omib_core.run_states import WENT_WRONG
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
    failed = [r for r in runs if r["status"] in WENT_WRONG]
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
    rule = best_rule(points)  # a best only once two beta/M_u values have finished for every seed
    earned = aggregate(complete_points(points, rule)) if rule.earned else None
    knee = empirical_knee(earned, better) if rule.earned else None
    best = empirical_best(earned, better) if rule.earned else None
    refs = sweep_references([r.get("summary") or {} for r in runs], metric)
    measured = measured_sweep()
    estimators = {(r.get("summary") or {}).get("estimator") for r in runs} - {None}

    summary_cards(runs, active, failed, knee, best, select, rule)
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
        markers=measured_markers(runs, measured),
        mu_label=f"{next(iter(estimators)).capitalize()} M_u" if len(estimators) == 1 else "M_u",
    )
    left, right = st.columns([3, 2], gap="medium")  # the accuracy curve, and beside it what xi keeps per beta
    with right:
        information_plane(runs)
    left.plotly_chart(fig, width="stretch", key="sweep_fig", config={"displaylogo": False})
    left.caption(
        ":material/visibility: **What to look for:** an inverted U. Too little β overfits (the model keeps "
        "superfluous information: a train-test gap on the run's accuracy chart); too much underfits: the noise of the "
        "bottleneck drowns the task information in the xi that dDec learns from (the plane's points fall), so dDec "
        "learns y slowly and the run can end while its accuracy is still rising, although the mean of xi still "
        "holds a1 (bench/results/too_much_beta.md). M_u is a sufficient, conservative bound: any β up to it "
        "keeps the task information in theory, but it is not the best β. Where the curve still rises right of M_u, "
        "a larger β is gaining accuracy, not costing it; only past the peak does it cost. Faint dots are single "
        "seeds, bars ± one std over seeds; the dashed curve is the other epoch selection. The optimal-MIB line (SIM data) is "
        "a ground-truth ceiling (a model given the true a0, a1, a2): no β reaches it from the views on this much data."
    )
    measured_caption(runs, measured)
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
