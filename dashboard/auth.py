"""Who is using the app: one identity per person, and admin rights only for a verified one.

Chosen from ``.streamlit/secrets.toml``, first match wins:

1. ``[auth]``: OIDC via ``st.login``. The identity is the provider's e-mail.
2. ``[users]`` (and/or the TOML file named by ``OMIB_USERS_FILE``): name -> scrypt hash (``python -m omib_core
   hash-password NAME``). A person signs in with their name and their own password and becomes that name.
3. ``password``: a shared team password. Everyone signed in with it is the one owner ``"team"`` (runs, uploads and
   quotas are the team's); the name typed is only a label, and nobody is an admin. Ignored when ``[users]`` is set.
4. None of these: one local user, an admin (a laptop, not a shared server).

Admins (``admins`` in secrets or ``OMIB_ADMINS``, names or e-mails, case-insensitive) match only an OIDC e-mail or
a ``[users]`` name signed in with its own password. Failed sign-ins are throttled and logged per name and per
client (``omib_core.identity.SignInThrottle``); the client is the connection's IP address (or the header named by
``OMIB_CLIENT_IP_HEADER`` behind a proxy), else the session.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import streamlit as st

from omib_core.env import env_text
from omib_core.errors import ConfigError
from omib_core.identity import (
    MAX_PASSWORD_CHARS,
    TEAM_OWNER,
    SignInThrottle,
    Users,
    credential_tag,
    load_users,
    users_file_from_env,
    verify_password,
)

LOCAL_USER = "local"
SESSION_KEY = "auth_identity"  # {"via", "name", "label", "tag"}: who this session signed in as
log = logging.getLogger("omib.auth")


@dataclass(frozen=True)
class User:
    """``name``: the owner string for runs, uploads, quotas and permission checks. ``label``: what to show."""

    name: str
    is_admin: bool
    can_logout: bool = False
    label: str = ""
    verified: bool = True
    via: str = "local"  # "oidc", "users", "team" or "local"

    @property
    def display(self) -> str:
        return self.label or self.name

    @property
    def actor(self) -> str:
        """Who did something, for records and logs: ``"team (alice, unverified)"`` for a team-password user."""
        return self.name if self.verified else f"{self.name} ({self.label}, unverified)"


def _secret(key: str, default=None):
    try:
        return st.secrets.get(key, default)
    except Exception:  # noqa: BLE001 - no secrets.toml at all
        return default


def _admins() -> set[str]:
    listed = _secret("admins", []) or []
    names = listed.split(",") if isinstance(listed, str) else [str(a) for a in listed]
    names += env_text("OMIB_ADMINS").split(",")
    return {a.strip().casefold() for a in names if a.strip()}


def _is_admin(identity: str) -> bool:
    return identity.strip().casefold() in _admins()


def sign_in_configured() -> bool:
    """Whether this server asks visitors to sign in (OIDC, ``[users]`` / ``OMIB_USERS_FILE``, or a team password);
    readable before the server starts (``dashboard.serve`` refuses an open network address without it)."""
    return bool(
        _oidc_configured() or _secret("users", None) is not None or users_file_from_env() or _secret("password")
    )


def _oidc_configured() -> bool:
    return bool(_secret("auth", None))


def identity_record(via: str, name: str, credential: str, label: str = "") -> dict[str, str]:
    """What a session keeps after signing in: who, how, and a fingerprint of the credential it used (a changed
    password or a removed user signs the session out)."""
    return {"via": via, "name": name, "label": label, "tag": credential_tag(credential)}


def sign_out() -> None:
    from dashboard import gate

    st.session_state.pop(SESSION_KEY, None)
    gate.forget(gate.session_id())


def current_user() -> User:
    """The signed-in user; stops the page with a sign-in form when sign-in is required."""
    if _oidc_configured():
        return _oidc_user()
    users = _users()
    if users is not None:
        if _secret("password", None):
            _warn_once("secrets.toml has both [users] and a team password; only per-user sign-in is offered")
        return _per_user(users)
    password = _secret("password", None)
    if password:
        return _team_user(str(password))
    return User(name=LOCAL_USER, is_admin=True)


def _oidc_user() -> User:
    if not st.user.is_logged_in:
        st.title("OMIB Studio")
        st.write("Sign in to train and share OMIB runs.")
        st.button("Sign in", on_click=st.login, key="auth_login")
        st.stop()
    email = st.user.get("email")
    name = str(email or st.user.get("name") or "user")
    verified = bool(email) and st.user.get("email_verified", True) is not False
    return User(name=name, is_admin=verified and _is_admin(name), can_logout=True, verified=verified, via="oidc")


# per-user passwords


def _users() -> Users | None:
    """The ``[users]`` credentials, or None when per-user sign-in is not configured. Stops the page when the
    configuration cannot be read (the log says why)."""
    table, users_file = _secret("users", None), users_file_from_env()
    if table is None and not users_file:
        return None
    try:
        if table is not None and not isinstance(table, Mapping):
            raise ConfigError('users in secrets.toml must be a [users] table of name = "scrypt$..." lines.')
        entries = tuple(sorted((str(k), v if isinstance(v, str) else repr(v)) for k, v in dict(table or {}).items()))
        try:
            mtime = Path(users_file).stat().st_mtime_ns if users_file else None
        except OSError:
            mtime = None
        return _load_users(entries, users_file, mtime)
    except ConfigError as e:
        log.error("%s", e)
        st.title("OMIB Studio")
        st.error(
            "Sign-in is not set up correctly on this server, so nobody can sign in. The server log says why; "
            "tell the person who runs it."
        )
        st.stop()


@lru_cache(maxsize=8)
def _load_users(entries: tuple[tuple[str, str], ...], users_file: str | None, mtime: int | None) -> Users:
    return load_users(dict(entries), users_file)  # cached per content and file version: errors are logged once


def _per_user(users: Users) -> User:
    rec = st.session_state.get(SESSION_KEY)
    if isinstance(rec, dict) and rec.get("via") == "users":
        name = str(rec.get("name"))
        if users.tag(name) is not None and users.tag(name) == rec.get("tag"):
            return User(name=name, is_admin=_is_admin(name), can_logout=True, via="users")
        sign_out()  # removed, or the password changed
    _users_form(users)
    st.stop()


def _users_form(users: Users) -> None:
    st.title("OMIB Studio")
    with st.form("auth_form"):
        name = st.text_input("Name", max_chars=64, key="auth_form_name")
        given = st.text_input("Password", type="password", max_chars=MAX_PASSWORD_CHARS, key="auth_form_password")
        if st.form_submit_button("Sign in"):
            if not name.strip() or not given:
                st.error("Enter your name and your password.")
            else:
                attempt = SignInThrottle().attempt(name, _client(), lambda: users.check(name, given))
                if attempt.wait:
                    st.error(attempt.message)
                elif not attempt.ok:
                    st.error(
                        "That name and password do not match. Check both (passwords are case-sensitive), or ask "
                        "the person who runs this server to reset your password."
                    )
                else:
                    who = str(attempt.result)
                    st.session_state[SESSION_KEY] = identity_record("users", who, users.hashes[who])
                    st.rerun()
    st.caption("Each person has their own name and password; ask the person who runs this server for yours.")


# the shared team password


def _team_user(password: str) -> User:
    rec = st.session_state.get(SESSION_KEY)
    if isinstance(rec, dict) and rec.get("via") == "team" and rec.get("tag") == credential_tag(password):
        label = str(rec.get("label") or "someone")
        return User(name=TEAM_OWNER, is_admin=False, can_logout=True, label=label, verified=False, via="team")
    sign_out()
    _team_form(password)
    st.stop()


def _team_password_ok(given: str, password: str) -> bool:
    if password.startswith("scrypt$"):  # the team password may be stored hashed too
        try:
            return verify_password(given, password)
        except ConfigError as e:
            log.error("%s", str(e).replace("[users] entry", "team password"))
            return False
    return hmac.compare_digest(hashlib.sha256(given.encode()).digest(), hashlib.sha256(password.encode()).digest())


def _team_form(password: str) -> None:
    st.title("OMIB Studio")
    with st.form("auth_form"):
        name = st.text_input("Your name (a label only)", max_chars=64, key="auth_form_name")
        given = st.text_input("Team password", type="password", max_chars=MAX_PASSWORD_CHARS, key="auth_form_password")
        if st.form_submit_button("Enter"):
            if not name.strip():
                st.error("Enter a name: it is shown beside what you do.")
            else:
                attempt = SignInThrottle().attempt(TEAM_OWNER, _client(), lambda: _team_password_ok(given, password))
                if attempt.wait:
                    st.error(attempt.message)
                elif not attempt.ok:
                    st.error("That password is not right. Ask the person who runs this server.")
                else:
                    st.session_state[SESSION_KEY] = identity_record("team", TEAM_OWNER, password, name.strip())
                    st.rerun()
    st.caption(
        f"Everyone who enters the team password is the same user, '{TEAM_OWNER}': runs, uploads and limits "
        "are shared, anyone can stop or delete any of them, and nobody is an admin. The name is a label, not "
        "a check."
    )


# helpers


def _client() -> str:
    """Who is knocking, for the throttle: the connection's IP (or a trusted proxy header), else the session."""
    ip = None
    try:
        header = env_text("OMIB_CLIENT_IP_HEADER")
        forwarded = st.context.headers.get(header) if header else None
        ip = forwarded.split(",")[-1].strip() if forwarded else st.context.ip_address
    except Exception:  # noqa: BLE001 - no client context (tests, scripts)
        ip = None
    if ip:
        return f"ip:{str(ip)[:64]}"
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return f"session:{ctx.session_id}" if ctx else "session:unknown"


_WARNED: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _WARNED:
        _WARNED.add(message)
        log.warning("%s", message)
