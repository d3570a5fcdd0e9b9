"""Widget groups (``*_ui()`` functions that read Streamlit widgets and return plain values or configs) and small
helpers the pages share: escaping user text for markdown, and absolute links to a page of this app."""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

import streamlit as st

URL_PATHS = ("data", "bound", "train", "sweep", "embeddings", "runs")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(?:https?|ftp|mailto|xmpp)(?=:)|www(?=\.)|@")  # what GFM autolinks start with


def escape_md(text: object) -> str:
    """User text (a run name, an owner) made safe to put inside markdown: shown as typed, never formatted or linked.

    Backslash escapes stop markdown syntax, but not GitHub-flavoured autolinks: Streamlit's renderer turns a bare
    ``http://...``, ``www.`` or ``name@host.org`` in the *text* into a link after parsing (a run name
    ``http://evil.example`` became a link on another user's Runs page, issue 20). An invisible WORD JOINER (U+2060)
    after the scheme, the ``www`` or the ``@`` breaks each pattern; the text reads the same.
    """
    text = _AUTOLINK.sub(lambda m: m.group(0) + WORD_JOINER, str(text))
    return _MD_SPECIAL.sub(r"\\\1", text)


def app_root(url: str | None) -> str:
    """Scheme, host and base path of the app from the current page's URL ('' when unknown)."""
    if not url:
        return ""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return ""
    path = parts.path.rstrip("/")
    if path.rsplit("/", 1)[-1] in URL_PATHS:
        path = path.rsplit("/", 1)[0]
    return f"{parts.scheme}://{parts.netloc}{path}"


def page_url(page: str, **params: str) -> str:
    """Absolute link to ``page`` (a url path such as ``"train"``) with query parameters, for sharing."""
    try:
        root = app_root(st.context.url)
    except Exception:  # noqa: BLE001 - no browser context (tests, scripts)
        root = ""
    query = f"?{urlencode(params)}" if params else ""
    return f"{root}/{page}{query}" if root else f"/{page}{query}"
