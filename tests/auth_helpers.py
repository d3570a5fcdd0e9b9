"""Acting as a signed-in user in AppTest: a ``[users]`` entry with a real scrypt hash, and the session state the
sign-in form leaves behind (the form itself is tested in tests/security/test_identity.py)."""

from __future__ import annotations

from functools import cache

from streamlit.testing.v1 import AppTest

from dashboard.auth import SESSION_KEY, identity_record
from omib_core.identity import hash_password

PASSWORD = "a test password"


@cache
def password_hash() -> str:
    """One scrypt hash of ``PASSWORD`` per test process (a hash takes about 0.1 s)."""
    return hash_password(PASSWORD)


def sign_in(at: AppTest, name: str, admin: bool = False) -> AppTest:
    """Sign ``name`` in with their own password (per-user mode); ``admin`` lists them in ``admins``."""
    users = dict(at.secrets.get("users") or {})
    users[name] = password_hash()
    at.secrets["users"] = users
    if admin:
        at.secrets["admins"] = [*(at.secrets.get("admins") or []), name]
    at.session_state[SESSION_KEY] = identity_record("users", name, password_hash())
    return at
