"""The Home page's demo: one click queues the three regimes (too little / about right / too much β) as one sweep,
and ``?demo=<sweep id>`` shows them live side by side, a verdict under each; the single-β slider beside it."""

from __future__ import annotations

import re

import streamlit as st

from dashboard import live, services
from dashboard.auth import current_user
from dashboard.charts import regimes as charts
from dashboard.demo import demo_config, measured_sweep, regimes_plan
from dashboard.run_logic import beta_scale_of, status_line
from dashboard.text import escape_md, regime_of, tick_strip
from dashboard.widgets import page_url
from dashboard.widgets.run_view import chart
from dashboard.widgets.sweep import estimate_caption
from omib_core.analysis.regime import BASIS_ALONE, BASIS_PEERS, final_numbers
from omib_core.errors import OmibError
from omib_core.presets import TEACHING_REGIMES, TEACHING_SCALES
from omib_core.runs.sweep_queue import submit_sweep

DEMO_ID = re.compile(r"^[0-9a-f]{12}$")
POLL_SECONDS = 2.0
VERDICT_BOX = {"overfits": st.warning, "underfits": st.warning, "about right": st.success}
VERDICT_ICON = {"overfits": ":material/trending_up:", "underfits": ":material/trending_down:"}


# queueing


def demo_from_url() -> str | None:
    sid = st.query_params.get("demo")
    return sid if sid and DEMO_ID.match(sid) else None


def queue_regimes() -> None:
    """Queue ``TEACHING_REGIMES`` as one sweep (one grid job where the scheduler trains sweeps as grids) and show it."""
    user = current_user()
    try:
        sid, _ = submit_sweep(services.jobs(), regimes_plan(), owner=user.name, is_admin=user.is_admin)
    except OmibError as e:
        st.error(f"The demo was not queued: {e}")
        return
    st.query_params["demo"] = sid
    st.rerun()


def regimes_button() -> None:
    scales = " / ".join(f"{s:g}" for s in TEACHING_REGIMES.values())
    if st.button(
        "Run the three regimes side by side",
        type="primary",
        key="home_regimes",
        icon=":material/view_column:",
        width="stretch",
        help=f"Trains the teaching preset at β = {scales} × M_u ({', '.join(TEACHING_REGIMES)}) as one sweep.",
    ):
        queue_regimes()
    estimate_caption([cfg for _, cfg in regimes_plan()])


def single_run_ui() -> None:
    """One β: the slider over ``TEACHING_SCALES`` with its stops written out, and one run on the Train page."""
    scale = st.select_slider(
        "Or one β: β / M_u of a single run",
        options=list(TEACHING_SCALES),
        value=1.0,
        key="home_demo_scale",
        format_func=lambda v: f"{v:g}",
    )
    st.caption(tick_strip(TEACHING_SCALES, scale))
    if st.button("Run the teaching demo at this β", key="home_demo", width="stretch", icon=":material/play_arrow:"):
        rid = services.jobs().submit(
            demo_config(scale).to_dict(), owner=current_user().name, name=f"Teaching demo · β/M_u={scale:g}"
        )
        st.switch_page("app_pages/train.py", query_params={"run": rid})


# the view


def _verdict_box(label: str, sentence: str) -> None:
    box = VERDICT_BOX.get(label, st.info)
    box(sentence, icon=VERDICT_ICON.get(label, ":material/check_circle:" if label == "about right" else None))


def regimes_view(sid: str, polling: bool) -> None:
    """The demo's runs in columns, smallest β first: verdict, then accuracy, KL and r on shared axes."""
    runs = sorted(services.store().list_runs(sweep_id=sid), key=lambda r: beta_scale_of(r) or 0.0)
    if not runs:
        st.warning("This demo has no runs (they may have been deleted). Run it again above.")
        return
    live.rerun_when_ended(polling, all(r["status"] in live.TERMINAL for r in runs))
    tables = [live.tables(r["id"])[1:] for r in runs]  # (steps, epochs) per run
    finals = [final_numbers(steps, epochs) for steps, epochs in tables]
    scales = charts.shared_scales(tables)
    done = sum(r["status"] == "finished" for r in runs)
    st.progress(done / len(runs), text=f"{done} of {len(runs)} runs finished · demo `{sid}`")
    lines = []
    for i, run in enumerate(runs):
        peers = [f for j, f in enumerate(finals) if j != i and runs[j]["status"] == "finished"]
        if len(peers) < len(runs) - 1:
            peers = []  # judged alone until every member has finished: a verdict does not change under the viewer
        lines.append(status_line(run, finals[i], peers))
    # one row per kind of content, so that the charts line up across the columns whatever the verdicts' lengths
    for i, col in enumerate(st.columns(len(runs), gap="medium")):
        run = runs[i]
        col.markdown(f"##### {regime_of(beta_scale_of(run))} · {(beta_scale_of(run) or 0):g} × M_u")
        col.page_link(
            "app_pages/train.py",
            label=f"Open this run ({run['id']})",
            icon=":material/open_in_new:",
            query_params={"run": run["id"]},
        )
    for col, (label, sentence, _) in zip(st.columns(len(runs), gap="medium"), lines):
        with col:
            _verdict_box(label, sentence)
    bases = {basis for _, _, basis in lines if basis}
    if bases == {BASIS_PEERS}:
        st.caption(
            f"Verdicts {BASIS_PEERS}: the best test accuracy is about right; a run below it overfits when it "
            "kept more nats, underfits when it kept fewer."
        )
    elif bases:
        st.caption(f"Verdicts judged alone, by {BASIS_ALONE}, until every run of the demo has finished.")
    for row in ("acc", "kl", "r"):
        for i, col in enumerate(st.columns(len(runs), gap="medium")):
            run, (steps, epochs) = runs[i], tables[i]
            summary = run.get("summary") or {}
            mods = list(summary.get("modalities") or [])
            x_max = run.get("total_epochs") or summary.get("total_epochs")
            if row == "acc":
                linear = (summary.get("reference") or {}).get("linear_test_accuracy")
                spec = charts.accuracy_chart(epochs, linear, x_max, scales["acc_lo"])
            elif row == "kl":
                spec = charts.kl_chart(steps, mods, x_max, scales["kl_hi"])
            else:
                spec = charts.r_chart(steps, mods, x_max)
            with col:
                chart(spec, f"regime_{row}_{i}", None, polling)
    look_for()


def look_for() -> None:
    """What to look for, with the teaching sweep's measured means when bench/teach_sweep.py has written them."""
    m = measured_sweep()
    text = (
        ":material/visibility: **What to look for:** too little β keeps superfluous information: train accuracy "
        "runs to 1 while test stays behind (a wide shaded gap) and both KL terms stay high. About right squeezes the "
        "nuisance modality v2 towards 0 nats and closes some of the gap. Too much β squeezes v1 too: its KL falls to "
        "a few nats and test accuracy drops towards the linear model."
    )
    lo, best, hi = TEACHING_REGIMES.values()
    if m and all(s in m.test for s in (lo, best, hi)):
        text += (
            f" Measured by {escape_md('bench/teach_sweep.py')} over {m.seeds} seeds (last epoch, mean test "
            f"accuracy): {m.test[lo]:.3f} at {lo:g} × M_u, {m.test[best]:.3f} at {best:g} × M_u, {m.test[hi]:.3f} "
            f"at {hi:g} × M_u."
        )
    st.caption(text)


def demo_section(sid: str) -> None:
    """The three-regime view of ``?demo=sid`` (live while any run is going), with its share link and a close button."""
    runs = services.store().list_runs(sweep_id=sid)
    head, link, close = st.columns([3, 1.2, 1.2], vertical_alignment="center")
    head.subheader("Three regimes, side by side")
    with link.popover("Demo link", icon=":material/share:", width="stretch"):
        st.caption("Opens this demo live in any tab or browser.")
        st.code(page_url("", demo=sid), language=None, wrap_lines=True)
    if close.button("Close demo", icon=":material/close:", key="home_demo_close", width="stretch"):
        del st.query_params["demo"]
        st.rerun()
    if not runs:
        st.warning("The demo in this link has no runs (they may have been deleted). Run it again below.")
        return
    active = any(r["status"] not in live.TERMINAL for r in runs)
    live.show(regimes_view, sid, active=active, every=POLL_SECONDS)
