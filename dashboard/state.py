"""Typed access to session state and query parameters, and the experiment-in-a-URL codec.

A demo config travels as ``?cfg=<base64url(JSON of the fields that differ from the defaults)>``, so a
teacher can hand out one link (as TensorFlow Playground does); a run travels as ``?run=<id>``.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from typing import Any

import streamlit as st

from omib_core.config import RunConfig
from omib_core.errors import ConfigError

RUN_ID = re.compile(r"^[0-9a-f]{6,32}$")
MAX_URL_CONFIG = 4000


# pure codec


def _diff(d: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict) and k != "params":
            sub = _diff(v, base[k])
            if sub:
                out[k] = sub
        elif base.get(k) != v:
            out[k] = v
    return out


def encode_config(config: RunConfig) -> str:
    """Compact URL-safe text for a config: only the fields that differ from the defaults."""
    diff = _diff(config.to_dict(), RunConfig().to_dict())
    raw = zlib.compress(json.dumps(diff, separators=(",", ":"), sort_keys=True).encode())
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_config(text: str) -> RunConfig:
    """Inverse of ``encode_config``; a broken link raises ConfigError with a sentence."""
    if len(text) > MAX_URL_CONFIG:
        raise ConfigError("The config in this link is too long to be one of ours; ask for a new link.")
    try:
        raw = zlib.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), bufsize=65536)
        diff = json.loads(raw)
    except Exception as e:  # noqa: BLE001 - any decoding failure means a damaged link
        raise ConfigError("The config in this link could not be read (it may be cut short); ask for a new link.") from e
    if not isinstance(diff, dict):
        raise ConfigError("The config in this link is not an experiment description; ask for a new link.")
    base = RunConfig().to_dict()
    unknown = set(diff) - set(base)
    if unknown:
        raise ConfigError(f"The link names unknown section(s) {sorted(unknown)}; ask for a new link.")
    for sec, value in diff.items():
        if value is not None and not isinstance(value, dict):
            kind = type(value).__name__.replace("str", "text").replace("dict", "object")
            raise ConfigError(
                f"The link's {sec!r} section is {kind} ({str(value)[:40]!r}), not a set of named "
                "settings, so the link was ignored; ask for a new link (Train page, Share link)."
            )
    merged = {sec: {**base[sec], **(diff.get(sec) or {})} for sec in base}
    try:
        return RunConfig.from_dict(merged)
    except ConfigError as e:
        raise ConfigError(f"The config in this link is not valid, so it was ignored: {e}") from None


# session / URL access


def run_id_from_url() -> str | None:
    rid = st.query_params.get("run")
    return rid if rid and RUN_ID.match(rid) else None


def set_run_in_url(run_id: str | None) -> None:
    if run_id:
        st.query_params["run"] = run_id
    elif "run" in st.query_params:
        del st.query_params["run"]


def config_from_url() -> RunConfig | None:
    """The config carried by ``?cfg=``, or None; a damaged link shows an error and is ignored."""
    text = st.query_params.get("cfg")
    if not text:
        return None
    try:
        return decode_config(text)
    except ConfigError as e:
        st.error(str(e))
    except (TypeError, ValueError, AttributeError):  # a value of a type no config field takes: still a sentence
        st.error(
            "The config in this link holds a value of the wrong type, so the link was ignored; ask for a new "
            "link (Train page, Share link)."
        )
    return None


def current_config() -> RunConfig:
    """The experiment being edited in this session (URL first, then session, then defaults)."""
    if "omib_config" not in st.session_state:
        st.session_state["omib_config"] = (config_from_url() or RunConfig()).to_dict()
    return RunConfig.from_dict(st.session_state["omib_config"])


def set_current_config(config: RunConfig) -> None:
    st.session_state["omib_config"] = config.to_dict()
