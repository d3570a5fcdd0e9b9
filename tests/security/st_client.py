"""A protocol-level Streamlit client: what a browser tab sends and receives over ``/_stcore/stream``, minus drawing.

Used by the security tests (to get a live session id for the upload endpoint) and by ``bench/load.py`` (many
sessions at once). The messages are Streamlit's own protobufs: the client sends a ``BackMsg`` whose
``rerun_script`` is a ``ClientState`` (query string, and the page as ``page_name`` = the page's url path, ``""``
for the default page); the server answers with ``ForwardMsg``s: ``new_session`` (with the session id), deltas
(the page's elements, an ``exception`` element when the script raised), and ``script_finished``. The transport is
the ``websockets`` package, a dependency of Streamlit itself.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import ClientConnection, connect

DONE = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR)


@dataclass
class Reply:
    """What one rerun request got back.

    Attributes:
        seconds: from sending the request to ``script_finished`` (None when it never came).
        status: ``"ok"``, ``"compile_error"``, ``"page_not_found"`` or ``"timeout"``.
        exceptions: messages of the exception elements the page drew.
        deltas: number of delta messages (elements drawn or changed).
        texts: the markdown bodies the page drew (markdown, captions, alerts), for content checks.
    """

    seconds: float | None
    status: str
    exceptions: list[str] = field(default_factory=list)
    deltas: int = 0
    texts: list[str] = field(default_factory=list)


def _texts(msg: ForwardMsg) -> list[str]:
    element = msg.delta.new_element
    kind = element.WhichOneof("type")
    if kind == "markdown":
        return [element.markdown.body]
    if kind == "alert":
        return [element.alert.body]
    return []


class Session:
    """One app session over one websocket (``async with Session(url) as s: reply = await s.rerun("runs")``)."""

    def __init__(self, base_url: str) -> None:
        self.url = base_url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/") + "/_stcore/stream"
        self.ws: ClientConnection | None = None
        self.session_id: str | None = None

    async def __aenter__(self) -> Session:
        self.ws = await connect(self.url, subprotocols=["streamlit"], max_size=None, open_timeout=60)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def rerun(self, page: str = "", query_string: str = "", timeout: float = 120.0) -> Reply:
        """Ask for a run of ``page`` (its url path; ``""`` = Home) and wait for its ``script_finished``."""
        assert self.ws is not None
        back = BackMsg(rerun_script=ClientState(query_string=query_string, page_name=page))
        t0 = time.perf_counter()
        await self.ws.send(back.SerializeToString())
        reply = Reply(seconds=None, status="timeout")
        end = t0 + timeout
        while True:
            left = end - time.perf_counter()
            if left <= 0:
                return reply
            try:
                raw = await asyncio.wait_for(self.ws.recv(), timeout=left)
            except TimeoutError:
                return reply
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self.session_id = msg.new_session.initialize.session_id or self.session_id
            elif kind == "delta":
                reply.deltas += 1
                if msg.delta.new_element.WhichOneof("type") == "exception":
                    reply.exceptions.append(msg.delta.new_element.exception.message)
                reply.texts.extend(_texts(msg))
            elif kind == "page_not_found":
                reply.status = "page_not_found"
            elif kind == "script_finished" and msg.script_finished in DONE:
                reply.seconds = time.perf_counter() - t0
                if reply.status != "page_not_found":
                    reply.status = "ok" if msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY else "compile_error"
                return reply


XSRF_COOKIE = "_streamlit_xsrf"


def upload_put(server: str, session_id: str, token: str, size: int, name: str) -> int:
    """One PUT to Streamlit's upload endpoint with a ``size``-byte multipart body and a valid XSRF token, streamed
    from one reused 1 MB buffer (the client holds 1 MB); returns the HTTP status. A server that answers from the
    headers and closes the connection is fine (what the gate does)."""
    import http.client
    from urllib.parse import urlsplit

    mb = 2**20
    u = urlsplit(server)
    boundary = "omibupload"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    chunk = b"0" * mb
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    try:
        conn.putrequest("PUT", f"/_stcore/upload_file/{session_id}/{name}")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + size + len(tail)))
        conn.putheader("Cookie", f"{XSRF_COOKIE}={token}")
        conn.putheader("X-Xsrftoken", token)
        conn.endheaders()
        try:
            conn.send(head)
            for _ in range(size // mb):
                conn.send(chunk)
            conn.send(tail)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return conn.getresponse().status
    finally:
        conn.close()
