"""The Bound page's widget groups: the estimator settings, starting and picking an estimate, its progress while it
runs, and its result (the estimates, M_u and M_l, where the experiment's beta sits, and how the numbers were
reached)."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard import live, services, state
from dashboard.auth import current_user
from dashboard.charts import bound as charts
from dashboard.charts import vega
from dashboard.demo import measured_sweep
from dashboard.run_logic import BOUND_STEPS, nearest_steps
from dashboard.text import beta_look_for, escape_md, nats, widget_key
from dashboard.widgets.controls import control, in_columns
from omib_core.bound.result import BoundResult
from omib_core.config import BoundConfig, RunConfig
from omib_core.errors import OmibError
from omib_core.params import schema
from omib_core.train.beta import beta_for

BOUND = schema(BoundConfig)  # every estimator setting, declared once in omib_core.config
ADVANCED = [n for n, p in BOUND.items() if p.advanced]
SESSION_RUN = "bound_run"


# settings and runs


def estimator_ui(current: BoundConfig) -> BoundConfig:
    """Estimator, step budget and seeds (plus the advanced settings), drawn from their declarations -> a validated
    BoundConfig."""
    spec = BOUND["estimator"]
    est = st.segmented_control(
        spec.label,
        list(spec.choices),
        default=current.estimator,
        format_func=spec.labels.get,
        key="bound_estimator",
        required=True,
        help=spec.help,
    )
    est = est or current.estimator
    st.caption(spec.choice_help[est])
    neural = est != "gaussian"
    c1, c2 = st.columns(2)
    values = {"estimator": est}
    values["steps"] = c1.select_slider(
        BOUND["steps"].label,
        list(BOUND_STEPS),
        value=nearest_steps(current.steps),
        key="bound_steps",
        disabled=not neural,
        help=BOUND["steps"].help,
    )
    values["seeds"] = control(BOUND["seeds"], "seeds", "bound_seeds", where=c2, value=BOUND["seeds"].fit(current.seeds))
    with st.expander("Advanced estimator settings", icon=":material/tune:"):
        values |= in_columns(
            ADVANCED,
            lambda name, col: control(
                BOUND[name],
                name,
                widget_key("bound", name),
                where=col,
                value=BOUND[name].fit(getattr(current, name)),
                disabled=not neural and name != "max_samples",  # the Gaussian estimator only subsamples rows
            ),
        )
    return current.replace(**values)


def submit(cfg: RunConfig) -> None:
    user = current_user()
    name = f"M_u · {cfg.data.dataset} · {cfg.bound.estimator}"
    try:
        rid = services.jobs().submit(cfg.to_dict(), owner=user.name, name=name, kind="bound", is_admin=user.is_admin)
    except OmibError as e:
        st.error(f"The estimate was not started: {e}", icon=":material/error:")
        return
    state.set_current_config(cfg)
    st.session_state[SESSION_RUN] = rid
    st.session_state.pop("bound_pick", None)  # the earlier-estimates box forgets its old choice
    state.set_run_in_url(rid)
    st.rerun()


def shown_run_id() -> str | None:
    """The bound run to show: ``?run=ID`` when it is a bound run, else the last one started in this session."""
    rid = state.run_id_from_url()
    if rid:
        run = services.store().get_run(rid)
        if run is not None and run["kind"] == "bound":
            return rid
    return st.session_state.get(SESSION_RUN)


def earlier_runs() -> None:
    runs = services.store().list_runs(kind="bound", limit=30)
    if not runs:
        return
    by_id = {r["id"]: r for r in runs}

    def label(rid: str) -> str:
        r = by_id[rid]
        when = dt.datetime.fromtimestamp(r["created_at"]).strftime("%d %b %H:%M")
        return f"{r['name']} · {r['owner']} · {r['status']} · {when}"

    current = shown_run_id()
    ids = list(by_id)
    st.selectbox(
        "Or show an earlier estimate (from anyone on this server)",
        ids,
        key="bound_pick",
        index=ids.index(current) if current in ids else None,
        format_func=label,
        placeholder="Choose an earlier estimate",
        on_change=_picked,
    )


def _picked() -> None:
    pick = st.session_state.get("bound_pick")
    if pick:
        st.session_state[SESSION_RUN] = pick
        state.set_run_in_url(pick)


# views


def progress_view(run: dict) -> None:
    rows = live.poll(run["id"])
    fraction, label = charts.bound_progress(rows)
    if run["status"] == "queued":
        pos = services.jobs().queue_position(run["id"])
        st.info(
            f"Queued{f' (position {pos})' if pos else ''}: it starts when a worker is free. You may close this "
            "tab; the result is kept.",
            icon=":material/hourglass_top:",
        )
    else:
        st.progress(fraction, text=f"Estimating · {label} · {100 * fraction:.0f} %")
        curves = charts.live_curves_figure(rows)
        if curves is not None:
            st.vega_lite_chart(spec=vega.without_hover(curves), width="stretch", key="bound_live_curves")
            st.caption(
                "What to look for: each curve should level off. One still climbing at the end means the "
                "step budget was too small; MINE's H(X) = I(X;X) keeps climbing by design."
            )
        stages = charts.bound_stages(rows)
        if stages:
            st.caption(
                "  ·  ".join(
                    f"{':material/check:' if s == 'done' else ':material/autorenew:'} {escape_md(q)}" for q, s in stages
                )
            )
    user = current_user()
    if (user.is_admin or run["owner"] == user.name) and st.button("Stop", icon=":material/stop:", key="bound_stop"):
        try:
            services.jobs().control(run["id"], "stop", user.name, user.is_admin)
            st.toast("Stop requested.", icon=":material/stop_circle:")
        except OmibError as e:
            st.error(str(e))


def result_view(result: BoundResult, cfg: RunConfig) -> None:
    st.subheader("The bound", divider="gray")
    est = [(k, e) for k, e, _ in charts.estimates_of(result)]
    cols = st.columns(len(est))
    for col, (key, e) in zip(cols, est):
        col.metric(
            f"{key} (nats)",
            nats(e.value),
            border=True,
            delta=f"exact {e.exact:.3f}" if e.exact is not None else None,
            delta_color="off",
            delta_arrow="off",
            help=(f"± {e.std:.3f} over {len(e.per_seed)} seeds. " if len(e.per_seed) > 1 else "") + e.note,
        )
    c1, c2, c3 = st.columns([1, 1, 1])
    if result.M_u is None:
        c1.metric("M_u (conservative)", "none", border=True)
        st.warning(
            f"**There is no M_u for this data with this estimator.** {result.failure or ''}", icon=":material/warning:"
        )
    else:
        c1.metric(
            "M_u (conservative)",
            f"{result.M_u:.4g}",
            border=True,
            help="1 / (3 H_joint): safe for any r, so it can be computed before training.",
        )
    if getattr(result, "warning", None):
        st.info(f"**How these numbers were reached.** {escape_md(result.warning)}", icon=":material/info:")
    box = c2.container(border=True)
    r = box.slider(
        "r (dynamic weight)",
        0.01,
        1.99,
        1.0,
        0.01,
        key="bound_r",
        help="r lies in (0, 2); training computes it. Move it to see the paper's form of the bound.",
    )
    m_u_r = result.M_u_with_r(r)
    box.metric(
        "M_u with this r",
        f"{m_u_r:.4g}" if m_u_r is not None else "none",
        help="1 / ((1 + r) H_joint), the paper's form.",
    )
    c3.metric(
        "M_l",
        f"{result.M_l:.4g}" if result.M_l is not None else "none",
        border=True,
        help="1 / (3 (H(v1) + H(v2))): never larger than M_u, since I(v1; v2) >= 0.",
    )
    notes = charts.unconverged_notes(result)
    if notes:
        names = ", ".join(n.split(":", 1)[0] for n in notes)
        st.warning(
            f"**Not levelled off: {names}.** These estimates were still moving when the step budget ran out; "
            "use more steps before trusting them (the estimator's notes below say by how much).",
            icon=":material/trending_up:",
        )
        with st.expander("Estimator notes", icon=":material/notes:"):
            for note in notes:
                st.markdown(f"- {escape_md(note)}")

    beta_view(result, cfg, r, m_u_r)

    st.subheader("How the estimates were reached", divider="gray")
    steps = int(result.settings.get("steps", cfg.bound.steps))
    items = charts.estimates_of(result)
    has_curves = any(e.curve for _, e, _ in items)
    if has_curves:
        cols = st.columns(min(3, len(items)))
        for i, (_key, e, color) in enumerate(items):
            if e.curve:
                with cols[i % len(cols)]:
                    st.plotly_chart(
                        charts.estimate_curve_figure(e, steps, color),
                        width="stretch",
                        key=f"bound_fig_curve_{i}",
                        config={"displaylogo": False},
                    )
        st.caption(
            ":material/visibility: **What to look for:** a curve that flattens out before the last step; "
            "one still climbing means the step budget was too short (for MINE's H this never fully stops). "
            "The dashed line is the exact value, when the data is synthetic."
        )
    else:
        st.caption(f"The {result.estimator} estimator is a closed form: no training curve.")
    st.dataframe(
        charts.estimates_table(result),
        hide_index=True,
        width="stretch",
        column_config={
            **{c: st.column_config.NumberColumn(format="%.3f") for c in ("estimate", "± std", "exact", "error")},
            "per seed": st.column_config.TextColumn("per seed", width="large"),
        },
    )
    s = result.settings
    st.caption(
        f"All values in nats · {result.estimator} · {s.get('rows', '?')} rows · {s.get('scale', '')} · "
        f"{result.seconds:.1f} s"
    )
    left, right = st.columns([3, 2], gap="large", vertical_alignment="center")
    with left:
        st.plotly_chart(
            charts.seed_spread_figure(result), width="stretch", key="bound_fig_seeds", config={"displaylogo": False}
        )
    with right:
        st.caption(
            ":material/visibility: **What to look for:** each dot is one seed's estimate, the bar their mean "
            "± std and the diamond the exact value (synthetic data). Dots close together mean the seeds "
            "agree; a spread wider than the gap to the diamond means more seeds or steps are needed."
        )


def beta_view(result: BoundResult, cfg: RunConfig, r: float, m_u_r: float | None) -> None:
    t = cfg.train
    if t.beta is not None:
        beta, how = t.beta, f"β = {t.beta:.3g} set by hand"
    else:
        beta = beta_for(t, result, r)
        how = f"β = {t.beta_scale:g} × M_u ({'with r' if t.bound == 'with_r' else 'conservative'})"
    st.subheader("Where your β sits", divider="gray")
    fig = charts.beta_number_line(beta, result.M_u, result.M_l, m_u_r, r, title="")
    st.plotly_chart(fig, width="stretch", key="bound_fig_line", config={"displaylogo": False})
    st.caption(
        f"{how}, from the experiment's training settings (change it on the Train page). "
        f"{charts.beta_verdict(beta, result.M_u, result.M_l)}"
    )
    st.caption(beta_look_for(measured_sweep()))
