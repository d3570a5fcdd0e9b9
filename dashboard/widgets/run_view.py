"""The Train page's view of one run: status, controls, headline and final cards, the live charts, and the
no-bottleneck twin to compare with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from dashboard import live, services, twins
from dashboard.charts import modality_colors, vega
from dashboard.charts import training as charts
from dashboard.charts.runs import format_duration, run_duration
from dashboard.run_logic import class_names_of, schedule_from_dict, schedule_markdown, selections
from dashboard.text import chip_color, dataset_title, escape_md
from dashboard.widgets import page_url
from omib_core.analysis.regime import learner_deltas
from omib_core.errors import OmibError
from omib_core.run_states import ACTIVE, NOT_ENDED
from omib_core.train.beta import beta_over_mu

STATUS_ICONS = {
    "queued": ":material/hourglass_top:",
    "running": ":material/play_circle:",
    "paused": ":material/pause_circle:",
    "finished": ":material/check_circle:",
    "failed": ":material/error:",
    "stopped": ":material/stop_circle:",
    "interrupted": ":material/warning:",
}


def run_header(run: dict, epochs, last_active: float | None = None) -> None:
    """The run's name and status icon, owner and data, headline cards, schedule and how M_u was estimated.

    ``last_active``: the time of the run's last metric row, where a paused run's Duration stops.
    """
    st.markdown(f"### {STATUS_ICONS.get(run['status'], '')} {escape_md(run['name'])}")
    dataset = escape_md(dataset_title(run.get("dataset") or "?"))
    st.caption(f"Run `{run['id']}` · owner {escape_md(run['owner'])} · data {dataset}")
    headline(run, epochs, last_active)
    sched = (run.get("summary") or {}).get("schedule")
    if sched:
        try:
            st.markdown(schedule_markdown(schedule_from_dict(sched), "This run's schedule:"))
        except (TypeError, ValueError):
            pass  # a schedule stored by another version: nothing to show
    note = (run.get("summary") or {}).get("bound_note")
    if note:
        st.caption(f":material/info: **How M_u was estimated for this data.** {escape_md(note)}")


def status_banner(run: dict) -> None:
    status = run["status"]
    if status == "queued":
        pos = services.jobs().queue_position(run["id"])
        where = f"position {pos} in the queue" if pos else "waiting for a worker"
        st.info(
            f"Queued ({where}). It starts by itself when a worker is free; you may close this tab.",
            icon=":material/hourglass_top:",
        )
    elif status in ACTIVE:
        done, total = run.get("epoch") or 0, run.get("total_epochs") or 0
        eta = run.get("eta_seconds")
        text = f"Epoch {done} of {total}" if total else "Starting (loading data, estimating M_u)..."
        if status == "paused":
            text += " · paused: press Resume or Step"
        elif eta is not None and total:
            text += f" · about {format_duration(eta)} left"
        st.progress(min(1.0, done / total) if total else 0.0, text=text)
    elif status == "failed":
        st.error(
            f"This run failed: {escape_md(run.get('error') or 'no reason was recorded.')}", icon=":material/error:"
        )
    elif status == "interrupted":
        st.warning(
            run.get("error") or "This run was interrupted; its metrics so far are kept.", icon=":material/warning:"
        )
    elif status == "stopped":
        st.info(
            f"Stopped after epoch {run.get('epoch') or 0}. The metrics so far are kept.", icon=":material/stop_circle:"
        )


def control_buttons(run: dict, user) -> None:
    status, rid = run["status"], run["id"]
    allowed = user.is_admin or run["owner"] == user.name
    actions = [
        ("Pause", "pause", ":material/pause:", status == "running"),
        ("Step one epoch", "step", ":material/skip_next:", status == "paused"),
        ("Resume", "resume", ":material/play_arrow:", status == "paused"),
        ("Stop", "stop", ":material/stop:", status in NOT_ENDED),
    ]
    cols = st.columns(len(actions) + 1)
    for col, (label, action, icon, possible) in zip(cols, actions):
        if col.button(
            label, icon=icon, key=f"train_ctl_{action}", disabled=not (allowed and possible), width="stretch"
        ):
            try:
                services.jobs().control(rid, action, user.name, user.is_admin)
                st.toast(f"{label} requested.", icon=icon)
            except OmibError as e:
                st.error(str(e))
    with cols[-1].popover("Run link", icon=":material/share:", width="stretch"):
        st.caption("Opens this run live in any tab or browser.")
        st.code(page_url("train", run=rid), language=None, wrap_lines=True)
    if not allowed and status not in live.TERMINAL:
        st.caption(f"Only {escape_md(run['owner'])} (the owner) or an admin can pause, step, resume or stop this run.")


def headline(run: dict, epochs_df, last_active: float | None = None) -> None:
    summary = run.get("summary") or {}
    beta_over = None
    if epochs_df is not None and "beta_over_Mu" in epochs_df and epochs_df["beta_over_Mu"].notna().any():
        beta_over = float(epochs_df["beta_over_Mu"].dropna().iloc[-1])
    elif summary.get("beta_over_Mu") is not None:
        beta_over = float(summary["beta_over_Mu"])
    c = st.columns(5)
    c[0].metric("Status", run["status"])
    total = run.get("total_epochs")
    c[1].metric("Epoch", f"{run.get('epoch') or 0} / {total}" if total else "–")
    c[2].metric(
        "β / M_u",
        f"{beta_over:.3g}" if beta_over is not None else "–",
        help="How hard the bottleneck squeezes, as a multiple of the bound M_u (1 = at the bound).",
    )
    c[3].metric("Device", run.get("device") or "–")
    c[4].metric(
        "Duration",
        format_duration(run_duration(run, last_active=last_active)),
        help="Time since the run started; it stands still while the run is paused."
        if run["status"] == "paused"
        else None,
    )


def sweep_best(run: dict) -> float | None:
    """The best mean test accuracy over the beta values of the run's sweep (each run's own selection), or None."""
    if not run.get("sweep_id"):
        return None
    from omib_core.sweeps import aggregate, sweep_points

    agg = aggregate(sweep_points(services.store().list_runs(sweep_id=run["sweep_id"]), "accuracy"))
    return float(agg["mean"].max()) if not agg.empty else None


def final_results(run: dict) -> None:
    result = run.get("result") or {}
    summary = run.get("summary") or {}
    st.subheader("Results", divider="gray")
    tests = result.get("test_metrics") or {}
    ref = summary.get("reference") or {}
    cards = list(tests.items())[:4]
    # the first card carries the deltas ("+0.065 vs the linear model · ..."): twice as wide, so they are not cut at 1280 px
    cols = st.columns([2] + [1] * (max(1, len(cards)) + 1))
    for col, (name, value) in zip(cols, cards):
        delta = None
        if name == "accuracy" and value is not None:  # deltas a learner can act on (not the unreachable optimum)
            delta = " · ".join(learner_deltas(value, ref, sweep_best(run))) or None
        col.metric(
            f"Test {charts.metric_label(name)}",
            f"{value:.4g}" if value is not None else "–",
            delta=delta,
            delta_color="off" if delta is None else "normal",
            border=True,
        )
    mods = list(summary.get("modalities") or [])
    r_final = list(zip(mods, result.get("r_final") or []))[1:]  # the reference modality's r is always 1
    r_label = f"r ({r_final[0][0]}), final" if len(r_final) == 1 else "r, final"
    r_text = " · ".join(f"{r:.3f}" for _, r in r_final) if r_final else "–"
    r_help = "r of " + ", ".join(f"{m} = {r:.3f}" for m, r in r_final) if r_final else None
    cols[len(cards)].metric(
        r_label,
        r_text,
        border=True,
        help=(r_help + ". " if r_help else "") + "The first modality is the reference (r = 1).",
    )
    beta, mu = result.get("beta"), summary.get("M_u")
    ratio = beta_over_mu(beta, mu) or summary.get("beta_over_Mu")
    bm = f"{ratio:.3g}" if ratio else "–"
    cols[len(cards) + 1].metric("β / M_u", bm, help=f"β = {beta:.3g}" if beta else None, border=True)
    selection_cards(result, next(iter(tests), None))
    mlflow_line(result)
    confusion_section(run)
    st.page_link(
        "app_pages/embeddings.py",
        label="Inspect this run's xi embeddings",
        icon=":material/scatter_plot:",
        query_params={"run": run["id"]},
    )


def mlflow_line(result: dict) -> None:
    """The run in MLflow: a link to it on a tracking server, its id in a local store, or why it was not logged."""
    info = result.get("mlflow") or {}
    if not info:
        return
    if info.get("error"):
        st.caption(f":material/cloud_off: **MLflow:** {escape_md(info['error'])}")
    elif info.get("link"):
        st.link_button("Open this run in MLflow", info["link"], icon=":material/open_in_new:")
    elif info.get("run_id"):
        st.caption(
            f":material/cloud_done: Logged to MLflow ({escape_md(info.get('tracking_uri') or '')}), run "
            f"`{escape_md(info['run_id'])}`."
        )


def confusion_section(run: dict) -> None:
    """Classification: the confusion matrix of the test rows in the run's last snapshot, with class names."""
    from dashboard.auth import current_user
    from dashboard.datasets import run_data_refusal
    from dashboard.widgets.embeddings import snapshot
    from dashboard.widgets.runs import latest_snapshot
    from omib_core.analysis.metrics import confusion_counts
    from omib_core.data.dataset import TEST

    summary = run.get("summary") or {}
    if summary.get("task") != "classification":
        return
    snap_art = latest_snapshot(run["id"])
    if snap_art is None or run_data_refusal(run, current_user()):  # another user's private upload: no summary of it
        return
    try:
        snap = snapshot(snap_art["path"], Path(snap_art["path"]).stat().st_mtime)
    except (OSError, OmibError):
        return
    if "pred" not in snap or "split" not in snap:
        return
    test = np.asarray(snap["split"]) == TEST
    if not test.any():
        return
    names = class_names_of(run)
    k = max(len(names or ()), int(np.max(snap["target"])) + 1, int(np.max(snap["pred"])) + 1)
    counts = confusion_counts(np.asarray(snap["target"])[test], np.asarray(snap["pred"])[test], k)
    epoch = int(snap["epoch"]) + 1 if "epoch" in snap else None
    with st.expander(f"Confusion matrix: test rows, epoch {epoch}" if epoch else "Confusion matrix", expanded=k <= 12):
        st.plotly_chart(
            charts.confusion_figure(counts, names),
            width="stretch",
            key="train_confusion",
            config={"displaylogo": False, "displayModeBar": False},
        )
        st.caption(
            f":material/visibility: **What to look for:** the diagonal holds the test rows predicted right "
            f"({int(np.trace(counts)):,} of {int(counts.sum()):,} here, from the last embedding snapshot: up to "
            "its row sample, at its epoch); a bright cell off the diagonal is a pair of classes the model confuses."
        )


def selection_cards(result: dict, metric: str | None) -> None:
    """Test metric at the best-validation epoch and at the last epoch, side by side, and whether it stopped early."""
    rows = selections(result, metric) if metric else []
    if not rows:
        return
    cols = st.columns(len(rows) + 1)
    for col, (label, epoch, value) in zip(cols, rows):
        col.metric(
            f"Test {charts.metric_label(metric)}, {label}",
            f"{value:.4g}" if value is not None else "–",
            help=f"Epoch {epoch}, counting the warm-up." if epoch else None,
            border=True,
        )
    sel = result.get("selection") or {}
    if sel.get("stopped_early"):
        last = (sel.get("last") or {}).get("epoch")
        cols[-1].metric(
            "Stopped early",
            "yes",
            border=True,
            help=f"No better validation metric for the patience window; stopped after epoch "
            f"{last + 1 if last is not None else '?'}.",
        )
    elif sel:
        cols[-1].metric("Stopped early", "no", border=True, help="The run trained all its planned epochs.")
    st.caption(
        "The best-val epoch is the one with the best validation metric (its weights are the checkpoint when the run "
        "selects by validation); the last epoch is where training ended. A big gap between them means the model "
        "peaked early and then overfitted."
    )


def chart(spec: dict, key: str, look_for: str | None, polling: bool = False) -> None:
    # Vega-Lite, keyed, in a keyed container: while the spec stays the same a poll only swaps the chart's data,
    # so the live charts never blank or remount (a Plotly chart would: its identity includes the figure). While
    # polling, the hover layers are left out: they cost the browser more than the lines.
    with st.container(key=f"{key}_box"):
        st.vega_lite_chart(spec=vega.without_hover(spec) if polling else spec, width="stretch", key=key)
    if look_for:
        st.caption(f":material/visibility: **What to look for:** {look_for}")


def chart_or_number(
    number: dict[str, str] | None, title: str, spec: dict, key: str, look_for: str | None, polling: bool = False
) -> None:
    """The chart, or, for a series that does not vary, its value as a number (a flat line would hide the reference
    line it lies on)."""
    if number is None:
        chart(spec, key, look_for, polling)
        return
    with st.container(key=f"{key}_number", border=True):
        st.metric(title, number["value"], help=number["help"])
    if look_for:
        st.caption(f":material/visibility: **What to look for:** {look_for}")


def charts_grid(run: dict, steps, epochs, polling: bool = False, extra_reference: dict | None = None) -> None:
    summary = run.get("summary") or {}
    mods = list(summary.get("modalities") or [])
    if steps.empty and epochs.empty:
        st.info("The charts appear with the first logged step.", icon=":material/monitoring:")
        return
    if mods:
        colors = modality_colors(mods)
        st.markdown("Modalities: " + " ".join(f":{chip_color(c)}[●] {escape_md(m)}" for m, c in colors.items()))
    metric_names = charts.split_metrics(epochs) if not epochs.empty else []
    row = st.columns(2, gap="medium")
    with row[0]:
        chart(charts.loss_figure(steps, mods), "train_fig_loss", charts.LOOK_FOR["loss"], polling)
    with row[1]:
        r_number = charts.r_constant(steps, mods)
        r_spec = charts.r_figure(steps, mods)
        chart_or_number(r_number, "Dynamic weight r", r_spec, "train_fig_r", charts.LOOK_FOR["r"], polling)
    beta_number = charts.beta_constant(steps, summary.get("M_u"))
    beta_title = "β against the bound M_u"
    kl_spec, weighted_spec = charts.kl_figure(steps, mods), charts.weighted_kl_figure(steps, mods)
    if beta_number is not None:  # β is a number: it takes a row of its own, the two KL charts the next one
        chart_or_number(beta_number, beta_title, {}, "train_fig_beta", charts.LOOK_FOR["beta"], polling)
        row = st.columns(2, gap="medium")
        with row[0]:
            chart(kl_spec, "train_fig_kl", None, polling)
        with row[1]:
            chart(weighted_spec, "train_fig_beta_kl", charts.LOOK_FOR["kl"], polling)
    else:
        row = st.columns(2, gap="medium")
        with row[0]:
            chart(kl_spec, "train_fig_kl", None, polling)
            chart(weighted_spec, "train_fig_beta_kl", charts.LOOK_FOR["kl"], polling)
        with row[1]:
            beta_spec = charts.beta_figure(steps, summary.get("M_u"))
            chart_or_number(None, beta_title, beta_spec, "train_fig_beta", charts.LOOK_FOR["beta"], polling)
    metric = None
    if len(metric_names) > 1:
        metric = st.selectbox(
            "Metric of the two charts below", metric_names, key="train_metric", format_func=charts.metric_label
        )
    row = st.columns(2, gap="medium")
    with row[0]:
        reference = {**(summary.get("reference") or {}), **(extra_reference or {})}
        chart(
            charts.metrics_figure(epochs, metric, reference), "train_fig_metrics", charts.LOOK_FOR["metrics"], polling
        )
    with row[1]:
        chart(charts.trb_figure(epochs, mods, metric), "train_fig_trb", charts.LOOK_FOR["trb"], polling)


def no_bottleneck_twin(run: dict, user) -> dict | None:
    """The finished run of the same network without the bottleneck (a line on the metric chart), or a button to
    queue it. Looked up only when the page is not polling (a finished run, or a reload)."""
    if not (run.get("config") or {}).get("model", {}).get("bottleneck", True):
        return None
    finished = services.store().list_runs(status="finished", kind="train", limit=500)
    twin = twins.find_twin(run.get("config") or {}, finished)
    if twin is not None:
        return twin
    queued = twins.find_twin(run.get("config") or {}, services.store().list_runs(status=NOT_ENDED, limit=500))
    if queued is not None:
        st.caption(
            ":material/hourglass_top: The same network without the bottleneck is training; its test metric "
            "appears on the metric chart when it finishes."
        )
        return None
    if st.button(
        "Train the same network without the bottleneck, to compare", icon=":material/compare_arrows:", key="train_twin"
    ):
        try:
            services.jobs().submit(
                twins.twin_config(run["config"]),
                owner=user.name,
                is_admin=user.is_admin,
                name=f"{run['name']} (no bottleneck)"[:80],
            )
            st.success("Queued. Its test metric will appear on this run's metric chart as a dashed line.")
        except OmibError as e:
            st.error(f"The comparison run was not queued: {e}")
    return None
