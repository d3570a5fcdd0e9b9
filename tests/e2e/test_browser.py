"""The app in a real browser (Playwright driving Debian's chromium) against a real Streamlit server and workers.

One user opens a share link (``/train?cfg=...``, SIM-I with a small N), starts a run and watches the r and KL
charts grow while the run is live; then opens the run's embeddings and sees the scatter. A second browser
context (another user's session) sees the run on the Runs page. Screenshots go to ``test-artifacts/e2e/``.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from dashboard.state import encode_config
from omib_core.config import DataConfig, RunConfig, TrainConfig
from omib_core.paths import db_path
from omib_core.runs.store import TERMINAL, RunStore

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RUN_NAME = "e2e SIM-I live"
# Small data; the test paces the run itself (pause at once, then one epoch per 'step' once the page has polled the
# paused state), so even a GPU cannot finish it before several 1.5 s polls; log_every=2 gives a new r / KL point
# every two optimiser steps.
CONFIG = RunConfig(
    data=DataConfig(dataset="sim-i", params={"n_samples": 3000}),
    train=TrainConfig(schedule="fixed", epochs=20, warmup_epochs=2, snapshot_every=10, log_every=2),
)
PACED_EPOCHS = CONFIG.train.warmup_epochs + 4  # stepped one at a time: the warm-up, then four main epochs
SAMPLES_PER_STEP = 4  # samples (0.5 s apart) of the paused page before the next step: at least one 1.5 s poll
VIEWPORT = {"width": 1400, "height": 2300}  # tall: Streamlit scrolls inside its own container, not the page

# The live charts (Vega-Lite, drawn on a canvas) by their container key: a signature of what is drawn (changes when
# the chart changes), whether it is really visible, and an id stamped on the canvas element the first time it is
# seen, so a chart that was torn down and mounted again shows up as a new id (the Plotly flash this view avoids).
LIVE_CHARTS_JS = """() => {
  const visible = (el) => {
    for (let e = el; e && e !== document.body; e = e.parentElement) {
      const cs = getComputedStyle(e);
      if (cs.display === 'none' || cs.visibility !== 'visible' || cs.opacity === '0') return false;
    }
    return el.getBoundingClientRect().height > 0;
  };
  const hash = (s) => { let h = 0; for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0; return h; };
  const out = {};
  for (const box of document.querySelectorAll('[class*="st-key-train_fig_"]')) {
    const cls = [...box.classList].find(c => c.startsWith('st-key-train_fig_'));
    const key = cls.slice('st-key-train_fig_'.length).replace(/_box$/, '');
    const el = box.querySelector('canvas') || box.querySelector('svg.marks');
    if (!el) { out[key] = {sig: '', drawn: false, uid: 0}; continue; }
    if (!el.__omibUid) el.__omibUid = (window.__omibNext = (window.__omibNext || 0) + 1);
    const sig = el.tagName === 'CANVAS' ? String(hash(el.toDataURL())) : String(hash(el.outerHTML));
    out[key] = {sig, drawn: visible(el), uid: el.__omibUid};
  }
  return out;
}"""
# Points per Plotly chart title (the Embeddings scatter), the largest copy when Streamlit keeps a stale one.
CHART_POINTS_JS = """() => {
  const points = {};
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const t = el.layout && el.layout.title;
    const title = (typeof t === 'string' ? t : (t && t.text) || '').replace(/<[^>]*>/g, '').trim();
    const n = (el._fullData || []).reduce((s, tr) => s + (tr.x ? tr.x.length : 0), 0);
    points[title] = Math.max(points[title] || 0, n);
  }
  return points;
}"""
METRIC_JS = """(label) => {
  let fallback = null;
  for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
    const l = m.querySelector('[data-testid="stMetricLabel"]');
    const v = m.querySelector('[data-testid="stMetricValue"]');
    if (!l || !v || l.textContent.trim() !== label) continue;
    const c = m.closest('[data-testid="stElementContainer"]');
    if (!c || c.getAttribute('data-stale') !== 'true') return v.textContent.trim();
    fallback = fallback || v.textContent.trim();
  }
  return fallback;
}"""


# helpers


def open_page(page, url: str, heading: str, timeout: float = 90_000) -> None:
    page.goto(url)
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.get_by_role("heading", name=heading, exact=True).first.wait_for(timeout=timeout)


def wait_idle(page, timeout: float = 60_000) -> None:
    """Until the script run is over (the 'running' status widget is gone)."""
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout)


def no_exceptions(page, where: str) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, f"{where} shows an exception: {errors.first.text_content()}"


def chart_points(page) -> dict[str, int]:
    return page.evaluate(CHART_POINTS_JS)


def metric(page, label: str) -> str | None:
    return page.evaluate(METRIC_JS, label)


def count_changes(values: list[str]) -> int:
    """How many times a sampled signature changed (a chart not drawn yet, '', does not count as a first value)."""
    seen = [v for v in values if v]
    return sum(1 for a, b in zip(seen, seen[1:]) if b != a)


def shot(page, artifacts, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"))


# the journey


def test_live_training_embeddings_and_shared_runs(app_url, app_data_dir, browser, artifacts):
    from playwright.sync_api import expect  # here, so that a missing playwright skips instead of breaking collection

    contexts = []
    page_errors: list[str] = []

    def new_page():
        ctx = browser.new_context(viewport=VIEWPORT)
        ctx.set_default_timeout(60_000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda e: page_errors.append(str(e)))
        return page

    page = new_page()
    try:
        # 1. A share link sets SIM-I with N = 3,000 and a short schedule; the Train page starts from it.
        open_page(page, f"{app_url}/train?cfg={encode_config(CONFIG)}", "Train")
        start = page.get_by_role("button", name="Start")
        start.wait_for(timeout=90_000)
        wait_idle(page)
        expect(page.get_by_text(re.compile(r"SIM-I \(n_samples = 3000\)")).first).to_be_visible()
        expect(page.get_by_role("spinbutton", name="Main epochs")).to_have_value(str(CONFIG.train.epochs))
        expect(page.get_by_role("spinbutton", name="Warm-up epochs")).to_have_value(str(CONFIG.train.warmup_epochs))
        # every control is drawn from its declaration: an advanced one (in the expander) reaches the run's config
        page.get_by_text("Advanced settings").click()
        hidden = page.get_by_role("spinbutton", name="Hidden width")
        expect(hidden).to_have_value(str(CONFIG.model.hidden_dim))
        hidden.fill("64")
        hidden.press("Enter")
        wait_idle(page)
        page.get_by_role("textbox", name="Run name (optional)").fill(RUN_NAME)
        start.click()
        page.wait_for_url(re.compile(r"[?&]run=[0-9a-f]{6,32}"), timeout=60_000)
        run_id = re.search(r"[?&]run=([0-9a-f]{6,32})", page.url).group(1)
        assert RunStore(db_path(app_data_dir)).get_run(run_id)["config"]["model"]["hidden_dim"] == 64
        page.get_by_role("heading", name=RUN_NAME).first.wait_for(timeout=60_000)

        # 2. While the run is live, the r and KL charts change in place: sample what the browser draws. The test
        # paces the run through the store (as the page's Pause / Step buttons do): paused at once, then one epoch
        # per step once the page has shown the paused state, then resumed to the end.
        store = RunStore(db_path(app_data_dir))
        store.request_control(run_id, "pause", "e2e", is_admin=True)
        stepped, since_step, resumed = 0, 0, False
        samples: list[dict] = []
        screenshot_taken = screenshot_confirmed = False
        deadline = time.monotonic() + 240
        status = metric(page, "Status")
        while time.monotonic() < deadline:
            status = metric(page, "Status")
            if status in TERMINAL:
                break
            if not resumed and store.get_run(run_id)["status"] == "paused":
                since_step += 1
                if since_step > SAMPLES_PER_STEP:
                    action = "step" if stepped < PACED_EPOCHS else "resume"
                    store.request_control(run_id, action, "e2e", is_admin=True)
                    stepped, since_step, resumed = stepped + 1, 0, action == "resume"
            charts = page.evaluate(LIVE_CHARTS_JS)
            r, kl = charts.get("r", {}), charts.get("kl", {})
            if status in ("running", "paused"):
                samples.append(
                    {
                        "t": round(time.monotonic(), 2),
                        "r": r.get("sig", ""),
                        "kl": kl.get("sig", ""),
                        "r_uid": r.get("uid", 0),
                        "kl_uid": kl.get("uid", 0),
                        "drawn": bool(r.get("drawn") and kl.get("drawn")),
                    }
                )
                r_changes = count_changes([s["r"] for s in samples])
                if not screenshot_confirmed and r_changes >= 2 and samples[-1]["drawn"]:
                    shot(page, artifacts, "train_live")
                    screenshot_taken = True
                    after = page.evaluate(LIVE_CHARTS_JS)
                    screenshot_confirmed = bool(after.get("r", {}).get("drawn") and after.get("kl", {}).get("drawn"))
            time.sleep(0.5)
        with_data = [s for s in samples if s["r"]]
        r_changes = count_changes([s["r"] for s in samples])
        kl_changes = count_changes([s["kl"] for s in samples])
        # every canvas the r / KL charts used while the run was live: one, plus one when the chart's spec changed
        # (the placeholder before the main stage gives way to the real chart)
        r_mounts = len({s["r_uid"] for s in with_data})
        kl_mounts = len({s["kl_uid"] for s in samples if s["kl"]})
        summary = {
            "samples_with_data": len(with_data),
            "r_and_kl_drawn": sum(s["drawn"] for s in with_data),
            "epochs_stepped": stepped,
            "resumed": resumed,
            "r_changes": r_changes,
            "kl_changes": kl_changes,
            "r_canvases": r_mounts,
            "kl_canvases": kl_mounts,
            "screenshot_confirmed": screenshot_confirmed,
        }
        (artifacts / "train_live_samples.json").write_text(json.dumps({**summary, "samples": samples}, indent=1))
        print(f"live view: {summary}")
        assert resumed, f"the run was not paced (stepped {stepped} epochs); last status {status!r}"
        assert r_changes >= 2 and kl_changes >= 2, (
            f"while the run was live the r chart changed {r_changes} times and the KL chart {kl_changes} times "
            f"(want >= 2 each); samples in train_live_samples.json, last status {status!r}"
        )
        assert r_mounts <= 2 and kl_mounts <= 2, (
            f"the live charts were torn down and redrawn while polling (r used {r_mounts} canvases, KL {kl_mounts}): "
            "a poll must update a chart in place"
        )
        assert all(s["drawn"] for s in with_data[1:]), "the r / KL charts were hidden during a poll (a blank flash)"
        assert screenshot_taken

        # 3. The run ends by itself, the view stops polling and shows the results.
        page.wait_for_function(f"() => ({METRIC_JS})('Status') === 'finished'", timeout=180_000)
        page.get_by_role("heading", name="Results").wait_for(timeout=60_000)
        try:  # the finished view redraws its charts after the rerun: wait for them rather than read at once
            page.wait_for_function(
                f"() => {{ const s = ({LIVE_CHARTS_JS})(); return !!(s.r && s.r.drawn && s.kl && s.kl.drawn); }}",
                timeout=60_000,
            )
        except Exception:  # noqa: BLE001 - the assertion below says what was (not) drawn
            pass
        final = page.evaluate(LIVE_CHARTS_JS)
        assert final.get("r", {}).get("drawn") and final.get("kl", {}).get("drawn"), f"finished run charts: {final}"
        no_exceptions(page, "Train")

        # 4. Another user's session (a new browser context) sees the run on the Runs page.
        other = new_page()
        open_page(other, f"{app_url}/runs", "Runs")
        other.locator('[data-testid="stDataFrame"]').wait_for(timeout=60_000)
        other.wait_for_function(
            """([name, id]) => { const t = document.querySelector('[data-testid="stDataFrame"]');
                return !!t && t.textContent.includes(name) && t.textContent.includes('run=' + id); }""",
            arg=[RUN_NAME, run_id],
            timeout=60_000,
        )
        wait_idle(other)
        no_exceptions(other, "Runs")
        shot(other, artifacts, "runs_second_context")

        # 5. The run's embeddings: the xi scatter has points (PCA at once, UMAP later).
        page.get_by_role("link", name="Inspect this run's xi embeddings").click()
        page.wait_for_url(re.compile(rf"/embeddings\?run={run_id}"), timeout=60_000)
        page.wait_for_function(
            """() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(el => {
                const t = el.layout && el.layout.title; const title = (t && (t.text || t)) || '';
                return String(title).includes('xi') &&
                  (el._fullData || []).reduce((s, tr) => s + (tr.x ? tr.x.length : 0), 0) > 0; })""",
            timeout=60_000,
        )
        scatter = {k: v for k, v in chart_points(page).items() if "xi" in k}
        assert scatter and max(scatter.values()) > 0, f"no xi scatter with points: {chart_points(page)}"
        assert any(("PCA" in k or "UMAP" in k) for k in scatter), scatter
        expect(page.get_by_role("combobox", name="Run")).to_have_value(
            re.compile(rf"^{re.escape(RUN_NAME)} · .*{run_id}$")
        )
        no_exceptions(page, "Embeddings")
        shot(page, artifacts, "embeddings")
        assert not page_errors, f"uncaught errors in the page: {page_errors}"
    except Exception:
        for i, ctx in enumerate(contexts):
            for j, p in enumerate(ctx.pages):
                try:
                    p.screenshot(path=str(artifacts / f"failure_{i}_{j}.png"))
                except Exception:  # noqa: BLE001 - best effort, keep the original error
                    pass
        raise
    finally:
        for ctx in contexts:
            ctx.close()
