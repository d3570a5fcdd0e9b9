"""The real server with the repo's ``.streamlit/config.toml``: XSRF protection on the upload endpoint, the upload
size cap at the HTTP layer, health, and the settings that keep errors and tracebacks away from users."""

from __future__ import annotations

import asyncio
import concurrent.futures
import http.client
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from omib_core.data.uploads import DEFAULT_MAX_BYTES
from tests.e2e.conftest import ROOT, start_app, stop_app
from tests.security.st_client import Session

XSRF_COOKIE = "_streamlit_xsrf"


@pytest.fixture(scope="module")
def server_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("server_data") / "streamlit.log"


@pytest.fixture(scope="module")
def server(server_log):
    """``streamlit run dashboard/app.py`` on a free loopback port, from the repo root (its config.toml applies)."""
    proc, url = start_app(server_log.parent, server_log)
    try:
        yield url
    finally:
        stop_app(proc)


def test_shared_server_settings_in_config_toml():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["enableXsrfProtection"] is True
    assert cfg["server"]["maxUploadSize"] * 2**20 == DEFAULT_MAX_BYTES  # the HTTP cap and the validator agree
    assert cfg["client"]["showErrorDetails"] == "none"  # users see a sentence, never a traceback
    assert cfg["browser"]["gatherUsageStats"] is False and cfg["server"]["runOnSave"] is False


def test_health_answers_and_hands_out_the_xsrf_cookie(server):
    r = requests.get(f"{server}/_stcore/health", timeout=30)
    assert r.status_code == 200 and r.text.strip() == "ok"
    assert r.cookies.get(XSRF_COOKIE)


def run_in_own_loop(make_coro):
    """Run a coroutine on a fresh event loop in its own thread: the browser tests' Playwright (sync API) keeps an
    event loop running in the main thread for the whole session, and asyncio.run refuses to nest in it."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make_coro())).result()


def test_uploads_without_the_xsrf_token_are_refused(server):
    """403 without the cookie, the header or both, or with a token that does not match; the same request with the
    token is accepted (so the token, not something else, is what refused it). Oversize is refused from its
    Content-Length before any byte of the body is read."""
    token = requests.get(f"{server}/_stcore/health", timeout=30).cookies[XSRF_COOKIE]
    other = requests.get(f"{server}/_stcore/health", timeout=30).cookies[XSRF_COOKIE]
    files = {"file": ("labels.csv", b"label\n0\n1\n", "text/csv")}

    def put(sid: str, cookies=None, headers=None) -> int:
        url = f"{server}/_stcore/upload_file/{sid}/file-1"
        return requests.put(url, files=files, cookies=cookies, headers=headers, timeout=30).status_code

    async def scenario() -> dict[str, int]:
        async with Session(server) as s:  # a live session, as a browser tab has
            reply = await s.rerun("")
            assert reply.status == "ok" and not reply.exceptions, reply
            sid = s.session_id
            codes = {
                "no token": await asyncio.to_thread(put, sid),
                "cookie only": await asyncio.to_thread(put, sid, {XSRF_COOKIE: token}),
                "header only": await asyncio.to_thread(put, sid, None, {"X-Xsrftoken": token}),
                "mismatch": await asyncio.to_thread(put, sid, {XSRF_COOKIE: token}, {"X-Xsrftoken": other}),
                "POST": await asyncio.to_thread(
                    lambda: requests.post(f"{server}/_stcore/upload_file/{sid}/f", files=files, timeout=30).status_code
                ),
                "with token": await asyncio.to_thread(put, sid, {XSRF_COOKIE: token}, {"X-Xsrftoken": token}),
                "oversize": await asyncio.to_thread(_oversize_put, server, sid, token),
            }
            return codes

    codes = run_in_own_loop(scenario)
    assert {k: codes[k] for k in ("no token", "cookie only", "header only", "mismatch")} == dict.fromkeys(
        ("no token", "cookie only", "header only", "mismatch"), 403
    )
    assert codes["POST"] in (403, 405)  # no such method on this endpoint
    assert codes["with token"] == 204
    assert codes["oversize"] == 413


def _oversize_put(server: str, sid: str, token: str) -> int:
    """A PUT that announces 1 MB more than server.maxUploadSize and sends no body: refused from the headers."""
    u = urlsplit(server)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.putrequest("PUT", f"/_stcore/upload_file/{sid}/big")
        conn.putheader("Content-Type", "multipart/form-data; boundary=x")
        conn.putheader("Content-Length", str(DEFAULT_MAX_BYTES + 2**20))
        conn.putheader("Cookie", f"{XSRF_COOKIE}={token}")
        conn.putheader("X-Xsrftoken", token)
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def test_refused_requests_leave_no_traceback_in_the_server_log(server, server_log):
    requests.put(f"{server}/_stcore/upload_file/not-a-session/f", timeout=30)  # one more refusal, for good measure
    assert "Traceback" not in server_log.read_text()
