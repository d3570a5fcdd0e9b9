"""Widget groups (``*_ui()`` functions that read Streamlit widgets and return plain values or configs), and the
absolute link to a page of this app (it reads the browser's URL). Text helpers with no Streamlit in them are in
``dashboard/text.py``."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from dashboard.text import (
    app_root,
)


def page_url(page: str, **params: str) -> str:
    """Absolute link to ``page`` (a url path such as ``"train"``) with query parameters, for sharing."""
    try:
        root = app_root(st.context.url)
    except Exception:  # noqa: BLE001 - no browser context (tests, scripts)
        root = ""
    query = f"?{urlencode(params)}" if params else ""
    return f"{root}/{page}{query}" if root else f"/{page}{query}"
