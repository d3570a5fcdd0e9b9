"""The Sweep page's widget groups: the new-sweep form (base experiment, beta/M_u grid, seeds, queueing) and the
pieces of a sweep's view (its metric, summary cards, stop button and runs table)."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from dashboard import services, state
from dashboard.auth import current_user
from dashboard.charts.runs import format_duration
from dashboard.charts.training import metric_label
from dashboard.datasets import data_refusal
from dashboard.demo import MEASURED_BY, MeasuredSweep
from dashboard.sweep_logic import is_teaching, run_values, sweep_mu, time_estimate
from dashboard.text import base_epochs, base_summary, escape_md
from omib_core.analysis.metrics import PRIMARY_METRIC
from omib_core.analysis.sweep_rules import BestRule
from omib_core.config import RunConfig, TrainConfig
from omib_core.csvsafe import neutralise_frame
from omib_core.errors import ConfigError, OmibError
from omib_core.params import schema
from omib_core.presets import PRESET_TEXT, SHORT_SCALES, SHORT_SEEDS, TEACHING_SCALES
from omib_core.runs.sweep_queue import submit_sweep
from omib_core.sweeps import SELECT_LABELS, TEACHING_SEEDS, build_sweep, log_grid, parse_grid, teaching_sweep

SWEEP_ID = re.compile(r"^[0-9a-f]{12}$")
BASES = {"teaching": "teaching preset (SIM-TEACH)", "current": "the current experiment (Train page)"}
# the teaching presets of the new-sweep form: (beta/M_u values, seeds per value)
TEACHING_PRESETS = {"full": (TEACHING_SCALES, TEACHING_SEEDS), "short": (SHORT_SCALES, SHORT_SEEDS)}
PRESET_LABELS = {
    "full": f"full: {len(TEACHING_SCALES)} β × {TEACHING_SEEDS} seeds",
    "short": f"short, in class: {len(SHORT_SCALES)} β × {SHORT_SEEDS} seeds",
}
# new sweep


def sweep_from_url() -> str | None:
    sid = st.query_params.get("sweep")
    return sid if sid and SWEEP_ID.match(sid) else None


def grid_ui() -> list[float]:
    mode = st.radio(
        "β/M_u values",
        ["list", "range"],
        horizontal=True,
        key="sweep_grid_mode",
        format_func={"range": "log-spaced range", "list": "typed list"}.get,
    )
    if mode == "range":
        c = st.columns(3)
        least, most = schema(TrainConfig)["beta_scale"].bounds()  # the same range as the Train page's β / M_u
        lo = c[0].number_input("From", min_value=least, max_value=most, value=0.1, format="%.3g", key="sweep_lo")
        hi = c[1].number_input("To", min_value=least, max_value=most, value=300.0, format="%.3g", key="sweep_hi")
        n = c[2].number_input("Points", min_value=1, max_value=15, value=6, key="sweep_n")
        return log_grid(float(lo), float(hi), int(n))
    st.session_state.setdefault("sweep_list", ", ".join(f"{s:g}" for s in TEACHING_SCALES))
    text = st.text_input(
        "Values",
        key="sweep_list",
        help="Multiples of M_u separated by commas; 1 = the bound.",
    )
    return parse_grid(text)


def _apply_preset() -> None:
    """on_change of the preset choice: the preset's values and seeds go into the form's widgets."""
    scales, seeds = TEACHING_PRESETS[st.session_state["sweep_preset"]]
    st.session_state["sweep_grid_mode"] = "list"
    st.session_state["sweep_list"] = ", ".join(f"{s:g}" for s in scales)
    st.session_state["sweep_seeds"] = seeds


def preset_ui() -> str:
    """The full teaching sweep or the short in-class one (``SHORT_SCALES`` x ``SHORT_SEEDS``); sets values and seeds."""
    return st.radio(
        "Teaching sweep",
        list(TEACHING_PRESETS),
        horizontal=True,
        key="sweep_preset",
        format_func=PRESET_LABELS.get,
        on_change=_apply_preset,
        help="The short sweep is the Home demo's three regimes with two seeds each, for a class; the full one "
        "draws the whole inverted U. Either fills in the values and seeds below, which you may still change.",
    )


def base_config() -> tuple[RunConfig, str]:
    """The experiment to sweep and its short name: the teaching preset (default) or the Train page's settings."""
    choice = st.radio(
        "Experiment to sweep",
        list(BASES),
        horizontal=True,
        key="sweep_base",
        format_func=BASES.get,
        help="The teaching preset is built so that β visibly matters; the current experiment is "
        "whatever the Data and Train pages are set to.",
    )
    if choice == "teaching":
        st.caption(f":material/school: {PRESET_TEXT['teaching']}")
        return teaching_sweep()[0], preset_ui()
    return state.current_config(), "current"


def seeds_ui(base: RunConfig) -> list[int]:
    """Seeds per value: 5 for the teaching sweep, fewer when this server's queue limit would refuse 5."""
    room = services.jobs().max_queued_per_user - len(
        services.store().list_runs(owner=current_user().name, status="queued")
    )
    fits = max(1, min(TEACHING_SEEDS, room // len(TEACHING_SCALES)))
    if st.session_state.get("sweep_preset") == "short":
        fits = max(1, min(SHORT_SEEDS, room // len(SHORT_SCALES)))
    if "sweep_seeds" not in st.session_state:  # seeded once, so the widget keeps what the user types
        st.session_state["sweep_seeds"] = fits
    n = st.number_input(
        "Seeds per value",
        min_value=1,
        max_value=10,
        key="sweep_seeds",
        help="Training seeds; the mean ± std over them is drawn.",
    )
    if fits < TEACHING_SEEDS and n == fits:
        st.caption(
            f"The default sweep uses {TEACHING_SEEDS} seeds per value; you may queue {max(room, 0)} runs at once on "
            f"this server, so {fits} here (an admin can raise OMIB_MAX_QUEUED_PER_USER)."
        )
    return [base.train.seed + i for i in range(int(n))]


def queue_sweep(cfg: RunConfig, scales: list[float], seeds: list[int], name: str) -> None:
    user, jobs = current_user(), services.jobs()
    try:
        planned = build_sweep(cfg, scales, seeds, name=name)
        # queue room, every config, access to the data: all checked before the first run is queued
        sid, _ = submit_sweep(jobs, planned, user.name, user.is_admin)
    except OmibError as e:
        st.error(f"The sweep was not queued: {e}")
        return
    st.query_params["sweep"] = sid
    st.rerun()


def new_sweep_form(expanded: bool) -> None:
    with st.expander("New sweep", expanded=expanded, icon=":material/tune:"):
        cfg, kind = base_config()
        c1, c2 = st.columns([5, 1], vertical_alignment="center")
        c1.markdown(f"**Base experiment:** {base_summary(cfg)}")
        if kind == "current":
            c2.page_link("app_pages/train.py", label="Change it", icon=":material/edit:")
        if cfg.train.beta is not None:
            st.caption("The base run sets β by hand; the sweep replaces it by each β/M_u value below.")
        try:
            scales = grid_ui()
            error = None
        except ConfigError as e:
            scales, error = [], str(e)
        refusal = data_refusal(cfg.data)  # the server's limits on the data, before anything is drawn or estimated
        if refusal is not None:
            scales, error = [], f"This data is not generated here: {refusal}"
        c = st.columns([1, 3])
        with c[0]:
            seeds = seeds_ui(cfg)
        default_name = {"full": "teaching β sweep", "short": "short teaching β sweep"}.get(
            kind, f"{cfg.data.dataset} β sweep"
        )
        name = c[1].text_input("Sweep name", value=default_name, max_chars=60, key=f"sweep_name_{kind}")
        if error:
            st.error(error)
        else:
            n = len(scales) * len(seeds)
            st.markdown(
                f"β/M_u = {', '.join(f'{s:g}' for s in scales)} × {len(seeds)} seeds = **{n} runs** "
                f"({base_epochs(cfg)} each), queued together."
            )
            try:
                estimate_caption([c for _, c in build_sweep(cfg, scales, seeds)])
            except ConfigError:
                pass  # too many runs or no bottleneck: Queue says why
        if st.button(
            "Queue sweep",
            type="primary",
            icon=":material/playlist_add:",
            key="sweep_start",
            disabled=bool(error) or not scales,
        ):
            queue_sweep(cfg, scales, seeds, name.strip() or "sweep")


def estimate_caption(configs: list[RunConfig]) -> None:
    """'About 40 s from Queue to the last point (basis)', before anything is queued; nothing without an estimate."""
    est = time_estimate(configs)
    if est is not None:
        basis = f" ({escape_md(est['basis'])})" if est["basis"] else ""
        st.caption(f":material/timer: About **{format_duration(est['seconds'])}** to train{basis}.")


# a sweep's view


def pick_metric(runs: list[dict]) -> str | None:
    names: list[str] = []
    for r in runs:
        for k in (r.get("result") or {}).get("test_metrics") or {}:
            if k not in names:
                names.append(k)
    if not names:
        return None
    task = next(((r.get("summary") or {}).get("task") for r in runs if r.get("summary")), None)
    default = PRIMARY_METRIC.get(task, names[0])
    options = names if default not in names else [default] + [n for n in names if n != default]
    return st.selectbox("Test metric", options, key="sweep_metric", format_func=metric_label)


def measured_caption(runs: list[dict], measured: MeasuredSweep | None) -> None:
    """The benchmark's bounds and best β for the teaching preset, labelled as its measurement, never typed prose."""
    if measured is None or not is_teaching(runs) or not measured.bounds:
        return
    bounds = ", ".join(f"{name} M_u {v:.3g}" for name, v in measured.bounds.items())
    best = (
        f"; its empirical best β was {measured.best_beta:.3g} ({measured.best_scale:g} × M_u)"
        if measured.best_beta
        else ""
    )
    st.caption(
        f":material/science: **Measured by {MEASURED_BY}** on this preset ({measured.seeds} seeds, "
        f"{escape_md(measured.date)}): {bounds}{best}. Every estimate of M_u sits left of the best β: M_u is a "
        "sufficient, conservative bound (any β up to it keeps the task information, in theory), not the optimum. "
        "The dotted violet line is the paper's MINE estimate on this axis."
    )


def summary_cards(
    runs: list[dict], active: list[dict], failed: list[dict], knee, best, select: str, rule: BestRule
) -> None:
    """Runs finished, the empirical best and knee beta/M_u (only once ``rule`` has earned them), and M_u."""
    finished = sum(r["status"] == "finished" for r in runs)
    summaries = [r.get("summary") or {} for r in runs]
    mu = sweep_mu(runs)
    estimators = {s.get("estimator") for s in summaries if s.get("estimator")}
    waiting = "not yet" if not rule.earned else "–"
    c = st.columns(4)
    c[0].metric(
        "Runs finished",
        f"{finished} / {len(runs)}",
        border=True,
        help=f"{len(active)} queued or training, {len(failed)} failed or interrupted.",
    )
    c[1].metric(
        "Empirical best β/M_u",
        f"{best:g}" if best is not None else waiting,
        border=True,
        delta=(f"{'right' if best > 1 else 'left' if best < 1 else 'on'} of M_u" if best else None),
        delta_color="off",
        help=f"The β/M_u with the best mean test metric ({SELECT_LABELS[select]}), among the values finished for "
        "every seed; shown once at least two such values are in.",
    )
    c[2].metric(
        "Empirical knee β/M_u",
        f"{knee:g}" if knee is not None else waiting,
        border=True,
        help="Largest β/M_u whose mean is within one std of the best mean: past it, the metric falls.",
    )
    est = ", ".join(sorted(estimators)) or "?"
    c[3].metric(
        f"M_u ({est})" if estimators else "M_u",
        f"{mu:.3g}" if mu else "–",
        border=True,
        help=f"Estimated with {est} from the data's entropies (nats⁻¹). On the chart it sits at β/M_u = 1.",
    )
    if len(runs):
        st.progress(finished / len(runs), text=f"{finished} of {len(runs)} runs finished")
    if not rule.earned:
        st.caption(f":material/hourglass_top: {rule.missing}")


def stop_button(runs: list[dict], active: list[dict]) -> None:
    """Stop the sweep's remaining runs (its owner or an admin)."""
    user = current_user()
    owner = runs[0]["owner"]
    allowed = user.is_admin or all(r["owner"] == user.name for r in runs)
    if active and st.button(
        f"Stop the {len(active)} remaining runs", icon=":material/stop:", key="sweep_stop", disabled=not allowed
    ):
        for r in active:
            try:
                services.jobs().control(r["id"], "stop", user.name, user.is_admin)
            except OmibError:
                pass  # it ended meanwhile
        st.toast("Stop requested for the remaining runs.")
    if active and not allowed:
        st.caption(f"Only {escape_md(owner)} (the owner) or an admin can stop this sweep.")


def runs_table(runs: list[dict], points: pd.DataFrame, metric: str) -> None:
    """The sweep's runs with a link to each and where each runs (device, and the Ray node when on a cluster)."""
    with st.expander("Runs of this sweep"):
        table = pd.DataFrame(
            [
                {
                    "open": f"train?run={r['id']}",
                    "name": r["name"],
                    "status": r["status"],
                    "where": r.get("device") or ("waiting" if r["status"] == "queued" else "–"),
                    f"test {metric}": v,
                }
                for r, v in zip(runs, run_values(runs, points))
            ]
        )
        st.dataframe(
            neutralise_frame(table),
            hide_index=True,
            width="stretch",  # its CSV export: no formulas
            column_config={"open": st.column_config.LinkColumn("", display_text="Open", width="small")},
        )
