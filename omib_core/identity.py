"""Who a person is: password hashes, the per-user credentials table, and the failed sign-in throttle.

Credentials are a ``[users]`` table, name -> ``scrypt$n$r$p$salt_b64$hash_b64`` (``hash_password``; on the
command line ``python -m omib_core hash-password NAME``), from ``.streamlit/secrets.toml`` and/or the TOML
file named by ``OMIB_USERS_FILE``. Plain-text entries are refused. Verification is constant-time, and an unknown
name costs the same scrypt as a known one.

Failed sign-ins are counted per name and per client in ``<data_dir>/auth.db`` (SQLite, WAL), shared by every
session and server process on that data dir and kept across restarts. After ``limit`` failures the next attempt
waits 1 s, then 2 s, 4 s, ... up to 15 min, and attempts during the wait are refused without checking the
password. Each attempt is counted before the password is checked (so parallel guesses cannot slip through), and
a success takes back its count: the name's counter is cleared, the client's lowered by one. A counter with no
attempt for an hour starts again from zero. Passwords are never stored or logged.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import logging
import math
import re
import secrets
import sqlite3
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from omib_core.env import env_text
from omib_core.errors import ConfigError
from omib_core.paths import AUTH_DB as AUTH_DB  # re-exported: the name of the sign-in counters file
from omib_core.paths import auth_db_path

log = logging.getLogger("omib.auth")

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # 16 MiB, about 0.1 s per hash
SALT_BYTES, KEY_BYTES = 16, 32
_MAX_N, _MAX_R, _MAX_P = 2**17, 16, 16  # what a users table may ask for: at most 256 MiB per check
MAX_PASSWORD_CHARS = 1024
TEAM_OWNER = "team"  # the one identity shared by everyone signed in with the team password
USERS_FILE_ENV = "OMIB_USERS_FILE"

# hashing


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """A salted scrypt hash of ``password``, encoded as ``scrypt$n$r$p$salt_b64$hash_b64``."""
    if not isinstance(password, str) or not password:
        raise ConfigError("The password is empty; choose one of at least 8 characters.")
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, n, r, p, KEY_BYTES)
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(key).decode()}"


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    pw = password.encode("utf-8")[: 4 * MAX_PASSWORD_CHARS]
    return hashlib.scrypt(pw, salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=128 * r * (n + p + 2) + 2**20)


def parse_hash(encoded: object, name: str = "") -> tuple[int, int, int, bytes, bytes]:
    """``(n, r, p, salt, key)`` of an encoded hash; ConfigError with a sentence when it is not one."""
    who = f" for {name!r}" if name else ""
    fix = f"make one with `python -m omib_core hash-password {name or 'NAME'}` and paste its line into [users]"
    parts = encoded.split("$") if isinstance(encoded, str) else []
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ConfigError(f"The [users] entry{who} is not a scrypt hash (plain-text passwords are refused); {fix}.")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt = base64.b64decode(parts[4], validate=True)
        key = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error):
        raise ConfigError(f"The [users] entry{who} is a damaged scrypt hash; {fix}.") from None
    if n < 2 or n & (n - 1) or n > _MAX_N or not 1 <= r <= _MAX_R or not 1 <= p <= _MAX_P:
        raise ConfigError(
            f"The [users] entry{who} has scrypt parameters n={n}, r={r}, p={p} outside n = a power "
            f"of 2 up to {_MAX_N}, r <= {_MAX_R}, p <= {_MAX_P}; {fix}."
        )
    if len(salt) < 8 or len(key) < 16:
        raise ConfigError(f"The [users] entry{who} has a salt or hash that is too short; {fix}.")
    return n, r, p, salt, key


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches the encoded hash (constant-time compare). ConfigError for a malformed hash."""
    n, r, p, salt, key = parse_hash(encoded)
    got = _scrypt(str(password), salt, n, r, p, len(key))
    return hmac.compare_digest(got, key)


_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def credential_tag(credential: str) -> str:
    """A short fingerprint of a stored credential: a session remembers it, and a changed password signs it out."""
    return hashlib.sha256(b"omib-credential:" + credential.encode("utf-8")).hexdigest()[:32]


# the users table


def _key(name: str) -> str:
    return " ".join(str(name).split()).casefold()


@dataclass(frozen=True)
class Users:
    """The per-user credentials: canonical name -> encoded hash (malformed entries already left out and logged)."""

    hashes: Mapping[str, str]

    def find(self, typed: str) -> str | None:
        """The canonical name for what was typed (case and spacing ignored), or None."""
        want = _key(typed)
        return next((name for name in self.hashes if _key(name) == want), None)

    def check(self, typed_name: str, password: str) -> str | None:
        """The canonical name when the password is that user's, else None. Costs one scrypt either way."""
        name = self.find(typed_name)
        encoded = self.hashes.get(name) if name is not None else None
        ok = verify_password(password, encoded or _dummy_hash())
        return name if ok and encoded else None

    def tag(self, name: str) -> str | None:
        """The credential fingerprint of ``name`` (None when that user is gone)."""
        encoded = self.hashes.get(name)
        return credential_tag(encoded) if encoded else None


def load_users(table: Mapping[str, object] | None, users_file: str | Path | None = None) -> Users:
    """The ``[users]`` table of secrets merged with the ``[users]`` table of ``users_file`` (secrets win).

    A malformed entry is logged and left out (that person cannot sign in until it is fixed); an unreadable or
    malformed file raises ConfigError.
    """
    merged: dict[str, object] = {}
    if users_file:
        path = Path(users_file)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise ConfigError(
                f"The users file {str(path)!r} ({USERS_FILE_ENV}) cannot be read ({e.strerror or e}); "
                "fix the path or its permissions."
            ) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(
                f"The users file {str(path)!r} ({USERS_FILE_ENV}) is not valid TOML ({e}); "
                'it should hold a [users] table of name = "scrypt$..." lines.'
            ) from None
        file_users = data.get("users", {})
        if not isinstance(file_users, dict):
            raise ConfigError(f'The users file {str(path)!r} must hold a [users] table of name = "scrypt$..." lines.')
        merged.update(file_users)
    if table is not None and not isinstance(table, Mapping):
        raise ConfigError('users in secrets.toml must be a [users] table of name = "scrypt$..." lines.')
    for name, value in dict(table or {}).items():
        if name in merged:
            log.warning("user %r is in both secrets.toml and %s; the secrets.toml entry is used", name, USERS_FILE_ENV)
        merged[name] = value
    hashes: dict[str, str] = {}
    for name, value in merged.items():
        name = " ".join(str(name).split())
        try:
            parse_hash(value, name)
        except ConfigError as e:
            log.error("%s", e)
            continue
        if not name or any(_key(other) == _key(name) for other in hashes):
            log.error("[users] entry %r is empty or differs from another only in case or spacing; it is ignored", name)
            continue
        hashes[name] = str(value)
    return Users(hashes)


# the throttle


@dataclass(frozen=True)
class Attempt:
    """The outcome of one sign-in attempt. ``wait`` > 0: refused without checking, for that many seconds."""

    ok: bool
    wait: float = 0.0
    result: object = None

    @property
    def message(self) -> str:
        """The sentence for a refused (throttled) attempt."""
        return (
            f"Too many failed sign-ins for this name or from this connection. Wait {_duration(self.wait)} and "
            "try again, or ask the person who runs this server."
        )


def _duration(seconds: float) -> str:
    s = max(1, math.ceil(seconds))
    if s < 60:
        return f"{s} second{'s' if s != 1 else ''}"
    m = math.ceil(s / 60)
    return f"{m} minute{'s' if m != 1 else ''}"


class SignInThrottle:
    """Failed sign-in counters per name and per client, in SQLite, with exponential back-off.

    ``attempt(name, client, check)`` refuses at once while either counter is backing off; otherwise it counts the
    attempt, calls ``check()`` (which verifies the password and returns a truthy result on success), and on
    success takes the count back.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        name_limit: int = 5,
        client_limit: int = 10,
        base_delay: float = 1.0,
        max_delay: float = 900.0,
        forget_after: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ):
        self.path = Path(path) if path is not None else auth_db_path()
        self.limits = {"name": name_limit, "client": client_limit}
        self.base_delay, self.max_delay, self.forget_after = base_delay, max_delay, forget_after
        self.clock = clock
        with self._db() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS signin_failures (kind TEXT NOT NULL, key TEXT NOT NULL, "
                "count INTEGER NOT NULL, last REAL NOT NULL, until REAL NOT NULL, PRIMARY KEY (kind, key))"
            )
            db.execute("CREATE INDEX IF NOT EXISTS signin_failures_last ON signin_failures (last)")

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)  # autocommit; BEGIN IMMEDIATE by hand
        db.execute("PRAGMA busy_timeout = 10000")
        db.execute("PRAGMA journal_mode = WAL")
        return db

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        try:
            yield db
        finally:
            db.close()

    def delay(self, count: int, kind: str) -> float:
        """Seconds to wait after ``count`` failures (0 below the limit)."""
        over = count - self.limits[kind]
        return 0.0 if over < 0 else min(self.base_delay * 2.0 ** min(over, 60), self.max_delay)

    @staticmethod
    def _keys(name: str, client: str) -> dict[str, str]:
        return {"name": _key(name)[:200], "client": str(client)[:200]}

    def counts(self, name: str, client: str) -> dict[str, int]:
        """The current failure counts ``{"name": .., "client": ..}`` (0 when forgotten)."""
        now, out = self.clock(), {}
        with self._db() as db:
            for kind, key in self._keys(name, client).items():
                row = db.execute(
                    "SELECT count, last FROM signin_failures WHERE kind=? AND key=?", (kind, key)
                ).fetchone()
                out[kind] = row[0] if row and row[1] >= now - self.forget_after else 0
        return out

    def attempt(self, name: str, client: str, check: Callable[[], object]) -> Attempt:
        """One sign-in attempt; see the class docstring. Failures are logged (name, client, counts)."""
        keys = self._keys(name, client)
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            now = self.clock()  # read under the lock: an earlier reading could see a later writer's back-off
            db.execute("DELETE FROM signin_failures WHERE last < ?", (now - self.forget_after,))
            rows = {
                kind: db.execute(
                    "SELECT count, until FROM signin_failures WHERE kind=? AND key=?", (kind, key)
                ).fetchone()
                or (0, 0.0)
                for kind, key in keys.items()
            }
            wait = max(until - now for _, until in rows.values())
            if wait > 0:
                db.execute("COMMIT")
                log.info(
                    "sign-in refused while backing off: name %r, client %s, %s left", name, client, _duration(wait)
                )
                return Attempt(False, wait)
            counts = {}
            for kind, key in keys.items():
                counts[kind] = rows[kind][0] + 1
                delay = self.delay(counts[kind], kind)
                db.execute(
                    "INSERT OR REPLACE INTO signin_failures (kind, key, count, last, until) VALUES (?,?,?,?,?)",
                    (kind, key, counts[kind], now, now + delay if delay else 0.0),
                )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()
        result = None
        try:
            result = check()
        finally:
            if result:
                self._succeeded(keys)
            else:
                log.warning(
                    "failed sign-in: name %r, client %s (%d failures for this name, %d from this client)",
                    name,
                    client,
                    counts["name"],
                    counts["client"],
                )
        return Attempt(bool(result), 0.0, result)

    def _succeeded(self, keys: dict[str, str]) -> None:
        with self._db() as db:
            db.execute("DELETE FROM signin_failures WHERE kind='name' AND key=?", (keys["name"],))
            db.execute(
                "UPDATE signin_failures SET count = MAX(count - 1, 0) WHERE kind='client' AND key=?", (keys["client"],)
            )


def users_file_from_env() -> str | None:
    """The users file named by ``OMIB_USERS_FILE`` (None when unset)."""
    return env_text(USERS_FILE_ENV) or None


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def users_line(name: str, encoded: str) -> str:
    """The TOML line for the ``[users]`` table: ``name = "scrypt$..."`` (the name quoted when it must be)."""
    key = name if _BARE_KEY.match(name) else json.dumps(name, ensure_ascii=False)
    return f'{key} = "{encoded}"'
