"""Who is using the app.

Order: ``st.login`` (OIDC) when ``[auth]`` is configured in secrets; otherwise a shared password from
``secrets["password"]``; otherwise one local user. Admins are listed in ``secrets["admins"]`` (names or
emails) or by the env var ``OMIB_ADMINS`` (comma-separated). The local single user is an admin.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

import streamlit as st

LOCAL_USER = "local"


@dataclass(frozen=True)
class User:
    name: str
    is_admin: bool
    can_logout: bool = False


def _secret(key: str, default=None):
    try:
        return st.secrets.get(key, default)
    except Exception:  # no secrets.toml at all
        return default


def _admins() -> set[str]:
    names = set(_secret("admins", []) or [])
    names |= {a.strip() for a in os.environ.get("OMIB_ADMINS", "").split(",") if a.strip()}
    return names


def _oidc_configured() -> bool:
    return bool(_secret("auth", None))


def current_user() -> User:
    """The signed-in user; stops the page with a sign-in form when sign-in is required."""
    if _oidc_configured():
        if not st.user.is_logged_in:
            st.title("OMIB Studio")
            st.write("Sign in to train and share OMIB runs.")
            st.button("Sign in", on_click=st.login, key="auth_login")
            st.stop()
        name = str(st.user.get("email") or st.user.get("name") or "user")
        return User(name=name, is_admin=name in _admins(), can_logout=True)
    password = _secret("password", None)
    if password:
        if "auth_name" not in st.session_state:
            _password_form(str(password))
            st.stop()
        name = st.session_state["auth_name"]
        return User(name=name, is_admin=name in _admins())
    return User(name=LOCAL_USER, is_admin=True)


def _password_form(password: str) -> None:
    st.title("OMIB Studio")
    with st.form("auth_form"):
        name = st.text_input("Your name", max_chars=64, key="auth_form_name")
        given = st.text_input("Team password", type="password", key="auth_form_password")
        if st.form_submit_button("Enter"):
            if not name.strip():
                st.error("Enter a name: your runs are shown under it.")
            elif not hmac.compare_digest(given.encode(), password.encode()):
                st.error("That password is not right. Ask the person who runs this server.")
            else:
                st.session_state["auth_name"] = name.strip()
                st.rerun()
