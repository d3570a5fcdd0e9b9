"""The gate in front of Streamlit's HTTP endpoints (dashboard/gate.py, issue 20): uploads only from signed-in
sessions, a cap per session and per server, held files released when a session is gone, /_stcore/metrics off.

The first tests run the real server (``python -m dashboard.serve``) with per-user sign-in configured; the rest drive
the middleware directly with a fake runtime."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from dashboard import gate
from tests.auth_helpers import password_hash
from tests.e2e.conftest import start_app, stop_app
from tests.security.st_client import Session, upload_put
from tests.security.test_server import XSRF_COOKIE, run_in_own_loop

MB = 2**20


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def users_server(tmp_path_factory):
    """The real server with per-user sign-in ([users] from OMIB_USERS_FILE): (url, server pid)."""
    root = tmp_path_factory.mktemp("gate_server")
    users = root / "users.toml"
    users.write_text(f'[users]\nalice = "{password_hash()}"\n', encoding="utf-8")
    proc, url = start_app(root, root / "streamlit.log", env={"OMIB_USERS_FILE": str(users)})
    try:
        yield url, proc.pid
    finally:
        stop_app(proc)


def test_uploads_before_sign_in_are_refused_and_the_server_stays_flat(users_server):
    """A live session that has not signed in (the page shows the sign-in form) sends 10 x 49 MB (under server.maxUploadSize) with a valid XSRF
    token: every PUT is refused (on dda1df2 each was answered 204 and held in memory) and the server grows <= 50 MB."""
    url, pid = users_server
    token = requests.get(f"{url}/_stcore/health", timeout=30).cookies[XSRF_COOKIE]

    async def scenario() -> tuple[list[int], float, float]:
        async with Session(url) as s:
            reply = await s.rerun("")
            assert reply.status == "ok" and any("password" in t for t in reply.texts), reply.texts
            before = rss_mb(pid)
            codes = [await asyncio.to_thread(upload_put, url, s.session_id, token, 49 * MB, f"f{i}") for i in range(10)]
            return codes, before, rss_mb(pid)

    codes, before, after = run_in_own_loop(scenario)
    assert codes == [403] * 10, codes
    assert after - before <= 50, (before, after)


def test_metrics_are_off_before_and_after_sign_in(users_server):
    url, _ = users_server
    r = requests.get(f"{url}/_stcore/metrics", timeout=30)
    assert r.status_code == 404 and "OMIB_METRICS" in r.text
    assert requests.get(f"{url}/_stcore/health", timeout=30).status_code == 200  # the rest still answers


def test_the_hook_exists_in_this_streamlit():
    """install() wraps Streamlit's middleware factory; a Streamlit upgrade that removes it fails here, not silently."""
    from streamlit.web.server.starlette import starlette_app

    assert callable(starlette_app.create_streamlit_middleware)
    assert "create_streamlit_middleware()" in Path(starlette_app.__file__).read_text()


# the middleware with a fake runtime


class FakeManager:
    def __init__(self) -> None:
        self.file_storage: dict[str, dict[str, SimpleNamespace]] = {}
        self._lock = threading.Lock()
        self.removed: list[str] = []

    def hold(self, sid: str, n: int) -> None:
        self.file_storage.setdefault(sid, {})[f"f{len(self.file_storage.get(sid, {}))}"] = SimpleNamespace(
            data=b"x" * n
        )

    def remove_session_files(self, sid: str) -> None:
        self.removed.append(sid)
        self.file_storage.pop(sid, None)


class FakeRuntime:
    def __init__(self) -> None:
        self.uploaded_file_mgr = FakeManager()
        self.active: set[str] = set()

    def is_active_session(self, sid: str) -> bool:
        return sid in self.active


def call(app, path: str, method: str = "PUT", length: int | None = 1000) -> tuple[int, str, bool]:
    """(status, body, whether Streamlit's app was reached) for one request through the gate."""
    reached = []

    async def inner(scope, receive, send):
        reached.append(True)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app.app = inner
    sent: list[dict] = []

    async def send(msg):
        sent.append(msg)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    headers = [] if length is None else [(b"content-length", str(length).encode())]
    scope = {"type": "http", "path": path, "method": method, "headers": headers}
    run_in_own_loop(lambda: app(scope, receive, send))  # its own loop: Playwright's may be running in this thread
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body").decode()
    return status, body, bool(reached)


@pytest.fixture
def fresh_gate(monkeypatch):
    monkeypatch.setattr(gate, "_signed_in", {})
    monkeypatch.setattr(gate, "_in_flight", {})
    monkeypatch.setattr(gate, "_gone_since", {})
    monkeypatch.setattr(gate, "_refusals", {})
    monkeypatch.setenv("OMIB_UPLOAD_SESSION_BYTES", "10000")
    monkeypatch.setenv("OMIB_UPLOAD_TOTAL_BYTES", "25000")
    monkeypatch.delenv("OMIB_METRICS", raising=False)
    runtime = FakeRuntime()
    return gate.Gate(None, runtime=runtime), runtime


def test_signed_in_sessions_upload_and_others_are_refused(fresh_gate):
    g, rt = fresh_gate
    rt.active |= {"s1", "s2"}
    gate.admit("s1", "alice")
    assert call(g, "/_stcore/upload_file/s1/a")[::2] == (204, True)
    status, body, reached = call(g, "/_stcore/upload_file/s2/a")
    assert (status, reached) == (403, False) and "Sign in" in body
    gate.forget("s1")  # signed out
    assert call(g, "/_stcore/upload_file/s1/b")[::2] == (403, False)
    assert call(g, "/base/_stcore/upload_file/s2/a")[::2] == (403, False)  # under server.baseUrlPath too
    assert call(g, "/_stcore/upload_file/s2/a", method="DELETE")[::2] == (204, True)  # freeing is always allowed
    assert call(g, "/_stcore/health", method="GET")[::2] == (204, True)


def test_per_session_and_total_caps_count_held_and_in_flight_bytes(fresh_gate):
    g, rt = fresh_gate
    rt.active |= {"s1", "s2", "s3"}
    for s in ("s1", "s2", "s3"):
        gate.admit(s, s)
    rt.uploaded_file_mgr.hold("s1", 9500)
    status, body, reached = call(g, "/_stcore/upload_file/s1/x", length=1000)
    assert (status, reached) == (413, False) and "OMIB_UPLOAD_SESSION_BYTES" in body
    assert gate.pop_refusal("s1") == body and gate.pop_refusal("s1") is None  # the Data page shows it once
    assert call(g, "/_stcore/upload_file/s1/x", length=400)[::2] == (204, True)  # still under the cap
    rt.uploaded_file_mgr.hold("s2", 9000)
    gate._in_flight["s3"] = 6000  # an upload of s3 being received
    status, body, _ = call(g, "/_stcore/upload_file/s3/y", length=1000)  # 9500 + 9000 + 6000 + 1000 > 25000
    assert status == 413 and "OMIB_UPLOAD_TOTAL_BYTES" in body
    assert call(g, "/_stcore/upload_file/s3/y", length=None)[0] == 411
    assert gate._in_flight == {"s3": 6000}  # refused or finished requests leave no reservation behind


def test_files_of_a_session_gone_for_a_minute_are_released(fresh_gate):
    _, rt = fresh_gate
    rt.active.add("here")
    rt.uploaded_file_mgr.hold("here", 10)
    rt.uploaded_file_mgr.hold("gone", 10)
    gate.admit("gone", "bob")
    t = time.monotonic()
    assert gate.release_gone_sessions(rt, now=t) == 0  # first seen gone: a reconnect may still come
    assert gate.release_gone_sessions(rt, now=t + gate.RELEASE_AFTER_S - 1) == 0
    assert gate.release_gone_sessions(rt, now=t + gate.RELEASE_AFTER_S) == 1
    assert rt.uploaded_file_mgr.removed == ["gone"] and not gate.signed_in("gone")
    assert "here" in rt.uploaded_file_mgr.file_storage


def test_metrics_answer_only_when_the_admin_turns_them_on(fresh_gate, monkeypatch):
    g, _ = fresh_gate
    assert call(g, "/_stcore/metrics", method="GET")[::2] == (404, False)
    monkeypatch.setenv("OMIB_METRICS", "1")
    assert call(g, "/_stcore/metrics", method="GET")[::2] == (204, True)


def test_install_puts_the_gate_first(monkeypatch):
    from streamlit.web.server.starlette import starlette_app

    monkeypatch.setattr(gate, "_installed", False)
    monkeypatch.setattr(starlette_app, "create_streamlit_middleware", starlette_app.create_streamlit_middleware)
    assert gate.install() and gate.installed()
    stack = starlette_app.create_streamlit_middleware()
    assert stack[0].cls is gate.Gate and len(stack) > 1


@pytest.mark.e2e
def test_a_signed_in_browser_uploads_through_the_gate(users_server, browser, tmp_path):
    """The real flow: alice signs in with the form, opens Data, drops two modality files and labels into the
    uploader; the check report says they can be used (the gate let her session's PUTs through); Store, and the
    Dataset picker names the new upload at once."""
    from tests.auth_helpers import PASSWORD

    url, _ = users_server
    rows = 60
    for name, width in (("audio", 3), ("video", 2)):
        header = ",".join(f"{name}{j}" for j in range(width))
        (tmp_path / f"{name}.csv").write_text(
            header + "\n" + "\n".join(",".join(str((i * 7 + j) % 11) for j in range(width)) for i in range(rows)) + "\n"
        )
    (tmp_path / "labels.csv").write_text("label\n" + "\n".join(str(i % 2) for i in range(rows)) + "\n")
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    try:
        page = context.new_page()
        page.goto(f"{url}/data", wait_until="domcontentloaded")
        page.get_by_role("textbox", name="Name").fill("alice")
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Upload your data").click(timeout=60_000)
        page.locator("input[type=file]").set_input_files(
            [str(tmp_path / f) for f in ("audio.csv", "video.csv", "labels.csv")]
        )
        page.get_by_text("These files can be used").wait_for(timeout=60_000)
        page.get_by_role("button", name="Store and use this data").click()
        # issue 22: right after Store the picker names the new upload (it kept the previous dataset's name)
        picker = page.get_by_test_id("stSelectbox").first

        def shown() -> str:
            inputs = picker.locator("input")
            return picker.inner_text() + " " + (inputs.first.input_value() if inputs.count() else "")

        deadline = time.monotonic() + 60
        while "upload:" not in shown() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "upload:" in shown(), picker.evaluate("e => e.outerHTML")[:2000]
    finally:
        context.close()
