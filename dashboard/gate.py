"""A gate in front of Streamlit's own HTTP endpoints, for a shared server (issue 20).

Streamlit answers two endpoints without asking who is there:

- ``PUT /_stcore/upload_file/<session>/<file>`` takes a file (up to ``server.maxUploadSize``) from any open
  browser session holding the XSRF cookie, which ``/_stcore/health`` hands out: before signing in, 30 PUTs of
  50 MB grew a server by 1.5 GB, and the files stayed in memory after the socket closed;
- ``/_stcore/metrics`` lists cache sizes and session counts.

Streamlit has no hook for either (``server.maxUploadSize`` bounds one file, nothing bounds a session or the
server), so ``install()`` puts one ASGI middleware in front of Streamlit's Starlette app, by wrapping
``streamlit.web.server.starlette.starlette_app.create_streamlit_middleware`` before the server starts
(``dashboard/serve.py``, which ``make run`` and the Docker image use). The middleware:

- refuses an upload (403) from a session that has not signed in. The app marks a session signed in on every
  rerun once ``current_user()`` returned (``admit``), and forgets it when the user signs out (``forget``);
- refuses an upload (413) that would take the bytes held for the session above ``OMIB_UPLOAD_SESSION_BYTES``
  (default 512 MB) or for the whole server above ``OMIB_UPLOAD_TOTAL_BYTES`` (default 2 GB), counting uploads in
  flight; a body without Content-Length is refused (411): browsers always send one;
- drops the held files of a session that has been gone for ``RELEASE_AFTER_S`` (Streamlit keeps them until the
  session object is closed);
- answers 404 on ``/_stcore/metrics`` unless ``OMIB_METRICS=1`` (the shipped setting: off).

Each refusal is a plain-text sentence in the response; the Data page also shows the last one of the session.
The gate reads Streamlit's upload manager through its public ``Runtime.instance().uploaded_file_mgr``; the
per-session byte count reads its ``file_storage`` (the in-memory manager Streamlit ships; another manager only
gets the session check).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from omib_core.env import env_bool, env_bytes

log = logging.getLogger("omib.gate")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_SESSION_BYTES = 512 * 2**20
DEFAULT_TOTAL_BYTES = 2 * 2**30
RELEASE_AFTER_S = 60.0  # a session gone this long loses its held uploads (a reconnect within it keeps them)
UPLOAD_RE = re.compile(r"/_stcore/upload_file/([^/]+)/([^/]+)/?$")
METRICS_RE = re.compile(r"/_stcore/metrics/?$")

_lock = threading.Lock()
_signed_in: dict[str, str] = {}  # session id -> who signed in
_in_flight: dict[str, int] = {}  # session id -> bytes of uploads being received
_gone_since: dict[str, float] = {}  # session id -> when it was first seen gone with files held
_refusals: dict[str, str] = {}  # session id -> the last refusal's sentence (shown by the Data page)
_installed = False


# settings


def upload_caps() -> tuple[int, int]:
    """(bytes one session may hold, bytes the server may hold) in uploaded files not yet stored:
    ``OMIB_UPLOAD_SESSION_BYTES`` (512 MB), ``OMIB_UPLOAD_TOTAL_BYTES`` (2 GB); bytes or e.g. ``1G``."""
    per_session = env_bytes("OMIB_UPLOAD_SESSION_BYTES", DEFAULT_SESSION_BYTES, "512M")
    total = env_bytes("OMIB_UPLOAD_TOTAL_BYTES", DEFAULT_TOTAL_BYTES, "2G")
    return int(per_session or DEFAULT_SESSION_BYTES), int(total or DEFAULT_TOTAL_BYTES)


def metrics_public() -> bool:
    """``OMIB_METRICS=1`` serves Streamlit's ``/_stcore/metrics`` (to anyone who can reach the port); off by default."""
    return env_bool("OMIB_METRICS", False)


# the app's side


def admit(session_id: str, who: str) -> None:
    """Mark a browser session as signed in (called by the app on every rerun after sign-in)."""
    with _lock:
        _signed_in[str(session_id)] = str(who)


def forget(session_id: str) -> None:
    """The session signed out (or its sign-in is no longer valid): its uploads are refused from now on."""
    with _lock:
        _signed_in.pop(str(session_id), None)


def session_id() -> str:
    """The current browser session's id (Streamlit's; the upload URL carries it); "" outside a session."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


def signed_in(session_id: str) -> bool:
    with _lock:
        return str(session_id) in _signed_in


def pop_refusal(session_id: str) -> str | None:
    """The last upload refusal of this session, once (the Data page shows it)."""
    with _lock:
        return _refusals.pop(str(session_id), None)


def installed() -> bool:
    return _installed


# the server's side


def _mb(n: float) -> str:
    if n >= 2**30:
        return f"{n / 2**30:.1f} GB"
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n / 2**10:.1f} KB"


def _held(mgr: Any, session_id: str) -> tuple[int, int]:
    """(bytes held for this session, bytes held in all) by Streamlit's upload manager, plus uploads in flight."""
    storage = getattr(mgr, "file_storage", None)
    lock = getattr(mgr, "_lock", None)
    if storage is None or lock is None:
        return 0, 0
    with lock:
        per = {sid: sum(len(f.data) for f in files.values()) for sid, files in storage.items()}
    with _lock:
        flight = dict(_in_flight)
    total = sum(per.values()) + sum(flight.values())
    return per.get(session_id, 0) + flight.get(session_id, 0), total


def release_gone_sessions(runtime: Any, now: float | None = None) -> int:
    """Drop the uploaded files of sessions gone for ``RELEASE_AFTER_S`` or more; returns how many sessions."""
    mgr = getattr(runtime, "uploaded_file_mgr", None)
    storage = getattr(mgr, "file_storage", None)
    if mgr is None or storage is None:
        return 0
    now = time.monotonic() if now is None else now
    dropped = 0
    for sid in list(storage):
        if runtime.is_active_session(sid):
            with _lock:
                _gone_since.pop(sid, None)
            continue
        with _lock:
            first = _gone_since.setdefault(sid, now)
        if now - first >= RELEASE_AFTER_S:
            mgr.remove_session_files(sid)
            with _lock:
                _gone_since.pop(sid, None)
                _signed_in.pop(sid, None)
            dropped += 1
    return dropped


def sweep() -> int:
    """``release_gone_sessions`` on Streamlit's own runtime (the app calls it on every rerun, so the files of a
    closed tab are released within a minute of the next page load anywhere, uploads or not)."""
    runtime = _runtime()
    return release_gone_sessions(runtime) if runtime is not None else 0


async def _answer(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _runtime() -> Any:
    from streamlit.runtime import Runtime

    return Runtime.instance() if Runtime.exists() else None


class Gate:
    """The ASGI middleware (see the module docstring). ``runtime`` is for tests; by default Streamlit's own."""

    def __init__(self, app: ASGIApp, runtime: Any = None) -> None:
        self.app = app
        self._runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        path, method = str(scope.get("path", "")), str(scope.get("method", "GET")).upper()
        if METRICS_RE.search(path) and not metrics_public():
            await _answer(send, 404, "Not found (the server's metrics are off; the admin can set OMIB_METRICS=1).")
            return
        match = UPLOAD_RE.search(path)
        if match is None or method != "PUT":
            await self.app(scope, receive, send)
            return
        session_id = match.group(1)
        runtime = self._runtime if self._runtime is not None else _runtime()
        if runtime is not None:
            release_gone_sessions(runtime)
        refusal, size = self._refusal(scope, session_id, runtime)
        if refusal is not None:
            status, text = refusal
            if status != 403:
                with _lock:
                    _refusals[session_id] = text
            log.warning("upload refused (%s) for session %s", status, session_id[:8])
            await _answer(send, status, text)
            return
        with _lock:
            _in_flight[session_id] = _in_flight.get(session_id, 0) + size
        try:
            await self.app(scope, receive, send)
        finally:
            with _lock:
                left = _in_flight.get(session_id, 0) - size
                if left > 0:
                    _in_flight[session_id] = left
                else:
                    _in_flight.pop(session_id, None)

    def _refusal(self, scope: Scope, session_id: str, runtime: Any) -> tuple[tuple[int, str] | None, int]:
        if not signed_in(session_id):
            return (403, "Sign in before uploading: this server takes files only from signed-in sessions."), 0
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        try:
            size = int(headers["content-length"])
        except (KeyError, ValueError):
            return (411, "An upload must say its size (Content-Length); upload the file from the Data page."), 0
        per_session, total = upload_caps()
        mgr = getattr(runtime, "uploaded_file_mgr", None) if runtime is not None else None
        held, held_all = _held(mgr, session_id)
        if held + size > per_session:
            text = (
                f"This upload was refused: your open uploads would take {_mb(held + size)}, and one session may hold "
                f"{_mb(per_session)} (OMIB_UPLOAD_SESSION_BYTES). Remove files from the uploader or store the ones "
                "you have first."
            )
            return (413, text), size
        if held_all + size > total:
            text = (
                f"This upload was refused: the server already holds {_mb(held_all)} of uploads being checked, its limit "
                f"is {_mb(total)} (OMIB_UPLOAD_TOTAL_BYTES). Try again in a few minutes."
            )
            return (413, text), size
        return None, size


def install() -> bool:
    """Put the gate in front of Streamlit's Starlette app (before the server starts); False when this Streamlit has
    no such hook (then the server runs ungated and says so in the log)."""
    global _installed
    if _installed:
        return True
    try:
        from starlette.middleware import Middleware
        from streamlit.web.server.starlette import starlette_app
    except ImportError:
        log.warning("this Streamlit has no Starlette server: uploads and /_stcore/metrics are not gated")
        return False
    original = getattr(starlette_app, "create_streamlit_middleware", None)
    if original is None:
        log.warning("this Streamlit has no middleware hook: uploads and /_stcore/metrics are not gated")
        return False

    def create_streamlit_middleware() -> list[Any]:
        return [Middleware(Gate), *original()]

    starlette_app.create_streamlit_middleware = create_streamlit_middleware
    _installed = True
    return True
