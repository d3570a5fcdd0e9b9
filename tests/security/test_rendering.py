"""User text shown back to users: run names, owners, upload names and dataset ids from links appear literally,
never as HTML or markdown. Streamlit renders markdown (never raw HTML without ``unsafe_allow_html``, which the app
never uses); the pages pass user text through ``escape_md``, so ``**x**``, ``[a](javascript:...)`` and ``<img ...>``
show as typed. Checked on the markdown each page sends (AppTest), not on the browser's drawing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import services
from dashboard.text import WORD_JOINER, escape_md
from omib_core.config import DataConfig, RunConfig
from omib_core.data import store_upload
from tests.auth_helpers import sign_in
from tests.core.test_uploads import good_files
from tests.dashboard.test_page_train import add_fake_run, app, no_exception

ROOT = Path(__file__).resolve().parents[2]
EVIL = "<img src=x onerror=alert(1)> **b** [a](javascript:alert(1)) <script>`c`"  # < 80 characters
EVIL_OWNER = "<b>eve</b> [me](https://evil.example)"
MARKDOWN_ELEMENTS = ("markdown", "caption", "error", "warning", "info", "success", "title", "header", "subheader")


def shown(at: AppTest) -> list[str]:
    """The markdown source of every element the page drew that renders markdown."""
    return [str(e.value) for kind in MARKDOWN_ELEMENTS for e in at.get(kind)]


def assert_literal(at: AppTest, text: str, where: str) -> None:
    """``text`` was drawn (escaped), and nowhere raw: it shows exactly as typed."""
    texts = shown(at)
    raw = [t for t in texts if text in t]
    assert not raw, f"{where}: {text!r} rendered as markdown in {raw}"
    assert any(escape_md(text) in t for t in texts), f"{where}: {text!r} not shown at all: {texts}"


def as_user(at: AppTest, name: str) -> AppTest:
    return sign_in(at, name)


def test_the_app_never_allows_raw_html():
    code = "\n".join(p.read_text() for p in (ROOT / "dashboard").rglob("*.py"))
    assert not re.search(r"unsafe_allow_html\s*=\s*True|st\.html\(|components\.v1", code)


def test_escape_md_round_trips_every_markdown_special_character():
    """Backslash-escaped ASCII punctuation is literal in CommonMark: stripping the escapes gives the text back."""
    for text in (EVIL, EVIL_OWNER, r"a\b `c` ~~d~~ $x$ | # + - . ! : 1) _e_"):
        escaped = escape_md(text)
        assert re.sub(r"\\(.)", r"\1", escaped).replace(WORD_JOINER, "") == text
        assert not re.search(r"(?<!\\)[<>\[\]*_`]", escaped)  # no special character left unescaped


def test_run_name_and_owner_on_the_runs_and_train_pages():
    rid = add_fake_run(owner=EVIL_OWNER, name=EVIL)
    at = as_user(app("runs"), "bob")
    at.run()
    at.selectbox(key="runs_pick").set_value(rid).run()
    no_exception(at)
    assert_literal(at, EVIL, "runs page")
    assert_literal(at, EVIL_OWNER, "runs page")
    at = as_user(app("train", run=rid), "bob")
    at.run()
    no_exception(at)
    assert_literal(at, EVIL, "train page")
    assert_literal(at, EVIL_OWNER, "train page")


def test_error_sentences_quoting_user_text_on_the_train_page():
    """A run's error may quote what the user gave (``Unknown dataset '...'`` from a link): shown literally too."""
    rid = add_fake_run(owner="sec-owner", name="failed on a hostile dataset id", status="failed")
    services.store().update_run(rid, error=f"Unknown dataset {EVIL!r}. Pick one of the known datasets.")
    at = app("train", run=rid)
    at.run()
    no_exception(at)
    assert_literal(at, EVIL, "train page, error")


def test_failed_run_names_and_errors_on_the_sweep_page():
    sid = "5ec0000000" + "01"
    add_fake_run(owner=EVIL_OWNER, name=EVIL, status="failed", sweep_id=sid)
    add_fake_run(owner=EVIL_OWNER, name="ok", sweep_id=sid)
    at = app("sweep", sweep=sid)
    at.run()
    no_exception(at)
    assert_literal(at, EVIL, "sweep page")


def test_upload_name_and_dataset_ids_from_links():
    """An upload's name (its title) and a dataset id carried by a ``?cfg=`` link, on the pages that show them."""
    before = services.store().list_runs()
    uid = store_upload(good_files(), owner="alice", name=EVIL)
    cfg = RunConfig(data=DataConfig(dataset=f"upload:{uid}"))
    at = app("train")
    at.session_state["omib_config"] = cfg.to_dict()
    at.run()
    no_exception(at)
    assert_literal(at, EVIL, "train page, upload title")
    from dashboard.state import encode_config

    link = encode_config(RunConfig(data=DataConfig(dataset=EVIL)))
    for page in ("train", "sweep", "data", "bound"):
        at = app(page, cfg=link)
        at.run()
        no_exception(at)
        assert not [t for t in shown(at) if EVIL in t], page
    assert services.store().list_runs() == before, "showing hostile names queued or changed a run"


def test_run_names_in_the_compare_chart_legend_are_literal_text():
    """Plotly reads tags in trace names as markup and %{...} in hover templates as fields: names are escaped."""
    from dashboard.charts.runs import overlay_figure

    evil = '<a href="javascript:alert(1)">x</a> %{y}'
    fig = overlay_figure([{"label": evil, "x": [1, 2], "y": [0.5, 0.6]}], "val accuracy")
    name, hover = fig.data[0].name, fig.data[0].hovertemplate
    assert "<a" not in name and "&lt;a href" in name
    assert "%{y}" not in name and "%{y}" not in hover.split(":")[0]


AUTOLINKED = 'see http://evil.example","A1, HTTPS://x.org/a, www.evil.example and eve@evil.example'


def test_escape_md_leaves_no_autolink_literal():
    """GitHub-flavoured markdown links bare URLs, www. names and e-mail addresses found in the text after parsing,
    so backslash escapes do not stop them; escape_md breaks each with an invisible word joiner."""
    shown_text = re.sub(r"\\(.)", r"\1", escape_md(AUTOLINKED))
    assert not re.search(r"(?i)(https?|ftp)://|www\.|\w@\w", shown_text), shown_text
    assert shown_text.replace(WORD_JOINER, "") == AUTOLINKED  # reads the same


@pytest.mark.e2e
def test_a_url_in_a_run_name_is_not_a_link_in_the_browser(browser, tmp_path, monkeypatch):
    """Issue 20: a bare URL in eve's run name became a link (href="http://evil.example%22,%22A1") on another user's
    Runs page. In a real browser, neither the Runs page nor the run's Train page has a link to it."""
    import time

    from omib_core.paths import db_path
    from omib_core.runs.store import RunStore
    from tests.e2e.conftest import start_app, stop_app

    monkeypatch.setenv("OMIB_DATA_DIR", str(tmp_path))
    rid = RunStore(db_path()).create_run(
        RunConfig(data=DataConfig(dataset="sim-i")).to_dict(), owner="eve@evil.example", name=AUTOLINKED[:80]
    )
    proc, url = start_app(tmp_path, tmp_path / "streamlit.log")
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    try:
        page = context.new_page()
        for path in ("runs", f"train?run={rid}"):
            page.goto(f"{url}/{path}", wait_until="domcontentloaded")
            page.get_by_text("see http").first.wait_for(state="attached", timeout=60_000)
            time.sleep(1)  # the rest of the page (the hidden Downloads tab draws the name in bold)
            hrefs = page.eval_on_selector_all("a", "els => els.map(e => e.getAttribute('href') || '')")
            links = [h for h in hrefs if not h.startswith("#")]  # a heading's own anchor stays on the page
            assert not [h for h in links if "evil" in h or "x.org" in h], (path, links)
    finally:
        context.close()
        stop_app(proc)
